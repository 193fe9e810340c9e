/**
 * SOQL for the emulator: the contract other modules (REST query, Bulk API 2.0) code against, plus the
 * query-locator cursors REST paging uses.
 */
import type { Org } from '../org.ts';
import { compile, type Plan } from './compiler.ts';
import { countPlan, fetchPage, type ApiRecord } from './exec.ts';

export { compile, type Plan } from './compiler.ts';
export { CursorStore, cursorsFor, DEFAULT_BATCH_SIZE, LOCATOR_IDLE_MS, MAX_OPEN_CURSORS, runQuery, queryMore, type QueryResult } from './cursors.ts';

/** A compiled query ready to count and stream. Holds the SQL and parameters, never the result rows. */
export interface PreparedQuery {
  /** Canonical sObject name. */
  readonly object: string;
  readonly isAggregate: boolean;
  /** Flat select-list column names for CSV, e.g. `['Id','Name','Account.Name']`. */
  readonly columns: string[];
  /** Total rows the query returns (respecting LIMIT and OFFSET). */
  count(): number;
  /** API-shaped records (attributes, nested parents), lazily, in order. */
  rows(): IterableIterator<Record<string, unknown>>;
}

/** Rows fetched per statement while streaming `rows()`: bounded memory whatever the result size. */
const STREAM_CHUNK = 2000;

/**
 * Compiles a SOQL statement for the org. Throws SfError (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE …)
 * exactly as the REST query resource reports them. `queryAll` includes recycle-bin rows.
 */
export function prepareQuery(org: Org, soql: string, opts: { queryAll?: boolean } = {}): PreparedQuery {
  const plan = compile(org, soql, opts);
  return new Prepared(org, plan);
}

class Prepared implements PreparedQuery {
  readonly #org: Org;
  readonly #plan: Plan;
  #count: number | undefined;
  constructor(org: Org, plan: Plan) {
    this.#org = org;
    this.#plan = plan;
  }
  get object(): string {
    return this.#plan.def.name;
  }
  get isAggregate(): boolean {
    return this.#plan.aggregate;
  }
  get columns(): string[] {
    return this.#plan.columns;
  }
  count(): number {
    this.#count ??= countPlan(this.#org, this.#plan);
    return this.#count;
  }
  *rows(): IterableIterator<ApiRecord> {
    if (this.#plan.countOnly) return;
    const total = this.count();
    let position = 0;
    let afterKey: number | null = null;
    while (position < total) {
      // Each chunk is its own statement run, so callers may interleave other queries between yields.
      const page = fetchPage(this.#org, this.#plan, { position, afterKey }, Math.min(STREAM_CHUNK, total - position), this.#org.apiVersion);
      if (page.consumed === 0) return;
      yield* page.records;
      position += page.consumed;
      afterKey = page.lastKey;
    }
  }
}
