/**
 * The fleet's job queue (pg-boss) on the local Postgres: priority order, merge by key, exclusivity across
 * queue instances (each its own pg-boss, as separate processes would be) shown by the audit table, and a
 * stop that hands a job back with its checkpoint to another instance.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { PostgresJobQueue } from '../../src/engine/jobs/postgres.ts';
import type { Job } from '../../src/engine/jobs/queue.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { PG_URL } from '../store/backends.ts';

async function place() {
  const schema = `sfbridge_jobs_${randomBytes(5).toString('hex')}`;
  const url = `${PG_URL}?schema=${schema}`;
  const stores: Store[] = [];
  return {
    url,
    async queue() {
      const store = await openStore(url);
      stores.push(store);
      return new PostgresJobQueue({ storeUrl: url, state: await store.serviceState(), pollSeconds: 0.5 });
    },
    async cleanup() {
      for (const s of stores) await s.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fleet job queue (pg-boss on Postgres)', { timeout: 120_000 }, () => {
  it('runs higher priorities first and merges a second add for a queued key', async () => {
    const p = await place();
    const queue = await p.queue();
    try {
      for (const [key, priority] of [['a', 'initial'], ['b', 'incremental'], ['c', 'cdc'], ['d', 'interactive']] as const) await queue.add({ key, kind: 'k', payload: { key }, priority });
      const merged = await queue.add({ key: 'a', kind: 'k', payload: { key: 'a', again: true }, priority: 'initial' });
      assert.equal(merged.added, false, 'a queued key merges');
      assert.equal((await queue.list({ key: 'a' })).length, 1);
      const order: string[] = [];
      const payloads: unknown[] = [];
      await new Promise<void>((resolve) => {
        queue.start({ concurrency: 1, handlers: { k: async (job) => (order.push(job.key), payloads.push(job.payload), 'done') }, onSettled: () => order.length === 4 && resolve() });
      });
      assert.deepEqual(order, ['d', 'c', 'b', 'a']);
      assert.deepEqual(payloads[3], { key: 'a', again: true }, 'the merged payload is the newer one');
      assert.deepEqual(await queue.list(), []);
    } finally {
      await queue.stop();
      await p.cleanup();
    }
  });

  it('never runs one key on two instances at once (audit table), and a stop hands the job back with its checkpoint', async () => {
    const p = await place();
    const a = await p.queue();
    const b = await p.queue();
    try {
      const done: Job[] = [];
      const handler = async (job: Job) => {
        await sleep(80);
        return 'done' as const;
      };
      for (let i = 0; i < 12; i++) await a.add({ key: `k${i % 3}`, kind: 'k', payload: { i }, priority: 'initial' });
      // Jobs added while one of their key runs wait for it (a running key's add is a new job).
      const finished = new Promise<void>((resolve) => {
        const onSettled = (job: Job) => (done.push(job), done.length === 3 && resolve());
        a.start({ concurrency: 3, handlers: { k: handler }, onSettled });
        b.start({ concurrency: 3, handlers: { k: handler }, onSettled });
      });
      await finished;
      const audit = await a.audit();
      assert.equal(audit.length, 3, 'the merged adds ran once per key');
      for (const x of audit) for (const y of audit) {
        if (x === y || x.key !== y.key) continue;
        assert.ok(x.endedAt! <= y.startedAt || y.endedAt! <= x.startedAt, `key ${x.key} ran twice at once`);
      }

      // Interrupted by a stop: the checkpoint stays and the other instance resumes.
      let started!: () => void;
      const isRunning = new Promise<void>((r) => (started = r));
      const seen: Array<{ checkpoint: unknown; resumed: boolean; on: string }> = [];
      const long = (on: string) => async (job: Job, ctx: { signal: AbortSignal; checkpoint(v: object): Promise<void> }) => {
        seen.push({ checkpoint: job.checkpoint, resumed: job.resumed, on });
        if (job.checkpoint) return 'done' as const;
        await ctx.checkpoint({ batches: 1 });
        started();
        await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
        return 'interrupted' as const;
      };
      await a.stop();
      await b.stop();
      const c = await p.queue();
      const d = await p.queue();
      let resolveDone!: () => void;
      const resumed = new Promise<void>((r) => (resolveDone = r));
      c.start({ concurrency: 1, handlers: { k: long('c') } });
      const { job } = await c.add({ key: 'long', kind: 'k', payload: {}, priority: 'incremental' });
      await isRunning;
      await c.stop();
      const back = await d.get(job.id);
      assert.equal(back?.state, 'queued', 'handed back');
      assert.deepEqual(back?.checkpoint, { batches: 1 });
      d.start({ concurrency: 1, handlers: { k: long('d') }, onSettled: (_j, outcome) => outcome === 'done' && resolveDone() });
      await resumed;
      assert.deepEqual(seen.map((s) => s.on), ['c', 'd']);
      assert.deepEqual(seen[1], { checkpoint: { batches: 1 }, resumed: true, on: 'd' });
      const trail = await d.audit('long');
      assert.deepEqual(trail.map((t) => t.outcome), ['interrupted', 'done']);
      assert.equal(await d.settled(job.id), 'gone');
      await d.stop();
    } finally {
      await a.stop();
      await b.stop();
      await p.cleanup();
    }
  });
});
