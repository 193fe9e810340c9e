/**
 * One API budget per org across the fleet: the governor's view of each org kept in Postgres
 * (`_sfbridge_org_budget` of the service store), so every worker's runs stop at the ceiling one process
 * would stop at.
 *
 * The row holds the fleet's count of the org's calls: every admitted call adds one before it is made (an
 * atomic `UPDATE … WHERE used + 1 <= ceiling`, so two workers cannot both take the last call), and every
 * `Sforce-Limit-Info` reading raises it to at least what Salesforce reported (other integrations' calls).
 * The count never undercounts this fleet's own calls; it can lag another integration's by the calls in
 * flight when their reading arrives.
 */
import pg from 'pg';
import type { SharedBudget, UsageReading } from '../../client/governor.ts';
import { parseStoreUrl } from '../../store/index.ts';

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

export class PostgresBudgets {
  readonly #pool: pg.Pool;
  readonly #table: string;
  #ready: Promise<void> | undefined;

  constructor(storeUrl: string) {
    const target = parseStoreUrl(storeUrl);
    if (target.kind !== 'postgres') throw new TypeError('a shared API budget needs a postgres:// store');
    this.#pool = new pg.Pool({ connectionString: target.connectionString, max: 1 });
    this.#pool.on('error', () => undefined);
    this.#table = `${quote(target.schema ?? 'public')}."_sfbridge_org_budget"`;
  }

  #open(): Promise<void> {
    this.#ready ??= this.#pool
      .query(`CREATE TABLE IF NOT EXISTS ${this.#table} (org text PRIMARY KEY, used bigint NOT NULL, max bigint NOT NULL, read_at timestamptz NOT NULL DEFAULT now())`)
      .then(() => undefined)
      .catch((err: unknown) => {
        this.#ready = undefined;
        // Another process created it at the same moment.
        if ((err as { code?: string }).code !== '23505') throw err;
      });
    return this.#ready;
  }

  /** The shared budget of one org (by org id). */
  forOrg(org: string): SharedBudget {
    return {
      take: async (ceiling: number) => {
        await this.#open();
        const took = await this.#pool.query<{ used: string; max: string }>(`UPDATE ${this.#table} SET used = used + 1 WHERE org = $1 AND max > 0 AND used + 1 <= floor($2::float8 * max) RETURNING used, max`, [org, ceiling]);
        if (took.rows[0]) return { known: true, ok: true, used: Number(took.rows[0].used), max: Number(took.rows[0].max) };
        const now = await this.#pool.query<{ used: string; max: string }>(`SELECT used, max FROM ${this.#table} WHERE org = $1`, [org]);
        const row = now.rows[0];
        if (!row || Number(row.max) === 0) return { known: false, ok: true, used: 0, max: 0 };
        return { known: true, ok: false, used: Number(row.used), max: Number(row.max) };
      },
      observe: async (r: UsageReading) => {
        await this.#open();
        await this.#pool.query(`INSERT INTO ${this.#table} (org, used, max) VALUES ($1, $2, $3) ON CONFLICT (org) DO UPDATE SET used = GREATEST(${this.#table}.used, EXCLUDED.used), max = EXCLUDED.max, read_at = now()`, [org, r.used, r.max]);
      },
    };
  }

  /** The fleet's count per org (the dashboard's one gauge per org). */
  async list(): Promise<Array<{ org: string; used: number; max: number; readAt: string }>> {
    await this.#open();
    const { rows } = await this.#pool.query(`SELECT org, used, max, read_at FROM ${this.#table} ORDER BY org`);
    return rows.map((r) => ({ org: r.org, used: Number(r.used), max: Number(r.max), readAt: (r.read_at as Date).toISOString() }));
  }

  close(): Promise<void> {
    return this.#pool.end().catch(() => undefined);
  }
}
