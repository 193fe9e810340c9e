/**
 * The live part of the run page: `GET /runs/:id/stream[?after=SEQ]` is a Server-Sent Events stream of the
 * run's snapshot (status, per-object counts, and the event-log entries after SEQ). It sends one snapshot at once, then one after engine events of
 * that run (coalesced, at most every {@link SNAPSHOT_MS}), and a `finished` snapshot when the run ends, after
 * which it closes. A comment line every {@link HEARTBEAT_MS} keeps proxies from closing an idle stream.
 *
 * {@link RunTotals} remembers how many records each object of a running run expects (the engine announces
 * it with `object:started`/`object:batch` for initial loads, and publish progress), so the page can draw a
 * progress bar rather than a bare count.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Service } from '../../engine/service.ts';
import { runSnapshot } from './dashboard.ts';

export const SNAPSHOT_MS = 250;
export const HEARTBEAT_MS = 15_000;

const trackers = new WeakMap<Service, RunTotals>();

/** Expected record counts per object of running runs, fed by the service's event stream. */
export class RunTotals {
  readonly #totals = new Map<number, Record<string, number>>();
  /** Objects that have started, per run seen from its start (the others of such a run are waiting). */
  readonly #started = new Map<number, Set<string>>();

  /** One tracker per service, however many apps are built on it. */
  static of(service: Service): RunTotals {
    let t = trackers.get(service);
    if (!t) trackers.set(service, (t = new RunTotals(service)));
    return t;
  }

  private constructor(service: Service) {
    service.events.on('pipeline:run:started', (e) => this.#started.set(e.runId, new Set()));
    service.events.on('pipeline:run:event', (e) => {
      const d = e.data as { object?: string; total?: number };
      if (d.object && typeof d.object === 'string') this.#started.get(e.runId)?.add(d.object);
      if (e.type !== 'object:started' && e.type !== 'object:batch') return;
      if (d.object && typeof d.total === 'number') this.#set(e.runId, d.object, d.total);
    });
    service.events.on('pipeline:run:progress', (e) => {
      this.#started.get(e.runId)?.add(e.object);
      this.#set(e.runId, e.object, e.total);
    });
    service.events.on('pipeline:run:finished', (e) => {
      this.#totals.delete(e.runId);
      this.#started.delete(e.runId);
    });
  }

  #set(runId: number, object: string, total: number): void {
    const t = this.#totals.get(runId) ?? {};
    t[object] = total;
    this.#totals.set(runId, t);
  }

  /** Expected totals and the objects that have not started yet (known for runs seen from their start). */
  get(runId: number): { totals?: Record<string, number>; waiting?: (object: string) => boolean } {
    const started = this.#started.get(runId);
    return { totals: this.#totals.get(runId), waiting: started && ((o) => !started.has(o)) };
  }
}

/** The SSE response of `/runs/:id/stream` (the caller checked that the run exists). */
export function runStream(c: Context, service: Service, runId: number): Response {
  const totals = RunTotals.of(service);
  // Event-log entries the page has already (it renders them); the stream sends the ones after.
  // A reconnecting EventSource sends the id of the last message it got, which is the last entry's seq.
  let after = Number(c.req.header('last-event-id') || c.req.query('after') || 0);
  if (!Number.isSafeInteger(after) || after < 0) after = 0;
  return streamSSE(c, async (stream) => {
    let timer: NodeJS.Timeout | undefined;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let ended = false;
    const send = async (final: boolean) => {
      if (ended) return;
      const run = await service.getRun(runId);
      if (!run || ended) return;
      const last = final || run.status !== 'running';
      const events = (await service.runEvents(runId, after)).map((e) => ({ seq: e.seq, at: e.at, level: e.level, type: e.type, message: e.message }));
      if (events.length) after = events[events.length - 1].seq;
      await stream.writeSSE({ event: last ? 'finished' : 'progress', id: String(after), data: JSON.stringify({ ...runSnapshot(run, totals.get(runId)), events }) });
      if (last) {
        ended = true;
        finish();
      }
    };
    const soon = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        void send(false).catch(finish);
      }, SNAPSHOT_MS);
    };
    const onEvent = (e: { runId: number }) => e.runId === runId && soon();
    const onFinished = (e: { runId: number }) => {
      if (e.runId !== runId) return;
      clearTimeout(timer);
      timer = undefined;
      void send(true).catch(finish);
    };
    service.events.on('pipeline:run:event', onEvent);
    service.events.on('pipeline:run:progress', onEvent);
    service.events.on('pipeline:run:finished', onFinished);
    const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(finish), HEARTBEAT_MS);
    stream.onAbort(() => finish());
    try {
      await send(false);
      await done;
    } finally {
      ended = true;
      clearTimeout(timer);
      clearInterval(heartbeat);
      service.events.off('pipeline:run:event', onEvent);
      service.events.off('pipeline:run:progress', onEvent);
      service.events.off('pipeline:run:finished', onFinished);
    }
  });
}
