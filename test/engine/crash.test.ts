/**
 * Crash safety end to end: `sfbridge sync` child processes are killed (SIGKILL) at random moments while the
 * org keeps changing (creates, updates, soft and hard deletes, late commits); after one final clean run the
 * mirror must equal the org, every row and every field. Runs on a SQLite file and on a Postgres schema.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { hardDeleteRecord } from '../../src/emulator/dml.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { openStore } from '../../src/store/index.ts';
import { servedOrg } from '../helpers/served.ts';
import { PG_URL } from '../store/backends.ts';
import { clientFor, mirrorDiff } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OBJECTS = ['Account', 'Contact', 'Opportunity'];
const KILLS = 3;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs `sfbridge sync`; with `kill`, SIGKILLs it `kill.delayMs` after its `kill.afterBatches`-th committed
 * batch (read from its JSON log on stderr), i.e. at a random point inside the load, not before it starts.
 */
function runChild(args: string[], kill?: { afterBatches: number; delayMs: number }): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'sync', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let batches = 0;
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    output += text;
    batches += text.split('"event":"object:batch"').length - 1;
    if (kill && !timer && batches >= kill.afterBatches) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
  });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

const places = [
  {
    name: 'sqlite file',
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'sfbridge-crash-'));
      return { url: `sqlite:${join(dir, 'mirror.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    make() {
      const schema = `engine_crash_${randomBytes(5).toString('hex')}`;
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

describe('sync survives kills at random points', () => {
  for (const place of places) {
    it(`${place.name}: mirror equals the org after kills and a final clean run`, { timeout: 180_000 }, async () => {
      const org = await servedOrg({ faults: { ...(await import('../../src/emulator/faults.ts')).DEFAULT_FAULTS, commitDelay: 200 } });
      await seedOrg(org.emu.org, 'Account=400,Contact=1200,Opportunity=200');
      const { url, cleanup } = place.make();
      const w = clientFor(org.emu, { governor: false });
      const args = ['--instance-url', org.url, '--client-id', org.emu.org.clientId, '--client-secret', org.emu.org.clientSecret, '--objects', OBJECTS.join(','), '--to', url, '--once', '--lag', '2s', '--bulk-threshold', '1000'];
      const log: string[] = [];
      try {
        let killed = 0;
        for (let i = 0; i < KILLS; i++) {
          // Change the org between (and during) runs: updates, inserts, soft deletes, purges.
          const accounts = (await w.query<{ Id: string }>(`SELECT Id FROM Account ORDER BY Id LIMIT 30 OFFSET ${i * 30}`).toArray()).map((r) => r.Id);
          const during = (async () => {
            for (const [j, id] of accounts.entries()) {
              if (j % 10 === 0) await w.delete('Account', id).catch(() => undefined);
              else if (j % 10 === 1) {
                try {
                  hardDeleteRecord(org.emu.org, org.emu.org.schema.get('Account')!, id);
                } catch {
                  // Already gone (cascade).
                }
              } else await w.update('Account', id, { Name: `Changed ${i}.${j}`, NumberOfEmployees: i * 100 + j });
              if (j % 4 === 0) await w.create('Contact', { LastName: `New ${i}.${j}` });
              await sleep(5);
            }
          })();
          const kill = { afterBatches: 1 + Math.floor(Math.random() * 2), delayMs: Math.floor(Math.random() * 40) };
          const res = await runChild(args, kill);
          await during;
          log.push(`run ${i}: kill ${kill.delayMs} ms after batch ${kill.afterBatches} → ${res.signal ?? `exit ${res.code}`}`);
          if (res.signal === 'SIGKILL') killed++;
          else assert.equal(res.code, 0, `a run that was not killed must succeed:\n${res.output}`);
        }
        assert.ok(killed >= 2, `at least two runs were killed mid-sync (${log.join('; ')})`);
        await sleep(250); // pending commits (commitDelay) become visible
        const final = await runChild([...args, '--reconcile']);
        assert.equal(final.code, 0, final.output);
        assert.match(final.output, /run \d+ succeeded/);
        const store = await openStore(url);
        try {
          for (const object of OBJECTS) assert.deepEqual(await mirrorDiff(org.emu, store, object, 15), [], `${object} differs (${log.join('; ')})`);
          const runs = await store.listRuns(50);
          assert.ok(runs.length >= 1);
          assert.equal(runs[0].status, 'succeeded');
        } finally {
          await store.close();
        }
      } finally {
        await org.close();
        await cleanup();
      }
    });
  }
});
