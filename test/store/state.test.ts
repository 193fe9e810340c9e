import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { StoreClosedError, type StoreTransaction } from '../../src/store/types.ts';
import { ACCOUNT_FIELDS, account, backends, fresh } from './backends.ts';

const A = '001A00000000001AAA';
const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

function doc(id: string, title: string) {
  return { id, type: 'Account', title, url: null, created: null, updated: null, owner: null, tags: [], categories: [], content: '', raw: null };
}

for (const backend of backends) {
  describe(`transactions, checkpoints and runs (${backend.name})`, () => {
    test('a transaction commits rows, tombstones, documents and checkpoint together', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.upsert('Account', [account('001A00000000002AAA', '2024-03-01T00:00:00.000Z')]);
        const value = await store.transaction(async (tx) => {
          const r = await tx.upsert('Account', [account(A, '2024-03-05T17:38:40.000+0000')]);
          await tx.markDeleted('Account', ['001A00000000002AAA'], '2024-03-05T17:00:00.000Z');
          await tx.upsertDocuments([doc(A, 'Committed')]);
          await tx.setCheckpoint('Account', { systemModstamp: '2024-03-05T17:38:40.000+0000', id: A }, { bulkJobId: '750xx', locator: 'MTAwMDA' });
          // Reads inside see the transaction's own writes.
          assert.equal(await tx.count('Account'), 1);
          return r.inserted;
        });
        assert.equal(value, 1);
        assert.equal(await store.count('Account'), 1);
        assert.deepEqual((await store.getCheckpoint('Account'))?.cursor, { systemModstamp: '2024-03-05T17:38:40.000+0000', id: A });
        assert.deepEqual((await store.getCheckpoint('Account'))?.extra, { bulkJobId: '750xx', locator: 'MTAwMDA' });
        assert.equal((await store.search('committed')).length, 1);
      } finally {
        await done();
      }
    });

    test('a throw rolls back rows, tombstones, documents and checkpoint', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.upsert('Account', [account('001A00000000002AAA', '2024-03-01T00:00:00.000Z')]);
        await store.setCheckpoint('Account', { systemModstamp: '2024-03-01T00:00:00.000Z', id: '001A00000000002AAA' });
        let leaked: StoreTransaction | undefined;
        await assert.rejects(
          store.transaction(async (tx) => {
            leaked = tx;
            await tx.upsert('Account', [account(A, '2024-03-05T17:38:40.000+0000')]);
            await tx.markDeleted('Account', ['001A00000000002AAA'], '2024-03-05T00:00:00.000Z');
            await tx.upsertDocuments([doc(A, 'Rolledback')]);
            await tx.setCheckpoint('Account', { systemModstamp: '2024-03-05T17:38:40.000+0000', id: A });
            throw new Error('crash in the middle');
          }),
          /crash in the middle/,
        );
        assert.equal(await store.getRecord('Account', A), undefined);
        assert.ok(await store.getRecord('Account', '001A00000000002AAA'));
        assert.equal(await store.getTombstone('Account', '001A00000000002AAA'), undefined);
        assert.deepEqual((await store.getCheckpoint('Account'))?.cursor, { systemModstamp: '2024-03-01T00:00:00.000Z', id: '001A00000000002AAA' });
        assert.deepEqual(await store.search('rolledback'), []);
        // The handle cannot be used to write outside the (finished) transaction.
        await assert.rejects(leaked!.upsert('Account', [account(A, '2024-03-06T00:00:00.000Z')]), StoreClosedError);
        assert.equal(await store.getRecord('Account', A), undefined);
      } finally {
        await done();
      }
    });

    test('an abort signal rolls the transaction back', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const ac = new AbortController();
        await assert.rejects(
          store.transaction(
            async (tx) => {
              await tx.upsert('Account', [account(A, '2024-03-05T00:00:00.000Z')]);
              await tx.setCheckpoint('Account', { systemModstamp: '2024-03-05T00:00:00.000Z', id: A });
              ac.abort();
            },
            { signal: ac.signal },
          ),
          { name: 'AbortError' },
        );
        assert.equal(await store.count('Account'), 0);
        assert.equal(await store.getCheckpoint('Account'), undefined);
      } finally {
        await done();
      }
    });

    test('a process killed mid-transaction leaves neither rows, documents nor checkpoint', async () => {
      const place = await backend.place(true);
      try {
        const setup = await place.open();
        await setup.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await setup.close();
        const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, place.url], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8');
        for await (const chunk of child.stdout) {
          out += chunk;
          if (out.includes('in-transaction')) break;
        }
        assert.match(out, /in-transaction/);
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
        const store = await place.open();
        try {
          assert.equal(await store.count('Account'), 0);
          assert.equal(await store.getCheckpoint('Account'), undefined);
          assert.deepEqual(await store.search('halfwritten'), []);
          // The store is fully usable after the crash.
          assert.equal((await store.upsert('Account', [account(A, '2024-03-05T00:00:00.000Z')])).inserted, 1);
        } finally {
          await store.close();
        }
      } finally {
        await place.cleanup();
      }
    });

    test('checkpoints persist across close and reopen', async () => {
      const place = await backend.place(true);
      try {
        let store = await place.open();
        assert.equal(await store.getCheckpoint('Account'), undefined);
        await store.setCheckpoint('Account', { systemModstamp: '2024-03-05T17:38:40.000+0000', id: A }, { formulaRefreshedAt: '2024-03-05T18:00:00Z' });
        await store.setCheckpoint('Contact', null);
        await store.close();
        await assert.rejects(store.getCheckpoint('Account'), StoreClosedError);

        store = await place.open();
        try {
          const cp = await store.getCheckpoint('Account');
          assert.deepEqual(cp?.cursor, { systemModstamp: '2024-03-05T17:38:40.000+0000', id: A });
          assert.deepEqual(cp?.extra, { formulaRefreshedAt: '2024-03-05T18:00:00Z' });
          assert.match(cp?.updatedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          assert.deepEqual(await store.getCheckpoint('Contact'), { cursor: null, extra: null, updatedAt: (await store.getCheckpoint('Contact'))?.updatedAt });
          await assert.rejects(store.setCheckpoint('Account', { systemModstamp: 'soon', id: A }), /invalid systemModstamp/);
        } finally {
          await store.close();
        }
      } finally {
        await place.cleanup();
      }
    });

    test('runs are recorded and listed newest first', async () => {
      const { store, done } = await fresh(backend);
      try {
        const first = await store.recordRun({
          started: '2024-03-05T17:00:00.000+0000',
          finished: '2024-03-05T17:05:00.000+0000',
          objects: { Account: { read: 10, written: 9, deleted: 1 } },
          apiCalls: 3,
          status: 'succeeded',
        });
        const second = await store.recordRun({ started: new Date('2024-03-06T00:00:00Z'), finished: null, objects: {}, apiCalls: 0, status: 'failed', error: 'boom' });
        assert.ok(second > first);
        const runs = await store.listRuns(10);
        assert.deepEqual(runs, [
          { id: second, started: '2024-03-06T00:00:00.000Z', finished: null, objects: {}, apiCalls: 0, status: 'failed', error: 'boom' },
          {
            id: first,
            started: '2024-03-05T17:00:00.000Z',
            finished: '2024-03-05T17:05:00.000Z',
            objects: { Account: { read: 10, written: 9, deleted: 1 } },
            apiCalls: 3,
            status: 'succeeded',
            error: null,
          },
        ]);
        assert.equal((await store.listRuns(1)).length, 1);
      } finally {
        await done();
      }
    });

    test('close waits for in-flight work; destroy closes at once', async () => {
      const { store, place } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const pending = store.upsert('Account', [account(A, '2024-03-05T00:00:00.000Z')]);
        await store.close();
        assert.equal((await pending).inserted, 1);
        await assert.rejects(store.count('Account'), StoreClosedError);
        const other = await place.open();
        await other.destroy();
        await assert.rejects(other.count('Account'), StoreClosedError);
      } finally {
        await place.cleanup();
      }
    });
  });
}
