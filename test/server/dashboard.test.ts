/**
 * The dashboard in-process: every page renders for a session (and redirects without one), each form
 * control has a label and each page passes the service's CSP (no inline script or style), the forms do
 * what they say (create a sync pipeline, pause, resume, run now, replay a dead letter with an edited
 * payload, discard), the run stream sends live snapshots then the finished one, and uPlot is served.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { harness, until, type Harness } from './helpers.ts';

/** Every visible form control has a `<label for>`, a wrapping label or an aria-label. */
function assertLabelled(page: string, where: string) {
  const ids = new Set([...page.matchAll(/<label[^>]*\bfor="([^"]+)"/g)].map((m) => m[1]));
  // Controls wrapped in a <label>…</label> are labelled by it.
  const unwrapped = page.replace(/<label\b[^>]*>[\s\S]*?<\/label>/g, '');
  for (const m of unwrapped.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
    const attrs = m[2];
    if (/type="(hidden|submit)"/.test(attrs) || /aria-label="/.test(attrs)) continue;
    const id = /\bid="([^"]+)"/.exec(attrs)?.[1];
    assert.ok(id && ids.has(id), `${where}: <${m[1]}${attrs}> has no label`);
  }
  for (const m of page.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/g)) assert.ok(m[2].trim() || /aria-label="/.test(m[1]), `${where}: a button without a name`);
  assert.doesNotMatch(page, /<script(?![^>]*\b(src|type="application\/json")=?)[^>]*>/, `${where}: inline script (the CSP refuses it)`);
  assert.doesNotMatch(page, /\sstyle="/, `${where}: a style attribute (the CSP refuses it)`);
  assert.match(page, /<main id="main">/);
  assert.match(page, /<a class="skip" href="#main">/);
}

describe('dashboard pages', () => {
  let h: Harness;
  let s: { cookie: string; csrf: string };
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sfb-dash-'));
    const file = join(dir, 'contacts.jsonl');
    await writeFile(file, ['{"Email":"a@x.test","LastName":"Ok"}', '{"Email":"b@x.test"}', '{"Email":"c@x.test"}'].join('\n'));
    h = await harness({
      seed: 'Account=300,Contact=5000',
      pipelines: [{ name: 'push', kind: 'publish', connection: 'emu', source: { file, key: 'Email' }, state: `sqlite:${join(dir, 'publish.db')}`, target: { object: 'Contact', operation: 'insert' }, schedule: '1h', maxRetries: 0 }],
    });
    s = await h.login();
    await until(async () => (await h.service.listRuns({ pipeline: 'push' }))[0]?.finishedAt, 15_000, 'the publish run');
  });
  after(() => h.close());

  const get = async (path: string) => {
    const res = await h.app.request(path, { headers: { cookie: s.cookie } });
    return { status: res.status, text: await res.text(), res };
  };
  const post = (path: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    h.app.request(path, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ _csrf: s.csrf, ...fields }) });

  it('every page needs a session and renders labelled, CSP-clean HTML', async () => {
    const [run] = await h.service.listRuns({ pipeline: 'push' });
    const [letter] = await h.service.listDeadLetters({ pipeline: 'push' });
    for (const path of ['/', '/connections', '/pipelines', '/pipelines/push', '/runs', `/runs/${run.id}`, '/dead-letters', `/dead-letters/push/${letter.id}`, '/usage']) {
      const anon = await h.app.request(path);
      assert.equal(anon.status, 303, path);
      assert.match(anon.headers.get('location')!, /^\/login\?next=/);
      const page = await get(path);
      assert.equal(page.status, 200, `${path}: ${page.text.slice(0, 300)}`);
      assertLabelled(page.text, path);
      assert.match(page.text, /<nav aria-label="Main">/);
    }
    assert.equal((await get('/runs/999999')).status, 404);
    assert.equal((await get('/pipelines/nope')).status, 404);
    assert.equal((await get('/dead-letters/push/999999')).status, 404);
  });

  it('connections: status, user, org and an API-usage gauge', async () => {
    const page = (await get('/connections')).text;
    assert.match(page, /<th scope="row">emu/);
    assert.ok(page.includes(h.emu.org.orgId));
    assert.match(page, /<meter [^>]*aria-label="API calls used by emu"/);
    const tested = await post('/ui/connections/emu/test');
    assert.equal(tested.status, 303);
    assert.match((await get(tested.headers.get('location')!)).text, /emu logged in: org 00D/);
  });

  it('pipelines: create a sync pipeline from the form (paused), run it by hand, pause and resume', async () => {
    const bad = await post('/ui/pipelines', { name: 'accounts', connection: 'emu', objects: 'Acount', schedule: 'whenever' });
    assert.equal(bad.status, 400);
    const badPage = await bad.text();
    assert.match(badPage, /role="alert"/);
    assert.match(badPage, /value="Acount"/, 'the form keeps what was typed');
    const created = await post('/ui/pipelines', { name: 'accounts', connection: 'emu', objects: 'Account', schedule: '1h', paused: '1' });
    assert.equal(created.status, 303, await created.clone().text());
    assert.equal(created.headers.get('location'), '/pipelines/accounts?created=1');
    const view = await h.api('/api/v1/pipelines/accounts');
    assert.equal(view.body.schedule.paused, true);
    assert.deepEqual(view.body.spec.standard_objects_to_sync, ['Account']);
    assert.equal((await h.service.listRuns({ pipeline: 'accounts' })).length, 0, 'a paused new pipeline does not run by itself');
    const dup = await post('/ui/pipelines', { name: 'accounts', connection: 'emu', objects: 'Account' });
    assert.equal(dup.status, 409);

    const ran = await post('/ui/pipelines/accounts/run');
    assert.equal(ran.status, 303);
    const jobPath = ran.headers.get('location')!;
    assert.match(jobPath, /^\/jobs\/\d+$/);
    const runPath = await until(async () => {
      const r = await h.app.request(jobPath, { headers: { cookie: s.cookie } });
      return r.status === 303 ? r.headers.get('location') : undefined;
    }, 15_000, 'the run to start');
    assert.match(runPath, /^\/runs\/\d+$/);
    const runId = Number(runPath.split('/')[2]);
    await until(async () => (await h.service.getRun(runId))?.finishedAt, 15_000, 'the run to finish');
    const page = (await get(runPath)).text;
    assert.match(page, /id="run-status" class="ok"[^>]*>succeeded</);
    assert.match(page, /<tr data-object="Account">[\s\S]*?data-k="written">300</);
    assert.doesNotMatch(page, /data-stream=/, 'a finished run is not streamed');

    const list = (await get('/pipelines')).text;
    assert.match(list, /<tr data-pipeline="accounts">[\s\S]*?<span class="warn">paused<\/span>/);
    const resumed = await post('/ui/pipelines/accounts/resume', {}, { referer: 'http://localhost/pipelines' });
    assert.equal(resumed.headers.get('location'), '/pipelines?resumed=accounts');
    assert.equal((await h.api('/api/v1/pipelines/accounts')).body.schedule.paused, false);
    const paused = await post('/ui/pipelines/accounts/pause');
    assert.equal(paused.headers.get('location'), '/pipelines/accounts?paused=1');
    assert.equal((await h.api('/api/v1/pipelines/accounts')).body.schedule.paused, true);
    assert.match((await get('/pipelines/accounts')).text, /Lag behind Salesforce<\/dt><dd>\d/);
  });

  it('a run streams snapshots over Server-Sent Events while it runs, then the finished one', async () => {
    await h.emu.request('/__emulator/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency: 300 }) });
    // Its own mirror store, so it never shares a table with another pipeline; three pages of 2,000.
    const put = await h.api('/api/v1/pipelines/slow', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Contact'], schedule: '1h', lag: 0, bulk_threshold: 1_000_000, store: `sqlite:${join(dir, 'slow.db')}` } });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const run = await until(async () => (await h.service.listRuns({ pipeline: 'slow' }))[0], 15_000, 'the run');
    const res = await h.app.request(`/runs/${run.id}/stream`, { headers: { cookie: s.cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    const events: Array<{ event: string; data: any }> = [];
    while (!events.some((e) => e.event === 'finished')) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
    await h.emu.request('/__emulator/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    const progress = events.filter((e) => e.event === 'progress');
    assert.ok(progress.length >= 2, `progress snapshots: ${events.map((e) => e.event).join(',')}`);
    assert.equal(progress[0].data.status, 'running');
    const reads = progress.map((e) => e.data.objects.Contact?.read ?? 0);
    assert.ok(reads.some((r, i) => i > 0 && r > reads[i - 1]), `the read count grows while the run runs: ${reads.join(',')}`);
    const last = events.at(-1)!;
    assert.equal(last.event, 'finished');
    assert.equal(last.data.status, 'succeeded');
    assert.equal(last.data.objects.Contact.written, 5001, '5,000 seeded and the one the publish pipeline inserted');
    assert.equal(last.data.objects.Contact.status, 'ok');
    // The event log came along: each entry once, in order.
    const seqs = events.flatMap((e) => (e.data.events ?? []).map((x: { seq: number }) => x.seq));
    assert.ok(seqs.length >= 2, `event-log entries in the stream: ${seqs.join(',')}`);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), 'no entry twice, oldest first');
    assert.ok(events.flatMap((e) => e.data.events ?? []).some((x: { type: string }) => x.type === 'run:started'));
    // A finished run's stream sends the final snapshot and ends.
    const again = await (await h.app.request(`/runs/${run.id}/stream`, { headers: { cookie: s.cookie } })).text();
    assert.match(again, /^event: finished$/m);
    // A reconnect (Last-Event-ID: the last entry's seq) gets only the entries after it.
    const all = (await h.service.runEvents(run.id)).map((e) => e.seq);
    const resumed = await (await h.app.request(`/runs/${run.id}/stream?after=0`, { headers: { cookie: s.cookie, 'last-event-id': String(all[all.length - 2]) } })).text();
    const data = JSON.parse(/^data: (.+)$/m.exec(resumed)![1]);
    assert.deepEqual(data.events.map((e: { seq: number }) => e.seq), [all[all.length - 1]]);
  });

  it('dead letters: the error with its fix, replay with an edited payload, discard', async () => {
    const list = (await get('/dead-letters')).text;
    assert.match(list, /REQUIRED_FIELD_MISSING/);
    const letters = await h.service.listDeadLetters({ pipeline: 'push' });
    const b = letters.find((l) => l.key === 'b@x.test')!;
    const c = letters.find((l) => l.key === 'c@x.test')!;
    const page = (await get(`/dead-letters/push/${b.id}`)).text;
    assert.match(page, /<textarea id="payload" name="payload"[^>]*>\{\n {2}&quot;Email&quot;: &quot;b@x.test&quot;\n\}<\/textarea>/);
    assert.match(page, /class="fix">Add LastName to the payload, then replay\./);

    const notJson = await post(`/ui/dead-letters/push/${b.id}/replay`, { payload: '{"Email": ' });
    assert.equal(notJson.status, 400);
    assert.match(await notJson.text(), /not valid JSON/);
    const refused = await post(`/ui/dead-letters/push/${b.id}/replay`, { payload: '{"Email":"b@x.test"}' });
    assert.equal(refused.status, 422);
    assert.match(await refused.text(), /Salesforce refused the replay: REQUIRED_FIELD_MISSING/);
    assert.equal((await h.service.getDeadLetter('push', b.id))!.status, 'open');

    const fixed = await post(`/ui/dead-letters/push/${b.id}/replay`, { payload: '{"Email":"b@x.test","LastName":"Fixed"}' });
    assert.equal(fixed.status, 303, await fixed.clone().text());
    const done = (await get(fixed.headers.get('location')!)).text;
    assert.match(done, /This dead letter is resolved/);
    assert.match(done, /id="letter-status" class="ok">resolved \(replayed\)</);
    assert.match(done, /Salesforce Id<\/dt><dd><code>003/);
    assert.doesNotMatch(done, /<textarea/, 'a resolved letter cannot be replayed again');

    const discarded = await post(`/ui/dead-letters/push/${c.id}/discard`);
    assert.equal(discarded.status, 303);
    assert.match((await get(discarded.headers.get('location')!)).text, /was discarded/);
    assert.equal((await h.service.listDeadLetters({ pipeline: 'push' })).length, 0);
    assert.match((await get('/dead-letters?status=all')).text, /resolved \(replayed\)[\s\S]*discarded|discarded[\s\S]*resolved \(replayed\)/);
  });

  it('API usage: a chart per org with its readings as data, and uPlot served by the app', async () => {
    const page = (await get('/usage?range=1h')).text;
    assert.match(page, /<script src="\/assets\/uplot\.iife\.min\.js" defer><\/script>/);
    const data = /<script type="application\/json" id="usage-data-0">([^<]*)<\/script>/.exec(page);
    assert.ok(data, 'chart data');
    const series = JSON.parse(data[1]);
    assert.equal(series.org, h.emu.org.orgId);
    assert.ok(series.points.length >= 1);
    const [t, used, max] = series.points.at(-1);
    assert.ok(t > 1_600_000_000 && used > 0 && max >= used);
    assert.match(page, /role="img" aria-label="API calls used by org/);
    const js = await h.app.request('/assets/uplot.iife.min.js');
    assert.equal(js.status, 200);
    assert.match(await js.text(), /uPlot/);
    assert.equal((await h.app.request('/assets/uplot.min.css')).status, 200);
    const app = await h.app.request('/assets/app.js');
    assert.match(app.headers.get('content-type')!, /javascript/);
    assert.match(await app.text(), /EventSource/);
  });
});
