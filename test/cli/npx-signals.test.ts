/**
 * `npx sfbridge sync --interval 1s …` stops when the npx process is told to: SIGTERM (systemd, Docker,
 * `timeout`) or SIGINT sent to npx alone, not to its process group. npm forwards the signal to the `sh -c` it
 * started the command with, the shell dies without passing it on, and sfbridge, seeing its parent gone, stops
 * as on Ctrl-C: the batch in hand is committed and the run recorded, nothing left half-written.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { cliOrg, sfbridge, workdir, type CliOrg } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
const ACCOUNTS = 30;

let org: CliOrg;
const cleanup: string[] = [];

before(async () => {
  org = await cliOrg({ seed: `Account=${ACCOUNTS}` });
  cleanup.push(org.env.HOME!);
});

after(async () => {
  await org.close();
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

/** The environment without what an enclosing `npm test` exports, so npx sets up its own. */
function npxEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** pid → [ppid, state, cmdline] of every process (Linux /proc). */
function processes(): Map<number, { ppid: number; state: string; cmd: string }> {
  const all = new Map<number, { ppid: number; state: string; cmd: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(Number(name), { ppid: Number(ppid), state: state!, cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch { /* gone meanwhile */ }
  }
  return all;
}

/** The sfbridge process (node running bin/sfbridge.js) below `root`, if any. */
function sfbridgeBelow(root: number): number | undefined {
  const all = processes();
  const below = (pid: number): boolean => {
    for (let p = all.get(pid)?.ppid; p && p > 1; p = all.get(p)?.ppid) if (p === root) return true;
    return false;
  };
  for (const [pid, p] of all) if (p.cmd.includes('bin/sfbridge.js sync') && below(pid)) return pid;
  return undefined;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined, seconds: number): Promise<T> {
  for (let i = 0; i < seconds * 10; i++) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface RunsJson { nextRun: unknown; runs: { id: number; status: string; finished: string | null; objects: Record<string, { written: number; status: string }> }[] }

describe('npx sfbridge sync stops when npx is told to', () => {
  // The checkout's .npmrc makes npm's script shell bash, which execs sfbridge, so npm signals it directly;
  // elsewhere the script shell is sh (dash on Debian/Ubuntu), which dies of SIGTERM, and sfbridge sees its
  // parent go away.
  const cases = [
    { signal: 'SIGTERM', shell: undefined },
    { signal: 'SIGINT', shell: undefined },
    { signal: 'SIGTERM', shell: 'sh' },
  ] as const;
  for (const { signal, shell } of cases) {
    it(`${signal} to the npx process${shell ? ` (script shell ${shell})` : ''} ends sfbridge, with its last run committed`, async () => {
      const dir = await workdir();
      cleanup.push(dir);
      const store = `sqlite:${join(dir, 'mirror.db')}`;
      const npx: ChildProcess = spawn('npx', [...(shell ? [`--script-shell=${shell}`] : []), 'sfbridge', 'sync', '--objects', 'Account', '--interval', '1s', '--to', store, '--json'], {
        cwd: ROOT,
        env: npxEnv(org.env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      npx.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      npx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const npxExit = new Promise<void>((resolve) => npx.once('exit', () => resolve()));
      let child: number | undefined;
      try {
        // The first cycle committed (its summary line printed), the second one under way or due.
        await waitFor('the first sync cycle', () => stdout.split('\n').filter((l) => l.startsWith('{')).length >= 1 || undefined, 60).catch((e: Error) => {
          throw new Error(`${e.message}\nstdout: ${stdout}\nstderr: ${stderr}`);
        });
        child = sfbridgeBelow(npx.pid!);
        assert.ok(child, 'sfbridge runs below npx');
        assert.notEqual(child, npx.pid);

        process.kill(npx.pid!, signal);
        await waitFor(`sfbridge (pid ${child}) to exit after ${signal} to npx`, () => !alive(child!) || undefined, 5);
        await npxExit;
      } finally {
        if (child && alive(child)) process.kill(child, 'SIGKILL');
        if (npx.exitCode === null) npx.kill('SIGKILL');
      }

      const r = await sfbridge(['runs', '--store', store, '--json'], { cwd: dir, env: org.env });
      assert.equal(r.code, 0, r.stderr);
      const { runs, nextRun } = JSON.parse(r.stdout) as RunsJson;
      assert.ok(runs.length >= 1);
      assert.equal(nextRun, null, 'no next cycle is announced by a process that has stopped');
      for (const run of runs) {
        assert.ok(run.finished, `run ${run.id} is recorded as finished`);
        assert.notEqual(run.status, 'running', `run ${run.id}`);
      }
      assert.equal(runs.at(-1)!.objects.Account!.written, ACCOUNTS, 'the first run mirrored every Account');
      const db = new DatabaseSync(join(dir, 'mirror.db'), { readOnly: true });
      try {
        assert.deepEqual({ ...db.prepare('SELECT COUNT(*) AS n FROM Account').get() }, { n: ACCOUNTS });
      } finally {
        db.close();
      }
    });
  }
});
