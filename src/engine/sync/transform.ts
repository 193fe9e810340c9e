/**
 * Inbound transforms: the publisher's transform language (select, rename, drop, constants, expressions;
 * see publish/transform.ts) applied to each record the sync reads, before the mirror and the sinks. The
 * record it sees is the mirror's row (fields, plus relationship paths as their columns such as
 * `Owner_Email`); what it returns is what the table stores, so the table's columns are derived from the
 * transform once, typed from describe where a column carries a field through, and the engine's own
 * fields (Id, SystemModstamp, IsDeleted) can be neither dropped, renamed nor overwritten.
 */
import type { FieldSpec } from '../../store/types.ts';
import { compileTransform, type TransformSpec } from '../publish/transform.ts';
import { closestName } from '../../client/suggest.ts';
import type { InboundTransformSpec } from '../config.ts';
import { ENGINE_FIELDS } from '../settings.ts';

export { ENGINE_FIELDS };

/** A transform the object's fields refuse. */
export class InboundTransformError extends Error {
  readonly code = 'INVALID_TRANSFORM';
  constructor(message: string) {
    super(message);
    this.name = 'InboundTransformError';
  }
}

export { inboundTransformSchema, type InboundTransformSpec } from '../config.ts';

const SINGLE = /^\{\{\s*([^}|]+?)\s*(?:\|\s*([^}]+?)\s*)?\}\}$/;

/** The column an expression fills: a bare `{{Field}}` keeps the field's type; `| number`, `| boolean` type it. */
function expressionSpec(name: string, template: string, source: ReadonlyMap<string, FieldSpec>): FieldSpec {
  const m = SINGLE.exec(template);
  if (m) {
    const filters = (m[2] ?? '').split('|').map((f) => f.trim()).filter(Boolean);
    const lastFilter = filters.length ? /^[a-z]+/.exec(filters[filters.length - 1])?.[0] : undefined;
    if (lastFilter === 'number') return { name, type: 'double' };
    if (lastFilter === 'boolean') return { name, type: 'boolean' };
    const src = source.get(m[1].toLowerCase());
    if (!filters.length && src) return { ...src, name };
  }
  return { name, type: 'textarea' };
}

function constantSpec(name: string, value: unknown): FieldSpec {
  if (typeof value === 'number') return { name, type: 'double' };
  if (typeof value === 'boolean') return { name, type: 'boolean' };
  return { name, type: 'string' };
}

/**
 * The table's columns after the transform, from the columns before it. `where` prefixes errors. Names
 * the transform reads that the row does not have are refused with the closest column.
 */
export function transformedColumns(specs: readonly FieldSpec[], spec: InboundTransformSpec, where: string): FieldSpec[] {
  const byName = new Map(specs.map((s) => [s.name.toLowerCase(), s]));
  const names = specs.map((s) => s.name);
  // Exact spelling: the transform reads the row's keys as they are.
  const exact = new Set(names);
  const known = (n: string, key: string) => {
    if (exact.has(n)) return;
    const guess = closestName(n, names);
    throw new InboundTransformError(`${where}.${key}: ${n} is not a column of the mirrored row${guess ? ` (did you mean ${guess}?)` : ''}; the transform sees the fields and relationship columns such as Owner_Email`);
  };
  for (const n of spec.select ?? []) known(n, 'select');
  for (const n of Object.keys(spec.rename ?? {})) known(n, 'rename');
  for (const n of spec.drop ?? []) known(n, 'drop');
  for (const [k, t] of Object.entries(spec.expressions ?? {})) {
    for (const m of t.matchAll(/\{\{\s*([^}|]+?)\s*(?:\|[^}]*)?\}\}/g)) known(m[1], `expressions.${k}`);
  }
  const drop = new Set((spec.drop ?? []).map((n) => n.toLowerCase()));
  const keep = spec.select ? new Set([...spec.select, ...ENGINE_FIELDS].map((n) => n.toLowerCase())) : undefined;
  const out = new Map<string, FieldSpec>();
  const put = (s: FieldSpec, origin: string) => {
    const prev = out.get(s.name.toLowerCase());
    if (prev && origin !== 'replace') throw new InboundTransformError(`${where}: two columns would be named ${s.name} (${origin}); rename one of them`);
    out.set(s.name.toLowerCase(), s);
  };
  for (const s of specs) {
    if (drop.has(s.name.toLowerCase()) || (keep && !keep.has(s.name.toLowerCase()))) continue;
    const target = Object.entries(spec.rename ?? {}).find(([from]) => from.toLowerCase() === s.name.toLowerCase())?.[1] ?? s.name;
    put({ ...s, name: target }, target === s.name ? 'field' : `rename of ${s.name}`);
  }
  // Constants and expressions replace a column of the same name, as they replace the value.
  for (const [k, v] of Object.entries(spec.constants ?? {})) put(constantSpec(k, v), 'replace');
  for (const [k, t] of Object.entries(spec.expressions ?? {})) put(expressionSpec(k, t, byName), 'replace');
  return [...out.values()];
}

/** The row → row function of an inbound transform; the engine's fields always pass through unchanged. */
export function compileInboundTransform(spec: InboundTransformSpec): (row: Record<string, unknown>) => Record<string, unknown> {
  const select = spec.select ? [...new Set([...ENGINE_FIELDS, ...spec.select])] : undefined;
  const fn = compileTransform({ ...spec, ...(select ? { select } : {}) } as TransformSpec);
  return (row) => {
    const out = fn(row);
    // `select` of a field an object lacks (IsDeleted on a few objects) must not add a column.
    for (const f of ENGINE_FIELDS) if (!(f in row)) delete out[f];
    return out;
  };
}
