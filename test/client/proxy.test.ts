/**
 * HTTP proxies with a real CONNECT proxy written here (node:http 'connect' + net sockets): a connection's
 * `proxy:` carries the whole sync (login, describe, queries, Bulk) through tunnels; HTTP_PROXY/HTTPS_PROXY
 * apply without one and NO_PROXY bypasses them; proxy credentials are sent and never surface in errors;
 * webhooks honour the environment too; bad proxy URLs are refused with the fix.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MemoryDescribeCache, SalesforceClient, Transport } from '../../src/client/index.ts';
import { connectionProxy, connectionSchema } from '../../src/engine/connections/schema.ts';
import { SyncConfigError, validateConfig } from '../../src/engine/config.ts';
import { openSink, parseSinkConfig } from '../../src/engine/sinks/index.ts';
import { runSync } from '../../src/engine/sync/runner.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { openStore } from '../../src/store/index.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

interface TestProxy {
  url: string;
  /** `host:port` of every CONNECT accepted. */
  tunnels: string[];
  /** Requests refused (plain forwarding, or bad credentials). */
  refused: string[];
  close(): Promise<void>;
}

/** A CONNECT-only forward proxy; with `auth` (user:pass) it requires Basic Proxy-Authorization. */
async function startProxy(auth?: string): Promise<TestProxy> {
  const tunnels: string[] = [];
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    // Only tunnels: a request forwarded in the clear would show the client skipped CONNECT.
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(405).end();
  });
  const sockets = new Set<import('node:stream').Duplex>();
  server.on('connect', (req, client, head) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (auth && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(auth).toString('base64')}`) {
      refused.push(`CONNECT ${req.url} (407)`);
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = String(req.url).split(':');
    const upstream = connect(Number(port), host, () => {
      tunnels.push(String(req.url));
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: auth ? `http://${auth}@127.0.0.1:${port}` : `http://127.0.0.1:${port}`,
    tunnels,
    refused,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Runs `fn` with proxy variables set (and the others cleared), restoring the environment after. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const names = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  }
}

function client(org: ServedOrg, proxy?: string): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret },
    proxy,
    retry: { maxAttempts: 1 },
    describeCache: new MemoryDescribeCache(),
  });
}

describe('HTTP proxies', () => {
  let org: ServedOrg;
  const host = () => new URL(org.url).host;
  before(async () => {
    org = await servedOrg();
    await seedOrg(org.emu.org, 'Account=2500');
  });
  after(async () => org.close());

  it("a connection's proxy: carries the whole sync (login, describe, COUNT, Bulk, REST) through CONNECT tunnels", async () => {
    const proxy = await startProxy();
    const store = await openStore('sqlite::memory:');
    try {
      await withEnv({}, async () => {
        const run = await runSync({ client: client(org, proxy.url), store, objects: ['Account'], lagMs: 0, bulkThreshold: 2000 });
        assert.equal(run.status, 'succeeded', run.error);
        assert.equal(run.objects[0].mode, 'bulk');
      });
      assert.equal(await store.count('Account'), 2500);
      assert.ok(proxy.tunnels.length >= 1, 'the proxy tunnelled the calls');
      assert.deepEqual([...new Set(proxy.tunnels)], [host()]);
      assert.deepEqual(proxy.refused, []);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('HTTP_PROXY applies when the connection names none, and NO_PROXY bypasses it', async () => {
    const proxy = await startProxy();
    try {
      await withEnv({ HTTP_PROXY: proxy.url }, async () => {
        const n = await client(org).count('SELECT COUNT() FROM Account');
        assert.equal(n, 2500);
      });
      const through = proxy.tunnels.length;
      assert.ok(through >= 1);
      await withEnv({ http_proxy: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }, async () => {
        assert.equal(await client(org).count('SELECT COUNT() FROM Account'), 2500);
      });
      assert.equal(proxy.tunnels.length, through, 'NO_PROXY hosts are reached directly');
      // A connection's own proxy wins over the environment's.
      const other = await startProxy();
      try {
        await withEnv({ HTTP_PROXY: proxy.url }, async () => {
          assert.equal(await client(org, other.url).count('SELECT COUNT() FROM Account'), 2500);
        });
        assert.equal(proxy.tunnels.length, through);
        assert.ok(other.tunnels.length >= 1);
      } finally {
        await other.close();
      }
    } finally {
      await proxy.close();
    }
  });

  it('proxy credentials are sent as Proxy-Authorization, and a refusal never shows the password', async () => {
    const proxy = await startProxy('sync:s3cret-pw');
    try {
      await withEnv({}, async () => {
        assert.equal(await client(org, proxy.url).count('SELECT COUNT() FROM Account'), 2500);
        assert.ok(proxy.tunnels.length >= 1);
        const wrong = proxy.url.replace('s3cret-pw', 'wrong-pw');
        await assert.rejects(client(org, wrong).count('SELECT COUNT() FROM Account'), (err: Error) => {
          assert.doesNotMatch(`${err.message} ${JSON.stringify(err)}`, /wrong-pw|s3cret-pw/);
          return true;
        });
      });
      assert.ok(proxy.refused.some((r) => r.endsWith('(407)')));
    } finally {
      await proxy.close();
    }
    // A named connection's user in `proxy` and its sealed proxy_password, special characters included.
    const special = await startProxy('sync:p@ss:w/rd');
    try {
      const hostPort = special.url.slice(special.url.lastIndexOf('@') + 1);
      const url = connectionProxy({ proxy: `http://sync@${hostPort}` }, { proxy_password: 'p@ss:w/rd' });
      await withEnv({}, async () => assert.equal(await client(org, url).count('SELECT COUNT() FROM Account'), 2500));
      assert.ok(special.tunnels.length >= 1);
    } finally {
      await special.close();
    }
  });

  it('a plain Transport and the webhook sink honour the environment too', async () => {
    const proxy = await startProxy();
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end('{}');
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      await withEnv({ HTTP_PROXY: proxy.url }, async () => {
        const res = await new Transport({ retry: { maxAttempts: 1 } }).send({ method: 'GET', url: `${org.url}/services/data` });
        assert.equal(res.status, 200);
        const sink = openSink(parseSinkConfig({ kind: 'webhook', url: hookUrl }));
        await sink.deliver([{ id: 'm1', key: 'k1', body: { hello: 'proxy' } }]);
        await sink.close();
      });
      assert.equal(received.length, 1);
      assert.match(received[0], /"hello":"proxy"/);
      assert.ok(proxy.tunnels.includes(new URL(hookUrl).host), 'the webhook went through the tunnel');
      assert.ok(proxy.tunnels.includes(host()));
    } finally {
      await new Promise<void>((r) => hook.close(() => r()));
      await proxy.close();
    }
  });

  it('bad proxy URLs are refused with the fix', () => {
    const r = connectionSchema.safeParse({ kind: 'client_credentials', instance_url: 'https://acme.my.salesforce.com', client_id: 'x', proxy: 'socks5://proxy:1080' });
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0].message, /proxies are reached over http:\/\/ or https:\/\/, not socks5:; write http:\/\/proxy:1080/);
    assert.equal(connectionSchema.safeParse({ kind: 'client_credentials', instance_url: 'https://acme.my.salesforce.com', client_id: 'x', proxy: 'http://proxy.corp:3128' }).success, true);
    // Named connections keep the password sealed in proxy_password, never in the (unsealed) settings.
    const withPw = connectionSchema.safeParse({ kind: 'client_credentials', instance_url: 'https://acme.my.salesforce.com', client_id: 'x', proxy: 'http://u:pw@proxy.corp:3128' });
    assert.equal(withPw.success, false);
    assert.match(withPw.error!.issues[0].message, /put the proxy password in proxy_password/);
    assert.equal(connectionProxy({ proxy: 'http://u@proxy.corp:3128' }, { proxy_password: 'p@ss:w' }), 'http://u:p%40ss%3Aw@proxy.corp:3128');
    assert.equal(connectionProxy({ proxy: 'http://proxy.corp:3128' }, {}), 'http://proxy.corp:3128');
    assert.throws(() => validateConfig({ connection: { proxy: 'proxy.corp:3128/x' } }), (err: unknown) => err instanceof SyncConfigError && /connection\.proxy:/.test(err.message));
    assert.throws(() => validateConfig({ connection: { proxy: 'http://proxy.corp:3128/path' } }), (err: unknown) => err instanceof SyncConfigError && /only scheme, host and port/.test(err.message));
  });
});
