/**
 * Kill benchmark of plain inserts: `sfbridge publish --operation insert` of N rows (default 10,000; no key in
 * the data) killed with SIGKILL at K random points (default 30: on write requests, whose writes still land,
 * and at random moments) and rerun until one run finishes, in each scenario:
 *
 *   npx node --disable-warning=ExperimentalWarning bench/publish-kill.ts [--n 10000] [--kills 30] [--only default-state]
 *
 * - `default-state`: no --state (the outbox in ./data/publish.db), auto path (Bulk API 2.0 at this size);
 * - `explicit-state`: --state sqlite:./state/publish.db, auto path;
 * - `idempotency-collections`: --idempotency-field Idem_Key__c on the Collections path.
 * A kill drawn after the run it aims at has finished does not hit, and once a run finishes the input is
 * published: so each scenario runs trials (a fresh input and org each) of up to 6 kills until `--kills` kills
 * have hit a running publisher. Prints, per trial, the records in the org, distinct rows among them, dead
 * letters and the kills that hit.
 */
import { parseArgs } from 'node:util';
import { killTrial } from '../test/helpers/publish-kill.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, kills: { type: 'string', default: '30' }, only: { type: 'string' } } });
const N = Number(values.n);
const KILLS = Number(values.kills);
const scenarios = [
  { name: 'default-state', flags: [] as string[], writes: 6 },
  { name: 'explicit-state', flags: ['--state', 'sqlite:./state/publish.db'], writes: 6 },
  { name: 'idempotency-collections', flags: ['--idempotency-field', 'Idem_Key__c', '--path', 'collections'], writes: Math.ceil(N / 200) },
].filter((s) => !values.only || values.only.split(',').includes(s.name));

console.log(`| Scenario | Trial | Rows | Kills that hit | Records in org | Distinct | Duplicates | Missing | Dead letters | Final exit | Time (s) |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const sc of scenarios) {
  let hits = 0;
  for (let t = 0; hits < KILLS; t++) {
    const t0 = performance.now();
    const o = await killTrial({ n: N, kills: Math.min(6, KILLS - hits), seed: 1000 + t * 17 + sc.name.length, flags: sc.flags, writes: sc.writes, maxDelayMs: 5000 });
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    hits += o.killed.length;
    console.log(`| ${sc.name} | ${t + 1} | ${N} | ${o.killed.length} | ${o.records} | ${o.distinct} | ${o.records - o.distinct} | ${N - o.distinct} | ${o.deadLetters} | ${o.finalCode} | ${secs} |`);
    console.error(`${sc.name} #${t + 1}: kills ${o.killed.join(', ')}`);
    await o.close();
  }
}
