/**
 * The dashboard's two-way sync page: writable mirror tables with their application changes by state, and
 * every recorded conflict with the fields the application changed, both versions of them and the winner.
 */
import { html } from 'hono/html';
import type { Service } from '../../engine/service.ts';
import type { CaptureState, ConflictRecord } from '../../store/index.ts';
import { page, when, type Html } from './layout.ts';

const STATES: readonly CaptureState[] = ['pending', 'succeeded', 'failed', 'superseded', 'skipped'];
const show = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function versions(c: ConflictRecord): Html {
  const fields = c.fields.length ? c.fields : ['(deleted)'];
  return html`<table class="compact" aria-label="Versions of ${c.object} ${c.recordId}"><thead><tr><th scope="col">Field</th><th scope="col">Application</th><th scope="col">Salesforce</th></tr></thead><tbody>
    ${fields.map((f) => html`<tr><th scope="row">${f}</th><td>${c.fields.length ? show(c.local?.[f]) : 'deleted'}</td><td>${c.remote ? (c.fields.length ? show(c.remote[f]) : 'changed') : 'deleted'}</td></tr>`)}
  </tbody></table>`;
}

export async function twoWayPage(service: Service, csrf: string, q: { object?: string }): Promise<Html> {
  let error: string | undefined;
  let state: Awaited<ReturnType<Service['twoWay']>> = { objects: [], conflicts: [], changes: [] };
  try {
    state = await service.twoWay({ object: q.object, limit: 500 });
  } catch (err) {
    error = (err as Error).message;
  }
  return page({
    title: 'Two-way sync',
    csrf,
    active: '/two-way',
    body: html`<h1 id="two-way">Two-way sync</h1>
      <p class="muted">Mirror tables marked <code>writable: true</code>: what the application inserted, updated and deleted in them, and the records changed on both sides before either side saw the other's change.</p>
      ${error ? html`<p class="alert" role="alert">${error}</p>` : ''}
      ${state.objects.length
        ? html`<table aria-labelledby="two-way"><thead><tr><th scope="col">Object</th>${STATES.map((s) => html`<th scope="col">${s}</th>`)}</tr></thead><tbody>
          ${state.objects.map((o) => html`<tr><th scope="row"><a href="/two-way?object=${encodeURIComponent(o.object)}">${o.object}</a></th>${STATES.map((s) => html`<td data-k="${s}">${o.counts[s]}</td>`)}</tr>`)}
          </tbody></table>`
        : html`<p class="muted">No writable mirror table yet: set <code>writable: true</code> on an object of a sync pipeline.</p>`}
      <h2 id="conflicts">Conflicts${q.object ? ` of ${q.object}` : ''}</h2>
      ${state.conflicts.length
        ? html`<table aria-labelledby="conflicts"><thead><tr><th scope="col">Record</th><th scope="col">Policy</th><th scope="col">Kept</th><th scope="col">Versions</th><th scope="col">Changed (application / Salesforce)</th><th scope="col">Found</th></tr></thead><tbody>
          ${state.conflicts.map(
            (c) => html`<tr>
              <th scope="row">${c.object} <code>${c.recordId}</code></th>
              <td>${c.policy.replace('_', ' ')}</td>
              <td data-k="winner">${c.winner === 'salesforce' ? "Salesforce's version" : "the application's version"}</td>
              <td>${versions(c)}</td>
              <td>${when(c.localModified)}<br>${when(c.remoteModified)}</td>
              <td>${when(c.detectedAt)}</td>
            </tr>`,
          )}
          </tbody></table>`
        : html`<p class="muted">No conflicts${q.object ? ` for ${q.object}` : ''}.</p>`}
      <h2 id="changes">Latest application changes${q.object ? ` of ${q.object}` : ''}</h2>
      ${state.changes.length
        ? html`<table aria-labelledby="changes"><thead><tr><th scope="col">#</th><th scope="col">Change</th><th scope="col">Fields</th><th scope="col">State</th><th scope="col">Captured</th></tr></thead><tbody>
          ${state.changes.slice(0, 100).map(
            (c) => html`<tr>
              <th scope="row">${c.seq}</th>
              <td>${c.op} ${c.object} <code>${c.recordId}</code></td>
              <td>${c.fields.join(', ') || '—'}</td>
              <td data-k="state">${c.state}${c.error ? html`<br><span class="muted">${c.error}</span>` : ''}</td>
              <td>${when(c.capturedAt)}</td>
            </tr>`,
          )}
          </tbody></table>`
        : html`<p class="muted">No application changes captured yet.</p>`}`,
  });
}
