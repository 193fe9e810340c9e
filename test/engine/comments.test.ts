/**
 * The comments pipeline against the emulator: each default source becomes a cleaned, enriched comment in
 * the documented shape; the change rule (a change that touches no text emits nothing, a text change one
 * update, a delete one tombstone; re-reads emit nothing); a sink that refuses leaves the cursor where it was.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { commentsCheckpointKey, DEFAULT_COMMENT_OBJECTS, BUILT_IN_SOURCES, customSource, runComments, type Comment } from '../../src/engine/comments/index.ts';
import { SinkError, type Sink, type SinkMessage } from '../../src/engine/sinks/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { BASE, clientFor, emulator } from './helpers.ts';

type Emu = Awaited<ReturnType<typeof emulator>>;

function recorder(): Sink & { messages: SinkMessage[] } {
  const messages: SinkMessage[] = [];
  return { kind: 'jsonl', label: 'recorder', messages, deliver: async (m) => void messages.push(...m), close: async () => undefined };
}

async function seed(emu: Emu) {
  const c = clientFor(emu, { governor: false });
  const account = (await c.create('Account', { Name: 'Hooli Logistics' })).id;
  const contact = (await c.create('Contact', { LastName: 'Ritchie', FirstName: 'Guido', Email: 'guido@hooli.example', AccountId: account })).id;
  const kase = (await c.create('Case', { Subject: 'Shipment arrived damaged', Status: 'New', Priority: 'High', AccountId: account, ContactId: contact })).id;
  const email = (
    await c.create('EmailMessage', {
      ParentId: kase,
      Incoming: true,
      Subject: 'RE: Shipment arrived damaged [ ref:_00D5g00000aBcD._5005g00001XyZ9q:ref ]',
      FromName: 'Guido Ritchie',
      FromAddress: 'guido@hooli.example',
      ToAddress: 'support@acme.example; orders@acme.example',
      CcAddress: 'boss@hooli.example',
      MessageDate: '2025-03-04T09:30:00.000+0000',
      HtmlBody: '<div>Two boxes were crushed.</div><div>Please send replacements.</div><div><br></div><div>Thanks,</div><div>Guido</div><div class="gmail_quote"><div>On Mon, Mar 3, 2025 at 5:00 PM Acme Support &lt;support@acme.example&gt; wrote:</div><blockquote>Your order has shipped.</blockquote></div>',
      TextBody: 'Two boxes were crushed.',
    })
  ).id;
  const comment = (await c.create('CaseComment', { ParentId: kase, CommentBody: 'Called the carrier,   claim filed.\r\n', IsPublished: false })).id;
  const post = (await c.create('FeedItem', { ParentId: kase, Body: '<p>Carrier claim <b>CL-88</b> opened.</p>' })).id;
  const reply = (await c.create('FeedComment', { FeedItemId: post, CommentBody: '<p>Thanks, following.</p>' })).id;
  const call = (await c.create('Task', { Subject: 'Call', Description: 'Customer wants a refund instead.', TaskSubtype: 'Call', CallType: 'Inbound', CallDurationInSeconds: 95, WhatId: kase, WhoId: contact, Status: 'Completed' })).id;
  const todo = (await c.create('Task', { Subject: 'Send letter', Description: 'Not a call', WhatId: kase })).id;
  return { c, account, contact, kase, email, comment, post, reply, call, todo };
}

const bodyOf = (m: SinkMessage) => m.body as unknown as Comment;

describe('comments pipeline', () => {
  it('turns each default source into a cleaned, enriched comment, and emits only on text change', async () => {
    const emu = await emulator();
    const store: Store = await openStore('sqlite::memory:');
    const sink = recorder();
    try {
      const s = await seed(emu);
      const opts = { client: clientFor(emu), store, sources: DEFAULT_COMMENT_OBJECTS.map((o) => BUILT_IN_SOURCES[o]), sinks: [sink], lagMs: 600_000, instanceUrl: BASE };
      const run = await runComments(opts);
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(run.objects.map((o) => [o.object, o.emitted, o.status]), [['EmailMessage', 1, 'ok'], ['CaseComment', 1, 'ok'], ['FeedItem', 1, 'ok'], ['FeedComment', 1, 'ok'], ['Task', 1, 'ok']]);
      const byId = new Map(sink.messages.map((m) => [m.key, bodyOf(m)]));
      assert.deepEqual(byId.get(s.email), {
        id: s.email,
        thread_id: s.kase,
        timestamp: '2025-03-04T09:30:00.000Z',
        messages: [{ from: 'Guido Ritchie <guido@hooli.example>', to: ['support@acme.example', 'orders@acme.example'], cc: ['boss@hooli.example'], sent_at: '2025-03-04T09:30:00.000Z', subject: 'RE: Shipment arrived damaged', body: 'Two boxes were crushed.\nPlease send replacements.', signature: 'Thanks,\nGuido' }],
        user_properties: {
          'string:Object': 'EmailMessage', 'string:Direction': 'inbound', 'string:Case Number': byId.get(s.email)!.user_properties['string:Case Number'], 'string:Case Subject': 'Shipment arrived damaged',
          'string:Case Status': 'New', 'string:Case Priority': 'High', 'number:Priority': 1, 'string:Account': 'Hooli Logistics', 'string:Contact': 'Guido Ritchie', 'string:Case Owner': byId.get(s.email)!.user_properties['string:Case Owner'],
        },
        metadata: {
          object: 'EmailMessage', parent_id: s.kase, parent_object: 'Case', url: `${BASE}/lightning/r/EmailMessage/${s.email}/view`, incoming: true,
          participants: ['Guido Ritchie <guido@hooli.example>', 'support@acme.example', 'orders@acme.example', 'boss@hooli.example'],
          case_reference: 'ref:_00D5g00000aBcD._5005g00001XyZ9q:ref', raw_ids: { ParentId: s.kase }, modified: byId.get(s.email)!.metadata.modified,
        },
      });
      assert.match(String(byId.get(s.email)!.user_properties['string:Case Number']), /^\d{8}$/);
      assert.equal(byId.get(s.comment)!.messages[0].body, 'Called the carrier, claim filed.');
      assert.equal(byId.get(s.comment)!.user_properties['string:Visibility'], 'internal');
      assert.equal(byId.get(s.post)!.messages[0].body, 'Carrier claim CL-88 opened.');
      assert.equal(byId.get(s.reply)!.thread_id, s.post);
      assert.equal(byId.get(s.call)!.user_properties['number:Call Duration'], 95);
      assert.equal(byId.get(s.call)!.messages[0].body, 'Customer wants a refund instead.');
      assert.ok(!byId.has(s.todo), 'a Task that is not a call is not a comment');
      assert.ok(sink.messages.every((m) => m.id.startsWith(`comments>recorder:${m.key}:`)));

      // Re-read inside the lag window: nothing.
      assert.deepEqual((await runComments(opts)).objects.map((o) => [o.emitted, o.unchanged]), [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1]]);
      // Changes that touch no text: nothing.
      await sleep(2);
      await s.c.update('Case', s.kase, { Status: 'Working', Priority: 'Low' });
      await s.c.update('EmailMessage', s.email, { IsExternallyVisible: true });
      await s.c.update('CaseComment', s.comment, { IsPublished: true });
      await runComments(opts);
      assert.equal(sink.messages.length, 5);
      // A text change: one update, with a new message id; a delete: one tombstone.
      await s.c.update('CaseComment', s.comment, { CommentBody: 'Claim filed, carrier pays.' });
      await s.c.delete('FeedComment', s.reply);
      const third = await runComments(opts);
      assert.deepEqual(third.objects.map((o) => [o.object, o.emitted, o.deleted]), [['EmailMessage', 0, 0], ['CaseComment', 1, 0], ['FeedItem', 0, 0], ['FeedComment', 0, 1], ['Task', 0, 0]]);
      const [update, gone] = sink.messages.slice(5);
      assert.equal(update.key, s.comment);
      assert.notEqual(update.id, sink.messages.find((m) => m.key === s.comment)!.id);
      assert.equal(bodyOf(update).messages[0].body, 'Claim filed, carrier pays.');
      assert.equal(bodyOf(update).user_properties['string:Case Status'], 'Working', 'an update carries the current Case');
      assert.deepEqual([gone.key, gone.body, gone.headers?.['sfbridge-op']], [s.reply, { id: s.reply, deleted: true, metadata: { object: 'FeedComment' } }, 'delete']);
      assert.equal(sink.messages.length, 7);
    } finally {
      await store.close();
      emu.close();
    }
  });

  it('a custom object with chosen fields; a sink that refuses fails the object and leaves its cursor', async () => {
    const emu = await emulator();
    const store = await openStore('sqlite::memory:');
    try {
      const s = await seed(emu);
      const source = customSource({ object: 'Case', body: ['Description'], subject: 'Subject', from: 'SuppliedEmail', parent: 'Id', properties: { Origin: 'Origin', 'number:Escalated': 'IsEscalated' } });
      await s.c.update('Case', s.kase, { Description: 'Crushed boxes, <b>urgent</b>', Origin: 'Email', SuppliedEmail: 'guido@hooli.example' });
      const refusing: Sink = { kind: 'webhook', label: 'https://hooks.example/x', deliver: async () => { throw new SinkError('SINK_REJECTED', 'https://hooks.example/x', 'HTTP 422: bad payload'); }, close: async () => undefined };
      const failed = await runComments({ client: clientFor(emu), store, sources: [source], sinks: [refusing], instanceUrl: BASE });
      assert.equal(failed.status, 'failed');
      assert.equal(failed.objects[0].error, 'https://hooks.example/x: HTTP 422: bad payload');
      assert.equal(await store.getCheckpoint(commentsCheckpointKey('Case')), undefined);
      const sink = recorder();
      assert.equal((await runComments({ client: clientFor(emu), store, sources: [source], sinks: [sink], instanceUrl: BASE })).status, 'succeeded');
      const c = bodyOf(sink.messages[0]);
      assert.deepEqual([c.id, c.thread_id, c.messages[0].from, c.messages[0].subject, c.messages[0].body], [s.kase, s.kase, 'guido@hooli.example', 'Shipment arrived damaged', 'Crushed boxes, urgent']);
      assert.equal(c.user_properties['string:Origin'], 'Email');
      assert.equal(c.user_properties['string:Case Status'], 'New');
      assert.ok((await store.getCheckpoint(commentsCheckpointKey('Case')))?.cursor);
    } finally {
      await store.close();
      emu.close();
    }
  });
});
