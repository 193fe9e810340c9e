/**
 * `sfbridge serve` as its own process, for tests that kill it: a temp directory with a config file that
 * names the emulated org as connection `emu` (its secret passed through the environment, as users do), a
 * SQLite service store, and `start()` that waits until the service listens. `close()` kills what is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServedOrg } from './served.ts';

export interface ServiceProcess {
  child: ChildProcess;
  /** The service's base URL. */
  url: string;
  /** Exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

export interface ServiceHome {
  dir: string;
  config: string;
  storeUrl: string;
  env: NodeJS.ProcessEnv;
  start(opts?: { port?: number }): Promise<ServiceProcess>;
  close(): void;
}

/** A free TCP port on 127.0.0.1 (for a service restarted on the same address). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Writes `connections: emu` (plus `connectionLines`, indented under it) and `pipelines` (YAML lines, indented
 * under `pipelines:`) and returns the home.
 */
export function serviceHome(org: ServedOrg, pipelines: string[], extraEnv: NodeJS.ProcessEnv = {}, connectionLines: string[] = []): ServiceHome {
  const dir = mkdtempSync(join(tmpdir(), 'sfb-svc-'));
  const env: NodeJS.ProcessEnv = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64'), SFBRIDGE_HOME: join(dir, 'home'), EMU_SECRET: org.emu.org.clientSecret, ...extraEnv };
  const storeUrl = `sqlite:${join(dir, 'service.db')}`;
  const config = join(dir, 'sfbridge.yaml');
  writeFileSync(config, ['connections:', '  emu:', '    kind: client_credentials', `    instance_url: ${org.url}`, `    client_id: ${org.emu.org.clientId}`, '    client_secret: ${EMU_SECRET}', ...connectionLines, 'pipelines:', ...pipelines, ''].join('\n'));
  const children = new Set<ChildProcess>();
  return {
    dir,
    config,
    storeUrl,
    env,
    async start(opts = {}) {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'serve', '--config', config, '--store', storeUrl, '--port', String(opts.port ?? 0)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const end = Date.now() + 20_000;
      for (;;) {
        const m = /dashboard (https?:\/\/[^/\s]+)\//.exec(out);
        if (m) return { child, url: m[1], exit };
        if (child.exitCode !== null || Date.now() > end) throw new Error(`the service did not start (stdout: ${out.slice(0, 1000)} stderr: ${err.slice(-2000)})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      // A failed assertion must not leave a service running.
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
