/**
 * The fleet end to end on the local Postgres: a scheduler (the service with the fleet's job engine and no
 * workers of its own), 3 `sfbridge worker` processes and 3 emulated orgs. Workers are SIGKILLed at random
 * points during the initial loads and during incremental cycles while the orgs keep changing, and a
 * replacement is started each time. Afterwards every mirror equals its org on every row and field, the
 * audit table shows no (connection, object) ever ran on two workers at once, and SIGTERM stops the
 * survivors cleanly. The takeover latency is printed.
 *
 * One API budget per org across the fleet: 4 workers sync one emulated org with an 80% ceiling until the
 * ceiling refuses their runs; the emulator's own counter of API calls never passes the ceiling. (Each run
 * has a governor of its own, so without the shared count every new run would make one unchecked call past
 * the ceiling, and workers' calls in flight would not see each other.)
 *
 * One CDC leader per (connection, object): 2 workers, one org with Account in `mode: cdc`; the audit shows one
 * leader at a time; SIGKILL of the leader's worker → the other takes over (the time is printed) and the mirror
 * equals the org after further writes; pausing the pipeline on the scheduler ends the leader on its worker.
 *
 * All in one file so they never run at the same time (each holds many Postgres connections).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { startPubSub } from '../../src/emulator/events/pubsub/server.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { parsePipeline, type PipelineEntry } from '../../src/engine/pipelines/index.ts';
import { Service } from '../../src/engine/service.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { auditOverlaps, readAudit, scratchDatabase, startWorker, takeoverLatencies, type WorkerProcess } from '../helpers/fleet.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { clientFor, mirrorDiff } from './helpers.ts';

const ORGS = 3;
const WORKERS = 3;
const OBJECTS = ['Account', 'Contact', 'Opportunity'];
const SEED = 'Account=300,Contact=1500,Opportunity=300';
const DAILY = 250;
const CEILING = 0.8;
const BUDGET_OBJECTS = ['Account', 'Contact', 'Opportunity', 'Lead', 'Case', 'Campaign'];

describe('fleet: 3 workers, 3 orgs, SIGKILLs during loads and cycles', () => {
  it('every mirror equals its org, no (connection, object) ran twice at once, takeover measured', { timeout: 420_000 }, async () => {
    const db = await scratchDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-fleet-'));
    const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64'), SFBRIDGE_LOG_LEVEL: 'info' };
    const orgs: ServedOrg[] = [];
    const workers: WorkerProcess[] = [];
    const killedAt = new Map<number, number>();
    const log: string[] = [];
    let service: Service | undefined;
    let writing = true;
    let writer: Promise<void> | undefined;
    const stores: Store[] = [];
    try {
      const connections: Record<string, unknown> = {};
      const pipelines: Array<Record<string, unknown>> = [];
      for (let i = 0; i < ORGS; i++) {
        const org = await servedOrg();
        await seedOrg(org.emu.org, SEED);
        // Each API call takes 50 ms, as over a network: a load or a cycle lasts long enough for a kill at a
        // random moment to land inside it.
        org.emu.org.faults.settings.latency = 50;
        orgs.push(org);
        connections[`org${i}`] = { kind: 'client_credentials', instance_url: org.url, client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret };
        pipelines.push({ name: `crm${i}`, kind: 'sync', connection: `org${i}`, standard_objects_to_sync: OBJECTS, store: db.url(`mirror${i}`), schedule: '1s', lag: '1s', bulk_threshold: 1000 });
      }
      const config = join(dir, 'sfbridge.yaml');
      writeFileSync(config, JSON.stringify({ connections, pipelines }));
      const storeUrl = db.url('svc');
      const args = ['--store', storeUrl, '--config', config, '--concurrency', '2'];

      // The scheduler: no workers of its own.
      const entries: PipelineEntry[] = pipelines.map((raw) => ({ spec: parsePipeline(raw), raw: raw as never, source: 'config' }));
      service = await Service.open({ storeUrl, connections: connections as never, pipelines: entries, baseDir: dir, env, jobs: 'postgres', concurrency: 0, schedulePollMs: 500 });
      for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(args, env));

      // The orgs keep changing for the whole test: updates, inserts, soft deletes.
      const writers = orgs.map((o) => clientFor(o.emu, { governor: false }));
      writer = (async () => {
        let n = 0;
        while (writing) {
          for (const [i, w] of writers.entries()) {
            const [acc] = await w.query<{ Id: string }>(`SELECT Id FROM Account ORDER BY Id LIMIT 1 OFFSET ${(n * 7) % 250}`).toArray();
            if (acc) await w.update('Account', acc.Id, { Name: `Changed ${n}`, NumberOfEmployees: n });
            await w.create('Contact', { LastName: `New ${i}.${n}` });
            if (n % 5 === 0) {
              const [opp] = await w.query<{ Id: string }>(`SELECT Id FROM Opportunity ORDER BY Id LIMIT 1 OFFSET ${n % 200}`).toArray();
              if (opp) await w.delete('Opportunity', opp.Id).catch(() => undefined);
            }
          }
          n++;
          await sleep(50);
        }
      })();

      /**
       * Kills a worker a random moment after it starts loading an object (initial) or reading its changes, and
       * starts a replacement. A kill must land while that object is still in progress (a small object can
       * finish before the random moment on a quiet machine): when the worker has logged the object as finished
       * by then, it is spared and the next start is aimed at instead, up to five times.
       */
      const killOne = async (phase: 'initial load' | 'incremental', maxDelayMs: number) => {
        const match = (rec: Record<string, unknown>) => (phase === 'incremental') === (rec.mode === 'incremental');
        for (let attempt = 1; attempt <= 5; attempt++) {
          const started = await Promise.race([...workers.filter((w) => !killedAt.has(w.pid)).map((w) => w.next('object:started', match).then((rec) => ({ w, rec }))), sleep(45_000).then(() => undefined)]);
          if (!started) {
            log.push(`${phase}: no worker started one within 45 s, no kill`);
            return;
          }
          const delay = Math.floor(Math.random() * maxDelayMs);
          await sleep(delay);
          const what = `${String(started.rec.pipeline)} ${String(started.rec.object)} (${String(started.rec.mode)}, run ${String(started.rec.runId)})`;
          const finished = started.w.lines.some((l) => l.event === 'object:finished' && l.runId === started.rec.runId && l.object === started.rec.object);
          if (finished) {
            log.push(`${phase}: worker ${started.w.pid} finished ${what} within ${delay} ms, not killed`);
            continue;
          }
          started.w.child.kill('SIGKILL');
          killedAt.set(started.w.pid, Date.now());
          log.push(`${phase}: killed worker ${started.w.pid} ${delay} ms after it started ${what}`);
          await started.w.exited;
          workers.push(await startWorker(args, env));
          return;
        }
      };

      // During the initial loads: the first kill waits for a load before anything is scheduled, so it cannot miss them.
      const firstKill = killOne('initial load', 500);
      await service.start();
      await firstKill;
      // The killed worker's load is taken over and started again: the second kill can aim at it.
      await killOne('initial load', 500);
      // Wait for every object to be loaded, then kill during incremental cycles.
      const loaded = async () => {
        for (let i = 0; i < ORGS; i++) {
          const store = await openStore(db.url(`mirror${i}`), { maxConnections: 1 });
          try {
            for (const o of OBJECTS) if (!(await store.getCheckpoint(o))?.extra?.loaded) return false;
          } finally {
            await store.close();
          }
        }
        return true;
      };
      const t0 = Date.now();
      while (!(await loaded())) {
        assert.ok(Date.now() - t0 < 240_000, `initial loads did not finish:\n${log.join('\n')}`);
        await sleep(1000);
      }
      await killOne('incremental', 150);
      await killOne('incremental', 150);
      for (const phase of ['initial load', 'incremental']) assert.ok(log.some((l) => l.startsWith(`${phase}: killed`)), `a worker was killed during the ${phase} phase:\n${log.join('\n')}`);
      await sleep(3000);
      writing = false;
      await writer;

      // Converge: the writes are over; within a few cycles (and takeovers) every mirror equals its org.
      let diffs: string[] = [];
      const t1 = Date.now();
      do {
        await sleep(2000);
        diffs = [];
        for (let i = 0; i < ORGS; i++) {
          const store = await openStore(db.url(`mirror${i}`), { maxConnections: 1 });
          try {
            for (const o of OBJECTS) diffs.push(...(await mirrorDiff(orgs[i].emu, store, o, 5)).map((d) => `org${i} ${d}`));
          } finally {
            await store.close();
          }
        }
      } while (diffs.length && Date.now() - t1 < 120_000);
      assert.deepEqual(diffs, [], `mirrors differ from their orgs after the kills:\n${log.join('\n')}`);

      // SIGTERM: the survivors commit their batch, hand the rest back and exit 0.
      await service.stop();
      service = undefined;
      for (const w of workers.filter((x) => !killedAt.has(x.pid))) w.child.kill('SIGTERM');
      for (const w of workers.filter((x) => !killedAt.has(x.pid))) {
        const e = await w.exited;
        assert.equal(e.code, 0, `worker ${w.pid} did not stop cleanly:\n${w.output().slice(-2000)}`);
      }

      const spans = await readAudit(storeUrl, 'svc');
      assert.deepEqual(auditOverlaps(spans, killedAt), [], 'no (connection, object) ran on two workers at once');
      assert.equal(new Set(spans.map((s) => s.key)).size, ORGS * OBJECTS.length, 'one key per (connection, object)');
      const takeovers = takeoverLatencies(spans, killedAt);
      assert.ok(takeovers.length >= 1, `a killed worker held at least one job (${log.join('; ')})`);
      assert.deepEqual(takeovers.filter((t) => t.seconds === null), [], 'every job of a killed worker was taken over');
      const secs = takeovers.map((t) => t.seconds!);
      console.log(`fleet takeover latency: ${takeovers.length} jobs, min ${Math.min(...secs).toFixed(1)} s, max ${Math.max(...secs).toFixed(1)} s, mean ${(secs.reduce((a, b) => a + b, 0) / secs.length).toFixed(1)} s; ${spans.length} attempts in the audit table\n  ${log.join('\n  ')}`);
    } finally {
      writing = false;
      await writer?.catch(() => undefined);
      await service?.stop().catch(() => undefined);
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      for (const s of stores) await s.close();
      for (const o of orgs) await o.close();
      rmSync(dir, { recursive: true, force: true });
      await sleep(200);
      await db.drop();
    }
  });
});

describe('fleet: one API budget per org', () => {
  it('4 workers on one org with an 80% ceiling never pass it (the emulator\'s counter)', { timeout: 300_000 }, async () => {
    const db = await scratchDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-fleet-budget-'));
    const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64') };
    const workers: WorkerProcess[] = [];
    let org: ServedOrg | undefined;
    let service: Service | undefined;
    try {
      org = await servedOrg({ faults: { ...DEFAULT_FAULTS, dailyLimit: DAILY } });
      await seedOrg(org.emu.org, 'Account=200,Contact=300,Opportunity=100,Lead=100,Case=100,Campaign=20');
      const connections = { prod: { kind: 'client_credentials', instance_url: org.url, client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret, budget: { run_share: 1, org_ceiling: CEILING } } };
      const raw = { name: 'crm', kind: 'sync', connection: 'prod', standard_objects_to_sync: BUDGET_OBJECTS, store: db.url('mirror'), schedule: '1s', lag: '1s' };
      const config = join(dir, 'sfbridge.yaml');
      writeFileSync(config, JSON.stringify({ connections, pipelines: [raw] }));
      const storeUrl = db.url('svc');
      service = await Service.open({ storeUrl, connections: connections as never, pipelines: [{ spec: parsePipeline(raw), raw: raw as never, source: 'config' } as PipelineEntry], baseDir: dir, env, jobs: 'postgres', concurrency: 0, schedulePollMs: 500 });
      await service.start();
      for (let i = 0; i < 4; i++) workers.push(await startWorker(['--store', storeUrl, '--config', config, '--concurrency', '2'], env));

      // Run until the ceiling has refused runs and the counter stands still.
      const ceiling = Math.floor(CEILING * DAILY);
      let last = -1;
      let still = 0;
      const t0 = Date.now();
      let refused = 0;
      while (still < 6) {
        assert.ok(Date.now() - t0 < 240_000, `the org never reached its ceiling (${org.emu.org.apiUsage} calls)`);
        await sleep(1000);
        const used = org.emu.org.apiUsage;
        refused = (await service.listRuns({ limit: 200 })).filter((r) => r.status === 'failed' && /ceiling/.test(r.error ?? '')).length;
        still = used === last && refused > 0 ? still + 1 : 0;
        last = used;
      }
      const used = org.emu.org.apiUsage;
      console.log(`fleet budget: 4 workers, daily ${DAILY}, ceiling ${ceiling}; the emulator counted ${used} calls; ${refused} runs refused at the ceiling`);
      assert.ok(refused > 0, 'runs were refused at the ceiling');
      assert.ok(used <= ceiling, `the fleet made ${used} calls, past the ${ceiling} ceiling`);
      assert.ok(used >= ceiling - 8, `the fleet stopped well short of the ceiling (${used} of ${ceiling})`);
      const shared = await service.budgets!.list();
      assert.equal(shared.length, 1, 'one budget row for the org');
      assert.ok(shared[0].used >= used, `the fleet's count (${shared[0].used}) never undercounts the org's (${used})`);
    } finally {
      await service?.stop().catch(() => undefined);
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      await org?.close();
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});

describe('fleet: one CDC leader per (connection, object), with failover', () => {
  it('exactly one worker follows Account\'s change events; SIGKILL of it → another takes over and the mirror equals the org', { timeout: 300_000 }, async () => {
    const db = await scratchDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-fleet-cdc-'));
    const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64'), SFBRIDGE_LOG_LEVEL: 'info' };
    const workers: WorkerProcess[] = [];
    const killedAt = new Map<number, number>();
    let org: ServedOrg | undefined;
    let pubsub: Awaited<ReturnType<typeof startPubSub>> | undefined;
    let service: Service | undefined;
    let writing = true;
    let writer: Promise<void> | undefined;
    const KEY = 'cdc:prod:account';
    try {
      org = await servedOrg();
      await seedOrg(org.emu.org, 'Account=200,Contact=200');
      pubsub = await startPubSub(org.emu, { port: 0, host: '127.0.0.1', keepaliveMs: 200 });
      const connections = { prod: { kind: 'client_credentials', instance_url: org.url, client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret, pubsub: { endpoint: pubsub.address, plaintext: true } } };
      const raw = { name: 'crm', kind: 'sync', connection: 'prod', standard_objects_to_sync: ['Account', 'Contact'], objects: { Account: { mode: 'cdc' } }, store: db.url('mirror'), schedule: '1s', lag: '1s' };
      const config = join(dir, 'sfbridge.yaml');
      writeFileSync(config, JSON.stringify({ connections, pipelines: [raw] }));
      const storeUrl = db.url('svc');
      // One slot each: the leader runs beside it, so Contact's cycles go on wherever the leader is.
      const args = ['--store', storeUrl, '--config', config, '--concurrency', '1'];
      service = await Service.open({ storeUrl, connections: connections as never, pipelines: [{ spec: parsePipeline(raw), raw: raw as never, source: 'config' } as PipelineEntry], baseDir: dir, env, jobs: 'postgres', concurrency: 0, schedulePollMs: 500 });
      for (let i = 0; i < 2; i++) workers.push(await startWorker(args, env));
      await service.start();

      const open = async () => (await readAudit(storeUrl, 'svc')).filter((s) => s.key === KEY && s.endedAt === null && !killedAt.has(Number(s.worker.split(':')[1])));
      const first = await until(async () => (await open())[0], 120_000, 'a CDC leader');
      const leaderPid = Number(first.worker.split(':')[1]);
      const w = org.emu;
      const sf = clientFor(w, { governor: false });
      writer = (async () => {
        let n = 0;
        while (writing) {
          const [acc] = await sf.query<{ Id: string }>(`SELECT Id FROM Account ORDER BY Id LIMIT 1 OFFSET ${(n * 7) % 200}`).toArray();
          if (acc) await sf.update('Account', acc.Id, { Name: `Changed ${n}`, NumberOfEmployees: n });
          if (n % 3 === 0) await sf.create('Account', { Name: `New ${n}` });
          if (n % 4 === 0) await sf.create('Contact', { LastName: `New ${n}` });
          n++;
          await sleep(100);
        }
      })();
      // The leader applies changes (the mirror follows the org while the writes go on).
      const mirror = await openStore(db.url('mirror'), { maxConnections: 1 });
      try {
        await until(async () => Boolean((await mirror.getCheckpoint('cdc:Account'))?.extra?.replayId), 60_000, 'the leader\'s replay checkpoint');
        await sleep(2000);
        const leader = workers.find((x) => x.pid === leaderPid)!;
        leader.child.kill('SIGKILL');
        const killed = Date.now();
        killedAt.set(leaderPid, killed);
        await leader.exited;
        const next = await until(async () => (await open())[0], 90_000, 'another worker taking the leader over');
        const takeover = (next.startedAt - killed) / 1000;
        assert.notEqual(Number(next.worker.split(':')[1]), leaderPid);
        await sleep(3000);
        writing = false;
        await writer;
        let diffs: string[] = [];
        const t1 = Date.now();
        do {
          await sleep(1000);
          diffs = [...(await mirrorDiff(org.emu, mirror, 'Account', 5)), ...(await mirrorDiff(org.emu, mirror, 'Contact', 5))];
        } while (diffs.length && Date.now() - t1 < 60_000);
        assert.deepEqual(diffs, [], 'the mirror equals the org after the takeover and further writes');
        console.log(`fleet CDC leader takeover: ${takeover.toFixed(1)} s from SIGKILL to the next leader's start`);

        // Pausing the pipeline on the scheduler ends the leader on its worker (done, not handed back).
        await service.setPaused('crm', true);
        await until(async () => (await open()).length === 0, 30_000, 'the leader ended by the pause');
        const ended = (await readAudit(storeUrl, 'svc')).filter((x) => x.key === KEY).at(-1)!;
        assert.equal(ended.outcome, 'done');
        assert.equal((await service.queue.list({ key: KEY, states: ['queued', 'running'] })).length, 0, 'no leader queued while paused');
      } finally {
        await mirror.close();
      }
      await service.stop();
      service = undefined;
      for (const x of workers.filter((x) => !killedAt.has(x.pid))) x.child.kill('SIGTERM');
      for (const x of workers.filter((x) => !killedAt.has(x.pid))) assert.equal((await x.exited).code, 0, `worker ${x.pid} did not stop cleanly:\n${x.output().slice(-2000)}`);
      const spans = await readAudit(storeUrl, 'svc');
      assert.deepEqual(auditOverlaps(spans, killedAt), [], 'never two leaders (nor two syncs of one object) at once');
      const leaders = spans.filter((s) => s.key === KEY);
      assert.ok(leaders.length >= 2, 'the killed leader and the one that took over');
      assert.ok(leaders.every((s, i) => i === 0 || s.startedAt >= (leaders[i - 1].endedAt ?? killedAt.get(Number(leaders[i - 1].worker.split(':')[1]))!)), 'one leader at a time');
    } finally {
      writing = false;
      await writer?.catch(() => undefined);
      await service?.stop().catch(() => undefined);
      for (const x of workers) if (x.child.exitCode === null && x.child.signalCode === null) x.child.kill('SIGKILL');
      await pubsub?.close();
      await org?.close();
      rmSync(dir, { recursive: true, force: true });
      await sleep(200);
      await db.drop();
    }
  });
});

async function until<T>(fn: () => Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
