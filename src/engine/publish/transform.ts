/**
 * Record transforms between a source row and the Salesforce payload: select, rename, drop, constants,
 * template expressions and parent lookups by external ID (`Account: {External_Id__c: "{{account_code}}"}`).
 *
 * Expressions are templates, not code: `{{field}}` inserts a source value, `{{field | upper}}` applies a
 * filter (upper, lower, trim, number, boolean, string, json, default:"x"). A template that is exactly one
 * `{{…}}` keeps the value's type (a number stays a number, null stays null). Nothing is evaluated as
 * JavaScript, so a mapping file cannot run code.
 */
import { z } from 'zod';
import { PublishError } from './types.ts';

const FIELD = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** The transform section of a pipeline or a `--map` file. */
export const transformSchema = z
  .object({
    select: z.array(z.string().regex(FIELD, 'a field name such as order_no')).optional().describe('source fields to keep (default: all)'),
    rename: z.record(z.string(), z.string().regex(FIELD, 'a Salesforce field API name such as External_Id__c')).optional(),
    drop: z.array(z.string()).optional(),
    constants: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    expressions: z.record(z.string(), z.string()).optional(),
    lookups: z.record(z.string(), z.record(z.string(), z.string()).refine((o) => Object.keys(o).length === 1, 'a lookup names exactly one external ID field, e.g. {External_Id__c: "{{account_code}}"}')).optional(),
  })
  .strict();

export type TransformSpec = z.infer<typeof transformSchema>;

const TEMPLATE = /\{\{\s*([^}|]+?)\s*(?:\|\s*([^}]+?)\s*)?\}\}/g;
const SINGLE = /^\{\{\s*([^}|]+?)\s*(?:\|\s*([^}]+?)\s*)?\}\}$/;
const FILTERS = new Set(['upper', 'lower', 'trim', 'number', 'boolean', 'string', 'json', 'default']);

function lookupPath(row: Record<string, unknown>, path: string): unknown {
  let cur: unknown = row;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined ? null : cur;
}

function applyFilters(value: unknown, filters: string | undefined): unknown {
  if (!filters) return value;
  let v = value;
  for (const raw of filters.split('|').map((f) => f.trim()).filter(Boolean)) {
    const m = /^([a-z]+)(?::\s*"?(.*?)"?)?$/.exec(raw);
    const name = m?.[1] ?? raw;
    switch (name) {
      case 'upper': v = v == null ? v : String(v).toUpperCase(); break;
      case 'lower': v = v == null ? v : String(v).toLowerCase(); break;
      case 'trim': v = v == null ? v : String(v).trim(); break;
      case 'string': v = v == null ? v : String(v); break;
      case 'json': v = JSON.stringify(v); break;
      case 'number': v = v == null || v === '' ? null : Number(v); break;
      case 'boolean': v = v == null || v === '' ? null : ['true', '1', 'yes', 'y'].includes(String(v).toLowerCase()); break;
      case 'default': v = v == null || v === '' ? (m?.[2] ?? '') : v; break;
      default: throw new PublishError('PUBLISH_CONFIG', `unknown filter "${name}" in an expression: use one of ${[...FILTERS].join(', ')}`);
    }
  }
  return v;
}

/** Renders a template against a source row (see the module comment). */
export function renderTemplate(template: string, row: Record<string, unknown>): unknown {
  const single = SINGLE.exec(template);
  if (single) return applyFilters(lookupPath(row, single[1]), single[2]);
  return template.replace(TEMPLATE, (_m, path: string, filters: string | undefined) => {
    const v = applyFilters(lookupPath(row, path), filters);
    return v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** Checks templates once (unknown filters) so a bad mapping fails before any record is sent. */
export function validateTransform(spec: TransformSpec | undefined, where: string): void {
  if (!spec) return;
  const templates = [...Object.values(spec.expressions ?? {}), ...Object.values(spec.lookups ?? {}).flatMap((o) => Object.values(o))];
  for (const t of templates) {
    for (const m of t.matchAll(TEMPLATE)) {
      for (const f of (m[2] ?? '').split('|').map((x) => x.trim()).filter(Boolean)) {
        const name = /^[a-z]+/.exec(f)?.[0] ?? f;
        if (!FILTERS.has(name)) throw new PublishError('PUBLISH_CONFIG', `${where}: unknown filter "${name}" in "${t}": use one of ${[...FILTERS].join(', ')}`);
      }
    }
  }
}

/** Builds the row → payload function of a transform spec (identity when there is none). */
export function compileTransform(spec: TransformSpec | undefined): (row: Record<string, unknown>) => Record<string, unknown> {
  if (!spec) return (row) => ({ ...row });
  const drop = new Set(spec.drop ?? []);
  return (row) => {
    const out: Record<string, unknown> = {};
    const keys = spec.select ?? Object.keys(row);
    for (const k of keys) {
      if (drop.has(k)) continue;
      const target = spec.rename?.[k] ?? k;
      const v = lookupPath(row, k);
      if (v !== undefined) out[target] = v;
    }
    for (const [k, v] of Object.entries(spec.constants ?? {})) out[k] = v;
    for (const [k, t] of Object.entries(spec.expressions ?? {})) out[k] = renderTemplate(t, row);
    for (const [rel, ref] of Object.entries(spec.lookups ?? {})) {
      const [field, template] = Object.entries(ref)[0];
      const value = renderTemplate(template, row);
      if (value === null || value === '') continue;
      out[rel] = { [field]: value };
    }
    return out;
  };
}
