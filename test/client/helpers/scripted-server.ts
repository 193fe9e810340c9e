/**
 * A real-socket HTTP server that plays a script: for each "METHOD /path" key, a list of steps consumed in
 * order (the last one repeats). Steps can answer, drop the socket before answering, or drop it halfway
 * through the body — the faults the transport must survive.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Step =
  | { status?: number; headers?: Record<string, string>; json?: unknown; body?: string }
  | { drop: 'before' | 'mid' }
  | { hang: true }
  | ((req: Recorded) => Step);

export interface ScriptedServer {
  url: string;
  requests: Recorded[];
  /** Requests whose "METHOD /path" equals key. */
  count(key: string): number;
  close(): Promise<void>;
}

export async function scriptedServer(script: Record<string, Step[]>): Promise<ScriptedServer> {
  const requests: Recorded[] = [];
  const cursor = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const rec: Recorded = { method: req.method ?? 'GET', path: url.pathname, url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(rec);
      const key = `${rec.method} ${rec.path}`;
      const steps = script[key] ?? script['*'];
      if (!steps) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify([{ errorCode: 'NOT_FOUND', message: `no script for ${key}` }]));
        return;
      }
      const i = cursor.get(key) ?? 0;
      cursor.set(key, i + 1);
      let step = steps[Math.min(i, steps.length - 1)];
      while (typeof step === 'function') step = step(rec);
      if ('hang' in step) return;
      if ('drop' in step) {
        if (step.drop === 'before') {
          req.socket.destroy();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
        res.write('{"totalSize":3,"done":true,"records":[{"Id":');
        setImmediate(() => res.socket?.destroy());
        return;
      }
      const body = step.json !== undefined ? JSON.stringify(step.json) : (step.body ?? '');
      const headers: Record<string, string> = { ...(step.json !== undefined ? { 'content-type': 'application/json;charset=UTF-8' } : {}), ...step.headers };
      res.writeHead(step.status ?? 200, headers);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (key) => requests.filter((r) => `${r.method} ${r.path}` === key).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A token response as Salesforce sends it. */
export function tokenBody(instanceUrl: string, accessToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    access_token: accessToken,
    instance_url: instanceUrl,
    id: `${instanceUrl}/id/00D000000000001AAA/005000000000001AAA`,
    token_type: 'Bearer',
    issued_at: String(Date.now()),
    signature: 'sig',
    scope: 'api refresh_token',
    ...extra,
  };
}

/** Fast retry settings for tests (no timing assertions depend on them). */
export const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 2, retryAfterCapMs: 5_000 } as const;
