/**
 * `GET /api/v1/changes/stream`: Server-Sent Events of record changes as sfbridge writes them into its
 * mirrors (sync runs of every sync pipeline), for live UIs. Each event is
 * `{object, id, op: upsert|delete, at, record}`; `objects=` and `fields=` narrow it, and `where=Field:value`
 * keeps only records whose field has that value.
 *
 * Resuming: every event's `id` is the stream's position (per object, the write time and Id of the last row
 * sent), so a client that reconnects with `Last-Event-ID` (EventSource does) or `?since=` gets exactly the
 * changes after it. Without one the stream starts at the present. A row changed twice while a client was away
 * arrives once, as it now is.
 */
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SyncPipelineSpec } from '../../engine/pipelines/index.ts';
import { resolveStoreUrl } from '../../engine/pipelines/index.ts';
import type { Service } from '../../engine/service.ts';
import type { ChangeCursor, MirrorChange } from '../../store/index.ts';

/** How often the mirrors are read when no sync event woke the stream (writes by other workers). */
export const CHANGES_POLL_MS = 1_000;
export const CHANGES_HEARTBEAT_MS = 15_000;
/** Rows read per object per turn. */
export const CHANGES_PAGE = 500;

type Position = Record<string, [string, string]>;

function encodePosition(p: Position): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

function decodePosition(text: string | undefined): Position | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const out: Position = {};
    for (const [k, c] of Object.entries(v)) if (Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && typeof c[1] === 'string') out[k] = [c[0], c[1]];
    return out;
  } catch {
    return undefined;
  }
}

/** The mirror tables the service writes: object → store URL (from its sync pipelines). */
export async function mirrors(service: Service): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await service.pipelines.list()) {
    if (e.spec.kind !== 'sync') continue;
    const spec = e.spec as unknown as SyncPipelineSpec;
    const url = resolveStoreUrl(spec.store ?? service.storeUrl, service.baseDir);
    const objects = [...spec.standard_objects_to_sync, ...(Array.isArray(spec.custom_objects_to_sync) ? spec.custom_objects_to_sync.filter((o) => o !== '*') : [])];
    for (const o of objects) if (!out.has(o)) out.set(o, url);
  }
  return out;
}

const error = (c: Context, status: 400, code: string, message: string) => c.json({ error: { code, message } }, status);

export function registerChangesStream(app: Hono<any>, service: Service): void {
  app.get('/api/v1/changes/stream', async (c) => {
    const known = await mirrors(service);
    const asked = c.req.query('objects')?.split(',').map((s) => s.trim()).filter(Boolean);
    const lower = new Map([...known.keys()].map((k) => [k.toLowerCase(), k]));
    const objects = asked ? asked.map((o) => lower.get(o.toLowerCase()) ?? o) : [...known.keys()];
    const unknown = objects.filter((o) => !known.has(o));
    if (unknown.length) return error(c, 400, 'UNKNOWN_OBJECT', `no sync pipeline mirrors ${unknown.join(', ')} (mirrored: ${[...known.keys()].join(', ') || 'none'})`);
    const fields = c.req.query('fields')?.split(',').map((s) => s.trim()).filter(Boolean);
    const whereText = c.req.query('where');
    const where = whereText ? /^([A-Za-z][A-Za-z0-9_]*):(.*)$/.exec(whereText) : undefined;
    if (whereText && !where) return error(c, 400, 'INVALID_REQUEST', 'where= takes Field:value, e.g. where=Industry:Banking');
    const resumeText = c.req.header('last-event-id') ?? c.req.query('since');
    const resumed = decodePosition(resumeText);
    if (resumeText && !resumed) return error(c, 400, 'INVALID_REQUEST', 'Last-Event-ID / since is not a position this stream sent; reconnect without it to start at the present');
    const now = new Date().toISOString();
    const position: Position = {};
    for (const o of objects) position[o] = resumed?.[o] ?? (resumed ? ['1970-01-01T00:00:00.000Z', ''] : [now, '']);

    return streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      let closed = false;
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      const onEvent = (e: { type: string; data: unknown }) => {
        if (e.type === 'object:batch' || e.type === 'object:finished' || e.type === 'object:deletes') wake?.();
      };
      service.events.on('pipeline:run:event', onEvent);
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), CHANGES_HEARTBEAT_MS);
      try {
        await stream.writeSSE({ event: 'ready', id: encodePosition(position), data: JSON.stringify({ objects, resumed: Boolean(resumed) }) });
        while (!closed) {
          for (const object of objects) {
            for (;;) {
              if (closed) break;
              const store = await service.store(known.get(object)!);
              const [at, id] = position[object];
              const rows: MirrorChange[] = await store.changesSince(object, { at, id } satisfies ChangeCursor, CHANGES_PAGE);
              for (const r of rows) {
                position[object] = [r.at, r.id];
                if (where && !r.deleted && String(r.record[where[1]] ?? '') !== where[2]) continue;
                const record = fields ? Object.fromEntries(['Id', ...fields.filter((f) => f !== 'Id')].map((f) => [f, r.record[f] ?? null])) : r.record;
                await stream.writeSSE({ event: 'change', id: encodePosition(position), data: JSON.stringify({ object: r.object, id: r.id, op: r.deleted ? 'delete' : 'upsert', at: r.at, record }) });
              }
              if (rows.length < CHANGES_PAGE) break;
            }
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              wake = undefined;
              resolve();
            }, CHANGES_POLL_MS);
            wake = () => {
              clearTimeout(t);
              wake = undefined;
              resolve();
            };
          });
        }
      } finally {
        clearInterval(heartbeat);
        service.events.off('pipeline:run:event', onEvent);
      }
    });
  });
}
