/** The embedded job queue on both store backends: priority order, merge by key, exclusivity, checkpoints, recovery. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EmbeddedJobQueue } from '../../src/engine/jobs/embedded.ts';
import type { Job, JobContext } from '../../src/engine/jobs/queue.ts';
import { backends } from '../store/backends.ts';

for (const backend of backends) {
  describe(`embedded job queue (${backend.name})`, () => {
    it('runs higher priorities first: interactive, cdc, incremental, initial', async () => {
      const place = await backend.place();
      const store = await place.open();
      try {
        const queue = new EmbeddedJobQueue({ state: await store.serviceState() });
        const order: string[] = [];
        for (const [key, priority] of [['a', 'initial'], ['b', 'incremental'], ['c', 'cdc'], ['d', 'interactive'], ['e', 'incremental']] as const) {
          await queue.add({ key, kind: 'k', payload: { key }, priority });
        }
        let settled = 0;
        await new Promise<void>((resolve) => {
          queue.start({ concurrency: 1, handlers: { k: async (job) => (order.push(job.key), 'done') }, onSettled: () => ++settled === 5 && resolve() });
        });
        assert.deepEqual(order, ['d', 'c', 'b', 'e', 'a']);
        assert.deepEqual(await queue.list(), [], 'finished jobs are removed');
        await queue.stop();
      } finally {
        await store.close();
        await place.cleanup();
      }
    });

    it('merges a second add for a queued key, runs one job per key at a time, keeps checkpoints across an interruption', async () => {
      const place = await backend.place();
      const store = await place.open();
      try {
        const state = await store.serviceState();
        const queue = new EmbeddedJobQueue({ state });
        const later = new Date(Date.now() + 60_000);
        const first = await queue.add({ key: 'p', kind: 'k', payload: { n: 1 }, priority: 'initial', runAt: later });
        const second = await queue.add({ key: 'p', kind: 'k', payload: { n: 2 }, priority: 'interactive' });
        assert.equal(second.added, false);
        assert.equal(second.job.id, first.job.id);
        assert.equal(second.job.priority, 'interactive');
        assert.ok(Date.parse(second.job.runAt) < later.getTime(), 'the earlier time wins');
        assert.deepEqual(second.job.payload, { n: 2 });

        let running = 0;
        let maxRunning = 0;
        const seen: Array<{ payload: unknown; checkpoint: unknown; resumed: boolean }> = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const handler = async (job: Job, ctx: JobContext) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          seen.push({ payload: job.payload, checkpoint: job.checkpoint, resumed: job.resumed });
          try {
            if (!job.checkpoint) {
              await ctx.checkpoint({ step: 1 });
              await gate;
              return ctx.signal.aborted ? 'interrupted' : 'done';
            }
            return 'done';
          } finally {
            running--;
          }
        };
        queue.start({ concurrency: 4, handlers: { k: handler } });
        await new Promise((r) => setTimeout(r, 100));
        // A job for the same key added while one runs waits for it.
        await queue.add({ key: 'p', kind: 'k', payload: { n: 3 }, priority: 'interactive' });
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(maxRunning, 1);
        // Stop: the running job is interrupted and stays queued with its checkpoint.
        const stopping = queue.stop();
        release();
        await stopping;
        const left = await queue.list({ key: 'p' });
        assert.deepEqual(left.map((j) => [j.state, j.checkpoint]).sort(), [['queued', null], ['queued', { step: 1 }]].sort());

        // A new process: the interrupted job resumes from its checkpoint.
        const next = new EmbeddedJobQueue({ state });
        await next.recover();
        let done = 0;
        await new Promise<void>((resolve) => next.start({ concurrency: 4, handlers: { k: handler }, onSettled: () => ++done === 2 && resolve() }));
        assert.equal(maxRunning, 1, 'still one job per key');
        const resumed = seen.find((s) => (s.checkpoint as { step?: number } | null)?.step === 1)!;
        assert.equal(resumed.resumed, true);
        await next.stop();
      } finally {
        await store.close();
        await place.cleanup();
      }
    });

    it('a job left running by a killed process is put back by recover(); a failing job ends failed', async () => {
      const place = await backend.place();
      const store = await place.open();
      try {
        const state = await store.serviceState();
        const row = await state.insertJob({ key: 'x', kind: 'k', rank: 2, runAt: new Date().toISOString(), state: 'queued', payload: {}, maxAttempts: 1 });
        await state.updateJob(row.id, { state: 'running', lockedBy: 'dead-process', attempts: 1, checkpoint: { at: 'Contact' } });
        const queue = new EmbeddedJobQueue({ state });
        const recovered = await queue.recover();
        assert.deepEqual(recovered.map((j) => [j.id, j.state, j.checkpoint, j.resumed]), [[row.id, 'queued', { at: 'Contact' }, true]]);
        const failing = await queue.add({ key: 'y', kind: 'boom', payload: {}, priority: 'incremental' });
        await new Promise<void>((resolve) => queue.start({ handlers: { k: async () => 'done', boom: async () => Promise.reject(new Error('no luck')) }, onSettled: (j) => j.key === 'y' && resolve() }));
        assert.equal(await queue.settled(failing.job.id), 'failed');
        const [failed] = await queue.list({ key: 'y' });
        assert.deepEqual([failed.state, failed.error], ['failed', 'no luck']);
        await queue.stop();
      } finally {
        await store.close();
        await place.cleanup();
      }
    });
  });
}
