/**
 * Running the real `sfbridge` launcher (bin/sfbridge.js) in a child process against an emulator on a
 * socket, in a fresh temporary folder, the way a user runs it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';
import { serve, type RunningServer } from '../../src/emulator/http/node-server.ts';

export const BIN = join(import.meta.dirname, '../../bin/sfbridge.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOrg {
  emu: Emulator;
  server: RunningServer;
  /** The connection environment (SF_*) plus a private SFBRIDGE_HOME. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** An emulator on a free port; `seed` is a count spec (`Account=20`) or undefined for an empty org. */
export async function cliOrg(opts: EmulatorOptions & { seed?: string } = {}): Promise<CliOrg> {
  const emu = createEmulator(opts);
  if (opts.seed) {
    const { seedOrg } = await import('../../src/emulator/seed/index.ts');
    await seedOrg(emu.org, opts.seed);
  }
  const server = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
  const home = await mkdtemp(join(tmpdir(), 'sfb-cli-home-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    SFBRIDGE_HOME: home,
    SFBRIDGE_CACHE_DIR: 'off',
    SF_INSTANCE_URL: server.url,
    SF_CLIENT_ID: emu.org.clientId,
    SF_CLIENT_SECRET: emu.org.clientSecret,
  };
  return { emu, server, env, close: async () => { await server.close(); emu.close(); } };
}

/** A fresh empty working folder. */
export function workdir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sfb-cli-work-'));
}

/** Runs the launcher in `cwd`; never throws on a non-zero exit. */
export function sfbridge(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Starts the launcher and returns the child (for signal tests and continuous runs). */
export function startSfbridge(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) {
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The names in a folder (to assert that nothing was written). */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}
