/**
 * The per-org cap on long-running requests. The emulator counts a request as long after `longRequestMs`
 * (lowered to 150 ms) and answers every call 250 ms late (`latency`), so every query is long; it allows 4 at
 * once and refuses the next with 403 REQUEST_LIMIT_EXCEEDED. Four clients, each running four queries at a
 * time, share a cap of 3: through Postgres (four slot tables' clients, as four worker processes would), and
 * in one process. The requests in flight at the emulator's door are recorded: never more than 3 are long at
 * once, and no call is refused. Without the shared cap the same load is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryDescribeCache, SalesforceClient, type SharedLongSlots } from '../../src/client/index.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { serve, type RunningServer } from '../../src/emulator/http/node-server.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { LocalLongRequests, PostgresLongRequests } from '../../src/engine/jobs/long-requests.ts';
import { scratchDatabase } from '../helpers/fleet.ts';

const LONG_MS = 150;
const LATENCY_MS = 250;
const ORG_LIMIT = 4;
const CAP = 3;
const CLIENTS = 4;
const PER_CLIENT = 4;
const QUERIES = 5;

let emu: Emulator;
let server: RunningServer;
/** Outer API calls at the emulator's door: start and end (ms). */
let spans: Array<{ start: number; end: number }> = [];
let db: Awaited<ReturnType<typeof scratchDatabase>>;

before(async () => {
  emu = createEmulator({ faults: { ...DEFAULT_FAULTS, latency: LATENCY_MS, longRequestMs: LONG_MS, concurrentLongLimit: ORG_LIMIT } });
  await seedOrg(emu.org, 'Account=40');
  server = await serve(async (req) => {
    if (!/^\/services\/data\/v/.test(new URL(req.url).pathname)) return emu.fetch(req);
    const start = performance.now();
    try {
      return await emu.fetch(req);
    } finally {
      spans.push({ start, end: performance.now() });
    }
  }, { port: 0, host: '127.0.0.1' });
  db = await scratchDatabase('sfbridge_long');
});

after(async () => {
  await server.close();
  emu.close();
  await db.drop();
});

/** The most requests that were long (in flight for LONG_MS or more) at one instant. */
function peakLong(): number {
  const marks: Array<[number, number]> = [];
  for (const s of spans) if (s.end - s.start > LONG_MS) marks.push([s.start + LONG_MS, 1], [s.end, -1]);
  marks.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of marks) peak = Math.max(peak, (now += d));
  return peak;
}

/** CLIENTS clients, each running PER_CLIENT query loops; the slots of client i come from `slots(i)`. */
async function load(slots: (i: number) => SharedLongSlots | undefined): Promise<{ ok: number; refused: string[] }> {
  spans = [];
  const faults0 = emu.stats.faults;
  const refused: string[] = [];
  let ok = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const sf = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: server.url, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      describeCache: new MemoryDescribeCache(),
      retry: { maxAttempts: 1 },
      governor: { maxConcurrentLong: PER_CLIENT, orgCeiling: 1, runShare: 1 },
    });
    sf.governor!.sharedLong = slots(i);
    await Promise.all(Array.from({ length: PER_CLIENT }, async (_, j) => {
      // Staggered starts: at any moment some calls are past LONG_MS while others arrive.
      await sleep((i * PER_CLIENT + j) * 25);
      for (let q = 0; q < QUERIES; q++) {
        try {
          await sf.query('SELECT Id, Name FROM Account').toArray();
          ok++;
        } catch (err) {
          refused.push((err as Error).message);
        }
      }
    }));
  }));
  assert.equal(emu.stats.faults - faults0, refused.length, `every refusal came from the emulator: ${refused[0] ?? ''}`);
  return { ok, refused };
}

describe('long-running requests per org', () => {
  it('without a shared cap, four clients pass the org\'s limit and are refused', { timeout: 60_000 }, async () => {
    const { refused } = await load(() => undefined);
    assert.ok(refused.length > 0, 'the emulator refused some of the unshared load');
    assert.match(refused[0], /REQUEST_LIMIT_EXCEEDED|ConcurrentPerOrgLongTxn/);
    assert.ok(peakLong() >= ORG_LIMIT);
  });

  it('fleet (Postgres): four processes\' clients never have more than the cap long at the org, none refused', { timeout: 60_000 }, async () => {
    const fleet = Array.from({ length: CLIENTS }, () => new PostgresLongRequests(db.url('svc')));
    try {
      const { ok, refused } = await load((i) => fleet[i].forOrg(emu.org.orgId, CAP));
      assert.deepEqual(refused, []);
      assert.equal(ok, CLIENTS * PER_CLIENT * QUERIES);
      const peak = peakLong();
      console.log(`long requests at the emulator (fleet, cap ${CAP}): peak ${peak}, ${spans.length} calls, 0 refused`);
      assert.ok(peak <= CAP, `${peak} long requests at once, cap ${CAP}`);
      assert.ok(peak >= 1, 'the requests were long');
      // A slot's row is deleted just after its answer: every one is gone shortly after the last.
      for (let t = 0; (await fleet[0].inUse(emu.org.orgId)) > 0; t++) {
        assert.ok(t < 100, 'every slot was given back');
        await sleep(20);
      }
    } finally {
      for (const f of fleet) await f.close();
    }
  });

  it('embedded (one process): the same cap in memory', { timeout: 60_000 }, async () => {
    const local = new LocalLongRequests();
    const { ok, refused } = await load(() => local.forOrg(emu.org.orgId, CAP));
    assert.deepEqual(refused, []);
    assert.equal(ok, CLIENTS * PER_CLIENT * QUERIES);
    const peak = peakLong();
    console.log(`long requests at the emulator (embedded, cap ${CAP}): peak ${peak}, ${spans.length} calls, 0 refused`);
    assert.ok(peak <= CAP && peak >= 1, `peak ${peak}, cap ${CAP}`);
    assert.equal(local.inUse(emu.org.orgId), 0);
  });
});
