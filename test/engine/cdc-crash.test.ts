/**
 * Crash safety of `sfbridge sync --cdc`: the real launcher in a child process, on a SQLite file and on a
 * Postgres schema, following the emulator's change events over gRPC while a writer keeps changing the org
 * through REST (creates, updates that set and null fields, multi-record transactions, soft and hard deletes,
 * undeletes). The sync is
 * SIGKILLed at random points (during the initial run, while following, right after it applied events) and
 * started again; the last start follows a final burst of writes by events alone. At the end the mirror must
 * equal the org, every row and every field.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { hardDeleteRecord, undeleteRecord } from '../../src/emulator/dml.ts';
import { startPubSub } from '../../src/emulator/events/pubsub/server.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { SalesforceClient } from '../../src/client/index.ts';
import type { Emulator } from '../../src/emulator/app.ts';
import { BIN } from '../cli/helpers.ts';
import { servedOrg } from '../helpers/served.ts';
import { PG_URL } from '../store/backends.ts';
import { clientFor, mirrorDiff } from './helpers.ts';

const OBJECTS = ['Account', 'Contact'];
const KILLS = 8;

/** A small seeded PRNG, so a failing sequence can be run again (the seed is in the failure message). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Changes the org until `stop()`: every REST write path the follower must handle, one transaction each. */
function writer(emu: Emulator, w: SalesforceClient, random: () => number) {
  let running = true;
  let ops = 0;
  const live: Record<string, string[]> = { Account: [], Contact: [] };
  const binned: { object: string; id: string }[] = [];
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(random() * xs.length)] : undefined);
  const take = (object: string): string | undefined => {
    const xs = live[object];
    if (!xs.length) return undefined;
    return xs.splice(Math.floor(random() * xs.length), 1)[0];
  };
  const one = async () => {
    const r = random();
    const object = random() < 0.6 ? 'Account' : 'Contact';
    const def = emu.org.schema.get(object)!;
    const n = ops;
    if (r < 0.15) {
      const { id } = await w.create(object, object === 'Account' ? { Name: `New ${n}`, Phone: `555-${n}`, BillingCity: 'Leeds' } : { LastName: `New ${n}`, Email: `c${n}@example.com` });
      live[object].push(id);
    } else if (r < 0.5) {
      const id = pick(live[object]);
      if (!id) return;
      const fields: Record<string, unknown> = object === 'Account'
        ? { Name: `Acct ${n}`, ...(random() < 0.3 ? { Phone: null } : { Phone: `0${n}` }), ...(random() < 0.5 ? { BillingCity: random() < 0.2 ? null : `City ${n}` } : {}), ...(random() < 0.4 ? { NumberOfEmployees: n } : {}) }
        : { ...(random() < 0.5 ? { LastName: `Last ${n}` } : {}), ...(random() < 0.5 ? { FirstName: random() < 0.3 ? null : `First ${n}` } : {}), Title: random() < 0.3 ? null : `T${n}` };
      await w.update(object, id, fields);
    } else if (r < 0.62) {
      // One Collections request: one transaction of several records.
      const ids = [pick(live[object]), pick(live[object]), pick(live[object])].filter((x, i, a): x is string => !!x && a.indexOf(x) === i);
      if (!ids.length) return;
      await w.collections.update(ids.map((Id, i) => ({ attributes: { type: object }, Id, ...(object === 'Account' ? { Description: `Batch ${n}.${i}` } : { Department: `Dept ${n}.${i}` }) })), { allOrNone: true });
    } else if (r < 0.7) {
      const made = await w.collections.create([1, 2, 3].map((i) => ({ attributes: { type: object }, ...(object === 'Account' ? { Name: `Many ${n}.${i}` } : { LastName: `Many ${n}.${i}` }) })), { allOrNone: true });
      for (const m of made) if (m.id) live[object].push(m.id);
    } else if (r < 0.8) {
      const id = take(object);
      if (!id) return;
      await w.delete(object, id);
      binned.push({ object, id });
    } else if (r < 0.86) {
      const id = take(object);
      if (id) hardDeleteRecord(emu.org, def, id);
    } else if (r < 0.92) {
      const b = binned.splice(Math.floor(random() * binned.length), 1)[0];
      if (!b) return;
      undeleteRecord(emu.org, emu.org.schema.get(b.object)!, b.id);
      live[b.object].push(b.id);
    } else {
      const b = binned.shift();
      // Emptying the recycle bin: no event (the delete was the event).
      if (b) hardDeleteRecord(emu.org, emu.org.schema.get(b.object)!, b.id);
    }
  };
  const done = (async () => {
    for (const object of OBJECTS) for await (const r of w.query<{ Id: string }>(`SELECT Id FROM ${object}`)) live[object].push(r.Id);
    while (running) {
      ops++;
      await one().catch((err: unknown) => {
        // A record removed by a cascade or a concurrent path: skip the operation.
        if (!/ENTITY_IS_DELETED|NOT_FOUND|not in the recycle bin|entity is deleted/i.test(String((err as Error).message))) throw err;
      });
      await sleep(4);
    }
  })();
  return { ops: () => ops, stop: async () => { running = false; await done; } };
}

const places = [
  {
    name: 'sqlite file',
    make(dir: string) {
      return { url: `sqlite:${join(dir, 'mirror.db')}`, cleanup: async () => {} };
    },
  },
  {
    name: 'postgres',
    make() {
      const schema = `cdc_crash_${randomBytes(5).toString('hex')}`;
      return {
        url: `${PG_URL}?schema=${schema}`,
        async cleanup() {
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
        },
      };
    },
  },
];

describe('sync --cdc survives kills at random points', () => {
  for (const place of places) it(`${place.name}: after SIGKILLs while writes continue, the mirror equals the org on every row and field`, { timeout: 120_000 }, async (t) => {
    const seed = Number(process.env.SFBRIDGE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = prng(seed);
    const org = await servedOrg();
    await seedOrg(org.emu.org, 'Account=150,Contact=150');
    const pubsub = await startPubSub(org.emu, { port: 0, host: '127.0.0.1', keepaliveMs: 250 });
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cdc-crash-'));
    const { url, cleanup } = place.make(dir);
    const env = { PATH: process.env.PATH, HOME: dir, SFBRIDGE_HOME: dir, SFBRIDGE_CACHE_DIR: 'off', SF_INSTANCE_URL: org.url, SF_CLIENT_ID: org.emu.org.clientId, SF_CLIENT_SECRET: org.emu.org.clientSecret, SF_PUBSUB_ENDPOINT: pubsub.address, SF_PUBSUB_PLAINTEXT: '1' };
    const args = ['sync', '--cdc', '--objects', OBJECTS.join(','), '--to', url, '--lag', '2s', '--json'];
    const start = () => {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      return { child, exit, output: () => output };
    };
    const until = async (cond: () => boolean | Promise<boolean>, what: () => string, ms = 20_000) => {
      const t0 = Date.now();
      while (!(await cond())) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what()}`);
        await sleep(25);
      }
    };
    const w = clientFor(org.emu, { governor: false });
    const log: string[] = [`seed ${seed}`];
    let writes: ReturnType<typeof writer> | undefined;
    try {
      writes = writer(org.emu, w, random);
      let killed = 0;
      for (let i = 0; i < KILLS; i++) {
        const run = start();
        // Where to kill: during the initial run, a random moment while following, or just after an applied batch.
        const where = i === 0 ? 'initial' : (['initial', 'following', 'applied'] as const)[Math.floor(random() * 3)];
        const delay = Math.floor(random() * (where === 'following' ? 1500 : 60));
        if (where === 'initial') await until(() => /"event":"object:(started|batch)"/.test(run.output()) || run.output().includes('following change events'), () => `the initial run: ${run.output()}`);
        else if (where === 'following') await until(() => run.output().includes('following change events'), () => `the follower: ${run.output()}`);
        else await until(() => /change events? applied/.test(run.output()), () => `an applied batch: ${run.output()}`);
        await sleep(delay);
        run.child.kill('SIGKILL');
        const res = await run.exit;
        log.push(`kill ${i}: ${where} +${delay} ms → ${res.signal ?? `exit ${res.code}`}`);
        if (res.signal === 'SIGKILL') killed++;
        else assert.fail(`sync --cdc exited by itself (${res.code}): ${run.output()}`);
      }
      assert.equal(killed, KILLS);
      // The last start: writes go on for a while after it follows, then stop; events alone bring them in.
      const last = start();
      await until(() => last.output().includes('following change events'), () => `the follower: ${last.output()}`);
      const opsAtFollow = writes.ops();
      await sleep(1500);
      await writes.stop();
      log.push(`writes: ${writes.ops()} operations, ${writes.ops() - opsAtFollow} after the last start`);
      const store = await openStore(url);
      try {
        let diffs: string[] = [];
        await until(async () => {
          diffs = [];
          for (const object of OBJECTS) diffs.push(...(await mirrorDiff(org.emu, store, object, 10)));
          return diffs.length === 0;
        }, () => `the mirror to equal the org (${log.join('; ')}):\n${diffs.join('\n')}`);
      } finally {
        await store.close();
      }
      assert.doesNotMatch(last.output(), /re-reading by the cursor/, 'the last start followed the stream, with no catch-up read');
      t.diagnostic(log.join('; '));
      last.child.kill('SIGINT');
      const end = await last.exit;
      assert.equal(end.code, 0, last.output());
      const store2 = await openStore(url);
      try {
        for (const object of OBJECTS) assert.deepEqual(await mirrorDiff(org.emu, store2, object, 15), [], `${object} differs (${log.join('; ')})`);
      } finally {
        await store2.close();
      }
    } finally {
      await writes?.stop().catch(() => {});
      await pubsub.close();
      await org.close();
      await cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
