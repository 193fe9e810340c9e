/**
 * Two-way sync storage: writable mirror tables. Triggers on a writable table record every insert, update
 * and delete an application makes into the change log (`_sfbridge_app_changes`), which the engine drains to
 * Salesforce. The store's own writes (sync, change events, Id write-back) run with a guard on, so they are
 * never captured and never travel back:
 *
 * - Postgres: `set_config('sfbridge.applying', 'on', true)` in the writing transaction (`SET LOCAL`); the
 *   trigger function returns at once when it reads `on`.
 * - SQLite: a row in `_sfbridge_applying`, inserted and deleted inside the writing transaction, so no other
 *   connection ever sees it; the triggers' `WHEN NOT EXISTS (…)` skips while it is there.
 *
 * Conflicts found while draining are kept in `_sfbridge_conflicts` with both versions. Every column is text
 * or integer (JSON and instants as ISO text), as in `publish-state.ts`.
 */
import { createHash } from 'node:crypto';
import { Params, quote, type Conn, type Driver, type Row } from './driver.ts';
import type {
  CaptureSettlement,
  CaptureState,
  CapturedChange,
  ConflictInput,
  ConflictRecord,
  JsonObject,
  SfRecord,
  WriteCapture,
} from './types.ts';
import { chunk } from './values.ts';

export const CHANGES_TABLE = '_sfbridge_app_changes';
export const CAPTURE_TABLE = '_sfbridge_capture';
export const CONFLICTS_TABLE = '_sfbridge_conflicts';
export const APPLYING_TABLE = '_sfbridge_applying';
/** The Postgres setting the store's own writes turn on (per transaction). */
export const APPLYING_SETTING = 'sfbridge.applying';

const STATES: readonly CaptureState[] = ['pending', 'succeeded', 'failed', 'superseded', 'skipped'];

/** Tables every store has (created at open, so a mirror table's metadata can say whether it is writable). */
export function captureDdl(driver: Driver): string[] {
  const d = driver.dialect;
  return [
    `CREATE TABLE IF NOT EXISTS ${d.table(CAPTURE_TABLE)} (object_key text PRIMARY KEY, object text NOT NULL, signature text NOT NULL, enabled_at text NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${d.table(CHANGES_TABLE)} (seq ${d.serialPrimaryKey}, object text NOT NULL, record_id text NOT NULL, op text NOT NULL, fields text NOT NULL, base_stamp text, captured_at text NOT NULL, state text NOT NULL DEFAULT 'pending', sf_id text, sent text, error text, settled_at text)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${CHANGES_TABLE}_pending`)} ON ${d.table(CHANGES_TABLE)} (object, state, seq)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${CHANGES_TABLE}_record`)} ON ${d.table(CHANGES_TABLE)} (object, record_id, state)`,
    `CREATE TABLE IF NOT EXISTS ${d.table(CONFLICTS_TABLE)} (id ${d.serialPrimaryKey}, object text NOT NULL, record_id text NOT NULL, policy text NOT NULL, winner text NOT NULL, fields text NOT NULL, local text, remote text, local_modified text, remote_modified text, detected_at text NOT NULL)`,
    ...(d.name === 'sqlite' ? [`CREATE TABLE IF NOT EXISTS ${quote(APPLYING_TABLE)} (one INTEGER PRIMARY KEY)`] : []),
  ];
}

/** Turns the capture guard on for the rest of the transaction (Postgres) or until {@link guardOff} (SQLite). */
export async function guardOn(conn: Conn, driver: Driver): Promise<void> {
  if (driver.dialect.name === 'postgres') await conn.all(`SELECT set_config('${APPLYING_SETTING}', 'on', true) AS v`);
  else await conn.run(`INSERT OR IGNORE INTO ${quote(APPLYING_TABLE)} (one) VALUES (1)`);
}

/** Turns the SQLite guard off again (the row never outlives the transaction either way). */
export async function guardOff(conn: Conn, driver: Driver): Promise<void> {
  if (driver.dialect.name === 'sqlite') await conn.run(`DELETE FROM ${quote(APPLYING_TABLE)}`);
}

/** Pending application changes of some Ids: the fields each touched (lower-case) and whether one deleted the row. */
export async function heldFields(conn: Conn, driver: Driver, object: string, ids: readonly string[]): Promise<Map<string, { fields: Set<string>; deleted: boolean }>> {
  const d = driver.dialect;
  const out = new Map<string, { fields: Set<string>; deleted: boolean }>();
  // One cheap probe first: with nothing pending for the object (most pages), the per-Id lookup is skipped.
  const probe = new Params(d);
  if ((await conn.all(`SELECT 1 AS one FROM ${d.table(CHANGES_TABLE)} WHERE object = ${probe.add(object)} AND state = 'pending' LIMIT 1`, probe.values)).length === 0) return out;
  for (const part of chunk([...new Set(ids)], 500)) {
    const p = new Params(d);
    const rows = await conn.all(`SELECT record_id, op, fields FROM ${d.table(CHANGES_TABLE)} WHERE object = ${p.add(object)} AND state = 'pending' AND record_id IN ${p.list(part)}`, p.values);
    for (const r of rows) {
      const id = String(r.record_id);
      const e = out.get(id) ?? { fields: new Set<string>(), deleted: false };
      for (const f of String(r.fields).split(',')) if (f) e.fields.add(f.toLowerCase());
      if (r.op === 'delete') e.deleted = true;
      out.set(id, e);
    }
  }
  return out;
}

const isoNowPg = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

function pgFunction(driver: Driver): string {
  const d = driver.dialect;
  const fn = d.table('_sfbridge_capture_row');
  const log = d.table(CHANGES_TABLE);
  // TG_ARGV: object name, guard column. Bookkeeping columns start with `_`, which no Salesforce name can.
  return `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  changed text;
  base text;
BEGIN
  IF coalesce(current_setting('${APPLYING_SETTING}', true), '') = 'on' THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT string_agg(n.key, ',') INTO changed FROM jsonb_each(to_jsonb(NEW)) n WHERE left(n.key, 1) <> '_' AND n.value <> 'null'::jsonb;
    INSERT INTO ${log} (object, record_id, op, fields, base_stamp, captured_at) VALUES (TG_ARGV[0], NEW."Id", 'insert', coalesce(changed, ''), NULL, ${isoNowPg});
    RETURN NULL;
  END IF;
  base := to_char(((to_jsonb(OLD) ->> TG_ARGV[1])::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  IF TG_OP = 'DELETE' THEN
    INSERT INTO ${log} (object, record_id, op, fields, base_stamp, captured_at) VALUES (TG_ARGV[0], OLD."Id", 'delete', '', base, ${isoNowPg});
    RETURN NULL;
  END IF;
  SELECT string_agg(n.key, ',') INTO changed FROM jsonb_each(to_jsonb(NEW)) n WHERE left(n.key, 1) <> '_' AND n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key);
  IF changed IS NULL THEN RETURN NULL; END IF;
  INSERT INTO ${log} (object, record_id, op, fields, base_stamp, captured_at) VALUES (TG_ARGV[0], NEW."Id", 'update', changed, base, ${isoNowPg});
  RETURN NULL;
END
$fn$`;
}

function triggerName(kind: string, object: string): string {
  return `_sfbridge_cap_${kind}_${createHash('sha256').update(object).digest('hex').slice(0, 16)}`;
}

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

function sqliteTriggers(object: string, columns: readonly string[], guard: string): string[] {
  const t = quote(object);
  const log = quote(CHANGES_TABLE);
  const when = `NOT EXISTS (SELECT 1 FROM ${quote(APPLYING_TABLE)})`;
  const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
  // A balanced tree of `||`: a flat chain over hundreds of columns would pass SQLite's expression depth limit.
  const concat = (parts: readonly string[]): string => (parts.length === 1 ? parts[0] : `(${concat(parts.slice(0, parts.length >> 1))} || ${concat(parts.slice(parts.length >> 1))})`);
  const list = (test: (c: string) => string) => `rtrim(${concat(columns.map((c) => `(CASE WHEN ${test(quote(c))} THEN ${lit(`${c},`)} ELSE '' END)`))}, ',')`;
  const cols = '(object, record_id, op, fields, base_stamp, captured_at)';
  return [
    `CREATE TRIGGER ${quote(triggerName('ins', object))} AFTER INSERT ON ${t} WHEN ${when} BEGIN INSERT INTO ${log} ${cols} VALUES (${lit(object)}, NEW."Id", 'insert', ${list((c) => `NEW.${c} IS NOT NULL`)}, NULL, ${now}); END`,
    `CREATE TRIGGER ${quote(triggerName('upd', object))} AFTER UPDATE ON ${t} WHEN ${when} BEGIN INSERT INTO ${log} ${cols} SELECT ${lit(object)}, NEW."Id", 'update', f, OLD.${quote(guard)}, ${now} FROM (SELECT ${list((c) => `OLD.${c} IS NOT NEW.${c}`)} AS f) WHERE f <> ''; END`,
    `CREATE TRIGGER ${quote(triggerName('del', object))} AFTER DELETE ON ${t} WHEN ${when} BEGIN INSERT INTO ${log} ${cols} VALUES (${lit(object)}, OLD."Id", 'delete', '', OLD.${quote(guard)}, ${now}); END`,
  ];
}

/**
 * (Re)creates the capture of a mirror table inside `conn`'s transaction: on Postgres the shared trigger
 * function, the table's trigger and the placeholder default of `Id`; on SQLite the three triggers with the
 * table's current columns. Skipped when the recorded signature (guard and columns) is the same, unless
 * `force`. Returns whether anything was (re)made.
 */
export async function installCapture(conn: Conn, driver: Driver, info: { object: string; columns: readonly string[]; guard: string }, force: boolean): Promise<boolean> {
  const d = driver.dialect;
  const signature = createHash('sha256').update(`v1\u0000${info.guard}\u0000${info.columns.join(',')}`).digest('hex').slice(0, 32);
  const key = info.object.toLowerCase();
  const p = new Params(d);
  const [row] = await conn.all(`SELECT signature FROM ${d.table(CAPTURE_TABLE)} WHERE object_key = ${p.add(key)}`, p.values);
  if (!force && row && String(row.signature) === signature) return false;
  if (d.name === 'postgres') {
    // Concurrent CREATE OR REPLACE FUNCTION calls on one schema would race: one at a time.
    const lockKey = createHash('sha256').update(`sfbridge:capture:${d.table('')}`).digest().readInt32BE(0);
    await conn.all(`SELECT pg_advisory_xact_lock(${lockKey}) AS l`);
    await conn.run(pgFunction(driver));
    const name = quote(triggerName('row', info.object));
    await conn.run(`CREATE OR REPLACE TRIGGER ${name} AFTER INSERT OR UPDATE OR DELETE ON ${d.table(info.object)} FOR EACH ROW EXECUTE FUNCTION ${d.table('_sfbridge_capture_row')}(${lit(info.object)}, ${lit(info.guard)})`);
    // An application insert may leave Id out: it gets a placeholder until Salesforce's Id replaces it.
    await conn.run(`ALTER TABLE ${d.table(info.object)} ALTER COLUMN ${quote('Id')} SET DEFAULT ('new-' || substr(md5(random()::text || clock_timestamp()::text), 1, 14))`);
  } else {
    await dropSqliteCapture(conn, info.object);
    for (const sql of sqliteTriggers(info.object, info.columns, info.guard)) await conn.run(sql);
  }
  const q = new Params(d);
  await conn.run(
    `INSERT INTO ${d.table(CAPTURE_TABLE)} (object_key, object, signature, enabled_at) VALUES (${q.add(key)}, ${q.add(info.object)}, ${q.add(signature)}, ${q.add(nowIso())}) ON CONFLICT (object_key) DO UPDATE SET signature = excluded.signature, enabled_at = excluded.enabled_at`,
    q.values,
  );
  return true;
}

/** Drops a SQLite table's capture triggers (they name its columns, so a column cannot be dropped under them). */
export async function dropSqliteCapture(conn: Conn, object: string): Promise<void> {
  for (const kind of ['ins', 'upd', 'del']) await conn.run(`DROP TRIGGER IF EXISTS ${quote(triggerName(kind, object))}`);
}

/** What the capture needs to know about a mirror table, and how to write to it with the guard on. */
export interface CaptureHost {
  readonly driver: Driver;
  /** Columns (Salesforce names) and guard column of a mirror table, read fresh; undefined if it has none. */
  tableInfo(conn: Conn, object: string): Promise<{ object: string; columns: string[]; guard: string } | undefined>;
  /** Forgets cached metadata of an object (its writable flag changed). */
  invalidate(object: string): void;
  /** Rows of a mirror table by Id, in REST JSON form (as `getRecord` returns them). */
  readRows(conn: Conn, object: string, ids: readonly string[]): Promise<Map<string, SfRecord>>;
  /** Writes Salesforce's version of a record (or its deletion) into the mirror inside `conn`'s transaction. */
  applyRemote(conn: Conn, object: string, record: SfRecord | null, id: string, deletedAt: string): Promise<void>;
}

const nowIso = (): string => new Date().toISOString();

function parseJson(v: unknown): JsonObject | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as JsonObject;
}

function changeOf(r: Row): CapturedChange {
  return {
    seq: Number(r.seq),
    object: String(r.object),
    recordId: String(r.record_id),
    op: String(r.op) as CapturedChange['op'],
    fields: String(r.fields).split(',').filter(Boolean),
    baseStamp: r.base_stamp == null ? null : String(r.base_stamp),
    capturedAt: String(r.captured_at),
    state: String(r.state) as CaptureState,
    sfId: r.sf_id == null ? null : String(r.sf_id),
    sent: parseJson(r.sent),
    error: r.error == null ? null : String(r.error),
  };
}

function conflictOf(r: Row): ConflictRecord {
  return {
    id: Number(r.id),
    object: String(r.object),
    recordId: String(r.record_id),
    policy: String(r.policy) as ConflictRecord['policy'],
    winner: String(r.winner) as ConflictRecord['winner'],
    fields: String(r.fields).split(',').filter(Boolean),
    local: parseJson(r.local),
    remote: parseJson(r.remote),
    localModified: r.local_modified == null ? null : String(r.local_modified),
    remoteModified: r.remote_modified == null ? null : String(r.remote_modified),
    detectedAt: String(r.detected_at),
  };
}

/** {@link WriteCapture} over a store's driver. */
export class SqlWriteCapture implements WriteCapture {
  readonly #host: CaptureHost;

  constructor(host: CaptureHost) {
    this.#host = host;
  }

  get #driver() {
    return this.#host.driver;
  }

  get #d() {
    return this.#host.driver.dialect;
  }

  async enable(object: string): Promise<{ changed: boolean }> {
    const changed = await this.#driver.transaction(async (conn) => {
      const info = await this.#host.tableInfo(conn, object);
      if (!info) throw new Error(`No mirror table for ${JSON.stringify(object)}: sync it once before making it writable`);
      return installCapture(conn, this.#driver, info, false);
    });
    this.#host.invalidate(object);
    return { changed };
  }

  async disable(object: string): Promise<void> {
    const d = this.#d;
    await this.#driver.transaction(async (conn) => {
      const info = await this.#host.tableInfo(conn, object);
      const name = info?.object ?? object;
      if (d.name === 'postgres') {
        if (info) {
          await conn.run(`DROP TRIGGER IF EXISTS ${quote(triggerName('row', name))} ON ${d.table(name)}`);
          await conn.run(`ALTER TABLE ${d.table(name)} ALTER COLUMN ${quote('Id')} DROP DEFAULT`);
        }
      } else await dropSqliteCapture(conn, name);
      const p = new Params(d);
      await conn.run(`DELETE FROM ${d.table(CAPTURE_TABLE)} WHERE object_key = ${p.add(name.toLowerCase())}`, p.values);
    });
    this.#host.invalidate(object);
  }

  async writableObjects(): Promise<string[]> {
    const rows = await this.#driver.read((conn) => conn.all(`SELECT object FROM ${this.#d.table(CAPTURE_TABLE)} ORDER BY object`));
    return rows.map((r) => String(r.object));
  }

  async pending(object: string, options: { limit?: number } = {}): Promise<CapturedChange[]> {
    const d = this.#d;
    const n = Math.max(1, Math.min(10_000, Math.floor(options.limit ?? 2000)));
    const rows = await this.#driver.read(async (conn) => {
      const info = await this.#host.tableInfo(conn, object);
      const p = new Params(d);
      return conn.all(`SELECT * FROM ${d.table(CHANGES_TABLE)} WHERE object = ${p.add(info?.object ?? object)} AND state = 'pending' ORDER BY seq LIMIT ${n}`, p.values);
    });
    return rows.map(changeOf);
  }

  async changes(options: { object?: string; states?: readonly CaptureState[]; limit?: number } = {}): Promise<CapturedChange[]> {
    const d = this.#d;
    const n = Math.max(1, Math.min(10_000, Math.floor(options.limit ?? 100)));
    const rows = await this.#driver.read(async (conn) => {
      const p = new Params(d);
      const conds: string[] = [];
      if (options.object) conds.push(`object = ${p.add((await this.#host.tableInfo(conn, options.object))?.object ?? options.object)}`);
      if (options.states?.length) conds.push(`state IN ${p.list(options.states)}`);
      return conn.all(`SELECT * FROM ${d.table(CHANGES_TABLE)}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${n}`, p.values);
    });
    return rows.map(changeOf);
  }

  async settle(updates: readonly CaptureSettlement[]): Promise<void> {
    if (updates.length === 0) return;
    for (const u of updates) if (!STATES.includes(u.state)) throw new TypeError(`settle: unknown state ${JSON.stringify(u.state)}`);
    const d = this.#d;
    const rows = updates.flatMap((u) => u.seqs.map((seq) => [String(seq), u.state, u.sfId ?? null, u.sent ? JSON.stringify(u.sent) : null, u.error ?? null] as const));
    await this.#driver.transaction(async (conn) => {
      const at = nowIso();
      // One statement per page: the outcomes as a VALUES list joined on seq (both backends take UPDATE … FROM).
      for (const part of chunk(rows, 500)) {
        const p = new Params(d);
        const values = part.map((r) => p.list([...r])).join(', ');
        await conn.run(
          `WITH v(seq, state, sf_id, sent, error) AS (VALUES ${values}) UPDATE ${d.table(CHANGES_TABLE)} SET state = v.state, sf_id = v.sf_id, sent = v.sent, error = v.error, settled_at = ${p.add(at)} FROM v WHERE ${d.table(CHANGES_TABLE)}.seq = CAST(v.seq AS INTEGER)`,
          p.values,
        );
      }
    });
  }

  async rows(object: string, ids: readonly string[]): Promise<Map<string, SfRecord>> {
    return this.#driver.read((conn) => this.#host.readRows(conn, object, ids));
  }

  async lastSent(object: string, ids: readonly string[]): Promise<Map<string, { sent: JsonObject; at: string }>> {
    const d = this.#d;
    const out = new Map<string, { sent: JsonObject; at: string }>();
    await this.#driver.read(async (conn) => {
      for (const part of chunk([...new Set(ids)], 500)) {
        const p = new Params(d);
        const rows = await conn.all(
          `SELECT record_id, sf_id, sent, settled_at, seq FROM ${d.table(CHANGES_TABLE)} WHERE object = ${p.add(object)} AND state = 'succeeded' AND sent IS NOT NULL AND (record_id IN ${p.list(part)} OR sf_id IN ${p.list(part)}) ORDER BY seq`,
          p.values,
        );
        // Later entries win: the newest sent version of each record.
        for (const r of rows) out.set(String(r.sf_id ?? r.record_id), { sent: parseJson(r.sent)!, at: String(r.settled_at) });
      }
    });
    return out;
  }

  async refusedInserts(object: string, ids: readonly string[]): Promise<Set<string>> {
    const d = this.#d;
    const out = new Set<string>();
    await this.#driver.read(async (conn) => {
      for (const part of chunk([...new Set(ids)], 500)) {
        const p = new Params(d);
        const rows = await conn.all(`SELECT DISTINCT record_id FROM ${d.table(CHANGES_TABLE)} WHERE object = ${p.add(object)} AND op = 'insert' AND state = 'failed' AND record_id IN ${p.list(part)}`, p.values);
        for (const r of rows) out.add(String(r.record_id));
      }
    });
    return out;
  }

  async adoptId(object: string, placeholder: string, sfId: string): Promise<void> {
    await this.adoptIds(object, [{ placeholder, sfId }]);
  }

  async adoptIds(object: string, pairs: readonly { placeholder: string; sfId: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    const d = this.#d;
    await this.#driver.transaction(async (conn) => {
      const info = await this.#host.tableInfo(conn, object);
      if (!info) throw new Error(`No mirror table for ${JSON.stringify(object)}`);
      await guardOn(conn, this.#driver);
      const t = d.table(info.object);
      const at = nowIso();
      for (const { placeholder, sfId } of pairs) {
        const p = new Params(d);
        const [taken] = await conn.all(`SELECT 1 AS one FROM ${t} WHERE ${quote('Id')} = ${p.add(sfId)}`, p.values);
        const q = new Params(d);
        // The sync may have stored the new record already (read back before the Id was written): keep that row.
        if (taken) await conn.run(`DELETE FROM ${t} WHERE ${quote('Id')} = ${q.add(placeholder)}`, q.values);
        else await conn.run(`UPDATE ${t} SET ${quote('Id')} = ${q.add(sfId)} WHERE ${quote('Id')} = ${q.add(placeholder)}`, q.values);
        // An earlier refused insert of the row is settled by this one.
        const s = new Params(d);
        await conn.run(`UPDATE ${d.table(CHANGES_TABLE)} SET state = 'superseded', settled_at = ${s.add(at)} WHERE object = ${s.add(info.object)} AND record_id = ${s.add(placeholder)} AND op = 'insert' AND state = 'failed'`, s.values);
        const r = new Params(d);
        await conn.run(`UPDATE ${d.table(CHANGES_TABLE)} SET record_id = ${r.add(sfId)} WHERE object = ${r.add(info.object)} AND record_id = ${r.add(placeholder)}`, r.values);
      }
      await guardOff(conn, this.#driver);
    });
  }

  async resolveForSalesforce(object: string, input: { supersede: readonly number[]; id: string; record: SfRecord | null; deletedAt?: string; conflict: ConflictInput }): Promise<number> {
    const d = this.#d;
    return this.#driver.transaction(async (conn) => {
      if (input.supersede.length) {
        const p = new Params(d);
        await conn.run(`UPDATE ${d.table(CHANGES_TABLE)} SET state = 'superseded', settled_at = ${p.add(nowIso())} WHERE seq IN ${p.list(input.supersede)}`, p.values);
      }
      const id = await this.#insertConflict(conn, input.conflict);
      await this.#host.applyRemote(conn, object, input.record, input.id, input.deletedAt ?? nowIso());
      return id;
    });
  }

  recordConflict(conflict: ConflictInput): Promise<number> {
    return this.#driver.transaction((conn) => this.#insertConflict(conn, conflict));
  }

  async #insertConflict(conn: Conn, c: ConflictInput): Promise<number> {
    const d = this.#d;
    const p = new Params(d);
    const values = p.list([c.object, c.recordId, c.policy, c.winner, c.fields.join(','), c.local ? JSON.stringify(c.local) : null, c.remote ? JSON.stringify(c.remote) : null, c.localModified, c.remoteModified, nowIso()]);
    const [row] = await conn.all(`INSERT INTO ${d.table(CONFLICTS_TABLE)} (object, record_id, policy, winner, fields, local, remote, local_modified, remote_modified, detected_at) VALUES ${values} RETURNING id`, p.values);
    return Number(row.id);
  }

  async conflicts(options: { object?: string; limit?: number } = {}): Promise<ConflictRecord[]> {
    const d = this.#d;
    const n = Math.max(1, Math.min(1000, Math.floor(options.limit ?? 100)));
    const rows = await this.#driver.read((conn) => {
      const p = new Params(d);
      const where = options.object ? ` WHERE lower(object) = ${p.add(options.object.toLowerCase())}` : '';
      return conn.all(`SELECT * FROM ${d.table(CONFLICTS_TABLE)}${where} ORDER BY id DESC LIMIT ${n}`, p.values);
    });
    return rows.map(conflictOf);
  }

  async counts(object?: string): Promise<Record<CaptureState, number>> {
    const d = this.#d;
    const rows = await this.#driver.read((conn) => {
      const p = new Params(d);
      const where = object ? ` WHERE lower(object) = ${p.add(object.toLowerCase())}` : '';
      return conn.all(`SELECT state, COUNT(*) AS n FROM ${d.table(CHANGES_TABLE)}${where} GROUP BY state`, p.values);
    });
    const out = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<CaptureState, number>;
    for (const r of rows) out[String(r.state) as CaptureState] = Number(r.n);
    return out;
  }
}
