/**
 * The dashboard pages of the service's core: sign in, and an overview of connections (with Grant access
 * and Revoke for web connections), pipelines (state, last and next run, Run now), recent runs and API
 * usage per org. The pages of each part are in dashboard.ts, on the same shell (layout.ts).
 */
import { html } from 'hono/html';
import type { Service } from '../../engine/service.ts';
import { pipelineView, runView } from '../api/routes.ts';
import { statusClass } from './dashboard.ts';
import { messagePage, page, when, type Html } from './layout.ts';

export function loginPage(opts: { csrf: string; next: string; passwordLogin: boolean; error?: string }): Html {
  return page({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
      <div class="card">
        ${opts.error ? html`<p class="alert" role="alert">${opts.error}</p>` : ''}
        ${opts.passwordLogin
          ? html`<form method="post" action="/login">
              <input type="hidden" name="_csrf" value="${opts.csrf}">
              <input type="hidden" name="next" value="${opts.next}">
              <label for="password">Admin password</label>
              <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
              <p><button type="submit">Sign in</button></p>
            </form>`
          : html`<p>Password sign-in is off: set <code>SFBRIDGE_ADMIN_PASSWORD</code> for the service to use one.</p>`}
        <p class="muted">Or open the one-time sign-in link <code>sfbridge serve</code> printed when it started (valid one hour, once). Restart the service for a new link.</p>
      </div>`,
  });
}


export async function overviewPage(service: Service, csrf: string, notice?: string): Promise<Html> {
  const [connections, overview, runs, usage] = await Promise.all([service.connections.list(), service.overview(), service.listRuns({ limit: 10 }), service.usageNow()]);
  const pipelines = overview.map((o) => pipelineView(o.entry, o.schedule, o.running, o.queued, Date.now(), o));
  return page({
    title: 'Overview',
    csrf,
    active: '/',
    body: html`<h1>Overview</h1>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
      <h2 id="connections">Connections</h2>
      ${connections.length
        ? html`<table aria-labelledby="connections"><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">User and org</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>
          ${connections.map(
            (c) => html`<tr>
              <td>${c.name}${c.read_only ? html` <span class="muted">(config file)</span>` : ''}</td>
              <td>${c.kind}</td>
              <td class="${statusClass(c.status)}">${c.status.replace('_', ' ')}${c.status_message ? html`<br><span class="muted">${c.status_message}</span>` : ''}</td>
              <td>${c.user?.username ?? ''} ${c.org_id ? html`<code>${c.org_id}</code>` : ''}</td>
              <td>${c.kind === 'web'
                ? c.status === 'connected'
                  ? html`<form class="inline" method="post" action="/oauth/revoke/${c.name}"><input type="hidden" name="_csrf" value="${csrf}"><button class="secondary" type="submit" aria-label="Revoke access of ${c.name}">Revoke</button></form>`
                  : html`<a class="button" href="/oauth/authorize/${c.name}">Grant access</a>${c.callback_url ? html`<br><span class="muted">Callback URL: <code>${c.callback_url}</code></span>` : ''}`
                : ''}</td>
            </tr>`,
          )}
          </tbody></table>`
        : html`<p class="muted">No connections yet: add one under <code>connections:</code> in the config file, with <code>sfbridge connections add</code>, or <code>PUT /api/v1/connections/NAME</code>.</p>`}
      <h2 id="pipelines">Pipelines</h2>
      ${pipelines.length
        ? html`<table aria-labelledby="pipelines"><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Last run</th><th scope="col">Next run</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>
          ${pipelines.map(
            (p) => html`<tr>
              <td><a href="/pipelines/${encodeURIComponent(p.name)}">${p.name}</a>${p.read_only ? html` <span class="muted">(config file)</span>` : ''}</td>
              <td>${p.kind}</td>
              <td>${p.state}</td>
              <td class="${statusClass(p.schedule.last_status)}">${p.schedule.last_status ?? '—'} <span class="muted">${when(p.schedule.last_run_at)}</span></td>
              <td>${p.schedule.paused ? 'paused' : when(p.schedule.next_run_at)}</td>
              <td><form class="inline" method="post" action="/ui/pipelines/${p.name}/run"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" aria-label="Run ${p.name} now">Run now</button></form></td>
            </tr>`,
          )}
          </tbody></table>`
        : html`<p class="muted">No pipelines yet.</p>`}
      <h2 id="runs">Recent runs</h2>
      ${runs.length
        ? html`<table aria-labelledby="runs"><thead><tr><th scope="col">Run</th><th scope="col">Pipeline</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Records (read / written / deleted)</th><th scope="col">API calls</th></tr></thead><tbody>
          ${runs.map((r) => {
            const v = runView(r);
            const totals = Object.values(v.objects).reduce((a, o) => ({ read: a.read + o.read, written: a.written + o.written, deleted: a.deleted + o.deleted }), { read: 0, written: 0, deleted: 0 });
            return html`<tr><td><a href="/runs/${v.id}">${v.id}</a></td><td>${v.pipeline}</td><td class="${statusClass(v.status)}">${v.status}${v.error ? html`<br><span class="muted">${v.error}</span>` : ''}</td><td>${when(v.started_at)}</td><td>${totals.read} / ${totals.written} / ${totals.deleted}</td><td>${v.api_calls}</td></tr>`;
          })}
          </tbody></table>`
        : html`<p class="muted">No runs yet.</p>`}
      <h2 id="usage">API usage</h2>
      ${usage.length
        ? html`<table aria-labelledby="usage"><thead><tr><th scope="col">Org</th><th scope="col">Used of the daily allocation</th><th scope="col">Remaining</th><th scope="col">Reading</th></tr></thead><tbody>
          ${usage.map((u) => html`<tr><td><code>${u.org}</code> <span class="muted">${u.connection}</span></td><td><meter min="0" max="${u.max}" value="${u.used}" aria-label="API calls used by ${u.org}">${u.used}</meter> ${u.used} / ${u.max}</td><td>${Math.max(0, u.max - u.used)}</td><td>${when(u.at)}</td></tr>`)}
          </tbody></table>`
        : html`<p class="muted">No readings yet (they come with the first API call).</p>`}`,
  });
}

/** A page for a failed action on the dashboard. */
export function actionError(message: string, csrf: string): Html {
  return messagePage('That did not work', html`<p class="err">${message}</p><p><a href="/">Back to the overview</a></p>`, csrf);
}
