/**
 * Broker plumbing for sink tests. The machine's NATS, RabbitMQ and Redis are shared: tests use unique
 * subjects, queues and keys on them and never stop them. Outage tests run a private nats-server or
 * redis-server on a free port (stopped and restarted at will), or put a TCP proxy they control between the
 * client and the shared RabbitMQ.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const NATS_URL = process.env.SFBRIDGE_TEST_NATS ?? 'nats://127.0.0.1:4222';
export const RABBITMQ_URL = process.env.SFBRIDGE_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.SFBRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** A name no other test (or engineer) uses: `prefix-<12 hex>`. */
export function uniqueName(prefix: string, sep = '-'): string {
  return `${prefix}${sep}${randomBytes(6).toString('hex')}`;
}

/** A TCP port free right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A private server process that can be stopped (killed) and started again on the same port and data dir. */
export interface PrivateServer {
  url: string;
  port: number;
  start(): Promise<void>;
  /** Kills the process (SIGKILL: a crash, not a clean shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

async function privateServer(scheme: string, args: (port: number, dir: string) => [string, string[]]): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `sfbridge-${scheme}-`));
  let child: ChildProcess | undefined;
  const server: PrivateServer = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    async start() {
      const [bin, argv] = args(port, dir);
      child = spawn(bin, argv, { stdio: 'ignore' });
      const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`${bin} exited with ${code} before listening`))));
      exited.catch(() => undefined);
      await Promise.race([waitForPort(port), exited]);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const done = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await done;
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** A private JetStream-enabled nats-server with file storage in a temp dir. */
export function privateNats(): Promise<PrivateServer> {
  return privateServer('nats', (port, dir) => [NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]]);
}

/** A private redis-server with an fsync-always append-only file, so a kill loses nothing acknowledged. */
export function privateRedis(): Promise<PrivateServer> {
  return privateServer('redis', (port, dir) => [REDIS_SERVER_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--logfile', '']]);
}

/** A TCP proxy in front of a port; `cut()` drops every connection and refuses new ones until `restore()`. */
export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    get accepted() {
      return accepted;
    },
    async close() {
      open = false;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
