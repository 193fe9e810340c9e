/** Chatter REST basics over the FeedItem / FeedComment records. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const C = `${V}/chatter`;
const call = async (org: TestOrg, path: string, method = 'GET', json?: unknown) => {
  const res = await org.api(`/services/data/v62.0/chatter${path}`, { method, json });
  return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as Rec) };
};

test('post on a record, read it as a feed element, as FeedItem and in CaseFeed; comment, like, delete', async () => {
  const org = await testOrg();
  const kase = ((await (await org.api('/sobjects/Case', { method: 'POST', json: { Subject: 'Broken' } })).json()) as { id: string }).id;
  const me = org.emu.org.adminUserId;
  const post = await call(org, '/feed-elements', 'POST', { feedElementType: 'FeedItem', subjectId: kase, body: { messageSegments: [{ type: 'Text', text: 'Hi ' }, { type: 'Mention', id: me }, { type: 'Text', text: ', on it.' }] } });
  assert.equal(post.status, 201);
  const f = post.body!;
  assert.match(f.id, /^0D5/);
  assert.deepEqual([f.feedElementType, f.type, f.url, f.visibility], ['FeedItem', 'TextPost', `${C}/feed-elements/${f.id}`, 'InternalUsers']);
  assert.deepEqual(f.body, { isRichText: false, messageSegments: [{ text: 'Hi @Emulator Admin, on it.', type: 'Text' }], text: 'Hi @Emulator Admin, on it.' });
  assert.deepEqual([f.actor.id, f.actor.displayName, f.actor.type, f.actor.url], [me, 'Emulator Admin', 'User', `${C}/users/${me}`]);
  assert.deepEqual([f.parent.id, f.parent.type, f.parent.name], [kase, 'Case', '00000001']);
  assert.match(f.createdDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(f.capabilities.comments.page.total, 0);

  const q = (await (await org.api(`/query?q=${encodeURIComponent(`SELECT Id, Body, InsertedById FROM CaseFeed WHERE ParentId = '${kase}'`)}`)).json()) as { records: Rec[] };
  assert.deepEqual(q.records.map((r) => [r.Id, r.Body, r.InsertedById]), [[f.id, 'Hi @Emulator Admin, on it.', me]]);

  const comment = await call(org, `/feed-elements/${f.id}/capabilities/comments/items`, 'POST', { body: { messageSegments: [{ type: 'MarkupBegin', markupType: 'Bold' }, { type: 'Text', text: 'Fixed' }, { type: 'MarkupEnd', markupType: 'Bold' }] } });
  assert.equal(comment.status, 201);
  assert.match(comment.body!.id, /^0D7/);
  assert.deepEqual(comment.body!.body, { isRichText: true, messageSegments: [{ altText: '', htmlTag: 'b', markupType: 'Bold', text: '', type: 'MarkupBegin' }, { text: 'Fixed', type: 'Text' }, { htmlTag: 'b', markupType: 'Bold', text: '', type: 'MarkupEnd' }], text: 'Fixed' });
  assert.deepEqual([comment.body!.feedElement, comment.body!.parent.id, comment.body!.type], [{ id: f.id, url: `${C}/feed-elements/${f.id}` }, kase, 'TextComment']);
  const fc = (await (await org.api(`/sobjects/FeedComment/${comment.body!.id}?fields=CommentBody,ParentId,FeedItemId`)).json()) as Rec;
  assert.deepEqual([fc.CommentBody, fc.ParentId, fc.FeedItemId], ['<b>Fixed</b>', kase, f.id]);
  const comments = await call(org, `/feed-elements/${f.id}/capabilities/comments/items`);
  assert.deepEqual([comments.body!.total, comments.body!.comments.map((c: Rec) => c.id)], [1, [comment.body!.id]]);

  const like = await call(org, `/feed-elements/${f.id}/capabilities/chatter-likes/items`, 'POST');
  assert.equal(like.status, 201);
  assert.deepEqual([like.body!.likedItem, like.body!.user.id, like.body!.url], [{ id: f.id, type: 'FeedItem', url: `${C}/feed-elements/${f.id}` }, me, `${C}/likes/${like.body!.id}`]);
  const after = (await call(org, `/feed-elements/${f.id}`)).body!;
  assert.deepEqual([after.capabilities.chatterLikes.isLikedByCurrentUser, after.capabilities.chatterLikes.page.total, after.capabilities.comments.page.total], [true, 1, 1]);
  const counts = (await (await org.api(`/sobjects/FeedItem/${f.id}?fields=CommentCount,LikeCount`)).json()) as Rec;
  assert.deepEqual([counts.CommentCount, counts.LikeCount], [1, 1]);
  assert.equal((await call(org, `/likes/${like.body!.id}`, 'DELETE')).status, 204);
  assert.equal((await call(org, `/feed-elements/${f.id}`)).body!.capabilities.chatterLikes.page.total, 0);

  const feed = await call(org, `/feeds/record/${kase}/feed-elements`);
  assert.deepEqual(feed.body!.elements.map((e: Rec) => e.id), [f.id]);
  assert.equal((await call(org, `/feed-elements/${f.id}`, 'DELETE')).status, 204);
  assert.equal((await call(org, `/feed-elements/${f.id}`)).status, 404);
  assert.equal((await org.api(`/sobjects/FeedComment/${comment.body!.id}`)).status, 404);
  org.close();
});

test('users/me and errors', async () => {
  const org = await testOrg();
  const me = (await call(org, '/users/me')).body!;
  assert.deepEqual([me.id, me.username, me.email, me.type, me.userType], [org.emu.org.adminUserId, 'admin@emulator.sfbridge.dev', 'admin@emulator.sfbridge.dev', 'User', 'Internal']);
  const noSubject = await call(org, '/feed-elements', 'POST', { body: { messageSegments: [{ type: 'Text', text: 'x' }] } });
  assert.deepEqual([noSubject.status, noSubject.body], [400, [{ message: 'subjectId is required: the record (or "me") the post is on', errorCode: 'INVALID_API_INPUT' }]]);
  const badSegment = await call(org, '/feed-elements', 'POST', { subjectId: 'me', body: { messageSegments: [{ type: 'Hashtag', tag: 'x' }] } });
  assert.deepEqual(badSegment.body, [{ message: 'Unsupported message segment type: Hashtag; use Text, Mention, Link, MarkupBegin or MarkupEnd', errorCode: 'INVALID_API_INPUT' }]);
  assert.equal((await call(org, '/feed-elements/0D5000000000000AAA')).status, 404);
  org.close();
});
