/**
 * `/metrics` for Prometheus, fed by the service's event stream (the same events as the logs and the run
 * event log) plus, at scrape time, what only the store knows: dead-letter depth and lag.
 */
import client from 'prom-client';
import type { RunContext, RunObjectCounts } from '../engine/events.ts';
import type { Service } from '../engine/service.ts';

export interface Metrics {
  registry: client.Registry;
  /** The exposition text. */
  text(): Promise<string>;
  contentType: string;
  close(): void;
}

export function createMetrics(service: Service, opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new client.Registry();
  if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: registry, prefix: 'sfbridge_' });
  const labels = ['pipeline', 'object'] as const;
  const read = new client.Counter({ name: 'sfbridge_records_read_total', help: 'Records read from Salesforce (sync) or from the source (publish)', labelNames: labels, registers: [registry] });
  const written = new client.Counter({ name: 'sfbridge_records_written_total', help: 'Records written to the mirror (sync) or to Salesforce (publish)', labelNames: labels, registers: [registry] });
  const deleted = new client.Counter({ name: 'sfbridge_records_deleted_total', help: 'Records deleted in the mirror', labelNames: labels, registers: [registry] });
  const runs = new client.Counter({ name: 'sfbridge_runs_total', help: 'Finished pipeline runs by status', labelNames: ['pipeline', 'status'], registers: [registry] });
  const durations = new client.Histogram({ name: 'sfbridge_run_duration_seconds', help: 'Pipeline run duration', labelNames: ['pipeline', 'kind', 'status'], buckets: [0.5, 1, 5, 15, 60, 300, 900, 3600], registers: [registry] });
  const errors = new client.Counter({ name: 'sfbridge_errors_total', help: 'Errors by code (failed runs, failed objects, refused budgets, warnings)', labelNames: ['pipeline', 'code'], registers: [registry] });
  const used = new client.Gauge({ name: 'sfbridge_api_calls_used', help: 'API calls used in the rolling 24 h window (Sforce-Limit-Info)', labelNames: ['org'], registers: [registry] });
  const remaining = new client.Gauge({ name: 'sfbridge_api_calls_remaining', help: 'API calls remaining in the rolling 24 h window', labelNames: ['org'], registers: [registry] });
  const max = new client.Gauge({ name: 'sfbridge_api_calls_max', help: 'Daily API call allocation', labelNames: ['org'], registers: [registry] });
  new client.Gauge({
    name: 'sfbridge_dead_letters_open',
    help: 'Open dead letters per pipeline',
    labelNames: ['pipeline'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [pipeline, n] of await service.deadLetterDepth().catch(() => new Map<string, number>())) this.set({ pipeline }, n);
    },
  });
  new client.Gauge({
    name: 'sfbridge_two_way_changes',
    help: "Two-way sync: application changes of each writable table by state (pending, succeeded, failed, superseded, skipped)",
    labelNames: ['object', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const t = await service.twoWay({ limit: 1 }).catch(() => ({ objects: [] }));
      for (const o of t.objects) for (const [state, n] of Object.entries(o.counts)) this.set({ object: o.object, state }, n);
    },
  });
  new client.Gauge({
    name: 'sfbridge_pipeline_lag_seconds',
    help: 'Seconds since the start of the last successful run of each pipeline (its data is current as of then)',
    labelNames: ['pipeline'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await service.state.listSchedules().catch(() => [])) {
        const at = typeof s.state?.lastSuccessAt === 'string' ? Date.parse(s.state.lastSuccessAt) : NaN;
        if (Number.isFinite(at)) this.set({ pipeline: s.pipeline }, Math.max(0, (Date.now() - at) / 1000));
      }
    },
  });
  new client.Gauge({
    name: 'sfbridge_runs_active',
    help: 'Runs in progress',
    registers: [registry],
    collect() {
      this.set(service.live.size);
    },
  });

  // Counters move by the difference to what a run's object had already reported.
  const seen = new Map<string, { read: number; written: number; deleted: number }>();
  const add = (ctx: RunContext, object: string, c: { read: number; written: number; deleted: number }) => {
    const k = `${ctx.runId}\u0000${object}`;
    const prev = seen.get(k) ?? { read: 0, written: 0, deleted: 0 };
    const l = { pipeline: ctx.pipeline, object };
    if (c.read > prev.read) read.inc(l, c.read - prev.read);
    if (c.written > prev.written) written.inc(l, c.written - prev.written);
    if (c.deleted > prev.deleted) deleted.inc(l, c.deleted - prev.deleted);
    seen.set(k, { read: Math.max(prev.read, c.read), written: Math.max(prev.written, c.written), deleted: Math.max(prev.deleted, c.deleted) });
  };
  const onEvent = (e: RunContext & { type: string; data: Record<string, unknown> }) => {
    if (e.type === 'object:batch' || e.type === 'object:finished') add(e, String(e.data.object), e.data as never);
    if (e.type === 'object:finished' && e.data.status === 'failed') errors.inc({ pipeline: e.pipeline, code: 'OBJECT_FAILED' });
    if (e.type === 'budget:refused') errors.inc({ pipeline: e.pipeline, code: String(e.data.code) });
    if (e.type === 'warning') errors.inc({ pipeline: e.pipeline, code: String(e.data.code) });
  };
  const onFinished = (e: RunContext & { status: string; seconds: number; objects: Record<string, RunObjectCounts>; errorCode?: string }) => {
    for (const [object, c] of Object.entries(e.objects)) add(e, object, c);
    for (const k of [...seen.keys()]) if (k.startsWith(`${e.runId}\u0000`)) seen.delete(k);
    runs.inc({ pipeline: e.pipeline, status: e.status });
    durations.observe({ pipeline: e.pipeline, kind: e.kind, status: e.status }, e.seconds);
    if (e.status === 'failed') errors.inc({ pipeline: e.pipeline, code: e.errorCode ?? 'RUN_FAILED' });
  };
  const onUsage = (e: { org: string; used: number; max: number }) => {
    used.set({ org: e.org }, e.used);
    max.set({ org: e.org }, e.max);
    remaining.set({ org: e.org }, Math.max(0, e.max - e.used));
  };
  service.events.on('pipeline:run:event', onEvent as never);
  service.events.on('pipeline:run:finished', onFinished as never);
  service.events.on('api:usage', onUsage);
  // Gauges start from the stored readings, so a restart does not show an org as unknown until its next call.
  void service.usageNow().then((rows) => rows.forEach(onUsage), () => undefined);
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    close() {
      service.events.off('pipeline:run:event', onEvent as never);
      service.events.off('pipeline:run:finished', onFinished as never);
      service.events.off('api:usage', onUsage);
    },
  };
}
