/**
 * Initial loads exported as Id-range chunks (src/engine/sync/export.ts): the chunks partition the object, a
 * stopped export resumes the same jobs at the same record, and the catch-up after the export starts where the
 * export began, so a change made while it ran is never lost.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { bulkEngine } from '../../src/emulator/bulk/engine.ts';
import { updateRecord } from '../../src/emulator/dml.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { chunkSoql, idBoundaries } from '../../src/engine/sync/export.ts';
import type { Store } from '../../src/store/types.ts';
import { backends, clientFor, emulator, fresh, mirrorDiff, sync } from './helpers.ts';

const queryJobs = (emu: Awaited<ReturnType<typeof emulator>>) => bulkEngine(emu.org).store.list('query', 0, 10_000);

describe('Id-range boundaries', () => {
  it('split the range between two Ids evenly, in Id order, with the key prefix kept', () => {
    const b = idBoundaries('0018d0000000001AAA', '0018d0000000q1oAAA', 4);
    assert.equal(b.length, 3);
    for (const id of b) {
      assert.match(id, /^001[0-9A-Za-z]{12}$/);
      assert.ok(id > '0018d0000000001' && id < '0018d0000000q1o', id);
    }
    assert.deepEqual([...b].sort(), b, 'increasing');
    assert.equal(new Set(b).size, 3);
  });

  it('give none for one chunk, Ids of two objects, or Ids too close to split', () => {
    assert.deepEqual(idBoundaries('0018d0000000001', '0018d0000000q1o', 1), []);
    assert.deepEqual(idBoundaries('0018d0000000001', '0038d0000000q1o', 4), []);
    assert.deepEqual(idBoundaries('0018d0000000001', '0018d0000000002', 4), []);
    assert.deepEqual(idBoundaries('0018d0000000002', '0018d0000000001', 4), []);
  });

  it('chunk queries are complementary ranges: first and last are open-ended', () => {
    const bounds = ['003000000000100', '003000000000200'];
    assert.match(chunkSoql('Contact', ['Id'], undefined, bounds, 0), /WHERE Id < '003000000000100'$/);
    assert.match(chunkSoql('Contact', ['Id'], undefined, bounds, 1), /WHERE Id >= '003000000000100' AND Id < '003000000000200'$/);
    assert.match(chunkSoql('Contact', ['Id'], undefined, bounds, 2), /WHERE Id >= '003000000000200'$/);
  });
});

for (const backend of backends) {
  describe(`chunked Bulk initial load on ${backend.name}`, () => {
    let store: Store;
    let done: () => Promise<void>;
    beforeEach(async () => {
      ({ store, done } = await fresh(backend));
    });
    afterEach(async () => done());

    it('exports the object as one job per chunk and mirrors every row exactly once', async () => {
      const emu = await emulator('Contact=530');
      const events = new SyncEvents();
      let read = 0;
      events.on('object:batch', (e) => {
        if (e.mode === 'bulk') read = e.read;
      });
      const run = await sync(emu, store, ['Contact'], { events, bulkThreshold: 100, bulkChunkRecords: 100, batchSize: 50 });
      assert.equal(run.status, 'succeeded', run.error);
      assert.equal(run.objects[0].mode, 'bulk');
      assert.equal(read, 530, 'every record read once: the chunks neither overlap nor leave a gap');
      const jobs = queryJobs(emu);
      assert.equal(jobs.length, 6, 'ceil(530 / 100) chunks, one query job each');
      assert.ok(jobs.every((j) => /Id (<|>=) '003/.test(String(j.query))), 'every job is an Id range');
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
      emu.close();
    });

    it('a stopped export resumes the same jobs where the last commit ended', async () => {
      const emu = await emulator('Contact=530');
      const controller = new AbortController();
      const events = new SyncEvents();
      let batches = 0;
      events.on('object:batch', () => {
        if (++batches === 3) controller.abort();
      });
      const opts = { bulkThreshold: 100, bulkChunkRecords: 100, batchSize: 50 };
      const first = await sync(emu, store, ['Contact'], { ...opts, events, signal: controller.signal });
      assert.equal(first.status, 'aborted');
      // Batches never span two chunks: the first chunk's rows (about 530 / 6) in two batches, then 50 of the next.
      const committed = await store.count('Contact');
      assert.ok(committed > 100 && committed < 150, `${committed} rows committed`);
      const progress = (await store.getCheckpoint('Contact'))?.extra?.bulk as { chunk: number; skip: number; bounds: string[]; nextJobIds?: string[]; startedAt?: string };
      assert.equal(progress.chunk, 1, 'the second chunk');
      assert.equal(progress.skip, 50, 'half of it committed');
      assert.equal(progress.bounds.length, 5);
      assert.ok(progress.nextJobIds?.length, 'the jobs already created for the next chunks are kept for the resume');
      assert.ok(progress.startedAt, 'when the export began');

      const ev2 = new SyncEvents();
      let read = 0;
      const warnings: string[] = [];
      ev2.on('object:batch', (e) => {
        if (e.mode === 'bulk') read = e.read;
      });
      ev2.on('warning', (e) => e.code !== 'LAG_TOO_SHORT' && warnings.push(e.code));
      const second = await sync(emu, store, ['Contact'], { ...opts, events: ev2 });
      assert.equal(second.status, 'succeeded', second.error);
      assert.deepEqual(warnings, []);
      assert.equal(read, 530 - committed, 'only the records after the last commit were read');
      assert.equal(queryJobs(emu).length, 6, 'the resumed jobs were reused: one job per chunk over both runs');
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
      emu.close();
    });

    it('a change made while the export runs is caught up, even when a later chunk read a newer stamp', async () => {
      const emu = await emulator('Contact=400');
      const rows = await clientFor(emu, { governor: false }).query<{ Id: string }>('SELECT Id FROM Contact ORDER BY Id').toArray();
      const first = rows[0].Id;
      const last = rows[rows.length - 1].Id;
      const def = emu.org.schema.get('Contact')!;
      const events = new SyncEvents();
      let changed = false;
      events.on('object:batch', (e) => {
        if (e.mode !== 'bulk' || changed) return;
        changed = true;
        // The first chunk is being written (its first record is committed): change that record, then, a
        // moment later, one the last chunk will export. The export reads the second change; the catch-up must
        // still go back far enough for the first.
        updateRecord(emu.org, def, first, { LastName: 'Changed after its chunk was read' });
        emu.org.clock.advance(2000); // SOQL datetimes have whole seconds: a stamp clearly later
        updateRecord(emu.org, def, last, { LastName: 'Changed before its chunk was read' });
      });
      const run = await sync(emu, store, ['Contact'], { events, bulkThreshold: 100, bulkChunkRecords: 100, batchSize: 50, lagMs: 0 });
      assert.equal(run.status, 'succeeded', run.error);
      assert.ok(changed);
      assert.equal((await store.getRecord('Contact', first))?.LastName, 'Changed after its chunk was read');
      assert.equal((await store.getRecord('Contact', last))?.LastName, 'Changed before its chunk was read');
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
      emu.close();
    });
  });
}
