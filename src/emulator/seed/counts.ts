/**
 * `--seed Account=100000,Contact=300000`: generates any number of records of any createable object.
 * Parents are generated before children whatever the order given, and reference fields point at the
 * generated parents (or, for required lookups, at records the org already has).
 */
import type { Org } from '../org.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { isStored } from '../store/values.ts';
import { DAY, isoDate, rng, type Rand } from './random.ts';
import { VALUE_GENERATORS, type ValueGen } from './values.ts';
import { batched, RowWriter, type Values } from './writer.ts';

const EXAMPLE = 'e.g. Account=1000,Contact=3000';

/** Why an object cannot be generated, with what to do instead; undefined when it can. */
function notGeneratable(def: ObjectDef): string | undefined {
  if (def.associateEntityType === 'ChangeEvent') return `${def.name} is a change event; they are published when ${def.associateParentEntity} records change, so seed ${def.associateParentEntity} instead`;
  if (def.associateEntityType === 'Feed') return `${def.name} shows FeedItems posted on ${def.associateParentEntity} records; seed ${def.associateParentEntity} and FeedItem instead`;
  if (def.view) return `${def.name} lists ${def.view.map((v) => v.from).join(' and ')} records; seed those instead`;
  if (def.name === 'Organization') return 'the org has exactly one Organization record already';
  if (def.queryable === false) return `${def.name} is not queryable, so generated records could never be read`;
  return undefined;
}

/** Closest object name for a typo (`Opportunty` → `Opportunity`), by edit distance. */
function closest(name: string, org: Org): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return d[a.length][b.length];
  };
  let best: [string, number] | undefined;
  for (const o of org.schema.all()) {
    const dd = dist(name.toLowerCase(), o.name.toLowerCase());
    if (!best || dd < best[1]) best = [o.name, dd];
  }
  return best && best[1] <= Math.max(2, Math.floor(name.length / 3)) ? best[0] : undefined;
}

/** Parses `Account=1000,Contact=3000`; errors say what to write instead. Keys come back in canonical case. */
export function parseCounts(spec: string, org: Org): Record<string, number> {
  const out: Record<string, number> = {};
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (!part) throw new Error(`--seed "${spec}": empty entry; separate Object=N pairs with single commas, ${EXAMPLE}`);
    const eq = part.indexOf('=');
    if (eq < 0) throw new Error(`--seed "${spec}": "${part}" has no count; write Object=N pairs, ${EXAMPLE}`);
    const name = part.slice(0, eq).trim();
    const n = part.slice(eq + 1).trim().replaceAll('_', '');
    const def = org.schema.get(name);
    if (!def) {
      const guess = closest(name, org);
      throw new Error(`--seed "${spec}": unknown object "${name}"${guess ? `; did you mean ${guess}?` : '; check the name against GET /sobjects, or define the object with --schema'} (${EXAMPLE})`);
    }
    const why = notGeneratable(def);
    if (why) throw new Error(`--seed "${spec}": ${def.name} cannot be generated: ${why}`);
    if (!/^\d+$/.test(n)) throw new Error(`--seed "${spec}": ${def.name}=${part.slice(eq + 1).trim()}: the count must be a whole number, e.g. ${def.name}=1000`);
    if (def.name in out) throw new Error(`--seed "${spec}": ${def.name} is listed twice; give one count per object`);
    out[def.name] = Number(n);
  }
  return out;
}

/** References a generated row should fill: writable lookups, excluding owner and self lookups. */
function wiredReferences(def: ObjectDef): FieldDef[] {
  return def.fields.filter((f) => f.type === 'reference' && isStored(f) && !f.system && !f.hidden && f.createable !== false && f.name !== 'OwnerId' && !(f.referenceTo?.length === 1 && f.referenceTo[0] === def.name));
}

/** Orders objects so every parent comes before its children (stable for unrelated objects). */
function parentsFirst(org: Org, names: string[]): string[] {
  const inSpec = new Set(names);
  const done = new Set<string>();
  const out: string[] = [];
  const visit = (name: string, path: Set<string>) => {
    if (done.has(name) || path.has(name)) return;
    path.add(name);
    for (const f of wiredReferences(org.schema.get(name)!)) for (const t of f.referenceTo ?? []) if (inSpec.has(t)) visit(t, path);
    path.delete(name);
    done.add(name);
    out.push(name);
  };
  for (const n of names) visit(n, new Set());
  return out;
}

/** Values for objects without a dedicated generator: required fields and the name get readable values. */
function genericValues(def: ObjectDef): ValueGen {
  const fill = def.fields.filter((f) => isStored(f) && !f.system && f.createable !== false && f.type !== 'reference' && (f.nillable === false || f.nameField) && !f.defaultedOnCreate);
  return (i, r, now) => {
    const row: Values = {};
    for (const f of fill) {
      if (f.type === 'string' || f.type === 'textarea' || f.type === 'phone' || f.type === 'url') row[f.name] = `${def.label} ${i + 1}`.slice(0, f.length ?? 255);
      else if (f.type === 'email') row[f.name] = `record${i + 1}@example.com`;
      else if (f.type === 'picklist' || f.type === 'multipicklist' || f.type === 'combobox') row[f.name] = f.picklistValues?.[0]?.value ?? null;
      else if (f.type === 'date') row[f.name] = isoDate(now - r.int(0, 90) * DAY);
      else if (f.type === 'datetime') row[f.name] = now - r.int(0, 90) * DAY;
      else if (f.type === 'int' || f.type === 'long' || f.type === 'double' || f.type === 'currency' || f.type === 'percent') row[f.name] = r.int(0, 100);
    }
    return row;
  };
}

/**
 * External-ID fields get a unique value per generated record (integrations upsert by them, so an empty or
 * repeated one would make lookups find nothing or fail as duplicates). Values look like ERP keys:
 * `ACC-0000042` (shortened to fit the field length), numbers for numeric fields.
 */
function externalIdFillers(def: ObjectDef): ((i: number, values: Values) => void)[] {
  const tag = def.name.replace(/__c$/, '').replace(/[^A-Za-z0-9]/g, '').slice(0, 3).toUpperCase() || 'EXT';
  return def.fields.filter((f) => f.externalId && isStored(f) && !f.system && f.createable !== false && !f.autoNumber && !f.formula).map((f) => {
    const numeric = f.type === 'int' || f.type === 'long' || f.type === 'double' || f.type === 'currency' || f.type === 'percent';
    const max = f.length ?? 255;
    const text = (i: number): string => {
      const long = `${tag}-${String(i + 1).padStart(7, '0')}`;
      return long.length <= max ? long : (i + 1).toString(36).toUpperCase();
    };
    const value = numeric ? (i: number) => i + 1 : f.type === 'email' ? (i: number) => `ext${i + 1}@example.com` : text;
    return (i: number, values: Values) => {
      if (values[f.name] === undefined || values[f.name] === null) values[f.name] = value(i);
    };
  });
}

interface RefPlan {
  field: FieldDef;
  writers: RowWriter[];
  existing: string[];
}

/**
 * Inserts `counts` records per object and returns the counts inserted. CreatedDate/SystemModstamp are
 * spread over the past 90 days, oldest first, so replication windows have history to cover.
 */
export function seedCounts(org: Org, counts: Record<string, number>, seed = 42): Record<string, number> {
  const r: Rand = rng(seed);
  const now = org.clock.now();
  const writers = new Map<string, RowWriter>();
  const out: Record<string, number> = {};
  for (const name of parentsFirst(org, Object.keys(counts))) {
    const def = org.schema.get(name)!;
    const count = counts[name];
    const gen = VALUE_GENERATORS[def.name] ?? genericValues(def);
    const writer = new RowWriter(org, def);
    const extIds = externalIdFillers(def);
    const refs: RefPlan[] = wiredReferences(def).map((field) => {
      const targets = (field.referenceTo ?? []).map((t) => writers.get(t)).filter((w): w is RowWriter => !!w && w.count > 0);
      let existing: string[] = [];
      if (targets.length === 0 && field.nillable === false) {
        for (const t of field.referenceTo ?? []) {
          const tdef = org.schema.get(t);
          if (tdef) existing.push(...org.store.prepare(`SELECT Id FROM "${tdef.name}" WHERE IsDeleted = 0 LIMIT 10000`).all().map((row) => String(row.Id)));
        }
        if (existing.length === 0 && count > 0) {
          const parent = field.referenceTo?.[0] ?? 'the parent';
          throw new Error(`--seed: ${def.name}.${field.name} is required and needs ${parent} records; add ${parent}=N to the spec (e.g. ${parent}=100,${def.name}=${count})`);
        }
      } else existing = [];
      return { field, writers: targets, existing };
    }).filter((p) => p.writers.length > 0 || p.existing.length > 0);
    batched(org, count, (i) => {
      const at = now - Math.floor(((count - i) / Math.max(count, 1)) * 90 * DAY);
      const values = gen(i, r, now);
      for (const fillExtId of extIds) fillExtId(i, values);
      for (const p of refs) {
        if (p.writers.length) {
          const w = p.writers.length === 1 ? p.writers[0] : r.pick(p.writers);
          values[p.field.name] = w.idAt(Math.floor(r() * w.count));
        } else values[p.field.name] = r.pick(p.existing);
      }
      writer.insert(values, at);
    });
    writers.set(def.name, writer);
    out[def.name] = count;
  }
  return out;
}
