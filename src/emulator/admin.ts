/**
 * The emulator's own control surface under `/__emulator/` (no Salesforce equivalent): reset data, change
 * faults, move the clock, read stats, expire sessions. Unauthenticated on purpose: it is for tests and demos
 * on localhost.
 */
import type { Ctx } from './app.ts';
import { bulkEngine } from './bulk/engine.ts';
import { orgWriteLock } from './composite/write-lock.ts';
import { parseFaultSpec } from './faults.ts';
import { json, readJson } from './http/respond.ts';
import type { Router } from './http/router.ts';
import type { Org } from './org.ts';
import { seedOrg } from './seed/index.ts';
import { q } from './store/org-store.ts';
import { captureGap } from './events/capture.ts';
import { ManagedSubscriptionError, managedSubscriptions, type ManagedSubscriptionDef } from './events/managed.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The sequence number inside an emulator-made ID (the 9 base-62 digits after prefix and pod). */
function idSequence(id: string): number {
  let n = 0;
  for (const c of id.slice(6, 15)) n = n * 62 + BASE62.indexOf(c);
  return n;
}

/** The `--seed` spec the org was seeded with (recorded as `spec: summary`), or `none`. */
export function recordedSeedSpec(org: Org): string {
  const seeded = org.store.getMeta('seeded');
  if (!seeded) return 'none';
  const i = seeded.indexOf(': ');
  return i > 0 ? seeded.slice(0, i) : seeded;
}

export interface ResetOptions {
  /** Seed spec to load after the wipe; default: the one the org was seeded with at start. */
  seed?: string;
  /** Also forget every access and refresh token (default false: logged-in clients keep working). */
  sessions?: boolean;
}

/**
 * Wipes the org back to its starting state and re-seeds it: every record, the recycle bin, Bulk jobs, ID and
 * auto-number sequences (so a deterministic seed gets the same IDs again), API usage and `/limits` counters.
 * Kept: the org ID, the admin user, faults, the clock and (unless asked) sessions.
 */
export async function resetOrg(ctx: Pick<Ctx, 'org' | 'sessions'>, opts: ResetOptions = {}): Promise<string> {
  const org = ctx.org;
  const spec = opts.seed ?? recordedSeedSpec(org);
  return orgWriteLock(org).exclusive(async () => {
    const engine = bulkEngine(org);
    for (const row of org.store.prepare('SELECT id FROM _bulk_job').all()) {
      engine.forget(String(row.id));
      engine.store.delete(String(row.id));
    }
    const userDef = org.schema.get('User')!;
    const admin = org.store.getRow(userDef, org.adminUserId);
    org.store.transaction(() => {
      for (const def of org.schema.all()) if (!def.view) org.store.prepare(`DELETE FROM ${q(def.name)}`).run();
      org.store.prepare('DELETE FROM _deleted_log').run();
      org.bus.clear();
      org.store.prepare("DELETE FROM _meta WHERE key = 'seeded' OR key = 'apiUsage' OR key LIKE 'limit:%'").run();
      if (admin) org.store.insertRow(userDef, { ...admin, ProfileId: null, UserRoleId: null });
      org.store.resetSequences(admin ? { [userDef.keyPrefix ?? '005']: idSequence(org.adminUserId) + 1 } : {});
    });
    org.apiUsage = 0;
    if (opts.sessions) ctx.sessions.clear();
    org.ensureAdminAccess();
    return seedOrg(org, spec);
  });
}

export function registerAdminRoutes(router: Router<Ctx>): void {
  // Body (optional JSON): {"seed": "demo"|"none"|COUNTS|"tree:PLAN.json", "sessions": true}.
  router.on('POST', '/__emulator/reset', async (ctx) => {
    const text = (await ctx.req.text()).trim();
    let opts: ResetOptions = {};
    try {
      if (text) opts = JSON.parse(text) as ResetOptions;
    } catch {
      return json({ error: 'reset body must be JSON like {"seed":"demo","sessions":true} (or empty)' }, 400);
    }
    try {
      const seeded = await resetOrg(ctx, opts);
      return json({ reset: true, seed: opts.seed ?? recordedSeedSpec(ctx.org), seeded, sessionsCleared: opts.sessions === true });
    } catch (err) {
      return json({ error: (err as Error).message }, 400);
    }
  });

  // Outbound Messages: the definitions and the queue with its attempts (Setup's monitoring), and a retry.
  router.on('GET', '/__emulator/outbound-messages', (ctx) => {
    const state = ctx.url.searchParams.get('state') ?? undefined;
    if (state && !['pending', 'delivered', 'expired'].includes(state)) return json({ error: 'state must be pending, delivered or expired' }, 400);
    return json({ definitions: ctx.emulator.outbound.definitions, queue: ctx.emulator.outbound.queue({ state: state as 'pending' | undefined }) });
  });
  router.on('POST', '/__emulator/outbound-messages/retry', async (ctx) => {
    await ctx.emulator.outbound.retryNow();
    return json({ queue: ctx.emulator.outbound.queue() });
  });

  router.on('GET', '/__emulator/faults', (ctx) => json(ctx.org.faults.settings));

  // Body: a spec string ("http503=0.1,latency=20") or a JSON object of settings; unspecified keys keep their value.
  router.on(['POST', 'PUT'], '/__emulator/faults', async (ctx) => {
    const text = await ctx.req.text();
    try {
      let spec = text.trim();
      if (spec.startsWith('{')) spec = Object.entries(JSON.parse(spec) as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(',');
      ctx.org.faults.settings = parseFaultSpec(spec, ctx.req.method === 'PUT' ? undefined : ctx.org.faults.settings);
    } catch (err) {
      return json({ error: (err as Error).message }, 400);
    }
    return json(ctx.org.faults.settings);
  });

  // Body: {"advance": ms} | {"set": "2024-03-05T00:00:00Z", "freeze": true} | {"reset": true}
  router.on('POST', '/__emulator/clock', async (ctx) => {
    const body = await readJson<{ advance?: number; set?: string | number; freeze?: boolean; reset?: boolean }>(ctx.req, { anyMediaType: true });
    if (body.reset) ctx.org.clock.reset();
    if (typeof body.advance === 'number') ctx.org.clock.advance(body.advance);
    if (body.set !== undefined) {
      const t = typeof body.set === 'number' ? body.set : Date.parse(body.set);
      if (!Number.isFinite(t)) return json({ error: `clock.set must be an ISO date-time or epoch ms, got ${JSON.stringify(body.set)}` }, 400);
      ctx.org.clock.set(t, body.freeze ?? false);
    }
    return json({ now: new Date(ctx.org.clock.now()).toISOString() });
  });

  router.on('GET', '/__emulator/clock', (ctx) => json({ now: new Date(ctx.org.clock.now()).toISOString() }));

  router.on('GET', '/__emulator/stats', (ctx) => {
    const counts: Record<string, number> = {};
    // Tables without IsDeleted (change-event shadows) have no recycle bin: count every row.
    for (const def of ctx.org.schema.all()) counts[def.name] = ctx.org.store.count(def, !def.fields.some((f) => f.name === 'IsDeleted'));
    return json({ ...ctx.emulator.stats, apiUsage: ctx.org.apiUsage, records: counts, rssBytes: process.memoryUsage().rss });
  });

  // Change Data Capture selection: GET lists it; PUT {"objects": ["Account", "Invoice__c"] | "all"} replaces it.
  router.on('GET', '/__emulator/cdc', (ctx) => json({ objects: ctx.org.bus.cdcObjects }));
  router.on(['PUT', 'POST'], '/__emulator/cdc', async (ctx) => {
    const body = await readJson<{ objects?: string[] | 'all' }>(ctx.req, { anyMediaType: true });
    if (body.objects !== 'all' && !(Array.isArray(body.objects) && body.objects.every((o) => typeof o === 'string'))) {
      return json({ error: 'cdc body must be {"objects": ["Account", "Contact"]} or {"objects": "all"}' }, 400);
    }
    try {
      return json({ objects: ctx.org.setCdc(body.objects) });
    } catch (err) {
      return json({ error: (err as Error).message }, 400);
    }
  });

  // Header-only gap events and overflow events, so subscribers can test their recovery:
  // {"object": "Account", "changeType": "GAP_UPDATE", "recordIds": ["001…"]} or {"object": "Account", "changeType": "GAP_OVERFLOW"}.
  router.on('POST', '/__emulator/events/gap', async (ctx) => {
    const body = await readJson<{ object?: string; changeType?: string; recordIds?: string[] }>(ctx.req, { anyMediaType: true });
    const types = ['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;
    const type = types.find((t) => t === body.changeType);
    const def = body.object ? ctx.org.schema.get(body.object) : undefined;
    if (!def || !ctx.org.bus.cdcEnabled(def.name)) return json({ error: `object must name an object with Change Data Capture on (${ctx.org.bus.cdcObjects.join(', ')})` }, 400);
    if (!type) return json({ error: `changeType must be one of ${types.join(', ')}` }, 400);
    if (type !== 'GAP_OVERFLOW' && !(Array.isArray(body.recordIds) && body.recordIds.length > 0)) return json({ error: 'recordIds must list the record ids of a gap event' }, 400);
    const replayId = captureGap(ctx.org, def, type, body.recordIds ?? []);
    return json({ replayId });
  });

  // The dropped-stream fault: every open Pub/Sub subscription and CometD client is closed by the server.
  router.on('POST', '/__emulator/events/drop', (ctx) => {
    ctx.org.bus.emit('drop');
    return json({ dropped: true });
  });

  // Managed subscriptions (Pub/Sub ManagedSubscribe): list, define or update by developerName, delete.
  router.on('GET', '/__emulator/managed-subscriptions', (ctx) => json({ subscriptions: managedSubscriptions(ctx.org).list() }));
  router.on(['POST', 'PUT'], '/__emulator/managed-subscriptions', async (ctx) => {
    const body = await readJson<ManagedSubscriptionDef>(ctx.req, { anyMediaType: true });
    try {
      return json(managedSubscriptions(ctx.org).define(body ?? ({} as ManagedSubscriptionDef)));
    } catch (err) {
      if (err instanceof ManagedSubscriptionError) return json({ error: err.message }, 400);
      throw err;
    }
  });
  router.on('DELETE', '/__emulator/managed-subscriptions/:id', (ctx, params) => {
    const id = params.id;
    return managedSubscriptions(ctx.org).remove(id) ? json({ deleted: id }) : json({ error: `no managed subscription ${id}` }, 404);
  });

  // Expire every access token now (tests of the refresh path).
  router.on('POST', '/__emulator/sessions/expire', (ctx) => {
    ctx.sessions.expireAll();
    return json({ expired: true });
  });
}
