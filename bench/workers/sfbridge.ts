/**
 * sfbridge side of bench/client-vs-jsforce.ts. Modes:
 * - `query`: `for await (const r of client.query(soql))` → JSONL file (awaiting drain);
 * - `upsert`: `client.collections.upsert('Account', 'External_Id__c', records, { allOrNone: false })`;
 * - `idle`: create the client and run a one-row query (baseline RSS).
 */
import { SalesforceClient } from '../../src/client/index.ts';
import { args, jsonl, mode as modeArg, report, upsertRecords } from './common.ts';

const mode = modeArg();

const a = args();
const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: a.url, accessToken: a.token } });

if (mode === 'query') {
  const out = jsonl(a.out);
  const t0 = performance.now();
  let n = 0;
  for await (const r of client.query(a.soql)) {
    await out.write(r);
    n++;
  }
  await out.close();
  report({ ms: performance.now() - t0, records: n });
} else if (mode === 'upsert') {
  const records = upsertRecords(a).map((r) => ({ attributes: { type: 'Account' }, ...r }));
  const t0 = performance.now();
  const results = await client.collections.upsert('Account', 'External_Id__c', records, { allOrNone: false });
  report({ ms: performance.now() - t0, records: results.length, ok: results.filter((r) => r.success).length, created: results.filter((r) => (r as { created?: boolean }).created).length });
} else if (mode === 'idle') {
  const t0 = performance.now();
  await client.query('SELECT Id FROM Account LIMIT 1').toArray();
  report({ ms: performance.now() - t0, records: 0 });
} else throw new Error(`unknown mode ${mode}`);
