/**
 * jsforce 3 side of bench/client-vs-jsforce.ts, used as its README/docs show. Modes:
 * - `query-stream`: `conn.query(soql).autoFetch(true).maxFetch(Infinity).on('record', …).on('end', …).run()`,
 *   writing each record as it is emitted (an EventEmitter handler cannot wait for the file to drain);
 * - `query-await`: `await conn.query(soql).autoFetch(true).maxFetch(Infinity)`, then write the records;
 * - `upsert`: `conn.sobject('Account').upsert(records, 'External_Id__c', { allOrNone: false, allowRecursive: true })`
 *   (sObject Collections, 200 per call; without allowRecursive jsforce sends all 20k in one call, which Salesforce rejects);
 * - `idle`: create the connection and run a one-row query (baseline RSS).
 */
import jsforce from 'jsforce';
import { args, jsonl, mode as modeArg, report, upsertRecords } from './common.ts';

const mode = modeArg();

const a = args();
const conn = new jsforce.Connection({ instanceUrl: a.url, accessToken: a.token, version: '62.0' });

if (mode === 'query-stream') {
  const out = jsonl(a.out);
  const t0 = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    conn.query(a.soql).autoFetch(true).maxFetch(Infinity)
      .on('record', (r: unknown) => {
        out.writeNow(r);
        n++;
      })
      .on('end', () => resolve())
      .on('error', reject)
      .run();
  });
  await out.close();
  report({ ms: performance.now() - t0, records: n });
} else if (mode === 'query-await') {
  const out = jsonl(a.out);
  const t0 = performance.now();
  const res = await conn.query(a.soql).autoFetch(true).maxFetch(Infinity);
  for (const r of res.records) await out.write(r);
  await out.close();
  report({ ms: performance.now() - t0, records: res.records.length });
} else if (mode === 'upsert') {
  const records = upsertRecords(a);
  const t0 = performance.now();
  const results = (await conn.sobject('Account').upsert(records, 'External_Id__c', { allOrNone: false, allowRecursive: true })) as unknown as { success: boolean; created?: boolean }[];
  report({ ms: performance.now() - t0, records: results.length, ok: results.filter((r) => r.success).length, created: results.filter((r) => r.created).length });
} else if (mode === 'idle') {
  const t0 = performance.now();
  await conn.query('SELECT Id FROM Account LIMIT 1');
  report({ ms: performance.now() - t0, records: 0 });
} else throw new Error(`unknown mode ${mode}`);
