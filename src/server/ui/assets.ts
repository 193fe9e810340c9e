/**
 * The dashboard's static files: `app.js` (the little script the pages use: the live run view over
 * EventSource, a JSON check on the dead-letter payload form, and the usage charts) and uPlot, served from
 * the installed `uplot` package so the dashboard needs no front-end build and no CDN.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The script every signed-in page loads (deferred). Plain ES2020, no modules, no dependencies. */
export const APP_JS = `(() => {
  'use strict';
  const $ = (s, r) => (r || document).querySelector(s);
  const cls = (s) => (s === 'succeeded' || s === 'ok' ? 'ok' : s === 'failed' ? 'err' : s === 'interrupted' ? 'warn' : s === 'waiting' ? 'muted' : '');
  const dur = (s) => (s == null ? '\\u2014' : s < 1 ? Math.round(s * 1000) + ' ms' : s < 60 ? s.toFixed(s < 10 ? 1 : 0) + ' s' : Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s');
  const text = (el, t) => { if (el && el.textContent !== t) el.textContent = t; };

  // The run page: per-object progress from the run's event stream.
  const run = $('#run[data-stream]');
  if (run && 'EventSource' in window) {
    const body = $('#run-objects');
    const cell = (tr, k) => tr.querySelector('[data-k="' + k + '"]');
    const row = (name) => {
      for (const tr of body.rows) if (tr.dataset.object === name) return tr;
      const tr = document.createElement('tr');
      tr.dataset.object = name;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = name;
      tr.append(th);
      for (const k of ['status', 'progress', 'read', 'written', 'deleted', 'failed']) {
        const td = document.createElement('td');
        td.dataset.k = k;
        if (k !== 'status' && k !== 'progress') td.className = 'num';
        tr.append(td);
      }
      body.append(tr);
      const none = $('#run-no-objects');
      if (none) none.remove();
      return tr;
    };
    const render = (snap) => {
      const st = $('#run-status');
      text(st, snap.status);
      st.className = cls(snap.status);
      text($('#run-api-calls'), String(snap.api_calls));
      text($('#run-duration'), dur(snap.seconds));
      for (const name of Object.keys(snap.objects)) {
        const o = snap.objects[name];
        const tr = row(name);
        const s = cell(tr, 'status');
        const shown = o.waiting ? 'waiting' : o.status;
        text(s, shown + (o.mode ? ' (' + o.mode + ')' : ''));
        s.className = cls(shown);
        const p = cell(tr, 'progress');
        let bar = p.querySelector('progress');
        if (!bar) {
          bar = document.createElement('progress');
          bar.setAttribute('aria-label', name + ' progress');
          p.textContent = '';
          p.append(bar, document.createElement('span'));
        }
        let label = p.querySelector('span');
        if (!label) { label = document.createElement('span'); p.append(label); }
        if (o.status === 'ok' || o.status === 'skipped') { bar.max = 1; bar.value = 1; text(label, ' done'); }
        else if (o.total) { bar.max = o.total; bar.value = Math.min(o.read, o.total); text(label, ' ' + Math.min(100, Math.round((o.read / o.total) * 100)) + '% of ' + o.total); }
        else if (o.waiting) { bar.max = 1; bar.value = 0; text(label, ''); }
        else { bar.removeAttribute('value'); text(label, ''); }
        for (const k of ['read', 'written', 'deleted']) text(cell(tr, k), String(o[k]));
        text(cell(tr, 'failed'), String(o.failed || 0));
      }
    };
    const log = $('#run-events');
    const when = (iso) => iso.slice(0, 19).replace('T', ' ') + ' UTC';
    let lastSeq = 0;
    for (const tr of log ? log.rows : []) lastSeq = Math.max(lastSeq, Number(tr.dataset.seq) || 0);
    const addEvents = (events) => {
      if (!log || !events) return;
      for (const e of events) {
        if (e.seq <= lastSeq) continue;
        lastSeq = e.seq;
        const tr = document.createElement('tr');
        tr.dataset.seq = String(e.seq);
        const cells = [when(e.at), e.level, null, e.message];
        for (const [i, v] of cells.entries()) {
          const td = document.createElement('td');
          if (i === 2) { const code = document.createElement('code'); code.textContent = e.type; td.append(code); }
          else td.textContent = v;
          if (i === 1) td.className = e.level === 'error' ? 'err' : e.level === 'warn' ? 'warn' : '';
          tr.append(td);
        }
        log.append(tr);
      }
    };
    const es = new EventSource(run.dataset.stream);
    es.addEventListener('progress', (e) => {
      const snap = JSON.parse(e.data);
      render(snap);
      addEvents(snap.events);
    });
    es.addEventListener('finished', (e) => {
      const snap = JSON.parse(e.data);
      render(snap);
      addEvents(snap.events);
      es.close();
      // The finished page has the counts, the errors with what to do, and the event log.
      setTimeout(() => location.reload(), 400);
    });
  }

  // Payload forms: refuse what is not a JSON object before it is sent.
  for (const form of document.querySelectorAll('form[data-json-form]')) {
    form.addEventListener('submit', (ev) => {
      const area = form.querySelector('textarea');
      const err = form.querySelector('[role=alert]');
      try {
        const v = JSON.parse(area.value);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('the payload must be one JSON object, such as {"LastName": "Smith"}');
        err.hidden = true;
        area.removeAttribute('aria-invalid');
      } catch (e) {
        ev.preventDefault();
        err.textContent = 'The payload is not valid: ' + e.message;
        err.hidden = false;
        area.setAttribute('aria-invalid', 'true');
        area.focus();
      }
    });
  }

  // API usage charts.
  if (window.uPlot) {
    for (const el of document.querySelectorAll('[data-usage-chart]')) {
      const data = JSON.parse(document.getElementById(el.dataset.usageChart).textContent);
      const pts = data.points;
      const opts = {
        width: Math.max(320, el.clientWidth - 16),
        height: 260,
        series: [{}, { label: 'used', stroke: '#0b5cad', fill: 'rgba(11,92,173,.12)', width: 2, points: { show: pts.length < 60 } }, { label: 'daily allocation', stroke: '#b3261e', dash: [6, 4], width: 1 }],
        axes: [{}, { label: 'API calls', size: 70 }],
        // The allocation line only when usage comes near it; otherwise it would flatten the usage to zero.
        scales: { y: { range: () => { const top = Math.max(10, ...pts.map((p) => p[1])) * 1.25; const cap = Math.max(...pts.map((p) => p[2])); return [0, top * 2 > cap ? cap * 1.05 : top]; } } },
      };
      new window.uPlot(opts, [pts.map((p) => p[0]), pts.map((p) => p[1]), pts.map((p) => p[2])], el);
    }
  }
})();
`;

let uplotDir: string | undefined;
const cache = new Map<string, string>();

/** A file of the installed uplot package's `dist/` (read once). */
export async function uplotFile(name: 'uPlot.iife.min.js' | 'uPlot.min.css'): Promise<string> {
  let text = cache.get(name);
  if (text === undefined) {
    uplotDir ??= join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
    text = await readFile(join(uplotDir, name), 'utf8');
    cache.set(name, text);
  }
  return text;
}
