/**
 * Seeds an org from a `--seed` spec: `none`, `demo`, COUNTS (`Account=1000,Contact=3000`) or
 * `tree:PLAN.json` (an `sf data tree` plan or record file).
 */
import type { Org } from '../org.ts';
import { parseCounts, seedCounts } from './counts.ts';
import { seedDemo } from './demo.ts';
import { importTree } from './tree.ts';

export { parseCounts, seedCounts } from './counts.ts';
export { seedDemo } from './demo.ts';
export { importTree } from './tree.ts';

/**
 * Inserts the org's Organization row (Id = the org ID) if it is missing: every real org can read its own
 * Organization record, whatever data it holds.
 */
export function ensureOrganization(org: Org): void {
  const def = org.schema.get('Organization');
  if (!def || org.store.getRow(def, org.orgId)) return;
  const now = org.clock.now();
  org.store.insertRow(def, {
    Id: org.orgId, IsDeleted: 0, Name: 'Emulated Org', Division: null, Street: '415 Mission St', City: 'San Francisco', State: 'CA', PostalCode: '94105',
    Country: 'United States', Phone: '(415) 555-0100', DefaultLocaleSidKey: 'en_US', TimeZoneSidKey: 'America/Los_Angeles', LanguageLocaleKey: 'en_US',
    FiscalYearStartMonth: 1, UsesStartDateAsFiscalYearName: 0, OrganizationType: 'Developer Edition', InstanceName: 'EMU1', IsSandbox: 0,
    CreatedDate: now - 200 * 86_400_000, CreatedById: org.adminUserId, LastModifiedDate: now, LastModifiedById: org.adminUserId, SystemModstamp: now,
  });
}

/** Seeds and returns a one-line summary (or '' for none). Throws with the fix on a bad spec. */
export async function seedOrg(org: Org, spec: string): Promise<string> {
  ensureOrganization(org);
  if (spec === 'none' || spec === '') return '';
  if (org.store.getMeta('seeded')) return `kept existing data (${org.store.getMeta('seeded')})`;
  let summary: string;
  if (spec === 'demo') {
    summary = formatCounts(orgCounts(org, seedDemo(org)));
  } else if (spec.startsWith('tree:')) {
    const path = spec.slice('tree:'.length);
    if (!path) throw new Error('--seed tree: needs a plan file, e.g. --seed tree:data/sf-tree/apex-recipes/data-plan.json');
    summary = formatCounts(orgCounts(org, await importTree(org, path)));
  } else if (/^[A-Za-z]/.test(spec) && spec.includes('=')) {
    summary = formatCounts(orgCounts(org, seedCounts(org, parseCounts(spec, org))));
  } else {
    throw new Error(`--seed "${spec}" is not understood: use demo, none, COUNTS like Account=1000,Contact=3000, or tree:PLAN.json`);
  }
  org.store.setMeta('seeded', `${spec}: ${summary}`);
  return summary;
}

/**
 * The live rows the org holds for each seeded object: the summary tells users what a sync will read, which
 * includes rows the org had before seeding (the admin and integration Users, for example).
 */
function orgCounts(org: Org, seeded: Record<string, number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, n] of Object.entries(seeded)) {
    const def = org.schema.get(name);
    counts[name] = def ? org.store.count(def) : n;
  }
  return counts;
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(',');
}
