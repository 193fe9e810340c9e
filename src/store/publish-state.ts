/**
 * Publisher state on either backend: the outbox (per-record state), dead letters, source cursors, and
 * access to application tables living in the same database. Kept apart from the mirror logic in
 * `core.ts`; it shares only the driver. Every column is text or integer (booleans as 0/1, JSON and instants
 * as text), so the same SQL runs on SQLite and Postgres and only table names and placeholders differ.
 */
import { Params, quote, type Conn, type Driver, type Row } from './driver.ts';
import type {
  DeadLetter,
  DeadLetterInput,
  DeadLetterStatus,
  JsonObject,
  JsonValue,
  OpOptions,
  OutboxRecord,
  OutboxState,
  OutboxUpdate,
  PublishErrorInfo,
  PublishState,
  SourceReadOptions,
  SourceWriteBack,
} from './types.ts';
import { chunk } from './values.ts';

export const OUTBOX_TABLE = '_sfbridge_outbox';
export const DEAD_LETTER_TABLE = '_sfbridge_dead_letters';
export const PUBLISH_CURSOR_TABLE = '_sfbridge_publish_cursors';

/** Rows per statement for batched writes (well under both backends' parameter limits). */
const WRITE_CHUNK = 500;
/** Default page of `readSource`. */
const SOURCE_PAGE = 1000;
const OUTBOX_STATES: readonly OutboxState[] = ['pending', 'sent', 'succeeded', 'failed'];
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function ident(name: string, what: string): string {
  if (typeof name !== 'string' || !IDENT.test(name)) throw new TypeError(`Invalid ${what} ${JSON.stringify(name)}: expected a plain SQL identifier [A-Za-z_][A-Za-z0-9_]* (at most 63 characters)`);
  return quote(name);
}

const now = (): string => new Date().toISOString();

function parseJson<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/** Plain JS values for an application row (pg returns some types as text already; Buffers/Dates normalised). */
function plainRow(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v;
  return out;
}

/** {@link PublishState} over a store driver. */
export class SqlPublishState implements PublishState {
  readonly #driver: Driver;

  private constructor(driver: Driver) {
    this.#driver = driver;
  }

  /** Creates the publisher tables if needed. */
  static async open(driver: Driver): Promise<SqlPublishState> {
    const d = driver.dialect;
    const ddl = [
      `CREATE TABLE IF NOT EXISTS ${d.table(OUTBOX_TABLE)} (pipeline text NOT NULL, key text NOT NULL, position integer NOT NULL, state text NOT NULL, payload text NOT NULL, sf_id text, created integer, attempts integer NOT NULL DEFAULT 0, error_code text, error_message text, error_fields text, updated_at text NOT NULL, PRIMARY KEY (pipeline, key))`,
      `CREATE INDEX IF NOT EXISTS ${quote(`${OUTBOX_TABLE}_state`)} ON ${d.table(OUTBOX_TABLE)} (pipeline, state, position)`,
      `CREATE TABLE IF NOT EXISTS ${d.table(DEAD_LETTER_TABLE)} (id ${d.serialPrimaryKey}, pipeline text NOT NULL, key text NOT NULL, object text NOT NULL, operation text NOT NULL, external_id_field text, payload text NOT NULL, error_code text NOT NULL, error_message text NOT NULL, error_fields text NOT NULL, attempts integer NOT NULL, status text NOT NULL, sf_id text, created_at text NOT NULL, updated_at text NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${quote(`${DEAD_LETTER_TABLE}_key`)} ON ${d.table(DEAD_LETTER_TABLE)} (pipeline, key, status)`,
      `CREATE TABLE IF NOT EXISTS ${d.table(PUBLISH_CURSOR_TABLE)} (pipeline text PRIMARY KEY, position text, updated_at text NOT NULL)`,
    ];
    await driver.transaction(async (conn) => {
      for (const sql of ddl) await conn.run(sql);
    });
    return new SqlPublishState(driver);
  }

  get #d() {
    return this.#driver.dialect;
  }

  async enqueue(pipeline: string, rows: readonly { key: string; payload: JsonObject }[], options?: OpOptions): Promise<{ key: string; position: number }[]> {
    if (rows.length === 0) return [];
    const d = this.#d;
    return this.#driver.transaction(async (conn) => {
      const [max] = await conn.all(`SELECT COALESCE(MAX(position), 0) AS m FROM ${d.table(OUTBOX_TABLE)} WHERE pipeline = ${d.placeholder(1)}`, [pipeline]);
      let position = Number(max.m);
      const added: { key: string; position: number }[] = [];
      const ts = now();
      for (const part of chunk(rows, WRITE_CHUNK)) {
        options?.signal?.throwIfAborted();
        const p = new Params(d);
        const values = part.map((r) => p.list([pipeline, String(r.key), ++position, 'pending', JSON.stringify(r.payload), 0, ts])).join(', ');
        const inserted = await conn.all(
          `INSERT INTO ${d.table(OUTBOX_TABLE)} (pipeline, key, position, state, payload, attempts, updated_at) VALUES ${values} ON CONFLICT (pipeline, key) DO NOTHING RETURNING key, position`,
          p.values,
        );
        for (const r of inserted) added.push({ key: String(r.key), position: Number(r.position) });
      }
      return added;
    });
  }

  async outbox(pipeline: string, options: { states?: readonly OutboxState[]; keys?: readonly string[]; afterPosition?: number; limit?: number } & OpOptions = {}): Promise<OutboxRecord[]> {
    const d = this.#d;
    return this.#driver.read(async (conn) => {
      const p = new Params(d);
      const where = [`pipeline = ${p.add(pipeline)}`];
      if (options.states?.length) where.push(`state IN ${p.list(options.states)}`);
      if (options.keys) {
        if (options.keys.length === 0) return [];
        where.push(`key IN ${p.list(options.keys)}`);
      }
      if (options.afterPosition !== undefined) where.push(`position > ${p.add(options.afterPosition)}`);
      const limit = options.limit !== undefined ? ` LIMIT ${Math.max(1, Math.floor(options.limit))}` : '';
      const rows = await conn.all(`SELECT * FROM ${d.table(OUTBOX_TABLE)} WHERE ${where.join(' AND ')} ORDER BY position${limit}`, p.values);
      return rows.map(toOutbox);
    });
  }

  async markSent(pipeline: string, keys: readonly string[], options?: OpOptions): Promise<void> {
    if (keys.length === 0) return;
    const d = this.#d;
    const ts = now();
    await this.#driver.transaction(async (conn) => {
      for (const part of chunk(keys, WRITE_CHUNK)) {
        options?.signal?.throwIfAborted();
        const p = new Params(d);
        await conn.run(`UPDATE ${d.table(OUTBOX_TABLE)} SET state = 'sent', updated_at = ${p.add(ts)} WHERE pipeline = ${p.add(pipeline)} AND key IN ${p.list(part)}`, p.values);
      }
    });
  }

  /**
   * One statement per batch: `UPDATE … FROM (VALUES …)`, which SQLite (3.33+) and Postgres both accept. Every
   * VALUES cell is text (Postgres types unknown parameters as text) and cast where the column is an integer;
   * a flag column per optional field keeps "not given" apart from "set to null".
   */
  async updateOutbox(pipeline: string, updates: readonly OutboxUpdate[], options?: OpOptions): Promise<void> {
    if (updates.length === 0) return;
    const ts = now();
    const batches = this.#batches(updates);
    await this.#driver.transaction((conn) => this.#updateOutboxIn(conn, pipeline, batches, ts, options));
  }

  async #updateOutboxIn(conn: Conn, pipeline: string, batches: OutboxUpdate[][], ts: string, options?: OpOptions): Promise<void> {
    const d = this.#d;
    const flag = (b: boolean) => (b ? '1' : '0');
    {
      for (const batch of batches) {
        options?.signal?.throwIfAborted();
        const p = new Params(d);
        // SQLite placeholders are positional: add parameters in the order they appear in the text.
        const tsP = p.add(ts);
        const values = batch
          .map((u) =>
            p.list([
              u.key,
              u.state,
              flag(u.sfId !== undefined), u.sfId ?? null,
              flag(u.created !== undefined), u.created == null ? null : u.created ? '1' : '0',
              flag(u.error !== undefined), u.error?.code ?? null, u.error?.message ?? null, u.error ? JSON.stringify(u.error.fields) : null,
              u.attempted ? '1' : '0',
              flag(u.payload !== undefined), u.payload === undefined ? null : JSON.stringify(u.payload),
            ]),
          )
          .join(', ');
        const pipeP = p.add(pipeline);
        await conn.run(
          `UPDATE ${d.table(OUTBOX_TABLE)} AS t SET state = v.column2, updated_at = ${tsP},
             sf_id = CASE WHEN v.column3 = '1' THEN v.column4 ELSE t.sf_id END,
             created = CASE WHEN v.column5 = '1' THEN CAST(v.column6 AS integer) ELSE t.created END,
             error_code = CASE WHEN v.column7 = '1' THEN v.column8 ELSE t.error_code END,
             error_message = CASE WHEN v.column7 = '1' THEN v.column9 ELSE t.error_message END,
             error_fields = CASE WHEN v.column7 = '1' THEN v.column10 ELSE t.error_fields END,
             attempts = t.attempts + CAST(v.column11 AS integer),
             payload = CASE WHEN v.column12 = '1' THEN v.column13 ELSE t.payload END
           FROM (VALUES ${values}) AS v WHERE t.pipeline = ${pipeP} AND t.key = v.column1`,
          p.values,
        );
      }
    }
  }

  /** Splits updates into statements where each key appears once (Postgres applies one of two matching rows). */
  #batches(updates: readonly OutboxUpdate[]): OutboxUpdate[][] {
    const batches: OutboxUpdate[][] = [];
    let cur: OutboxUpdate[] = [];
    let keys = new Set<string>();
    for (const u of updates) {
      if (keys.has(u.key) || cur.length >= WRITE_CHUNK) {
        batches.push(cur);
        cur = [];
        keys = new Set();
      }
      cur.push(u);
      keys.add(u.key);
    }
    if (cur.length) batches.push(cur);
    return batches;
  }

  async failRecords(pipeline: string, letters: readonly DeadLetterInput[], updates: readonly OutboxUpdate[], options?: OpOptions): Promise<number[]> {
    const ts = now();
    return this.#driver.transaction(async (conn) => {
      const ids = await this.#addDeadLettersIn(conn, letters, ts, options);
      await this.#updateOutboxIn(conn, pipeline, this.#batches(updates), ts, options);
      return ids;
    });
  }

  async outboxCounts(pipeline: string): Promise<Record<OutboxState, number>> {
    const d = this.#d;
    const rows = await this.#driver.read((conn) => conn.all(`SELECT state, COUNT(*) AS n FROM ${d.table(OUTBOX_TABLE)} WHERE pipeline = ${d.placeholder(1)} GROUP BY state`, [pipeline]));
    const out = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
    for (const r of rows) out[String(r.state) as OutboxState] = Number(r.n);
    return out;
  }

  async clearOutbox(pipeline: string, states?: readonly OutboxState[]): Promise<number> {
    const d = this.#d;
    return this.#driver.transaction(async (conn) => {
      const p = new Params(d);
      const where = [`pipeline = ${p.add(pipeline)}`];
      if (states?.length) where.push(`state IN ${p.list(states)}`);
      const rows = await conn.all(`DELETE FROM ${d.table(OUTBOX_TABLE)} WHERE ${where.join(' AND ')} RETURNING key`, p.values);
      return rows.length;
    });
  }

  async addDeadLetters(letters: readonly DeadLetterInput[], options?: OpOptions): Promise<number[]> {
    if (letters.length === 0) return [];
    const ts = now();
    return this.#driver.transaction((conn) => this.#addDeadLettersIn(conn, letters, ts, options));
  }

  async #addDeadLettersIn(conn: Conn, letters: readonly DeadLetterInput[], ts: string, options?: OpOptions): Promise<number[]> {
    const d = this.#d;
    {
      const ids: number[] = [];
      for (const l of letters) {
        options?.signal?.throwIfAborted();
        const del = new Params(d);
        await conn.run(`DELETE FROM ${d.table(DEAD_LETTER_TABLE)} WHERE pipeline = ${del.add(l.pipeline)} AND key = ${del.add(l.key)} AND status = 'open'`, del.values);
        const p = new Params(d);
        const values = p.list([l.pipeline, l.key, l.object, l.operation, l.externalIdField, JSON.stringify(l.payload), l.error.code, l.error.message, JSON.stringify(l.error.fields ?? []), l.attempts, 'open', ts, ts]);
        const [row] = await conn.all(
          `INSERT INTO ${d.table(DEAD_LETTER_TABLE)} (pipeline, key, object, operation, external_id_field, payload, error_code, error_message, error_fields, attempts, status, created_at, updated_at) VALUES ${values} RETURNING id`,
          p.values,
        );
        ids.push(Number(row.id));
      }
      return ids;
    }
  }

  async listDeadLetters(options: { pipeline?: string; status?: DeadLetterStatus | 'all'; limit?: number } = {}): Promise<DeadLetter[]> {
    const d = this.#d;
    const p = new Params(d);
    const where: string[] = [];
    const status = options.status ?? 'open';
    if (status !== 'all') where.push(`status = ${p.add(status)}`);
    if (options.pipeline) where.push(`pipeline = ${p.add(options.pipeline)}`);
    const limit = Math.max(1, Math.min(100_000, Math.floor(options.limit ?? 1000)));
    const rows = await this.#driver.read((conn) => conn.all(`SELECT * FROM ${d.table(DEAD_LETTER_TABLE)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${limit}`, p.values));
    return rows.map(toDeadLetter);
  }

  async getDeadLetter(id: number): Promise<DeadLetter | undefined> {
    const d = this.#d;
    const [row] = await this.#driver.read((conn) => conn.all(`SELECT * FROM ${d.table(DEAD_LETTER_TABLE)} WHERE id = ${d.placeholder(1)}`, [id]));
    return row ? toDeadLetter(row) : undefined;
  }

  async updateDeadLetter(id: number, changes: { status?: DeadLetterStatus; payload?: JsonObject; error?: PublishErrorInfo; sfId?: string | null; attempts?: number }): Promise<void> {
    const d = this.#d;
    const p = new Params(d);
    const sets = [`updated_at = ${p.add(now())}`];
    if (changes.status) sets.push(`status = ${p.add(changes.status)}`);
    if (changes.payload) sets.push(`payload = ${p.add(JSON.stringify(changes.payload))}`);
    if (changes.error) sets.push(`error_code = ${p.add(changes.error.code)}`, `error_message = ${p.add(changes.error.message)}`, `error_fields = ${p.add(JSON.stringify(changes.error.fields))}`);
    if (changes.sfId !== undefined) sets.push(`sf_id = ${p.add(changes.sfId)}`);
    if (changes.attempts !== undefined) sets.push(`attempts = ${p.add(changes.attempts)}`);
    await this.#driver.transaction((conn) => conn.run(`UPDATE ${d.table(DEAD_LETTER_TABLE)} SET ${sets.join(', ')} WHERE id = ${p.add(id)}`, p.values));
  }

  async getCursor(pipeline: string): Promise<{ cursor: JsonValue; key: JsonValue } | undefined> {
    const d = this.#d;
    const [row] = await this.#driver.read((conn) => conn.all(`SELECT position FROM ${d.table(PUBLISH_CURSOR_TABLE)} WHERE pipeline = ${d.placeholder(1)}`, [pipeline]));
    return row?.position == null ? undefined : parseJson(row.position, undefined);
  }

  async setCursor(pipeline: string, position: { cursor: JsonValue; key: JsonValue } | null): Promise<void> {
    const d = this.#d;
    const p = new Params(d);
    const values = p.list([pipeline, position === null ? null : JSON.stringify(position), now()]);
    await this.#driver.transaction((conn) =>
      conn.run(`INSERT INTO ${d.table(PUBLISH_CURSOR_TABLE)} (pipeline, position, updated_at) VALUES ${values} ON CONFLICT (pipeline) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`, p.values),
    );
  }

  async readSource(table: string, options: SourceReadOptions): Promise<Record<string, unknown>[]> {
    const d = this.#d;
    const t = d.table(ident(table, 'source table').slice(1, -1));
    const key = ident(options.keyColumn, 'key column');
    const p = new Params(d);
    const where: string[] = [];
    let order = key;
    if (options.cursorColumn) {
      const cur = ident(options.cursorColumn, 'cursor column');
      order = `${cur}, ${key}`;
      if (options.after) {
        const c = p.add(options.after.cursor);
        const c2 = p.add(options.after.cursor);
        where.push(`(${cur} > ${c} OR (${cur} = ${c2} AND ${key} > ${p.add(options.after.key)}))`);
      }
      // Rows without a cursor value cannot be ordered against it; they are skipped until the app sets one.
      where.push(`${cur} IS NOT NULL`);
    } else if (options.after) {
      where.push(`${key} > ${p.add(options.after.key)}`);
    }
    if (options.unprocessedColumn) where.push(`${ident(options.unprocessedColumn, 'processed column')} IS NULL`);
    const limit = Math.max(1, Math.floor(options.limit ?? SOURCE_PAGE));
    options.signal?.throwIfAborted();
    const rows = await this.#driver.read((conn) => conn.all(`SELECT * FROM ${t}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${limit}`, p.values));
    return rows.map(plainRow);
  }

  async writeBack(table: string, keyColumn: string, updates: readonly SourceWriteBack[], options?: OpOptions): Promise<number> {
    if (updates.length === 0) return 0;
    const d = this.#d;
    const t = d.table(ident(table, 'source table').slice(1, -1));
    const key = ident(keyColumn, 'key column');
    return this.#driver.transaction(async (conn: Conn) => {
      let n = 0;
      for (const u of updates) {
        options?.signal?.throwIfAborted();
        const cols = Object.keys(u.values);
        if (cols.length === 0) continue;
        const p = new Params(d);
        const sets = cols.map((c) => `${ident(c, 'write-back column')} = ${p.add(u.values[c])}`);
        const rows = await conn.all(`UPDATE ${t} SET ${sets.join(', ')} WHERE ${key} = ${p.add(u.key)} RETURNING 1 AS one`, p.values);
        n += rows.length;
      }
      return n;
    });
  }
}

function errorOf(r: Row): PublishErrorInfo | null {
  if (r.error_code == null) return null;
  return { code: String(r.error_code), message: String(r.error_message ?? ''), fields: parseJson<string[]>(r.error_fields, []) };
}

function toOutbox(r: Row): OutboxRecord {
  return {
    pipeline: String(r.pipeline),
    key: String(r.key),
    position: Number(r.position),
    state: String(r.state) as OutboxState,
    payload: parseJson<JsonObject>(r.payload, {}),
    sfId: r.sf_id == null ? null : String(r.sf_id),
    created: r.created == null ? null : Number(r.created) !== 0,
    attempts: Number(r.attempts),
    error: errorOf(r),
    updatedAt: String(r.updated_at),
  };
}

function toDeadLetter(r: Row): DeadLetter {
  return {
    id: Number(r.id),
    pipeline: String(r.pipeline),
    key: String(r.key),
    object: String(r.object),
    operation: String(r.operation),
    externalIdField: r.external_id_field == null ? null : String(r.external_id_field),
    payload: parseJson<JsonObject>(r.payload, {}),
    error: errorOf(r) ?? { code: 'UNKNOWN', message: '', fields: [] },
    attempts: Number(r.attempts),
    status: String(r.status) as DeadLetterStatus,
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    sfId: r.sf_id == null ? null : String(r.sf_id),
  };
}
