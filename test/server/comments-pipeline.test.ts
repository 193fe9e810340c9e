/**
 * Comments as a service pipeline: a `kind: comments` pipeline from the config file or the API runs on its
 * schedule, delivers cleaned comments to its sink, reports per-object counts in the run, and emits again only
 * when a comment's text changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientFor } from '../engine/helpers.ts';
import { harness, until, type Harness } from './helpers.ts';

describe('sfbridge serve: comments pipelines', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sfbridge-comments-'));
    h = await harness({ start: true });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));

  it('runs a comments pipeline created through the API and emits only text changes', async () => {
    const c = clientFor(h.emu, { governor: false });
    const kase = (await c.create('Case', { Subject: 'Printer on fire', Status: 'New', Priority: 'High' })).id;
    const comment = (await c.create('CaseComment', { ParentId: kase, CommentBody: 'Fire brigade called.' })).id;
    const file = join(dir, 'comments.jsonl');
    const put = await h.api('/api/v1/pipelines/support', { method: 'PUT', json: { kind: 'comments', connection: 'emu', objects: ['CaseComment'], jsonl: file, lag: 0, schedule: { cron: '0 3 * * *' } } });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const first = await until(async () => (await h.service.listRuns({ pipeline: 'support' })).find((r) => r.status !== 'running' && r.status !== 'queued'), 15_000, 'the first run');
    assert.equal(first.status, 'succeeded', JSON.stringify(first));
    assert.deepEqual(first.objects.CaseComment, { read: 1, written: 1, deleted: 0, status: 'ok' });
    const out = await lines(file);
    assert.equal(out.length, 1);
    assert.equal(out[0].id, comment);
    assert.equal(out[0].messages[0].body, 'Fire brigade called.');
    assert.equal(out[0].user_properties['string:Case Status'], 'New');

    // A status change on the Case touches no comment text: the next run emits nothing.
    await c.update('Case', kase, { Status: 'Working' });
    await h.api('/api/v1/pipelines/support/runs', { method: 'POST' });
    await until(async () => (await h.service.listRuns({ pipeline: 'support' })).filter((r) => r.status === 'succeeded').length === 2, 15_000, 'the second run');
    assert.equal((await lines(file)).length, 1);

    await c.update('CaseComment', comment, { CommentBody: 'Fire brigade called. Fire is out.' });
    await h.api('/api/v1/pipelines/support/runs', { method: 'POST' });
    const runs = await until(async () => {
      const all = await h.service.listRuns({ pipeline: 'support' });
      return all.filter((r) => r.status === 'succeeded').length === 3 && all;
    }, 15_000, 'the third run');
    assert.equal((runs[0].objects as Record<string, { written: number }>).CaseComment.written, 1);
    const after3 = await lines(file);
    assert.equal(after3.length, 2);
    assert.equal(after3[1].messages[0].body, 'Fire brigade called. Fire is out.');
  });

  it('refuses a comments pipeline with no destination or an unknown object, naming the fix', async () => {
    const none = await h.api('/api/v1/pipelines/c2', { method: 'PUT', json: { kind: 'comments', connection: 'emu', objects: ['EmailMessage'] } });
    assert.equal(none.status, 400);
    assert.match(none.body.error.message, /needs a destination: queue:/);
    const bad = await h.api('/api/v1/pipelines/c2', { method: 'PUT', json: { kind: 'comments', connection: 'emu', objects: ['Emails'], jsonl: 'x.jsonl' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /must be one of EmailMessage/);
  });
});
