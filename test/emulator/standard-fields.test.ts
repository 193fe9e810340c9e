/**
 * Standard-field coverage: for every object the emulator has that the published standard field list
 * (test/fixtures/standard-fields.json, with its source) names, the share of listed fields the emulator's
 * describe returns with a compatible type. Fails below 90% for any object, and prints the table.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/standard-fields.json', import.meta.url), 'utf8')) as { source: string; objects: Record<string, Record<string, string>> };

/** The describe types each published TypeScript type stands for. */
const COMPATIBLE: Record<string, string[]> = {
  string: ['id', 'reference', 'string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'email', 'phone', 'url', 'encryptedstring', 'time'],
  number: ['int', 'double', 'currency', 'percent', 'long'],
  boolean: ['boolean'],
  DateString: ['date', 'datetime'],
  BlobString: ['base64'],
  Address: ['address'],
  any: ['anyType', 'complexvalue', 'location'],
};

interface DescribeField { name: string; type: string; nillable: boolean }

test('standard fields: ≥ 90% of the published list per object, with compatible types', async () => {
  const org = await testOrg();
  const global = (await (await org.api('/sobjects')).json()) as { sobjects: { name: string }[] };
  const have = new Set(global.sobjects.map((o) => o.name));
  const rows: { object: string; listed: number; covered: number; pct: number; missing: string[]; wrongType: string[] }[] = [];
  for (const [object, fields] of Object.entries(fixture.objects)) {
    if (!have.has(object)) continue;
    const d = (await (await org.api(`/sobjects/${object}/describe`)).json()) as { fields: DescribeField[] };
    const byName = new Map(d.fields.map((f) => [f.name, f]));
    const missing: string[] = [];
    const wrongType: string[] = [];
    for (const [name, tsType] of Object.entries(fields)) {
      const f = byName.get(name);
      if (!f) {
        missing.push(name);
        continue;
      }
      const base = tsType.replace(/ \| null$/, '');
      if (!(COMPATIBLE[base] ?? []).includes(f.type)) wrongType.push(`${name}: ${f.type}, listed ${tsType}`);
    }
    const listed = Object.keys(fields).length;
    const covered = listed - missing.length - wrongType.length;
    rows.push({ object, listed, covered, pct: Math.floor((1000 * covered) / listed) / 10, missing, wrongType });
  }
  const total = rows.reduce((a, r) => [a[0] + r.covered, a[1] + r.listed], [0, 0]);
  console.log(`standard field coverage (source: ${fixture.source})`);
  console.table(rows.map((r) => ({ object: r.object, listed: r.listed, covered: r.covered, '%': r.pct, missing: r.missing.join(' '), 'wrong type': r.wrongType.join('; ') })));
  console.log(`overall: ${total[0]}/${total[1]} = ${((100 * total[0]) / total[1]).toFixed(1)}% across ${rows.length} objects`);
  assert.ok(rows.length >= 26, `only ${rows.length} of the emulator's objects are in the published list`);
  const below = rows.filter((r) => r.pct < 90).map((r) => `${r.object} ${r.pct}% (missing ${r.missing.join(', ')}; wrong type ${r.wrongType.join(', ')})`);
  assert.deepEqual(below, []);
  org.close();
});
