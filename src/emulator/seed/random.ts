/**
 * Deterministic randomness and sample vocabularies: the same seed gives the same org, so demos, tests and
 * benchmarks are repeatable.
 */

/** A seeded random source with the helpers the generators use. */
export interface Rand {
  (): number;
  /** Whole number in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

/** Mulberry32: tiny, fast, good enough for test data. */
export function rng(seed: number): Rand {
  let a = seed >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rand;
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  next.pick = (xs) => xs[Math.floor(next() * xs.length)];
  next.chance = (p) => next() < p;
  return next;
}

export const DAY = 86_400_000;

/** `yyyy-MM-dd` of an epoch-ms instant (UTC), the stored form of date fields. */
export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export const COMPANY_A = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent', 'Hooli', 'Vandelay', 'Pied Piper', 'Massive Dynamic', 'Oscorp', 'Aperture', 'Blue Sun', 'Gringotts', 'Nakatomi', 'Duff', 'Bluth', 'Dunder Mifflin', 'Sterling Cooper', 'Prestige', 'Monarch'];
export const COMPANY_B = ['Corp', 'Industries', 'Ltd', 'Systems', 'Holdings', 'Labs', 'Partners', 'Group', 'Logistics', 'Foods', 'Energy', 'Health'];
export const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Tim', 'Radia', 'Edsger', 'Anita', 'John', 'Sophie', 'Leslie', 'Hedy', 'Katherine', 'Niklaus', 'Guido', 'Yukihiro', 'Shafi', 'Donald', 'Fran', 'Marvin'];
export const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Berners-Lee', 'Perlman', 'Dijkstra', 'Borg', 'McCarthy', 'Wilson', 'Lamport', 'Lamarr', 'Johnson', 'Wirth', 'van Rossum', 'Matsumoto', 'Goldwasser', 'Knuth', 'Minsky', 'Kay'];
export const CITIES: readonly [street: string, city: string, state: string | null, postal: string, country: string, lat: number, lon: number][] = [
  ['Market St', 'San Francisco', 'CA', '94105', 'United States', 37.7897, -122.3972],
  ['Broadway', 'New York', 'NY', '10004', 'United States', 40.7069, -74.0113],
  ['Congress Ave', 'Austin', 'TX', '78701', 'United States', 30.2686, -97.7425],
  ['Michigan Ave', 'Chicago', 'IL', '60601', 'United States', 41.8858, -87.6243],
  ['Pike St', 'Seattle', 'WA', '98101', 'United States', 47.6101, -122.3421],
  ['King St W', 'Toronto', 'ON', 'M5H 1A1', 'Canada', 43.6487, -79.3817],
  ['Oxford St', 'London', null, 'W1D 1BS', 'United Kingdom', 51.5154, -0.1410],
  ['Rue de Rivoli', 'Paris', null, '75001', 'France', 48.8606, 2.3376],
  ['Friedrichstraße', 'Berlin', null, '10117', 'Germany', 52.5163, 13.3889],
  ['George St', 'Sydney', 'NSW', '2000', 'Australia', -33.8688, 151.2093],
];
export const TITLES = ['CEO', 'CTO', 'CFO', 'VP Sales', 'VP Operations', 'Director of IT', 'Procurement Manager', 'Office Manager', 'Senior Buyer', 'Engineering Manager', 'Analyst'];
export const DEPARTMENTS = ['Executive', 'Finance', 'IT', 'Operations', 'Procurement', 'Sales', 'Engineering'];
export const CASE_SUBJECTS = ['Cannot log in to the portal', 'Invoice shows the wrong amount', 'Shipment arrived damaged', 'Generator makes a grinding noise', 'Request for a product demo', 'Password reset link expired', 'Install stuck at 90%', 'Need a copy of our contract', 'API returns 500 on upload', 'Warranty question'];
export const POSTS = ['Great call with the buying committee today, next step is a pricing review.', 'Legal has the MSA, expecting redlines by Friday.', 'Customer asked for a reference in their industry. Any volunteers?', 'Procurement wants a 3-year term, checking with finance.', 'Escalated to tier 2, waiting on logs from the customer.', 'Demo went well, they loved the reporting dashboard.', 'Heads up: champion is leaving the company next month.', 'Renewal looks safe, usage up 30% this quarter.'];
export const COMMENTS = ['Thanks for the update!', 'I can help with that.', 'Let me loop in solutions engineering.', 'Sent them the case study.', 'Following.', 'Nice work!'];

/** Phone numbers in the 555 range reserved for fiction. */
export const phoneNumber = (r: Rand): string => `(${r.int(200, 989)}) 555-${String(r.int(100, 199)).padStart(4, '0')}`;
