/**
 * The live changes page (`/changes`): a record view and a feed that update as sfbridge writes changes into
 * its mirrors, from `GET /api/v1/changes/stream`. It is also the example of a live UI built on that stream:
 * open a record by Id and watch its fields change when it is edited in Salesforce and the next sync cycle
 * (or change event) lands.
 */
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { page } from './layout.ts';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export function changesPage(objects: readonly string[], csrf: string, selected?: { object?: string; id?: string }): Html {
  return page({
    title: 'Live changes',
    csrf,
    active: '/changes',
    head: html`<script src="/assets/changes.js" defer></script>`,
    body: html`<h1>Live changes</h1>
<p>Record changes as sfbridge writes them into its mirrors, live. Open a record to watch it update.</p>
<form id="changes-form" class="card" method="get" action="/changes">
  <label for="object">Object</label>
  <select id="object" name="object">${objects.map((o) => html`<option ${o === selected?.object ? 'selected' : ''}>${o}</option>`)}</select>
  <label for="record-id">Record Id (optional)</label>
  <input id="record-id" name="id" value="${selected?.id ?? ''}" pattern="[A-Za-z0-9]{15}([A-Za-z0-9]{3})?" placeholder="001…">
  <button type="submit">Watch</button>
</form>
<section aria-labelledby="record-h" id="record-view" data-object="${selected?.object ?? ''}" data-id="${selected?.id ?? ''}" ${selected?.id ? '' : 'hidden'}>
  <h2 id="record-h">Record <code id="record-label">${selected?.id ?? ''}</code> <span id="record-state" class="muted" aria-live="polite">waiting for a change</span></h2>
  <dl class="facts" id="record-fields"></dl>
</section>
<section aria-labelledby="feed-h">
  <h2 id="feed-h">Feed <span id="feed-status" class="muted" aria-live="polite">connecting…</span></h2>
  <table><thead><tr><th scope="col">Written</th><th scope="col">Object</th><th scope="col">Record</th><th scope="col">Change</th></tr></thead><tbody id="feed"></tbody></table>
</section>
<noscript><p>This page needs JavaScript; the same feed is at <code>/api/v1/changes/stream</code>.</p></noscript>`,
  });
}

/** The page's script: one EventSource, reconnecting with Last-Event-ID (the browser does that itself). */
export const CHANGES_JS = `(() => {
  'use strict';
  const view = document.getElementById('record-view');
  const feed = document.getElementById('feed');
  const status = document.getElementById('feed-status');
  const object = view.dataset.object || document.getElementById('object').value;
  const id = view.dataset.id;
  if (!object || !('EventSource' in window)) { status.textContent = 'nothing to watch'; return; }
  const src = new EventSource('/api/v1/changes/stream?objects=' + encodeURIComponent(object));
  src.addEventListener('ready', () => { status.textContent = 'live'; });
  src.onerror = () => { status.textContent = 'reconnecting…'; };
  src.addEventListener('change', (e) => {
    const c = JSON.parse(e.data);
    const tr = document.createElement('tr');
    for (const t of [new Date(c.at).toLocaleTimeString(), c.object, c.id, c.op]) { const td = document.createElement('td'); td.textContent = t; tr.append(td); }
    feed.prepend(tr);
    while (feed.rows.length > 50) feed.deleteRow(feed.rows.length - 1);
    if (!id || (c.id !== id && c.id.slice(0, 15) !== id.slice(0, 15))) return;
    const dl = document.getElementById('record-fields');
    dl.replaceChildren();
    for (const [k, v] of Object.entries(c.record)) {
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      dd.dataset.field = k;
      dl.append(dt, dd);
    }
    document.getElementById('record-state').textContent = c.op === 'delete' ? 'deleted' : 'updated ' + new Date(c.at).toLocaleTimeString();
  });
})();
`;

export function registerChangesPage(app: Hono<any>, deps: { objects(): Promise<string[]>; htmlPage(c: Context, body: Html): Response | Promise<Response>; csrfOf(c: Context): string }): void {
  app.get('/assets/changes.js', (c) => c.body(CHANGES_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' }));
  app.get('/changes', async (c) => deps.htmlPage(c, changesPage(await deps.objects(), deps.csrfOf(c), { object: c.req.query('object'), id: c.req.query('id') })));
}
