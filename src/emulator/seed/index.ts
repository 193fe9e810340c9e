/**
 * Seeds an org from a spec: `none`, `demo`, `COUNTS` (`Account=1000,Contact=3000`) or `tree:PLAN.json`.
 */
import type { Org } from '../org.ts';
import { seedCounts, parseCounts } from './generate.ts';

/** Seeds and returns a one-line summary (or '' for none). Throws with the fix on a bad spec. */
export async function seedOrg(org: Org, spec: string): Promise<string> {
  if (spec === 'none' || spec === '') return '';
  if (org.store.getMeta('seeded')) return `kept existing data (${org.store.getMeta('seeded')})`;
  let summary: string;
  if (spec === 'demo') {
    summary = formatCounts(seedCounts(org, { Account: 500, Contact: 1500 }, 42));
  } else if (/^[A-Za-z]/.test(spec) && spec.includes('=')) {
    summary = formatCounts(seedCounts(org, parseCounts(spec, org), 42));
  } else {
    throw new Error(`--seed "${spec}" is not understood: use demo, none, COUNTS like Account=1000,Contact=3000, or tree:PLAN.json`);
  }
  org.store.setMeta('seeded', `${spec}: ${summary}`);
  return summary;
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(',');
}
