// jsforce's Bulk 2.0 upsert of a CSV file, for bench/bulk.ts. Plain JS, like bin/sfbridge.js's first module, so
// neither side pays for Node's TypeScript stripper. Prints one JSON line: records and detail.
//   node bench/workers/bulk-jsforce.mjs URL TOKEN FILE
import { createReadStream } from 'node:fs';
import jsforce from 'jsforce';

const [url, token, file] = process.argv.slice(2);
const conn = new jsforce.Connection({ instanceUrl: url, accessToken: token, version: '62.0' });
const res = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Legacy_Key__c', input: createReadStream(file), pollInterval: 1000, pollTimeout: 3_600_000 });
process.stdout.write(`${JSON.stringify({ records: res.successfulResults.length, detail: `${res.failedResults.length} failed, ${res.unprocessedRecords.length} unprocessed` })}\n`);
