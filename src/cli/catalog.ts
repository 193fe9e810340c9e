/**
 * `sfbridge objects` and `sfbridge describe OBJECT`: what the org has, the names other commands take. Both
 * print a table (or `--json`), and an object the org does not have is refused with the closest name.
 */
import type { Writable } from 'node:stream';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import type { DescribeField, FetchLike } from '../client/index.ts';
import { parseFlags, plural, UsageError, thousands } from './args.ts';
import { clientFromFlags } from './connect.ts';
import { describeKnown } from './preflight.ts';
import { reportError, writeJson } from './report.ts';

const OBJECTS_USAGE = `Usage: sfbridge objects [PATTERN] [--custom] [--all] [--json]

Lists the org's objects (queryable ones unless --all): API name, label and what can be done with them.

  PATTERN    only names containing it (case-insensitive), e.g. sfbridge objects invoice
  --custom   custom objects only (__c)
  --all      include objects that cannot be queried
  --json     {"ok":true,"command":"objects","objects":[{name,label,custom,queryable,createable,updateable,deletable}]}

${CONNECTION_USAGE}
`;

const DESCRIBE_USAGE = `Usage: sfbridge describe OBJECT [PATTERN] [--json]

Lists an object's fields: API name, type, label, and the flags that matter for sync, publish and bulk
(ext = External ID, required on create, read-only, formula, the object a reference points to).

  PATTERN    only fields whose name contains it (case-insensitive)
  --json     {"ok":true,"command":"describe","object":{name,label,…,"fields":[{name,label,type,length,
             externalId,idLookup,nillable,createable,updateable,calculated,referenceTo,relationshipName}]}}

${CONNECTION_USAGE}
`;

export interface CatalogIO {
  stdout?: Writable;
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
}

/** A left-aligned table with a dashed rule under the header. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

const FLAGS = { ...CONNECTION_FLAG_OPTIONS, 'api-version': { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

/** `sfbridge objects`. */
export async function objectsCommand(argv: string[], io: CatalogIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let json = false;
  try {
    const { values, positionals } = parseFlags(argv, { ...FLAGS, custom: { type: 'boolean' }, all: { type: 'boolean' } }, OBJECTS_USAGE);
    json = Boolean(values.json);
    if (values.help) {
      stdout.write(OBJECTS_USAGE);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`expected at most one PATTERN, got ${positionals.length}\n\n${OBJECTS_USAGE}`);
    const pattern = positionals[0]?.toLowerCase();
    const client = await clientFromFlags(values, io.env ?? process.env, { apiVersion: values['api-version'] as string | undefined, fetch: io.fetch });
    const all = (await client.describeGlobal()).sobjects;
    const list = all
      .filter((s) => values.all || s.queryable !== false)
      .filter((s) => !values.custom || s.custom)
      .filter((s) => !pattern || s.name.toLowerCase().includes(pattern))
      .map((s) => ({ name: s.name, label: String(s.label ?? ''), custom: Boolean(s.custom), queryable: s.queryable !== false, createable: s.createable !== false, updateable: s.updateable !== false, deletable: s.deletable !== false }));
    if (json) {
      writeJson(stdout, 'objects', { objects: list });
      return 0;
    }
    const can = (o: (typeof list)[number]) => [o.queryable && 'query', o.createable && 'create', o.updateable && 'update', o.deletable && 'delete'].filter(Boolean).join(',');
    stdout.write(table(['name', 'label', 'custom', 'allows'], list.map((o) => [o.name, o.label, o.custom ? 'yes' : '', can(o)])));
    stdout.write(`(${plural(list.length, 'object')}${list.length < all.length ? ` of ${thousands(all.length)}` : ''}; fields: sfbridge describe NAME)\n`);
    return 0;
  } catch (err) {
    return reportError('objects', err, { stdout, stderr, json });
  }
}

/** The field flags column of `describe`. */
function flags(f: DescribeField): string {
  const out: string[] = [];
  if (f.externalId) out.push('ext');
  if (f.idLookup && !f.externalId && f.name !== 'Id') out.push('lookup-key');
  if (f.createable && f.nillable === false && f.defaultedOnCreate !== true && f.type !== 'boolean') out.push('required');
  if (f.calculated) out.push('formula');
  else if (f.createable === false && f.updateable === false) out.push('read-only');
  return out.join(',');
}

/** `sfbridge describe OBJECT`. */
export async function describeCommand(argv: string[], io: CatalogIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let json = false;
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, DESCRIBE_USAGE);
    json = Boolean(values.json);
    if (values.help) {
      stdout.write(DESCRIBE_USAGE);
      return 0;
    }
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError(`expected an object name (e.g. sfbridge describe Account)\n\n${DESCRIBE_USAGE}`);
    const [object, pat] = positionals;
    const client = await clientFromFlags(values, io.env ?? process.env, { apiVersion: values['api-version'] as string | undefined, fetch: io.fetch });
    const d = await describeKnown(client, object);
    const pattern = pat?.toLowerCase();
    const fields = d.fields.filter((f) => !pattern || f.name.toLowerCase().includes(pattern));
    if (json) {
      writeJson(stdout, 'describe', {
        object: {
          name: d.name, label: d.label, custom: Boolean(d.custom), keyPrefix: d.keyPrefix ?? null,
          queryable: d.queryable !== false, createable: d.createable !== false, updateable: d.updateable !== false, deletable: d.deletable !== false,
          fields: fields.map((f) => ({
            name: f.name, label: f.label, type: f.type, length: f.length ?? null, externalId: Boolean(f.externalId), idLookup: Boolean(f.idLookup),
            nillable: f.nillable !== false, createable: f.createable !== false, updateable: f.updateable !== false, calculated: Boolean(f.calculated),
            referenceTo: f.referenceTo ?? [], relationshipName: f.relationshipName ?? null,
          })),
        },
      });
      return 0;
    }
    const type = (f: DescribeField) => (f.type === 'reference' ? `reference → ${(f.referenceTo ?? []).join('|')}` : typeof f.length === 'number' && f.length > 0 && (f.type === 'string' || f.type === 'textarea' || f.type === 'picklist') ? `${f.type}(${f.length})` : f.type);
    stdout.write(table(['field', 'type', 'label', 'flags'], fields.map((f) => [f.name, type(f), String(f.label ?? ''), flags(f)])));
    stdout.write(`(${d.name}: ${plural(fields.length, 'field')}${fields.length < d.fields.length ? ` of ${d.fields.length}` : ''})\n`);
    return 0;
  } catch (err) {
    return reportError('describe', err, { stdout, stderr, json });
  }
}
