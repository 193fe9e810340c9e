/** Shared benchmark plumbing: start the emulator CLI as a child process, log in, time things. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ChildEmulator {
  url: string;
  /** The Pub/Sub API's `host:port` (plaintext), from the ready line. */
  pubsub: string;
  token: string;
  child: ChildProcess;
  api(path: string, init?: RequestInit): Promise<Response>;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts `sfbridge emulator` with the given flags on a free port and logs in with client credentials. */
export async function startEmulator(flags: string[]): Promise<ChildEmulator> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'emulator', '--port', '0', ...flags], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  // A crashed benchmark must not leave a seeded emulator (gigabytes of RSS) running.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}) before listening:\n${out}`)));
  });
  const tokenRes = await fetch(`${url}/services/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' }),
  });
  const { access_token: token } = (await tokenRes.json()) as { access_token: string };
  return {
    url,
    pubsub: /pubsub on ([^\s)]+)/.exec(out)?.[1] ?? '',
    token,
    child,
    api: (path, init = {}) => fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } }),
    // Read from /proc rather than /__emulator/stats: stats counts every table, which would add work to what we measure.
    rss: async () => procRss(child.pid!),
    stop: async () => {
      process.off('exit', killChild);
      child.kill('SIGINT');
      await once(child, 'exit');
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc), or NaN where /proc is unavailable. */
export function procRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
