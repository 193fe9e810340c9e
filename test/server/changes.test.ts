/**
 * The change stream: sync runs' writes arrive as SSE `change` events; a client that reconnects with
 * Last-Event-ID gets exactly what changed while it was away; `fields=` projects, `where=` filters, an unknown
 * object is refused; the live page serves its script.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientFor } from '../engine/helpers.ts';
import { harness, until, type Harness } from './helpers.ts';

interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Reads SSE events from a response body as they arrive. */
function events(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const queue: SseEvent[] = [];
  return {
    async next(match: (e: SseEvent) => boolean = () => true, ms = 15_000): Promise<SseEvent> {
      const end = Date.now() + ms;
      for (;;) {
        const i = queue.findIndex(match);
        if (i >= 0) return queue.splice(i, 1)[0];
        if (Date.now() > end) throw new Error('timed out waiting for an SSE event');
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const e: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) e.event = line.slice(6).trim();
            else if (line.startsWith('id:')) e.id = line.slice(3).trim();
            else if (line.startsWith('data:')) e.data += line.slice(5).trim();
          }
          if (block.startsWith(':')) continue;
          e.data = e.data ? JSON.parse(e.data) : null;
          queue.push(e);
        }
      }
    },
    cancel: () => reader.cancel(),
  };
}

describe('sfbridge serve: the change stream', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ pipelines: [{ name: 'crm', kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Account'], schedule: { cron: '0 3 * * *' }, lag: 0 }] });
    await until(async () => (await h.service.listRuns({ pipeline: 'crm' }))[0]?.status === 'succeeded', 15_000, 'the first sync');
  });
  after(() => h.close());

  const open = (query: string, headers: Record<string, string> = {}) => h.app.request(`/api/v1/changes/stream${query}`, { headers: { authorization: `Bearer ${h.token}`, ...headers } });
  const syncNow = async () => {
    const before = (await h.service.listRuns({ pipeline: 'crm' })).filter((r) => r.status === 'succeeded').length;
    await h.service.runNow('crm');
    await until(async () => (await h.service.listRuns({ pipeline: 'crm' })).filter((r) => r.status === 'succeeded').length > before, 15_000, 'a sync run');
  };

  it('streams synced changes and resumes with Last-Event-ID', async () => {
    const c = clientFor(h.emu, { governor: false });
    const res = await open('?objects=Account&fields=Name,Industry');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const s = events(res);
    assert.equal((await s.next()).event, 'ready');
    const a = (await c.create('Account', { Name: 'Stream One', Industry: 'Energy', Description: 'not projected' })).id;
    await syncNow();
    const first = await s.next((e) => e.event === 'change' && e.data.id === a);
    assert.deepEqual(first.data.record, { Id: a, Name: 'Stream One', Industry: 'Energy' });
    assert.equal(first.data.op, 'upsert');
    await s.cancel();

    // Away: one record changes, another is created.
    await c.update('Account', a, { Industry: 'Utilities' });
    const b = (await c.create('Account', { Name: 'Stream Two' })).id;
    await syncNow();
    const again = events(await open('?objects=Account&fields=Name,Industry', { 'last-event-id': first.id! }));
    assert.equal((await again.next()).data.resumed, true);
    const got = [await again.next((e) => e.event === 'change'), await again.next((e) => e.event === 'change')];
    assert.deepEqual(got.map((e) => e.data.id).sort(), [a, b].sort());
    assert.equal(got.find((e) => e.data.id === a)!.data.record.Industry, 'Utilities');
    await again.cancel();
  });

  it('filters by field value, refuses unknown objects and bad positions, and serves the live page', async () => {
    const c = clientFor(h.emu, { governor: false });
    const s = events(await open('?objects=account&where=Industry:Banking'));
    await s.next((e) => e.event === 'ready');
    await c.create('Account', { Name: 'Not a bank', Industry: 'Retail' });
    const bank = (await c.create('Account', { Name: 'A bank', Industry: 'Banking' })).id;
    await syncNow();
    const e = await s.next((x) => x.event === 'change');
    assert.equal(e.data.id, bank, 'only the matching record');
    await s.cancel();
    const unknown = await open('?objects=Lead');
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).error.message, /no sync pipeline mirrors Lead \(mirrored: Account\)/);
    assert.equal((await open('', { 'last-event-id': 'garbage!' })).status, 400);
    const { cookie } = await h.login();
    const page = await h.app.request('/changes?object=Account', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/assets\/changes.js" defer><\/script>/);
    assert.match(await (await h.app.request('/assets/changes.js', { headers: { cookie } })).text(), /new EventSource\('\/api\/v1\/changes\/stream\?objects='/);
  });
});
