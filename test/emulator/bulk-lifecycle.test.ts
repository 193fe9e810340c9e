import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bulkEngine } from '../../src/emulator/bulk/engine.ts';
import { bulkOrg, createJob, jobInfo, results, setState, upload, waitFinal } from './bulk-helpers.ts';

const dataRows = (n: number) => Array.from({ length: n }, (_, i) => `Acct ${i}`).join('\n');

test('abort midway: processed rows stay processed, the rest are unprocessed, processed + unprocessed = total', async () => {
  const org = await bulkOrg();
  bulkEngine(org.emu.org).settings.chunkSize = 50;
  const total = 5000;
  const job = await createJob(org, { object: 'Account', operation: 'insert' });
  assert.equal((await upload(org, job.id, `Name\n${dataRows(total)}\n`)).status, 201);
  await setState(org, 'ingest', job.id, 'UploadComplete');
  const aborted = await setState(org, 'ingest', job.id, 'Aborted');
  assert.equal(aborted.status, 200);
  assert.equal(((await aborted.json()) as { state: string }).state, 'Aborted');
  await bulkEngine(org.emu.org).idle();
  const info = await jobInfo(org, 'ingest', job.id);
  assert.equal(info.state, 'Aborted');
  const processed = Number(info.numberRecordsProcessed);
  const ok = (await results(org, job.id, 'successfulResults')).trimEnd().split('\n').length - 1;
  const unprocessed = (await results(org, job.id, 'unprocessedrecords')).trimEnd().split('\n').length - 1;
  assert.equal(ok, processed);
  assert.equal(processed + unprocessed, total);
  assert.ok(unprocessed > 0, 'the abort landed before the job finished');
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Account')!), processed);
  const del = await org.api(`/jobs/ingest/${job.id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  org.close();
});

test('jobs survive a restart on a file database; a job closed before shutdown completes after reopening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bulk-'));
  const db = join(dir, 'org.db');
  try {
    const first = await bulkOrg({ db });
    bulkEngine(first.emu.org).settings.chunkSize = 100;
    const job = await createJob(first, { object: 'Account', operation: 'insert' });
    await upload(first, job.id, `Name\n${dataRows(3000)}\n`);
    await setState(first, 'ingest', job.id, 'UploadComplete');
    // Let some chunks commit so the restart resumes from the middle, then stop the emulator.
    for (let i = 0; i < 2000; i++) {
      const info = await jobInfo(first, 'ingest', job.id);
      if (Number(info.numberRecordsProcessed) > 0 || info.state === 'JobComplete') break;
      await new Promise((r) => setTimeout(r, 1));
    }
    first.close();

    const second = await bulkOrg({ db });
    const done = await waitFinal(second, 'ingest', job.id);
    assert.equal(done.state, 'JobComplete');
    assert.equal(done.numberRecordsProcessed, 3000);
    assert.equal(done.numberRecordsFailed, 0);
    // Each row applied exactly once across the restart.
    assert.equal(second.emu.org.store.count(second.emu.org.schema.get('Account')!), 3000);
    const ok = (await results(second, job.id, 'successfulResults')).trimEnd().split('\n');
    assert.equal(ok.length, 3001);
    assert.match(ok[1], /"true",Acct 0$/);
    assert.match(ok[3000], /"true",Acct 2999$/);
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a query job in progress at shutdown restarts its snapshot after reopening and completes once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bulkq-'));
  const db = join(dir, 'org.db');
  try {
    const first = await bulkOrg({ db });
    const job = await createJob(first, { object: 'Account', operation: 'insert' });
    await upload(first, job.id, `Name\n${dataRows(500)}\n`);
    await setState(first, 'ingest', job.id, 'UploadComplete');
    await waitFinal(first, 'ingest', job.id);
    bulkEngine(first.emu.org).settings.chunkSize = 10;
    const res = await first.api('/jobs/query', { method: 'POST', json: { operation: 'query', query: 'SELECT Name FROM Account' } });
    const qid = ((await res.json()) as { id: string }).id;
    first.close();

    const second = await bulkOrg({ db });
    const done = await waitFinal(second, 'query', qid);
    assert.equal(done.state, 'JobComplete');
    assert.equal(done.numberRecordsProcessed, 500);
    const page = await second.api(`/jobs/query/${qid}/results`);
    assert.equal(page.headers.get('sforce-numberofrecords'), '500');
    assert.equal((await page.text()).trimEnd().split('\n').length, 501);
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('jobs in a final state are deleted 7 days later, like Salesforce retention', async () => {
  const org = await bulkOrg();
  const { runJob } = await import('./bulk-helpers.ts');
  const old = await runJob(org, { object: 'Account', operation: 'insert' }, 'Name\nA\n');
  const open = await createJob(org, { object: 'Account', operation: 'insert' });
  org.emu.org.clock.advance(7 * 24 * 3600 * 1000 + 1000);
  // (The session expired with the clock jump, so check the store the routes read from.)
  const engine = bulkEngine(org.emu.org);
  assert.equal(engine.purgeExpired(), 1);
  assert.equal(engine.store.get(old.id), undefined);
  assert.equal(engine.store.get(open.id)?.state, 'Open');
  assert.equal(org.emu.org.store.db.prepare('SELECT COUNT(*) AS n FROM _bulk_row WHERE job_id = ?').get(old.id)?.n, 0);
  org.close();
});
