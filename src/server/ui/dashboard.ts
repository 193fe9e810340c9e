/**
 * The dashboard's pages beyond the overview: connections (status, user, an API-usage gauge per org),
 * pipelines (last and next run, state, lag, Run now, Pause/Resume, a form for a new sync pipeline), runs
 * and one run (per-object progress, live over Server-Sent Events while it runs; then counts, errors and what
 * to do about them, and the event log), dead letters (payload, error, replay with an edited payload,
 * discard) and API usage over time (uPlot). Every page works without script; `/assets/app.js` only
 * makes the run page live and draws the chart.
 */
import { html, raw } from 'hono/html';
import type { RunObjectCounts } from '../../engine/events.ts';
import type { Service } from '../../engine/service.ts';
import type { DeadLetter, PipelineRunRow, UsageRow } from '../../store/index.ts';
import type { ConnectionView } from '../../engine/connections/schema.ts';
import { deadLetterView, pipelineView, runView } from '../api/routes.ts';
import { page, when, type Html } from './layout.ts';

/** CSS class of a status word. */
export const statusClass = (s: string | null | undefined): string =>
  s === 'succeeded' || s === 'connected' || s === 'ok' || s === 'ready' || s === 'replayed' ? 'ok' : s === 'failed' || s === 'error' || s === 'open' ? 'err' : s === 'interrupted' || s === 'not_connected' || s === 'incomplete' || s === 'paused' ? 'warn' : '';

/** `75` → `1 min 15 s`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} days`;
}

const notice = (text: string | undefined) => (text ? html`<p class="notice" role="status">${text}</p>` : '');
const alert = (text: string | undefined) => (text ? html`<p class="alert" role="alert">${text}</p>` : '');
const csrfField = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;
const enc = encodeURIComponent;

/** The usage reading of a connection: by its org when known, else by the connection that reported it. */
function usageOf(c: ConnectionView, usage: UsageRow[]): UsageRow | undefined {
  return usage.find((u) => c.org_id && u.org === c.org_id) ?? usage.find((u) => u.connection === c.name);
}

/** A labelled gauge of API calls used of the daily allocation. */
function gauge(u: UsageRow | undefined, label: string): Html {
  if (!u) return html`<span class="muted">no reading yet</span>`;
  const pct = u.max ? Math.round((u.used / u.max) * 100) : 0;
  return html`<meter min="0" max="${u.max}" low="${Math.round(u.max * 0.7)}" high="${Math.round(u.max * 0.9)}" optimum="0" value="${u.used}" aria-label="${label}">${u.used} of ${u.max}</meter>
    ${u.used.toLocaleString('en')} / ${u.max.toLocaleString('en')} (${pct}%) <span class="muted">at ${when(u.at)}</span>`;
}

// Connections ---------------------------------------------------------------------------------------------

export async function connectionsPage(service: Service, csrf: string, opts: { notice?: string; error?: string } = {}): Promise<Html> {
  const [connections, usage, holds] = await Promise.all([service.connections.list(), service.usageNow(), service.holds()]);
  return page({
    title: 'Connections',
    csrf,
    active: '/connections',
    body: html`<h1>Connections</h1>
      ${notice(opts.notice)}${alert(opts.error)}
      ${connections.length
        ? html`<table aria-labelledby="connections-caption"><caption id="connections-caption" class="muted">Salesforce orgs the pipelines run on</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">User</th><th scope="col">Org</th><th scope="col">API calls today</th><th scope="col">Actions</th></tr></thead><tbody>
          ${connections.map((c) => {
            const u = usageOf(c, usage);
            return html`<tr data-connection="${c.name}">
              <th scope="row">${c.name}${c.read_only ? html` <span class="muted">(config file)</span>` : ''}</th>
              <td>${c.kind.replace('_', ' ')}</td>
              <td class="${statusClass(c.status)}" data-k="status">${c.status.replace('_', ' ')}${c.status_message ? html`<br><span class="muted">${c.status_message}</span>` : ''}${holds.get(c.name) ? html`<br><strong class="err" data-k="held">pipelines held</strong> <span class="muted">since ${when(holds.get(c.name)!.since)}: ${holds.get(c.name)!.message}. Ends: ${holds.get(c.name)!.ends}</span>` : ''}</td>
              <td>${c.user?.display_name ?? ''}${c.user?.username ? html`<br><span class="muted">${c.user.username}</span>` : c.user?.display_name ? '' : html`<span class="muted">—</span>`}</td>
              <td>${c.org_id ? html`<code>${c.org_id}</code>` : html`<span class="muted">—</span>`}${c.instance_url ? html`<br><span class="muted">${c.instance_url}</span>` : ''}</td>
              <td>${gauge(u, `API calls used by ${c.name}`)}</td>
              <td>
                ${c.kind === 'web'
                  ? c.status === 'connected'
                    ? html`<form class="inline" method="post" action="/oauth/revoke/${enc(c.name)}">${csrfField(csrf)}<button class="secondary" type="submit" aria-label="Revoke access of ${c.name}">Revoke</button></form>`
                    : html`<a class="button" href="/oauth/authorize/${enc(c.name)}" aria-label="Grant access to Salesforce for ${c.name}">Grant access</a>${c.callback_url ? html`<br><span class="muted">Callback URL for the connected app: <code>${c.callback_url}</code></span>` : ''}`
                  : ''}
                <form class="inline" method="post" action="/ui/connections/${enc(c.name)}/test">${csrfField(csrf)}<button class="secondary" type="submit" aria-label="Test ${c.name}">Test</button></form>
              </td>
            </tr>`;
          })}
          </tbody></table>`
        : html`<p class="muted">No connections yet: add one under <code>connections:</code> in the config file, with <code>sfbridge connections add</code>, or <code>PUT /api/v1/connections/NAME</code>.</p>`}`,
  });
}

// Pipelines -----------------------------------------------------------------------------------------------

export interface NewPipelineForm {
  name?: string;
  connection?: string;
  objects?: string;
  schedule?: string;
  documents?: boolean;
  paused?: boolean;
}

/** The API body a "new sync pipeline" form describes. */
export function syncBodyOf(form: NewPipelineForm): Record<string, unknown> {
  const objects = (form.objects ?? '').split(/[\s,]+/).filter(Boolean);
  const custom = objects.filter((o) => /__c$/i.test(o));
  return {
    kind: 'sync',
    connection: form.connection ?? '',
    standard_objects_to_sync: objects.filter((o) => !/__c$/i.test(o)),
    ...(custom.length ? { custom_objects_to_sync: custom } : {}),
    ...(form.schedule?.trim() ? { schedule: form.schedule.trim() } : {}),
    ...(form.documents ? { documents: { enabled: true } } : {}),
  };
}

export async function pipelinesPage(service: Service, csrf: string, opts: { notice?: string; error?: string; form?: NewPipelineForm } = {}): Promise<Html> {
  const [overview, connections] = await Promise.all([service.overview(), service.connections.list()]);
  const now = Date.now();
  const pipelines = overview.map((o) => pipelineView(o.entry, o.schedule, o.running, o.queued, now, o));
  const f = opts.form ?? {};
  return page({
    title: 'Pipelines',
    csrf,
    active: '/pipelines',
    body: html`<h1>Pipelines</h1>
      ${notice(opts.notice)}
      ${pipelines.length
        ? html`<table aria-label="Pipelines"><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Last run</th><th scope="col">Next run</th><th scope="col">Lag</th><th scope="col">Actions</th></tr></thead><tbody>
          ${pipelines.map(
            (p) => html`<tr data-pipeline="${p.name}">
              <th scope="row"><a href="/pipelines/${enc(p.name)}">${p.name}</a>${p.read_only ? html` <span class="muted">(config file)</span>` : ''}<br><span class="muted">on ${p.connection}</span></th>
              <td>${p.kind}</td>
              <td class="${statusClass(p.state === 'held' ? 'failed' : p.state)}" data-k="state">${p.state}${p.held ? html`<br><span class="muted" data-k="held">${p.held.message}; ${p.held.ends}</span>` : ''}</td>
              <td class="${statusClass(p.schedule.last_status)}">${p.schedule.last_run_id ? html`<a href="/runs/${p.schedule.last_run_id}">${p.schedule.last_status ?? 'run'}</a>` : (p.schedule.last_status ?? '—')} <span class="muted">${when(p.schedule.last_run_at)}</span></td>
              <td>${p.schedule.paused ? html`<span class="warn">paused</span>` : when(p.schedule.next_run_at)}</td>
              <td>${p.lag_seconds === null ? html`<span class="muted">not synced yet</span>` : duration(p.lag_seconds)}</td>
              <td>${actions(p.name, p.schedule.paused, csrf)}</td>
            </tr>`,
          )}
          </tbody></table>`
        : html`<p class="muted">No pipelines yet.</p>`}
      <h2 id="new-pipeline">New sync pipeline</h2>
      ${alert(opts.error)}
      <form class="card" method="post" action="/ui/pipelines" aria-labelledby="new-pipeline">
        ${csrfField(csrf)}
        <label for="np-name">Pipeline name <span class="muted">(letters, digits, - and _)</span></label>
        <input id="np-name" name="name" type="text" required pattern="[A-Za-z][A-Za-z0-9_-]*" value="${f.name ?? ''}">
        <label for="np-connection">Connection</label>
        <select id="np-connection" name="connection" required>
          ${connections.map((c) => html`<option value="${c.name}" ${f.connection === c.name ? raw('selected') : ''}>${c.name} (${c.status.replace('_', ' ')})</option>`)}
        </select>
        <label for="np-objects">Objects <span class="muted">(comma-separated API names)</span></label>
        <input id="np-objects" name="objects" type="text" required placeholder="Account, Contact" value="${f.objects ?? ''}">
        <label for="np-schedule">Schedule <span class="muted">(an interval such as 5m or 1h)</span></label>
        <input id="np-schedule" name="schedule" type="text" placeholder="5m" value="${f.schedule ?? ''}">
        <label><input name="documents" type="checkbox" value="1" ${f.documents ? raw('checked') : ''}> Build search documents</label>
        <label><input name="paused" type="checkbox" value="1" ${f.paused ? raw('checked') : ''}> Paused: runs only when started by hand</label>
        <p><button type="submit">Create pipeline</button></p>
      </form>`,
  });
}

function actions(name: string, paused: boolean, csrf: string): Html {
  return html`<form class="inline" method="post" action="/ui/pipelines/${enc(name)}/run">${csrfField(csrf)}<button type="submit" aria-label="Run ${name} now">Run now</button></form>
    <form class="inline" method="post" action="/ui/pipelines/${enc(name)}/${paused ? 'resume' : 'pause'}">${csrfField(csrf)}<button class="secondary" type="submit" aria-label="${paused ? 'Resume' : 'Pause'} ${name}">${paused ? 'Resume' : 'Pause'}</button></form>`;
}

export async function pipelinePage(service: Service, name: string, csrf: string, opts: { notice?: string } = {}): Promise<Html | undefined> {
  const o = (await service.overview()).find((x) => x.entry.spec.name === name);
  if (!o) return undefined;
  const p = pipelineView(o.entry, o.schedule, o.running, o.queued, Date.now(), o);
  const runs = await service.listRuns({ pipeline: name, limit: 20 });
  return page({
    title: `Pipeline ${name}`,
    csrf,
    active: '/pipelines',
    body: html`<h1>Pipeline ${name}</h1>
      ${notice(opts.notice)}
      <dl class="facts">
        <dt>Kind</dt><dd>${p.kind}${p.read_only ? html` <span class="muted">(from the config file, read-only here)</span>` : ''}</dd>
        <dt>Connection</dt><dd><a href="/connections">${p.connection}</a></dd>
        <dt>State</dt><dd class="${statusClass(p.state === 'held' ? 'failed' : p.state)}">${p.state}${p.held ? html`: connection ${p.connection} is held since ${when(p.held.since)} — ${p.held.message}. Ends: ${p.held.ends}` : ''}</dd>
        <dt>Last run</dt><dd>${p.schedule.last_run_id ? html`<a href="/runs/${p.schedule.last_run_id}">run ${p.schedule.last_run_id}</a> ` : ''}<span class="${statusClass(p.schedule.last_status)}">${p.schedule.last_status ?? '—'}</span> <span class="muted">${when(p.schedule.last_run_at)}</span></dd>
        <dt>Next run</dt><dd>${p.schedule.paused ? html`<span class="warn">paused</span>` : when(p.schedule.next_run_at)}</dd>
        <dt>Lag behind Salesforce</dt><dd>${p.lag_seconds === null ? 'not synced yet' : duration(p.lag_seconds)}</dd>
      </dl>
      <p>${actions(name, p.schedule.paused, csrf)} ${p.kind === 'publish' ? html`<a href="/dead-letters?pipeline=${enc(name)}">Dead letters</a>` : ''}</p>
      ${p.cdc?.length
        ? html`<h2 id="cdc">Change events</h2>
          <table aria-labelledby="cdc"><thead><tr><th scope="col">Object</th><th scope="col">Leader</th><th scope="col">Run</th><th scope="col">Last error</th></tr></thead><tbody>
          ${p.cdc.map((l) => html`<tr data-cdc="${l.object}"><th scope="row">${l.object}</th><td class="${statusClass(l.state === 'following' ? 'running' : l.state === 'retrying' || l.state === 'failed' ? 'failed' : l.state)}" data-k="leader">${l.state}${l.retry_at ? html` <span class="muted">(again ${when(l.retry_at)})</span>` : ''}</td><td>${l.run_id ? html`<a href="/runs/${l.run_id}">run ${l.run_id}</a>` : '—'}</td><td>${l.error ?? '—'}</td></tr>`)}
          </tbody></table>`
        : ''}
      <h2 id="runs">Runs</h2>
      ${runsTable(runs, 'runs')}
      <p><a href="/runs?pipeline=${enc(name)}">All runs of ${name}</a></p>
      <h2 id="definition">Definition</h2>
      <pre aria-labelledby="definition">${JSON.stringify(p.spec, null, 2)}</pre>`,
  });
}

// Runs ----------------------------------------------------------------------------------------------------

const totalsOf = (objects: Record<string, RunObjectCounts>) =>
  Object.values(objects).reduce((a, o) => ({ read: a.read + o.read, written: a.written + o.written, deleted: a.deleted + o.deleted, failed: a.failed + (o.failed ?? 0) }), { read: 0, written: 0, deleted: 0, failed: 0 });

function runsTable(rows: PipelineRunRow[], labelledBy: string): Html {
  if (!rows.length) return html`<p class="muted">No runs yet.</p>`;
  return html`<table aria-labelledby="${labelledBy}"><thead><tr><th scope="col">Run</th><th scope="col">Pipeline</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col" class="num">Read</th><th scope="col" class="num">Written</th><th scope="col" class="num">Deleted</th><th scope="col" class="num">API calls</th></tr></thead><tbody>
    ${rows.map((r) => {
      const v = runView(r);
      const t = totalsOf(v.objects as Record<string, RunObjectCounts>);
      return html`<tr><th scope="row"><a href="/runs/${v.id}">${v.id}</a></th><td><a href="/pipelines/${enc(v.pipeline)}">${v.pipeline}</a></td><td>${v.trigger}</td><td class="${statusClass(v.status)}">${v.status}</td><td>${when(v.started_at)}</td><td>${duration(v.seconds)}</td><td class="num">${t.read}</td><td class="num">${t.written}</td><td class="num">${t.deleted}</td><td class="num">${v.api_calls}</td></tr>`;
    })}
    </tbody></table>`;
}

export async function runsPage(service: Service, csrf: string, q: { pipeline?: string; status?: string; before?: number }): Promise<Html> {
  const limit = 50;
  const [rows, pipelines] = await Promise.all([service.listRuns({ ...q, limit }), service.pipelines.list()]);
  const qs = (extra: Record<string, string | number | undefined>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries({ pipeline: q.pipeline, status: q.status, ...extra })) if (v !== undefined && v !== '') p.set(k, String(v));
    const s = p.toString();
    return s ? `?${s}` : '';
  };
  return page({
    title: 'Runs',
    csrf,
    active: '/runs',
    body: html`<h1 id="runs">Runs</h1>
      <form method="get" action="/runs" class="row" aria-label="Filter runs">
        <label for="f-pipeline">Pipeline<br><select id="f-pipeline" name="pipeline"><option value="">all</option>${pipelines.map((p) => html`<option ${q.pipeline === p.spec.name ? raw('selected') : ''}>${p.spec.name}</option>`)}</select></label>
        <label for="f-status">Status<br><select id="f-status" name="status"><option value="">all</option>${['running', 'succeeded', 'failed', 'interrupted'].map((s) => html`<option ${q.status === s ? raw('selected') : ''}>${s}</option>`)}</select></label>
        <button type="submit" class="secondary">Filter</button>
      </form>
      ${runsTable(rows, 'runs')}
      <p class="pager">${q.before ? html`<a href="/runs${qs({})}">Newest</a>` : ''}${rows.length === limit ? html`<a href="/runs${qs({ before: rows[rows.length - 1].id })}">Older runs</a>` : ''}</p>`,
  });
}

/** The live view of one object's counts (the run page's rows, and what the stream sends). */
export interface LiveObject extends RunObjectCounts {
  /** Records expected, when the engine knows (a COUNT() before an initial load, a publish batch). */
  total?: number;
  /** The run has not come to this object yet. */
  waiting?: boolean;
}

/** What the run page's stream sends: the run's status and per-object counts. */
export interface RunSnapshot {
  id: number;
  pipeline: string;
  status: string;
  finished_at: string | null;
  seconds: number | null;
  api_calls: number;
  error: string | null;
  objects: Record<string, LiveObject>;
  /** Event-log entries after the ones the page has (the stream's `after`). */
  events?: Array<{ seq: number; at: string; level: string; type: string; message: string }>;
}

export function runSnapshot(r: PipelineRunRow, live: { totals?: Record<string, number>; waiting?: (object: string) => boolean } = {}, now = Date.now()): RunSnapshot {
  const v = runView(r);
  const objects: Record<string, LiveObject> = {};
  for (const [name, o] of Object.entries(v.objects as Record<string, RunObjectCounts>)) {
    objects[name] = { ...o, ...(live.totals?.[name] !== undefined ? { total: live.totals[name] } : {}), ...(o.status === 'running' && v.status === 'running' && live.waiting?.(name) ? { waiting: true } : {}) };
  }
  return { id: v.id, pipeline: v.pipeline, status: v.status, finished_at: v.finished_at, seconds: v.seconds ?? (now - Date.parse(v.started_at)) / 1000, api_calls: v.api_calls, error: v.error, objects };
}

function objectRow(name: string, o: LiveObject): Html {
  const pct = o.total ? Math.min(100, Math.round((o.read / o.total) * 100)) : undefined;
  const shown = o.waiting ? 'waiting' : o.status;
  return html`<tr data-object="${name}">
    <th scope="row">${name}</th>
    <td data-k="status" class="${o.waiting ? 'muted' : statusClass(o.status)}">${shown}${o.mode ? html` <span class="muted">(${o.mode})</span>` : ''}</td>
    <td data-k="progress">${o.status === 'ok' || o.status === 'skipped'
      ? html`<progress max="1" value="1" aria-label="${name} progress">done</progress> done`
      : o.waiting
        ? html`<progress max="1" value="0" aria-label="${name} progress">waiting</progress>`
      : pct !== undefined
        ? html`<progress max="${o.total}" value="${Math.min(o.read, o.total!)}" aria-label="${name} progress">${pct}%</progress> ${pct}% of ${o.total}`
        : o.status === 'running'
          ? html`<progress aria-label="${name} progress"></progress>`
          : '—'}</td>
    <td class="num" data-k="read">${o.read}</td><td class="num" data-k="written">${o.written}</td><td class="num" data-k="deleted">${o.deleted}</td><td class="num" data-k="failed">${o.failed ?? 0}</td>
  </tr>`;
}

/** What to do about a failed or interrupted run. */
function runFix(s: RunSnapshot, kind: string, deadLetters: number): string[] {
  const out: string[] = [];
  const failed = Object.entries(s.objects).filter(([, o]) => o.status === 'failed');
  if (s.status === 'interrupted') out.push('The service stopped during this run. It continues from its checkpoint by itself when the service runs again; objects already finished are not read again.');
  if (failed.length) out.push(`Fix the cause named for ${failed.map(([n]) => n).join(', ')}, then press Run now: every object continues from its own checkpoint, nothing already written is lost.`);
  if (kind === 'publish' && deadLetters) out.push(`${deadLetters} record${deadLetters > 1 ? 's' : ''} went to the dead-letter queue: open ${deadLetters > 1 ? 'them' : 'it'}, correct the payload and replay, or discard.`);
  if (s.status === 'failed' && !failed.length && !deadLetters) out.push('The message above names the cause and the change to make; after the change, press Run now.');
  return out;
}

export async function runPage(service: Service, id: number, csrf: string, live: { totals?: Record<string, number>; waiting?: (object: string) => boolean } = {}): Promise<Html | undefined> {
  const r = await service.getRun(id);
  if (!r) return undefined;
  const s = runSnapshot(r, live);
  const v = runView(r);
  const events = await service.runEvents(id);
  const running = s.status === 'running';
  const deadLetters = r.kind === 'publish' && !running ? await service.listDeadLetters({ pipeline: r.pipeline, status: 'open', limit: 1000 }).then((l) => l.length).catch(() => 0) : 0;
  const fixes = running ? [] : runFix(s, r.kind, deadLetters);
  const problems = [...(s.error ? [s.error] : []), ...Object.entries(s.objects).filter(([, o]) => o.error).map(([n, o]) => `${n}: ${o.error}`)];
  return page({
    title: `Run ${id}`,
    csrf,
    active: '/runs',
    body: html`<h1>Run ${id} of <a href="/pipelines/${enc(s.pipeline)}">${s.pipeline}</a></h1>
      <div id="run" ${running ? raw(`data-stream="/runs/${id}/stream?after=${events.at(-1)?.seq ?? 0}"`) : ''}>
      <dl class="facts">
        <dt>Status</dt><dd id="run-status" class="${statusClass(s.status)}" aria-live="polite">${s.status}</dd>
        <dt>Trigger</dt><dd>${v.trigger}${v.resumed_from ? html` — continues <a href="/runs/${v.resumed_from}">run ${v.resumed_from}</a>` : ''}</dd>
        <dt>Started</dt><dd>${when(v.started_at)}</dd>
        <dt>Finished</dt><dd id="run-finished">${when(v.finished_at)}</dd>
        <dt>Duration</dt><dd id="run-duration">${duration(s.seconds)}</dd>
        <dt>API calls</dt><dd id="run-api-calls">${v.api_calls}</dd>
      </dl>
      <h2 id="objects">Objects</h2>
      <table aria-labelledby="objects"><thead><tr><th scope="col">Object</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num">Read</th><th scope="col" class="num">Written</th><th scope="col" class="num">Deleted</th><th scope="col" class="num">Failed</th></tr></thead>
        <tbody id="run-objects">${Object.entries(s.objects).map(([n, o]) => objectRow(n, o))}</tbody></table>
      ${Object.keys(s.objects).length ? '' : html`<p class="muted" id="run-no-objects">No object has started yet.</p>`}
      </div>
      ${problems.length || fixes.length
        ? html`<h2 id="errors">Errors and what to do</h2>
          ${problems.map((p) => html`<p class="alert">${p}</p>`)}
          ${fixes.map((f) => html`<p class="fix">${f}</p>`)}
          ${deadLetters ? html`<p><a class="button" href="/dead-letters?pipeline=${enc(s.pipeline)}">Open the dead letters of ${s.pipeline}</a></p>` : ''}`
        : ''}
      <h2 id="log">Event log</h2>
      ${events.length || running
        ? html`<table aria-labelledby="log"><thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Event</th><th scope="col">Message</th></tr></thead><tbody id="run-events">
          ${events.map((e) => html`<tr data-seq="${e.seq}"><td>${when(e.at)}</td><td class="${levelClass(e.level)}">${e.level}</td><td><code>${e.type}</code></td><td>${e.message}</td></tr>`)}
          </tbody></table>`
        : html`<p class="muted">No events.</p>`}`,
  });
}

const levelClass = (level: string) => (level === 'error' ? 'err' : level === 'warn' ? 'warn' : '');

/** A run started by hand that has not started yet: the page refreshes itself until the run exists. */
export function queuedPage(pipeline: string, jobId: number, csrf: string): Html {
  return page({
    title: `Run of ${pipeline} queued`,
    csrf,
    head: html`<meta http-equiv="refresh" content="1">`,
    body: html`<h1>Run of ${pipeline} queued</h1>
      <p class="notice" role="status">Job ${jobId} waits for a worker; this page opens the run as soon as it starts.</p>
      <p><a href="/pipelines/${enc(pipeline)}">Back to ${pipeline}</a></p>`,
  });
}

// Dead letters --------------------------------------------------------------------------------------------

const LETTER_STATUS: Record<string, string> = { open: 'open', replayed: 'resolved (replayed)', discarded: 'discarded', superseded: 'resolved (a newer version was published)' };

/** What to change in a dead letter before replaying it, from the Salesforce error code. */
export function letterFix(code: string, fields: readonly string[]): string {
  const f = fields.length ? fields.join(', ') : 'the fields the message names';
  switch (code) {
    case 'REQUIRED_FIELD_MISSING':
      return `Add ${f} to the payload, then replay.`;
    case 'INVALID_FIELD':
    case 'INVALID_FIELD_FOR_INSERT_UPDATE':
    case 'INVALID_FIELD_WHEN_USING_TEMPLATE':
      return `The object has no writable field ${f}: remove or rename it in the payload (and in the pipeline's transform), then replay.`;
    case 'STRING_TOO_LONG':
      return `Shorten ${f} to the field's length, then replay.`;
    case 'INVALID_EMAIL_ADDRESS':
    case 'INVALID_TYPE_ON_FIELD_IN_RECORD':
    case 'MALFORMED_ID':
    case 'INVALID_ID_FIELD':
    case 'NUMBER_OUTSIDE_VALID_RANGE':
    case 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST':
      return `Correct the value of ${f}, then replay.`;
    case 'DUPLICATE_VALUE':
    case 'DUPLICATES_DETECTED':
    case 'DUPLICATE_EXTERNAL_ID':
      return 'A record with this value exists already: change the value, or publish with upsert on an external ID; discard this letter if the existing record is the right one.';
    case 'FIELD_CUSTOM_VALIDATION_EXCEPTION':
      return 'A validation rule in the org refused the record: change the values it checks (see the message), then replay.';
    case 'INVALID_CROSS_REFERENCE_KEY':
    case 'ENTITY_IS_DELETED':
      return `The record ${f} points at does not exist (or was deleted): correct the Id, then replay.`;
    case 'UNABLE_TO_LOCK_ROW':
    case 'SERVER_UNAVAILABLE':
    case 'REQUEST_LIMIT_EXCEEDED':
      return 'A passing condition in the org: replay as it is.';
    case 'INSUFFICIENT_ACCESS_OR_READONLY':
    case 'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY':
      return "The integration user may not write this record: grant access in the org (profile, permission set or sharing), then replay.";
    default:
      return 'Correct the payload as the message says, then replay; or discard the letter.';
  }
}

export async function deadLettersPage(service: Service, csrf: string, q: { pipeline?: string; status?: 'open' | 'replayed' | 'discarded' | 'superseded' | 'all' }, opts: { notice?: string; error?: string } = {}): Promise<Html> {
  const status = q.status ?? 'open';
  let letters: DeadLetter[] = [];
  let error = opts.error;
  try {
    letters = await service.listDeadLetters({ pipeline: q.pipeline || undefined, status, limit: 500 });
  } catch (err) {
    error = (err as Error).message;
  }
  const publishers = (await service.pipelines.list()).filter((p) => p.spec.kind === 'publish');
  return page({
    title: 'Dead letters',
    csrf,
    active: '/dead-letters',
    body: html`<h1 id="letters">Dead letters</h1>
      <p class="muted">Records a publish pipeline could not write, with the payload and Salesforce's error. Open one to correct it and replay it, or discard it.</p>
      ${notice(opts.notice)}${alert(error)}
      <form method="get" action="/dead-letters" class="row" aria-label="Filter dead letters">
        <label for="f-pipeline">Pipeline<br><select id="f-pipeline" name="pipeline"><option value="">all</option>${publishers.map((p) => html`<option ${q.pipeline === p.spec.name ? raw('selected') : ''}>${p.spec.name}</option>`)}</select></label>
        <label for="f-status">Status<br><select id="f-status" name="status">${['open', 'replayed', 'discarded', 'superseded', 'all'].map((s) => html`<option value="${s}" ${status === s ? raw('selected') : ''}>${LETTER_STATUS[s] ?? s}</option>`)}</select></label>
        <button type="submit" class="secondary">Filter</button>
      </form>
      ${letters.length
        ? html`<table aria-labelledby="letters"><thead><tr><th scope="col">Letter</th><th scope="col">Pipeline</th><th scope="col">Record</th><th scope="col">Error</th><th scope="col">Status</th><th scope="col">Since</th></tr></thead><tbody>
          ${letters.map(
            (l) => html`<tr>
              <th scope="row"><a href="/dead-letters/${enc(l.pipeline)}/${l.id}">${l.pipeline} #${l.id}</a></th>
              <td>${l.pipeline}</td>
              <td>${l.operation} ${l.object} <code>${l.key}</code></td>
              <td><code>${l.error.code}</code> ${l.error.message}</td>
              <td class="${statusClass(l.status)}">${LETTER_STATUS[l.status] ?? l.status}</td>
              <td>${when(l.createdAt)}</td>
            </tr>`,
          )}
          </tbody></table>`
        : html`<p class="muted">No ${status === 'all' ? '' : `${LETTER_STATUS[status]} `}dead letters${q.pipeline ? ` for ${q.pipeline}` : ''}.</p>`}`,
  });
}

export async function deadLetterPage(service: Service, pipeline: string, id: number, csrf: string, opts: { notice?: string; error?: string; payload?: string } = {}): Promise<Html | undefined> {
  const letter = await service.getDeadLetter(pipeline, id);
  if (!letter) return undefined;
  const l = deadLetterView(letter);
  const open = l.status === 'open';
  return page({
    title: `Dead letter ${pipeline} #${id}`,
    csrf,
    active: '/dead-letters',
    body: html`<h1>Dead letter ${pipeline} #${id}</h1>
      ${notice(opts.notice)}${alert(opts.error)}
      <dl class="facts">
        <dt>Status</dt><dd id="letter-status" class="${statusClass(l.status)}">${LETTER_STATUS[l.status] ?? l.status}</dd>
        <dt>Pipeline</dt><dd><a href="/pipelines/${enc(pipeline)}">${pipeline}</a></dd>
        <dt>Record</dt><dd>${l.operation} ${l.object} <code>${l.key}</code>${l.external_id_field ? html` (external ID ${l.external_id_field})` : ''}</dd>
        ${l.sf_id ? html`<dt>Salesforce Id</dt><dd><code>${l.sf_id}</code></dd>` : ''}
        <dt>Attempts</dt><dd>${l.attempts}</dd>
        <dt>Failed</dt><dd>${when(l.created_at)}; updated ${when(l.updated_at)}</dd>
      </dl>
      <h2 id="error">Error</h2>
      <p class="${open ? 'alert' : 'muted'}"><code>${l.error.code}</code> ${l.error.message}${l.error.fields.length ? html` (fields: ${l.error.fields.join(', ')})` : ''}</p>
      ${open ? html`<p class="fix">${letterFix(l.error.code, l.error.fields)}</p>` : ''}
      <h2 id="payload-heading">Payload</h2>
      ${open
        ? html`<form method="post" action="/ui/dead-letters/${enc(pipeline)}/${id}/replay" data-json-form>
            ${csrfField(csrf)}
            <label for="payload">Payload (JSON object; edit it before replaying)</label>
            <textarea id="payload" name="payload" rows="${Math.min(24, Math.max(6, JSON.stringify(l.payload, null, 2).split('\n').length + 1))}" spellcheck="false" aria-describedby="payload-help">${opts.payload ?? JSON.stringify(l.payload, null, 2)}</textarea>
            <p id="payload-help" class="muted">The replay sends this payload as a ${l.operation} of ${l.object}; the stored payload is replaced by it.</p>
            <p id="payload-error" class="err" role="alert" hidden></p>
            <p><button type="submit">Replay</button></p>
          </form>
          <form method="post" action="/ui/dead-letters/${enc(pipeline)}/${id}/discard">${csrfField(csrf)}<button class="secondary" type="submit" aria-label="Discard dead letter ${id}">Discard</button></form>`
        : html`<pre aria-labelledby="payload-heading">${JSON.stringify(l.payload, null, 2)}</pre>`}
      <p><a href="/dead-letters?pipeline=${enc(pipeline)}">All dead letters of ${pipeline}</a></p>`,
  });
}

// API usage -----------------------------------------------------------------------------------------------

/** JSON inside `<script type="application/json">`: `<` and friends escaped so the data can never close the tag. */
function jsonData(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export const USAGE_RANGES: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

export async function usagePage(service: Service, csrf: string, range: string): Promise<Html> {
  const ms = USAGE_RANGES[range] ?? USAGE_RANGES['24h'];
  const since = new Date(Date.now() - ms).toISOString();
  const [now, readings] = await Promise.all([service.usageNow(), service.state.listUsage({ since, limit: 50_000 })]);
  const orgs = [...new Set([...now.map((u) => u.org), ...readings.map((r) => r.org)])].sort();
  const series = orgs.map((org) => {
    const rs = readings.filter((r) => r.org === org);
    const latest = now.find((u) => u.org === org);
    // The newest reading may not be stored yet (one sample per org per minute): the chart ends at it.
    if (latest && (!rs.length || rs[rs.length - 1].at < latest.at)) rs.push(latest);
    return { org, connection: latest?.connection ?? rs[0]?.connection ?? '', points: rs.map((r) => [Math.floor(Date.parse(r.at) / 1000), r.used, r.max]) };
  });
  return page({
    title: 'API usage',
    csrf,
    active: '/usage',
    head: html`<link rel="stylesheet" href="/assets/uplot.min.css"><script src="/assets/uplot.iife.min.js" defer></script>`,
    body: html`<h1 id="usage">API usage</h1>
      <p class="muted">API calls used of each org's daily allocation, from the <code>Sforce-Limit-Info</code> header of every response (one reading per org per minute is kept for 30 days).</p>
      <form method="get" action="/usage" class="row" aria-label="Time range">
        <label for="range">Range<br><select id="range" name="range">${Object.keys(USAGE_RANGES).map((k) => html`<option ${k === range || (!USAGE_RANGES[range] && k === '24h') ? raw('selected') : ''}>${k}</option>`)}</select></label>
        <button type="submit" class="secondary">Show</button>
      </form>
      ${orgs.length
        ? html`${series.map(
            (s, i) => html`<h2 id="org-${i}">${s.org} <span class="muted">(${s.connection})</span></h2>
              <div class="chart" role="img" aria-label="API calls used by org ${s.org} over the last ${range in USAGE_RANGES ? range : '24h'}; the table below has the figures" data-usage-chart="usage-data-${i}"></div>
              <script type="application/json" id="usage-data-${i}">${raw(jsonData(s))}</script>`,
          )}
          <h2 id="readings">Now</h2>
          <table aria-labelledby="readings"><thead><tr><th scope="col">Org</th><th scope="col">Connection</th><th scope="col">Used of the daily allocation</th><th scope="col" class="num">Remaining</th><th scope="col" class="num">Readings in range</th></tr></thead><tbody>
          ${orgs.map((org) => {
            const u = now.find((x) => x.org === org);
            return html`<tr><th scope="row"><code>${org}</code></th><td>${u?.connection ?? ''}</td><td>${gauge(u, `API calls used by ${org}`)}</td><td class="num">${u ? Math.max(0, u.max - u.used) : '—'}</td><td class="num">${readings.filter((r) => r.org === org).length}</td></tr>`;
          })}
          </tbody></table>`
        : html`<p class="muted">No readings yet (they come with the first API call).</p>`}`,
  });
}
