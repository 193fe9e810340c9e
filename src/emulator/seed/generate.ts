/**
 * Deterministic generator of realistic records: the same seed gives the same org, so demos and benchmarks
 * are repeatable. Inserts go straight to the store in large transactions (DML validation would make
 * seeding a million rows slow, and generated values are valid by construction).
 */
import type { Org } from '../org.ts';
import type { ObjectDef } from '../schema/types.ts';
import { isStored, type SqlValue } from '../store/values.ts';

/** Mulberry32: tiny, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMPANY_A = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent', 'Hooli', 'Vandelay', 'Pied Piper', 'Massive Dynamic', 'Oscorp', 'Aperture', 'Blue Sun', 'Gringotts', 'Nakatomi', 'Duff'];
const COMPANY_B = ['Corp', 'Industries', 'Ltd', 'Systems', 'Holdings', 'Labs', 'Partners', 'Group', 'Logistics', 'Foods'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Tim', 'Radia', 'Edsger', 'Anita', 'John', 'Sophie', 'Leslie', 'Hedy', 'Katherine', 'Niklaus', 'Guido'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Berners-Lee', 'Perlman', 'Dijkstra', 'Borg', 'McCarthy', 'Wilson', 'Lamport', 'Lamarr', 'Johnson', 'Wirth', 'van Rossum'];
const CITIES: [string, string, string][] = [['San Francisco', 'CA', 'USA'], ['New York', 'NY', 'USA'], ['Austin', 'TX', 'USA'], ['London', '', 'UK'], ['Paris', '', 'France'], ['Berlin', '', 'Germany'], ['Toronto', 'ON', 'Canada'], ['Sydney', 'NSW', 'Australia']];
const INDUSTRY = ['Technology', 'Banking', 'Retail', 'Manufacturing', 'Healthcare', 'Energy', 'Media', 'Education'];
const TYPES = ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller'];
const TITLES = ['CEO', 'CTO', 'VP Sales', 'Engineer', 'Buyer', 'Director of IT', 'Office Manager', 'Analyst'];

export function parseCounts(spec: string, org: Org): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of spec.split(',')) {
    const [name, n] = part.split('=').map((s) => s.trim());
    const def = org.schema.get(name);
    if (!def) throw new Error(`--seed: unknown object "${name}"; counts look like Account=1000,Contact=3000`);
    const count = Number(n);
    if (!Number.isInteger(count) || count < 0) throw new Error(`--seed: ${name} needs a whole number, got "${n}"`);
    out[def.name] = count;
  }
  return out;
}

type Gen = (i: number, r: () => number, ctx: { parents: Map<string, string[]>; org: Org }) => Record<string, SqlValue>;

const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)];

const generators: Record<string, Gen> = {
  Account: (i, r) => {
    const [city, state, country] = pick(r, CITIES);
    return {
      Name: `${pick(r, COMPANY_A)} ${pick(r, COMPANY_B)} ${i + 1}`, Type: pick(r, TYPES), Industry: pick(r, INDUSTRY),
      BillingStreet: `${1 + Math.floor(r() * 999)} Market St`, BillingCity: city, BillingState: state || null, BillingCountry: country,
      BillingPostalCode: String(10000 + Math.floor(r() * 89999)), Phone: `(555) ${String(100 + Math.floor(r() * 899))}-${String(1000 + Math.floor(r() * 8999))}`,
      Website: `https://www.example-${i + 1}.com`, AnnualRevenue: Math.round(r() * 5e8), NumberOfEmployees: 5 + Math.floor(r() * 20000),
      Description: `${pick(r, INDUSTRY)} company account number ${i + 1}.`, Rating: pick(r, ['Hot', 'Warm', 'Cold']),
    };
  },
  Contact: (i, r, { parents }) => {
    const first = pick(r, FIRST);
    const last = pick(r, LAST);
    const accounts = parents.get('Account') ?? [];
    return {
      FirstName: first, LastName: last, Name: `${first} ${last}`, Email: `${first}.${last}.${i + 1}@example.com`.toLowerCase().replace(/\s/g, ''),
      Title: pick(r, TITLES), Phone: `(555) 01${String(i % 100).padStart(2, '0')}-${String(1000 + (i % 8999))}`,
      AccountId: accounts.length ? accounts[i % accounts.length] : null, MailingCity: pick(r, CITIES)[0],
    };
  },
};

/** Generic values for objects without a dedicated generator: required text gets a readable value. */
function genericRow(def: ObjectDef, i: number): Record<string, SqlValue> {
  const row: Record<string, SqlValue> = {};
  for (const f of def.fields) {
    if (!isStored(f) || f.system || f.createable === false) continue;
    if (f.nillable === false && (f.type === 'string' || f.type === 'textarea')) row[f.name] = `${def.label} ${i + 1}`;
    if (f.nillable === false && f.type === 'picklist' && f.picklistValues?.length) row[f.name] = f.picklistValues[0].value;
  }
  if (def.fields.some((f) => f.name === 'Name' && f.createable !== false)) row.Name = `${def.label} ${i + 1}`;
  return row;
}

/**
 * Inserts `counts` records per object (parents first, in the order given) and returns what was inserted.
 * CreatedDate/SystemModstamp are spread over the past 90 days so replication windows have something to cover.
 */
export function seedCounts(org: Org, counts: Record<string, number>, seed: number): Record<string, number> {
  const r = rng(seed);
  const parents = new Map<string, string[]>();
  const out: Record<string, number> = {};
  const now = org.clock.now();
  const user = org.adminUserId;
  for (const [name, count] of Object.entries(counts)) {
    const def = org.schema.get(name)!;
    const gen = generators[def.name];
    const ids: string[] = [];
    const BATCH = 10_000;
    for (let start = 0; start < count; start += BATCH) {
      org.store.transaction(() => {
        for (let i = start; i < Math.min(count, start + BATCH); i++) {
          const id = org.store.nextId(def);
          // Oldest first, so SystemModstamp order follows insertion order as in a real org's history.
          const t = now - Math.floor(((count - i) / Math.max(count, 1)) * 90 * 86_400_000);
          const row: Record<string, SqlValue> = {
            ...(gen ? gen(i, r, { parents, org }) : genericRow(def, i)),
            Id: id, IsDeleted: 0, CreatedDate: t, CreatedById: user, LastModifiedDate: t, LastModifiedById: user, SystemModstamp: t,
          };
          if (def.fields.some((f) => f.name === 'OwnerId')) row.OwnerId = user;
          for (const k of Object.keys(row)) if (!org.schema.field(def.name, k)) delete row[k];
          org.store.insertRow(def, row);
          if (ids.length < 100_000) ids.push(id);
        }
      });
    }
    parents.set(def.name, ids);
    out[def.name] = count;
  }
  return out;
}
