/**
 * Puts the app on a socket with @hono/node-server: plain HTTP, or HTTPS with `--tls-cert`/`--tls-key`.
 */
import { createAdaptorServer } from '@hono/node-server';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  port: number;
  host: string;
  tls?: { key: string; cert: string };
}

export async function listen(fetch: (req: Request) => Response | Promise<Response>, opts: ListenOptions): Promise<Listening> {
  // Not overriding the global Request/Response: the engine and the emulator use the platform's own.
  const server = (opts.tls
    ? createAdaptorServer({ fetch, overrideGlobalObjects: false, createServer: createHttpsServer, serverOptions: { key: opts.tls.key, cert: opts.tls.cert } })
    : createAdaptorServer({ fetch, overrideGlobalObjects: false })) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
