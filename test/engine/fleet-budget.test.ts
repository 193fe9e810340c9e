/**
 * One API budget per org across the fleet: 4 `sfbridge worker` processes sync one emulated org with an 80%
 * ceiling until the ceiling refuses their runs. The emulator's own counter of API calls never passes the
 * ceiling. (Each run has a governor of its own, so without the shared count every new run would make one
 * unchecked call past the ceiling, and workers' calls in flight would not see each other.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { parsePipeline, type PipelineEntry } from '../../src/engine/pipelines/index.ts';
import { Service } from '../../src/engine/service.ts';
import { scratchDatabase, startWorker, type WorkerProcess } from '../helpers/fleet.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

const DAILY = 250;
const CEILING = 0.8;
const OBJECTS = ['Account', 'Contact', 'Opportunity', 'Lead', 'Case', 'Campaign'];

describe('fleet: one API budget per org', () => {
  it('4 workers on one org with an 80% ceiling never pass it (the emulator\'s counter)', { timeout: 300_000 }, async () => {
    const db = await scratchDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-fleet-budget-'));
    const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64') };
    const workers: WorkerProcess[] = [];
    let org: ServedOrg | undefined;
    let service: Service | undefined;
    try {
      org = await servedOrg({ faults: { ...DEFAULT_FAULTS, dailyLimit: DAILY } });
      await seedOrg(org.emu.org, 'Account=200,Contact=300,Opportunity=100,Lead=100,Case=100,Campaign=20');
      const connections = { prod: { kind: 'client_credentials', instance_url: org.url, client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret, budget: { run_share: 1, org_ceiling: CEILING } } };
      const raw = { name: 'crm', kind: 'sync', connection: 'prod', standard_objects_to_sync: OBJECTS, store: db.url('mirror'), schedule: '1s', lag: '1s' };
      const config = join(dir, 'sfbridge.yaml');
      writeFileSync(config, JSON.stringify({ connections, pipelines: [raw] }));
      const storeUrl = db.url('svc');
      service = await Service.open({ storeUrl, connections: connections as never, pipelines: [{ spec: parsePipeline(raw), raw: raw as never, source: 'config' } as PipelineEntry], baseDir: dir, env, jobs: 'postgres', concurrency: 0, schedulePollMs: 500 });
      await service.start();
      for (let i = 0; i < 4; i++) workers.push(await startWorker(['--store', storeUrl, '--config', config, '--concurrency', '2'], env));

      // Run until the ceiling has refused runs and the counter stands still.
      const ceiling = Math.floor(CEILING * DAILY);
      let last = -1;
      let still = 0;
      const t0 = Date.now();
      let refused = 0;
      while (still < 6) {
        assert.ok(Date.now() - t0 < 240_000, `the org never reached its ceiling (${org.emu.org.apiUsage} calls)`);
        await sleep(1000);
        const used = org.emu.org.apiUsage;
        refused = (await service.listRuns({ limit: 200 })).filter((r) => r.status === 'failed' && /ceiling/.test(r.error ?? '')).length;
        still = used === last && refused > 0 ? still + 1 : 0;
        last = used;
      }
      const used = org.emu.org.apiUsage;
      console.log(`fleet budget: 4 workers, daily ${DAILY}, ceiling ${ceiling}; the emulator counted ${used} calls; ${refused} runs refused at the ceiling`);
      assert.ok(refused > 0, 'runs were refused at the ceiling');
      assert.ok(used <= ceiling, `the fleet made ${used} calls, past the ${ceiling} ceiling`);
      assert.ok(used >= ceiling - 8, `the fleet stopped well short of the ceiling (${used} of ${ceiling})`);
      const shared = await service.budgets!.list();
      assert.equal(shared.length, 1, 'one budget row for the org');
      assert.ok(shared[0].used >= used, `the fleet's count (${shared[0].used}) never undercounts the org's (${used})`);
    } finally {
      await service?.stop().catch(() => undefined);
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      await org?.close();
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
