/**
 * SIGKILL test of plain inserts as a new user runs them: a child `sfbridge publish --operation insert` with no
 * key in the data is killed at random points (on write requests, whose writes still land, and at random
 * moments) and rerun until a run finishes. The org must then hold each input row exactly once:
 * - with the default state (no --state: ./data/publish.db) on the Bulk API 2.0 path and no key at all (jobs are
 *   recorded before they are closed and settled from their result files);
 * - with --state and --idempotency-field on the Collections path (the marker is looked up before a resend);
 * - on the Collections path with no key: a call whose answer was lost is dead-lettered, never resent, and
 *   `dlq replay --all` refuses to resend it unchecked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { replayDeadLetters } from '../../src/engine/publish/index.ts';
import { openStore } from '../../src/store/index.ts';
import { killTrial, runSfbridge } from '../helpers/publish-kill.ts';
import { clientFor, publishEmulator } from './publish-helpers.ts';

const connFlags = (o: { org: { url: string; clientId: string; clientSecret: string } }) => ['--instance-url', o.org.url, '--client-id', o.org.clientId, '--client-secret', o.org.clientSecret];

describe('plain insert killed with SIGKILL at random points', { concurrency: true }, () => {
  it('default state, Bulk API 2.0, no key: each row exactly once, no dead letters', async (t) => {
    const o = await killTrial({ n: 2500, kills: 4, seed: 21, flags: [], writes: 6, maxDelayMs: 3000 });
    try {
      t.diagnostic(`killed: ${o.killed.join(', ')}`);
      assert.ok(o.killed.length >= 1, 'the publisher was killed at least once');
      assert.equal(o.finalCode, 0, o.finalStderr);
      assert.equal(o.records, 2500, 'no row missing, none duplicated');
      assert.equal(o.distinct, 2500);
      assert.equal(o.deadLetters, 0);
      assert.deepEqual(o.outbox, { pending: 0, sent: 0, succeeded: 2500, failed: 0 });
    } finally {
      await o.close();
    }
  });

  it('--state and --idempotency-field, Collections: each row exactly once', async (t) => {
    const o = await killTrial({ n: 1200, kills: 4, seed: 22, flags: ['--idempotency-field', 'Idem_Key__c', '--state', 'sqlite:./state/publish.db', '--path', 'collections'], writes: 6, maxDelayMs: 2500, mode: 'request' });
    try {
      t.diagnostic(`killed: ${o.killed.join(', ')}`);
      assert.ok(o.killed.length >= 1);
      assert.equal(o.finalCode, 0, o.finalStderr);
      assert.equal(o.records, 1200);
      assert.equal(o.distinct, 1200);
      assert.equal(o.deadLetters, 0);
      // Every record carries its marker.
      const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: o.org.url, clientId: o.org.clientId, clientSecret: o.org.clientSecret } });
      assert.equal(await client.count(`SELECT COUNT() FROM Contact WHERE Idem_Key__c LIKE 'sfb1-%'`), 1200);
    } finally {
      await o.close();
    }
  });

  it('Collections with no key: lost answers are dead-lettered, never resent, and dlq replay refuses them unchecked', async (t) => {
    const o = await killTrial({ n: 800, kills: 3, seed: 23, flags: ['--path', 'collections'], writes: 4, maxDelayMs: 0, mode: 'request' });
    try {
      t.diagnostic(`killed: ${o.killed.join(', ')}; ${o.deadLetters} dead letters`);
      assert.ok(o.killed.length >= 1);
      // A call whose answer was lost may or may not have been written: either way it is a dead letter and was
      // not sent again. Every other row was sent once.
      assert.equal(o.distinct, o.records, 'no row duplicated');
      assert.ok(o.records <= 800);
      assert.ok(o.deadLetters > 0, 'the lost answers are dead letters');
      assert.ok(o.records + o.deadLetters >= 800, 'every row is in the org or a dead letter');
      assert.deepEqual(o.outbox, { pending: 0, sent: 0, succeeded: 800 - o.deadLetters, failed: o.deadLetters });
      assert.equal(o.finalCode, 1);
      assert.match(o.finalStderr + (await runSfbridge(o.dir, ['dlq', 'list'])).stdout, /UNKNOWN_OUTCOME/);
      const replay = await runSfbridge(o.dir, ['dlq', 'replay', '--all', ...connFlags(o)]);
      assert.equal(replay.code, 1, replay.stderr);
      assert.match(replay.stdout, /not resent: this insert may already be in Salesforce/);
      assert.match(replay.stdout, /0 replayed/);
      const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: o.org.url, clientId: o.org.clientId, clientSecret: o.org.clientSecret } });
      assert.equal(await client.count(`SELECT COUNT() FROM Contact WHERE Email LIKE 'k%@example.com'`), o.records, 'replay duplicated nothing');
    } finally {
      await o.close();
    }
  });
});

describe('dlq replay of an unknown outcome with a lookup field', () => {
  it('looks the record up first and adopts it instead of resending', async () => {
    const emu = publishEmulator();
    const client = clientFor(emu);
    const [created] = await client.collections.create([{ attributes: { type: 'Contact' }, LastName: 'Landed', Idem_Key__c: 'sfb1-landed' }]);
    const store = await openStore('sqlite::memory:');
    const state = await store.publishState();
    await state.enqueue('p', [{ key: 'k1', payload: { LastName: 'Landed', Idem_Key__c: 'sfb1-landed' } }]);
    await state.markSent('p', ['k1']);
    await state.failRecords('p', [{ pipeline: 'p', key: 'k1', object: 'Contact', operation: 'insert', externalIdField: 'Idem_Key__c', payload: { LastName: 'Landed', Idem_Key__c: 'sfb1-landed' }, error: { code: 'UNKNOWN_OUTCOME', message: 'lost', fields: [] }, attempts: 1 }], [{ key: 'k1', state: 'failed', error: { code: 'UNKNOWN_OUTCOME', message: 'lost', fields: [] } }]);
    const letters = await state.listDeadLetters({ status: 'open' });
    const out = await replayDeadLetters({ client, state, letters, publishOptions: { retryBaseDelayMs: 1 } });
    assert.equal(out[0].result.success, true);
    assert.equal(out[0].result.reconciled, true);
    assert.equal(out[0].result.id, created.id);
    assert.equal(await client.count(`SELECT COUNT() FROM Contact WHERE LastName = 'Landed'`), 1);
    assert.equal((await state.getDeadLetter(letters[0].id))?.status, 'replayed');
    await store.close();
    emu.close();
  });
});
