/**
 * The emulator's own control surface under `/__emulator/` (no Salesforce equivalent): reset data, change
 * faults, move the clock, read stats. Unauthenticated on purpose: it is for tests and demos on localhost.
 */
import type { Ctx } from './app.ts';
import { parseFaultSpec } from './faults.ts';
import { json, readJson } from './http/respond.ts';
import type { Router } from './http/router.ts';

export function registerAdminRoutes(router: Router<Ctx>): void {
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
    const body = await readJson<{ advance?: number; set?: string | number; freeze?: boolean; reset?: boolean }>(ctx.req);
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
    for (const def of ctx.org.schema.all()) counts[def.name] = ctx.org.store.count(def);
    return json({ ...ctx.emulator.stats, apiUsage: ctx.org.apiUsage, records: counts, rssBytes: process.memoryUsage().rss });
  });

  // Expire every access token now (tests of the refresh path).
  router.on('POST', '/__emulator/sessions/expire', (ctx) => {
    ctx.sessions.expireAll();
    return json({ expired: true });
  });
}
