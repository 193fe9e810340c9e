/**
 * The readable API reference: the OpenAPI document rendered as one page (operations grouped by tag, their
 * parameters, request body and responses with schemas), served by the service itself with no script.
 */
import { html } from 'hono/html';
import { page, type Html } from './layout.ts';

type Doc = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } };
type Operation = { tags?: string[]; summary?: string; description?: string; parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: unknown }>; requestBody?: { content?: Record<string, { schema?: unknown }> }; responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }> };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function schemaName(schema: unknown): string {
  const s = schema as { $ref?: string; type?: string; items?: unknown; oneOf?: unknown[]; anyOf?: unknown[]; properties?: Record<string, unknown> } | undefined;
  if (!s) return '';
  if (s.$ref) return s.$ref.split('/').at(-1)!;
  if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf)!.map(schemaName).join(' | ');
  if (s.type === 'array') return `${schemaName(s.items)}[]`;
  if (s.type === 'object' && s.properties) return `{ ${Object.entries(s.properties).map(([k, v]) => `${k}: ${schemaName(v)}`).join(', ')} }`;
  return s.type ?? 'any';
}

export function apiReferencePage(doc: Doc, csrf: string): Html {
  const ops: Array<{ tag: string; method: string; path: string; op: Operation }> = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) for (const m of METHODS) if (item[m]) ops.push({ tag: item[m].tags?.[0] ?? 'other', method: m, path, op: item[m] });
  const tags = [...new Set(ops.map((o) => o.tag))];
  const schemas = Object.entries(doc.components?.schemas ?? {});
  return page({
    title: 'API reference',
    csrf,
    active: '/api/v1/docs',
    body: html`<h1>API reference</h1>
      <p>Every call needs <code>Authorization: Bearer &lt;token&gt;</code> (<code>sfbridge tokens create --name NAME</code>) or a dashboard session. The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
      <nav aria-label="Sections"><p>${tags.map((t) => html`<a href="#tag-${t.replace(/\W+/g, '-')}">${t}</a> · `)}<a href="#schemas">schemas</a></p></nav>
      ${tags.map(
        (t) => html`<h2 id="tag-${t.replace(/\W+/g, '-')}">${t}</h2>
          ${ops
            .filter((o) => o.tag === t)
            .map(
              ({ method, path, op }) => html`<section class="card" style="max-width:none;margin:.6rem 0">
                <h3 style="margin:.1rem 0;font-size:1rem"><code>${method.toUpperCase()} ${path}</code> — ${op.summary ?? ''}</h3>
                ${op.description ? html`<p>${op.description}</p>` : ''}
                ${op.parameters?.length ? html`<p><b>Parameters:</b> ${op.parameters.map((p) => html`<code>${p.name}</code> (${p.in}${p.required ? ', required' : ''}${p.schema ? `, ${schemaName(p.schema)}` : ''}) `)}</p>` : ''}
                ${op.requestBody?.content ? html`<p><b>Body:</b> <code>${schemaName(Object.values(op.requestBody.content)[0]?.schema)}</code></p>` : ''}
                <p><b>Responses:</b> ${Object.entries(op.responses ?? {}).map(([code, r]) => html`<code>${code}</code> ${r.description ?? ''}${r.content ? html` <code>${schemaName(Object.values(r.content)[0]?.schema)}</code>` : ''}; `)}</p>
              </section>`,
            )}`,
      )}
      <h2 id="schemas">Schemas</h2>
      ${schemas.map(([name, s]) => html`<details><summary><code>${name}</code></summary><pre>${JSON.stringify(s, null, 2)}</pre></details>`)}`,
  });
}
