/**
 * `GET /query?explain=…`: the Query Plan tool's answer for a SOQL statement or a list view Id — the plans the
 * optimizer considered, cheapest first, each with its leading operation (`Index` or `TableScan`), the
 * indexed fields it would use, its estimated cardinality, and its cost relative to the selectivity threshold
 * (above 1 is not selective).
 *
 * The numbers come from the org's own rows: cardinality is the query's row count, sobjectCardinality the
 * object's. Which fields are indexed follows Salesforce's rules (Id, Name, OwnerId, CreatedDate,
 * SystemModstamp, RecordTypeId, lookups, unique and external ID fields, Email on Contact and Lead).
 */
import { parseQuery, type Condition, type WhereClause } from '@jetstreamapp/soql-parser-js';
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { compile } from '../soql/index.ts';
import { countPlan } from '../soql/exec.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { listViewSoql } from './listviews.ts';

export interface ExplainNote {
  description: string;
  fields: string[];
  tableEnumOrId: string;
}

export interface ExplainPlan {
  cardinality: number;
  fields: string[];
  leadingOperationType: 'Index' | 'TableScan' | 'Other' | 'Sharing';
  notes: ExplainNote[];
  relativeCost: number;
  sobjectCardinality: number;
  sobjectType: string;
}

const STANDARD_INDEXED = new Set(['id', 'name', 'ownerid', 'createddate', 'systemmodstamp', 'recordtypeid']);
/** Operators an index can serve; `!=`, `NOT LIKE`, `EXCLUDES` and `NOT IN` never use one. */
const INDEXABLE_OPERATORS = new Set(['=', 'IN', '<', '<=', '>', '>=', 'LIKE', 'INCLUDES']);

function indexed(def: ObjectDef, f: FieldDef): 'standard' | 'custom' | null {
  if (STANDARD_INDEXED.has(f.name.toLowerCase()) || (f.name === 'Email' && (def.name === 'Contact' || def.name === 'Lead'))) return 'standard';
  if (f.type === 'reference' || f.type === 'id') return 'standard';
  if (f.externalId || f.unique) return 'custom';
  return null;
}

/**
 * The selectivity threshold: a standard index is selective under 30% of the first million rows and 15% of the
 * rest (at most 1,000,000 rows); a custom index under 10% and 5% (at most 333,333).
 */
export function selectivityThreshold(rows: number, kind: 'standard' | 'custom'): number {
  const [first, rest, cap] = kind === 'standard' ? [0.3, 0.15, 1_000_000] : [0.1, 0.05, 333_333];
  return Math.min(first * Math.min(rows, 1_000_000) + rest * Math.max(rows - 1_000_000, 0), cap);
}

/** The top-level filter conditions of a WHERE clause, and whether any of them is OR'd. */
function conditions(where: WhereClause | undefined): { conds: Condition[]; hasOr: boolean } {
  const conds: Condition[] = [];
  let hasOr = false;
  for (let w: WhereClause | undefined = where; w; w = 'right' in w ? w.right : undefined) {
    if (w.left && 'field' in w.left) conds.push(w.left as Condition);
    if ('operator' in w && w.operator === 'OR') hasOr = true;
  }
  return { conds, hasOr };
}

const round = (n: number) => Math.round(n * 1e12) / 1e12;

/** Explains a SOQL statement, or the query behind a list view Id (`00B…`). */
export function explainQuery(ctx: Ctx, source: string): { plans: ExplainPlan[]; sourceQuery: string } {
  let soql = source.trim();
  if (soql === '') throw new SfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  if (/^00B[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(soql)) {
    // Not a list view: it is parsed as SOQL, and refused as SOQL.
    soql = listViewSoql(ctx, soql) ?? soql;
  }
  const plan = compile(ctx.org, soql);
  const def = plan.def;
  const cardinality = countPlan(ctx.org, plan);
  const sobjectCardinality = countPlan(ctx.org, compile(ctx.org, `SELECT COUNT() FROM ${def.name}`));
  const { conds, hasOr } = conditions(parseQuery(soql).where);
  const indexedFields: { name: string; kind: 'standard' | 'custom' }[] = [];
  const unindexed: string[] = [];
  let allIndexed = true;
  for (const c of conds) {
    const name = 'field' in c && typeof c.field === 'string' && !c.field.includes('.') ? c.field : null;
    const f = name ? ctx.org.schema.field(def.name, name) : undefined;
    if (!f) continue;
    const kind = indexed(def, f);
    if (kind && 'operator' in c && INDEXABLE_OPERATORS.has(String(c.operator).toUpperCase())) {
      if (!indexedFields.some((x) => x.name === f.name)) indexedFields.push({ name: f.name, kind });
    } else {
      allIndexed = false;
      if (!unindexed.includes(f.name)) unindexed.push(f.name);
    }
  }
  const notes: ExplainNote[] = unindexed.length ? [{ description: 'Not considering filter for optimization because unindexed', fields: unindexed, tableEnumOrId: def.name }] : [];
  const plans: ExplainPlan[] = [];
  // An OR'd filter can only lead with indexes when every branch is indexed.
  if (!hasOr || allIndexed) {
    for (const { name, kind } of indexedFields) {
      plans.push({ cardinality, fields: [name], leadingOperationType: 'Index', notes, relativeCost: round(cardinality / Math.max(selectivityThreshold(sobjectCardinality, kind), 1)), sobjectCardinality, sobjectType: def.name });
    }
  }
  plans.push({ cardinality, fields: [], leadingOperationType: 'TableScan', notes, relativeCost: round(sobjectCardinality / Math.max(selectivityThreshold(sobjectCardinality, 'standard'), 1)), sobjectCardinality, sobjectType: def.name });
  plans.sort((a, b) => a.relativeCost - b.relativeCost);
  return { plans, sourceQuery: soql };
}
