/**
 * REST query paging. A query locator stores the compiled plan (SQL + parameters), the total computed once,
 * and where the next page starts (a rowid for keyset paging, else the row position) — never result rows,
 * so memory stays flat however many cursors are open. Locators expire after 15 minutes without use on
 * the org clock, and each org keeps a bounded number of them (oldest evicted first).
 */
import { SfError } from '../errors.ts';
import { makeId } from '../ids.ts';
import type { Org } from '../org.ts';
import { compile, type Plan } from './compiler.ts';
import { countPlan, fetchPage, type ApiRecord } from './exec.ts';

/** Default and maximum REST page size. */
export const DEFAULT_BATCH_SIZE = 2000;
/** Smallest page a client may ask for with `Sforce-Query-Options: batchSize=N`. */
export const MIN_BATCH_SIZE = 200;
/** Inactivity after which a locator is invalid. */
export const LOCATOR_IDLE_MS = 15 * 60_000;
/** Open cursors kept per org; opening one more evicts the least recently used. */
export const MAX_OPEN_CURSORS = 100;

/** The body of a query / queryAll / query-more response. */
export interface QueryResult {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: ApiRecord[];
}

interface Cursor {
  plan: Plan;
  total: number;
  position: number;
  afterKey: number | null;
  lastUsed: number;
}

const invalidLocator = () => new SfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');

/** The open query locators of one org. */
export class CursorStore {
  readonly #org: Org;
  // Map iteration order is insertion order; touching a cursor re-inserts it, so the first entry is the LRU.
  readonly #cursors = new Map<string, Cursor>();
  #seq = 0;

  constructor(org: Org) {
    this.#org = org;
  }

  get size(): number {
    return this.#cursors.size;
  }

  open(c: Omit<Cursor, 'lastUsed'>): string {
    const now = this.#org.clock.now();
    for (const [id, cur] of this.#cursors) if (now - cur.lastUsed > LOCATOR_IDLE_MS) this.#cursors.delete(id);
    while (this.#cursors.size >= MAX_OPEN_CURSORS) this.#cursors.delete(this.#cursors.keys().next().value!);
    const id = makeId('01g', ++this.#seq, 'Hs0');
    this.#cursors.set(id, { ...c, lastUsed: now });
    return id;
  }

  /** The live cursor for an id, or INVALID_QUERY_LOCATOR when unknown, evicted or idle too long. */
  take(id: string): Cursor {
    const c = this.#cursors.get(id);
    const now = this.#org.clock.now();
    if (!c) throw invalidLocator();
    if (now - c.lastUsed > LOCATOR_IDLE_MS) {
      this.#cursors.delete(id);
      throw invalidLocator();
    }
    this.#cursors.delete(id);
    c.lastUsed = now;
    this.#cursors.set(id, c);
    return c;
  }

  close(id: string): void {
    this.#cursors.delete(id);
  }
}

const stores = new WeakMap<Org, CursorStore>();

/** The org's cursor store (created on first use). */
export function cursorsFor(org: Org): CursorStore {
  let s = stores.get(org);
  if (!s) stores.set(org, (s = new CursorStore(org)));
  return s;
}

export interface PageOptions {
  /** Requested page size; clamped to 200..2000. */
  batchSize?: number;
  /** API version of the request, used in record and locator URLs. */
  version: string;
}

function clampBatch(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n)) return DEFAULT_BATCH_SIZE;
  return Math.min(DEFAULT_BATCH_SIZE, Math.max(MIN_BATCH_SIZE, Math.trunc(n)));
}

function page(org: Org, id: string | null, cur: Omit<Cursor, 'lastUsed'>, opts: PageOptions): QueryResult {
  const batch = clampBatch(opts.batchSize);
  const max = Math.min(batch, cur.total - cur.position);
  const p = max > 0 ? fetchPage(org, cur.plan, { position: cur.position, afterKey: cur.afterKey }, max, opts.version, batch) : { records: [], consumed: 0, lastKey: null };
  const position = cur.position + p.consumed;
  const done = position >= cur.total || p.consumed === 0;
  const store = cursorsFor(org);
  if (done) {
    if (id) store.close(id);
    return { totalSize: cur.total, done: true, records: p.records };
  }
  const next = { plan: cur.plan, total: cur.total, position, afterKey: p.lastKey };
  let locator = id;
  if (locator) Object.assign(store.take(locator), next);
  else locator = store.open(next);
  return { totalSize: cur.total, done: false, nextRecordsUrl: `/services/data/v${opts.version}/query/${locator}-${position}`, records: p.records };
}

/** Runs a query (REST `query` / `queryAll`) and returns its first page. */
export function runQuery(org: Org, soql: string, opts: PageOptions & { queryAll?: boolean }): QueryResult {
  const plan = compile(org, soql, { queryAll: opts.queryAll });
  const total = countPlan(org, plan);
  if (plan.countOnly) return { totalSize: total, done: true, records: [] };
  if (plan.aggregate) {
    // Aggregate results cannot be continued with a locator: every group comes back at once.
    const p = total > 0 ? fetchPage(org, plan, { position: 0, afterKey: null }, total, opts.version) : { records: [] };
    return { totalSize: total, done: true, records: p.records };
  }
  return page(org, null, { plan, total, position: 0, afterKey: null }, opts);
}

/**
 * Next page for `{locator}-{offset}`. The offset normally equals the cursor position; any other offset
 * (a client retrying a page, or skipping ahead) is served by row position instead of keyset.
 */
export function queryMore(org: Org, locatorPath: string, opts: PageOptions): QueryResult {
  const m = /^([A-Za-z0-9]{15,18})-(\d+)$/.exec(locatorPath);
  if (!m) throw invalidLocator();
  const cur = cursorsFor(org).take(m[1]);
  const offset = Number(m[2]);
  if (offset > cur.total) throw invalidLocator();
  const at = offset === cur.position ? cur : { ...cur, position: offset, afterKey: null };
  return page(org, m[1], at, opts);
}
