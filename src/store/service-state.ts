/**
 * The service's own tables on either backend (see `service-types.ts`). Like `publish-state.ts` every column
 * is text or integer (booleans 0/1, JSON and instants as ISO text), so one SQL text serves SQLite and
 * Postgres and only table names and placeholders differ. Each table is described once by its columns, and
 * rows are read and written through that description instead of per-method mapping code.
 */
import { Params, quote, type Conn, type Driver, type Row } from './driver.ts';
import type {
  ConnectionRow,
  InboxRow,
  InboxState,
  JobRow,
  JobState,
  OneTimeTake,
  PipelineRow,
  PipelineRunRow,
  RunEventRow,
  ScheduleRow,
  ServiceState,
  SessionRow,
  TokenRow,
  UsageRow,
} from './service-types.ts';
import type { JsonObject, JsonValue } from './types.ts';

type Codec = 'text' | 'int' | 'bool' | 'json';
/** Field name (camelCase) → [column, codec]. */
type Columns = Record<string, readonly [string, Codec]>;

interface TableDef {
  name: string;
  columns: Columns;
  /** Column DDL after the generated ones: keys, constraints. */
  ddl: (d: Driver['dialect']) => string;
  indexes?: string[];
}

const T = {
  connections: {
    name: '_sfbridge_connections',
    columns: { name: ['name', 'text'], kind: ['kind', 'text'], settings: ['settings', 'json'], secrets: ['secrets', 'text'], status: ['status', 'text'], info: ['info', 'json'], createdAt: ['created_at', 'text'], updatedAt: ['updated_at', 'text'] },
    ddl: () => 'PRIMARY KEY (name)',
  },
  pipelines: {
    name: '_sfbridge_pipelines',
    columns: { name: ['name', 'text'], kind: ['kind', 'text'], spec: ['spec', 'json'], createdAt: ['created_at', 'text'], updatedAt: ['updated_at', 'text'] },
    ddl: () => 'PRIMARY KEY (name)',
  },
  schedules: {
    name: '_sfbridge_schedules',
    columns: { pipeline: ['pipeline', 'text'], nextRunAt: ['next_run_at', 'text'], lastRunAt: ['last_run_at', 'text'], lastRunId: ['last_run_id', 'int'], lastStatus: ['last_status', 'text'], paused: ['paused', 'bool'], state: ['state', 'json'], updatedAt: ['updated_at', 'text'] },
    ddl: () => 'PRIMARY KEY (pipeline)',
  },
  jobs: {
    name: '_sfbridge_jobs',
    columns: { id: ['id', 'int'], key: ['key', 'text'], kind: ['kind', 'text'], rank: ['rank', 'int'], runAt: ['run_at', 'text'], state: ['state', 'text'], payload: ['payload', 'json'], checkpoint: ['checkpoint', 'json'], attempts: ['attempts', 'int'], maxAttempts: ['max_attempts', 'int'], lockedBy: ['locked_by', 'text'], lockedAt: ['locked_at', 'text'], error: ['error', 'text'], createdAt: ['created_at', 'text'], updatedAt: ['updated_at', 'text'] },
    ddl: () => '',
    indexes: ['state, rank, run_at', 'key'],
  },
  runs: {
    name: '_sfbridge_pipeline_runs',
    columns: { id: ['id', 'int'], pipeline: ['pipeline', 'text'], kind: ['kind', 'text'], trigger: ['trigger_kind', 'text'], status: ['status', 'text'], startedAt: ['started_at', 'text'], finishedAt: ['finished_at', 'text'], objects: ['objects', 'json'], apiCalls: ['api_calls', 'int'], error: ['error', 'text'], jobId: ['job_id', 'int'], resumedFrom: ['resumed_from', 'int'] },
    ddl: () => '',
    indexes: ['pipeline, id', 'status'],
  },
  runEvents: {
    name: '_sfbridge_run_events',
    columns: { runId: ['run_id', 'int'], seq: ['seq', 'int'], at: ['at', 'text'], level: ['level', 'text'], type: ['type', 'text'], message: ['message', 'text'], data: ['data', 'json'] },
    ddl: () => 'PRIMARY KEY (run_id, seq)',
  },
  usage: {
    name: '_sfbridge_api_usage',
    columns: { org: ['org', 'text'], connection: ['connection', 'text'], at: ['at', 'text'], used: ['used', 'int'], max: ['max_calls', 'int'] },
    ddl: () => '',
    indexes: ['org, at', 'at'],
  },
  tokens: {
    name: '_sfbridge_api_tokens',
    columns: { id: ['id', 'int'], name: ['name', 'text'], hash: ['hash', 'text'], prefix: ['prefix', 'text'], createdAt: ['created_at', 'text'], lastUsedAt: ['last_used_at', 'text'], revokedAt: ['revoked_at', 'text'], scopes: ['scopes', 'json'] },
    ddl: () => 'UNIQUE (hash)',
    indexes: ['name'],
  },
  sessions: {
    name: '_sfbridge_sessions',
    columns: { idHash: ['id_hash', 'text'], csrf: ['csrf', 'text'], createdAt: ['created_at', 'text'], expiresAt: ['expires_at', 'text'] },
    ddl: () => 'PRIMARY KEY (id_hash)',
  },
  settings: {
    name: '_sfbridge_settings',
    columns: { key: ['key', 'text'], value: ['value', 'json'], updatedAt: ['updated_at', 'text'] },
    ddl: () => 'PRIMARY KEY (key)',
  },
  oneTime: {
    name: '_sfbridge_one_time',
    columns: { purpose: ['purpose', 'text'], idHash: ['id_hash', 'text'], data: ['data', 'json'], expiresAt: ['expires_at', 'text'], usedAt: ['used_at', 'text'] },
    ddl: () => 'PRIMARY KEY (purpose, id_hash)',
  },
  inbox: {
    name: '_sfbridge_inbox',
    columns: { id: ['id', 'int'], pipeline: ['pipeline', 'text'], dedupeKey: ['dedupe_key', 'text'], bodyHash: ['body_hash', 'text'], payload: ['payload', 'json'], state: ['state', 'text'], attempts: ['attempts', 'int'], nextAttemptAt: ['next_attempt_at', 'text'], receivedAt: ['received_at', 'text'], updatedAt: ['updated_at', 'text'], lastError: ['last_error', 'text'], result: ['result', 'json'] },
    ddl: () => 'UNIQUE (pipeline, dedupe_key)',
    indexes: ['pipeline, state, next_attempt_at'],
  },
} satisfies Record<string, TableDef>;

/** Tables whose `id` column is an auto-increment key. */
const SERIAL = new Set<string>([T.jobs.name, T.runs.name, T.tokens.name, T.inbox.name]);
/** Integer columns that are part of a key (NOT NULL). */
const NOT_NULL = new Set(['name', 'kind', 'pipeline', 'key', 'run_id', 'seq', 'purpose', 'id_hash', 'org', 'hash', 'dedupe_key']);

const nowIso = (): string => new Date().toISOString();

function encode(codec: Codec, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (codec === 'json') return JSON.stringify(value);
  if (codec === 'bool') return value ? 1 : 0;
  if (codec === 'int') return Number(value);
  return String(value);
}

function decode(codec: Codec, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (codec === 'json') return typeof value === 'string' ? JSON.parse(value) : value;
  if (codec === 'bool') return Number(value) !== 0 && value !== false && value !== 'f';
  if (codec === 'int') return Number(value);
  return String(value);
}

function fromRow<R>(def: TableDef, row: Row): R {
  const out: Record<string, unknown> = {};
  for (const [field, [column, codec]] of Object.entries(def.columns)) out[field] = decode(codec, row[column]);
  return out as R;
}

/** {@link ServiceState} over a store driver. */
export class SqlServiceState implements ServiceState {
  readonly #driver: Driver;

  private constructor(driver: Driver) {
    this.#driver = driver;
  }

  /** Creates the service tables if needed. */
  static async open(driver: Driver): Promise<SqlServiceState> {
    const d = driver.dialect;
    const ddl: string[] = [];
    for (const def of Object.values(T) as TableDef[]) {
      const cols = Object.values(def.columns).map(([column, codec]) => {
        if (column === 'id' && SERIAL.has(def.name)) return `id ${d.serialPrimaryKey}`;
        const type = codec === 'int' || codec === 'bool' ? 'integer' : 'text';
        return `${quote(column)} ${type}${NOT_NULL.has(column) ? ' NOT NULL' : ''}`;
      });
      const extra = def.ddl(d);
      ddl.push(`CREATE TABLE IF NOT EXISTS ${d.table(def.name)} (${[...cols, ...(extra ? [extra] : [])].join(', ')})`);
      for (const ix of def.indexes ?? []) {
        ddl.push(`CREATE INDEX IF NOT EXISTS ${quote(`${def.name}_${ix.replace(/\W+/g, '_')}`)} ON ${d.table(def.name)} (${ix.split(',').map((c) => quote(c.trim())).join(', ')})`);
      }
    }
    await driver.transaction(async (conn) => {
      for (const sql of ddl) await conn.run(sql);
      // Tables made by an older release lack columns added since: they are added empty (all nullable).
      for (const def of Object.values(T) as TableDef[]) {
        const have = new Set((await d.columnsOf(conn, def.name))?.columns.map((c) => c.name) ?? []);
        if (!have.size) continue;
        for (const [column, codec] of Object.values(def.columns)) {
          if (!have.has(column)) await conn.run(`ALTER TABLE ${d.table(def.name)} ADD COLUMN ${quote(column)} ${codec === 'int' || codec === 'bool' ? 'integer' : 'text'}`);
        }
      }
    });
    return new SqlServiceState(driver);
  }

  get #d() {
    return this.#driver.dialect;
  }

  async #select<R>(def: TableDef, where: Record<string, unknown> = {}, tail = '', conn?: Conn): Promise<R[]> {
    const d = this.#d;
    const p = new Params(d);
    const cond = Object.entries(where)
      .filter(([, v]) => v !== undefined)
      .map(([field, v]) => {
        const [column, codec] = def.columns[field];
        if (Array.isArray(v)) return `${quote(column)} IN ${p.list(v.map((x) => encode(codec, x)))}`;
        return `${quote(column)} = ${p.add(encode(codec, v))}`;
      });
    const sql = `SELECT * FROM ${d.table(def.name)}${cond.length ? ` WHERE ${cond.join(' AND ')}` : ''} ${tail}`;
    const run = (c: Conn) => c.all(sql, p.values);
    const rows = conn ? await run(conn) : await this.#driver.read(run);
    return rows.map((r) => fromRow<R>(def, r));
  }

  async #insert<R>(def: TableDef, values: Record<string, unknown>, conn?: Conn): Promise<R> {
    const d = this.#d;
    const p = new Params(d);
    const fields = Object.keys(values).filter((f) => values[f] !== undefined && def.columns[f]);
    const sql = `INSERT INTO ${d.table(def.name)} (${fields.map((f) => quote(def.columns[f][0])).join(', ')}) VALUES ${p.list(fields.map((f) => encode(def.columns[f][1], values[f])))} RETURNING *`;
    const run = async (c: Conn) => (await c.all(sql, p.values))[0];
    const row = conn ? await run(conn) : await this.#driver.transaction(run);
    return fromRow<R>(def, row);
  }

  async #update(def: TableDef, where: Record<string, unknown>, changes: Record<string, unknown>, conn?: Conn): Promise<number> {
    const d = this.#d;
    const p = new Params(d);
    const sets = Object.entries(changes)
      .filter(([f, v]) => v !== undefined && def.columns[f])
      .map(([f, v]) => `${quote(def.columns[f][0])} = ${p.add(encode(def.columns[f][1], v))}`);
    if (!sets.length) return 0;
    const cond = Object.entries(where).map(([f, v]) => `${quote(def.columns[f][0])} = ${p.add(encode(def.columns[f][1], v))}`);
    const sql = `UPDATE ${d.table(def.name)} SET ${sets.join(', ')} WHERE ${cond.join(' AND ')} RETURNING 1 AS n`;
    const run = async (c: Conn) => (await c.all(sql, p.values)).length;
    return conn ? run(conn) : this.#driver.transaction(run);
  }

  async #delete(def: TableDef, where: Record<string, unknown>): Promise<number> {
    const d = this.#d;
    const p = new Params(d);
    const cond = Object.entries(where).map(([f, v]) => `${quote(def.columns[f][0])} = ${p.add(encode(def.columns[f][1], v))}`);
    return this.#driver.transaction(async (c) => (await c.all(`DELETE FROM ${d.table(def.name)} WHERE ${cond.join(' AND ')} RETURNING 1 AS n`, p.values)).length);
  }

  /** Insert-or-replace keyed by `key` fields, keeping `createdAt` of an existing row. */
  async #put<R extends { createdAt?: string }>(def: TableDef, key: Record<string, unknown>, values: Record<string, unknown>): Promise<R> {
    return this.#driver.transaction(async (conn) => {
      const ts = nowIso();
      const [existing] = await this.#select<R>(def, key, '', conn);
      if (existing) {
        await this.#update(def, key, { ...values, updatedAt: ts }, conn);
        return { ...existing, ...values, updatedAt: ts } as R;
      }
      return this.#insert<R>(def, { ...key, ...values, createdAt: ts, updatedAt: ts }, conn);
    });
  }

  // Connections ---------------------------------------------------------------------------------------

  listConnections(): Promise<ConnectionRow[]> {
    return this.#select(T.connections, {}, 'ORDER BY name');
  }
  async getConnection(name: string): Promise<ConnectionRow | undefined> {
    return (await this.#select<ConnectionRow>(T.connections, { name }))[0];
  }
  putConnection(row: Omit<ConnectionRow, 'createdAt' | 'updatedAt'>): Promise<ConnectionRow> {
    const { name, ...rest } = row;
    return this.#put(T.connections, { name }, rest);
  }
  async deleteConnection(name: string): Promise<boolean> {
    return (await this.#delete(T.connections, { name })) > 0;
  }

  // Pipelines -----------------------------------------------------------------------------------------

  listPipelines(): Promise<PipelineRow[]> {
    return this.#select(T.pipelines, {}, 'ORDER BY name');
  }
  async getPipeline(name: string): Promise<PipelineRow | undefined> {
    return (await this.#select<PipelineRow>(T.pipelines, { name }))[0];
  }
  putPipeline(row: Omit<PipelineRow, 'createdAt' | 'updatedAt'>): Promise<PipelineRow> {
    const { name, ...rest } = row;
    return this.#put(T.pipelines, { name }, rest);
  }
  async deletePipeline(name: string): Promise<boolean> {
    return (await this.#delete(T.pipelines, { name })) > 0;
  }

  // Schedules -----------------------------------------------------------------------------------------

  listSchedules(): Promise<ScheduleRow[]> {
    return this.#select(T.schedules, {}, 'ORDER BY pipeline');
  }
  async getSchedule(pipeline: string): Promise<ScheduleRow | undefined> {
    return (await this.#select<ScheduleRow>(T.schedules, { pipeline }))[0];
  }
  updateSchedule(pipeline: string, changes: Partial<Omit<ScheduleRow, 'pipeline' | 'updatedAt'>>): Promise<ScheduleRow> {
    return this.#driver.transaction(async (conn) => {
      const ts = nowIso();
      const [existing] = await this.#select<ScheduleRow>(T.schedules, { pipeline }, '', conn);
      if (existing) {
        await this.#update(T.schedules, { pipeline }, { ...changes, updatedAt: ts }, conn);
        return { ...existing, ...changes, updatedAt: ts };
      }
      return this.#insert<ScheduleRow>(T.schedules, { pipeline, nextRunAt: null, lastRunAt: null, lastRunId: null, lastStatus: null, paused: false, state: {}, ...changes, updatedAt: ts }, conn);
    });
  }
  async deleteSchedule(pipeline: string): Promise<void> {
    await this.#delete(T.schedules, { pipeline });
  }

  // Jobs ----------------------------------------------------------------------------------------------

  insertJob(job: Omit<JobRow, 'id' | 'createdAt' | 'updatedAt' | 'lockedBy' | 'lockedAt' | 'error' | 'attempts' | 'checkpoint'> & { checkpoint?: JsonObject | null }): Promise<JobRow> {
    const ts = nowIso();
    return this.#insert(T.jobs, { attempts: 0, checkpoint: null, ...job, createdAt: ts, updatedAt: ts });
  }
  async updateJob(id: number, changes: Partial<Omit<JobRow, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.#update(T.jobs, { id }, { ...changes, updatedAt: nowIso() });
  }
  async deleteJob(id: number): Promise<void> {
    await this.#delete(T.jobs, { id });
  }
  async getJob(id: number): Promise<JobRow | undefined> {
    return (await this.#select<JobRow>(T.jobs, { id }))[0];
  }
  listJobs(options: { states?: readonly JobState[]; key?: string; limit?: number } = {}): Promise<JobRow[]> {
    const limit = options.limit ? ` LIMIT ${Math.max(1, Math.floor(options.limit))}` : '';
    return this.#select(T.jobs, { state: options.states?.length ? [...options.states] : undefined, key: options.key }, `ORDER BY rank, run_at, id${limit}`);
  }

  // Runs ----------------------------------------------------------------------------------------------

  createRun(run: Omit<PipelineRunRow, 'id' | 'finishedAt' | 'apiCalls' | 'error'> & { apiCalls?: number }): Promise<PipelineRunRow> {
    return this.#insert(T.runs, { apiCalls: 0, ...run });
  }
  async updateRun(id: number, changes: Partial<Pick<PipelineRunRow, 'status' | 'finishedAt' | 'objects' | 'apiCalls' | 'error' | 'jobId'>>): Promise<void> {
    await this.#update(T.runs, { id }, changes);
  }
  async getRun(id: number): Promise<PipelineRunRow | undefined> {
    return (await this.#select<PipelineRunRow>(T.runs, { id }))[0];
  }
  async listRuns(options: { pipeline?: string; status?: string; limit?: number; before?: number } = {}): Promise<PipelineRunRow[]> {
    const d = this.#d;
    const p = new Params(d);
    const where: string[] = [];
    if (options.pipeline !== undefined) where.push(`pipeline = ${p.add(options.pipeline)}`);
    if (options.status !== undefined) where.push(`status = ${p.add(options.status)}`);
    if (options.before !== undefined) where.push(`id < ${p.add(options.before)}`);
    const limit = Math.max(1, Math.min(1000, Math.floor(options.limit ?? 50)));
    const rows = await this.#driver.read((c) => c.all(`SELECT * FROM ${d.table(T.runs.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`, p.values));
    return rows.map((r) => fromRow<PipelineRunRow>(T.runs, r));
  }
  async countRuns(options: { pipeline?: string; status?: string } = {}): Promise<number> {
    const d = this.#d;
    const p = new Params(d);
    const where: string[] = [];
    if (options.pipeline !== undefined) where.push(`pipeline = ${p.add(options.pipeline)}`);
    if (options.status !== undefined) where.push(`status = ${p.add(options.status)}`);
    const [row] = await this.#driver.read((c) => c.all(`SELECT COUNT(*) AS n FROM ${d.table(T.runs.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, p.values));
    return Number(row.n);
  }
  async addRunEvents(runId: number, events: readonly Omit<RunEventRow, 'runId' | 'seq'>[]): Promise<void> {
    if (!events.length) return;
    const d = this.#d;
    await this.#driver.transaction(async (conn) => {
      const [max] = await conn.all(`SELECT COALESCE(MAX(seq), 0) AS m FROM ${d.table(T.runEvents.name)} WHERE run_id = ${d.placeholder(1)}`, [runId]);
      let seq = Number(max.m);
      for (const e of events) await this.#insert(T.runEvents, { ...e, runId, seq: ++seq }, conn);
    });
  }
  listRunEvents(runId: number, options: { afterSeq?: number; limit?: number } = {}): Promise<RunEventRow[]> {
    const d = this.#d;
    const limit = Math.max(1, Math.min(5000, Math.floor(options.limit ?? 1000)));
    return this.#driver
      .read((c) => c.all(`SELECT * FROM ${d.table(T.runEvents.name)} WHERE run_id = ${d.placeholder(1)} AND seq > ${d.placeholder(2)} ORDER BY seq LIMIT ${limit}`, [runId, options.afterSeq ?? 0]))
      .then((rows) => rows.map((r) => fromRow<RunEventRow>(T.runEvents, r)));
  }

  // API usage -----------------------------------------------------------------------------------------

  async addUsage(reading: UsageRow): Promise<void> {
    await this.#insert(T.usage, { ...reading });
  }
  async listUsage(options: { org?: string; since?: string; limit?: number } = {}): Promise<UsageRow[]> {
    const d = this.#d;
    const p = new Params(d);
    const where: string[] = [];
    if (options.org !== undefined) where.push(`org = ${p.add(options.org)}`);
    if (options.since !== undefined) where.push(`at >= ${p.add(options.since)}`);
    const limit = Math.max(1, Math.min(100_000, Math.floor(options.limit ?? 10_000)));
    const rows = await this.#driver.read((c) => c.all(`SELECT * FROM ${d.table(T.usage.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at LIMIT ${limit}`, p.values));
    return rows.map((r) => fromRow<UsageRow>(T.usage, r));
  }
  async latestUsage(): Promise<UsageRow[]> {
    const d = this.#d;
    const t = d.table(T.usage.name);
    const rows = await this.#driver.read((c) => c.all(`SELECT u.* FROM ${t} AS u JOIN (SELECT org, MAX(at) AS at FROM ${t} GROUP BY org) AS m ON m.org = u.org AND m.at = u.at ORDER BY u.org`));
    const seen = new Set<string>();
    return rows.map((r) => fromRow<UsageRow>(T.usage, r)).filter((r) => !seen.has(r.org) && seen.add(r.org));
  }
  async pruneUsage(before: string): Promise<number> {
    const d = this.#d;
    return this.#driver.transaction(async (c) => (await c.all(`DELETE FROM ${d.table(T.usage.name)} WHERE at < ${d.placeholder(1)} RETURNING 1 AS n`, [before])).length);
  }

  // Tokens --------------------------------------------------------------------------------------------

  createToken(token: { name: string; hash: string; prefix: string; scopes?: string[] | null }): Promise<TokenRow> {
    return this.#insert(T.tokens, { ...token, createdAt: nowIso() });
  }
  listTokens(): Promise<TokenRow[]> {
    return this.#select(T.tokens, {}, 'ORDER BY id');
  }
  async findToken(hash: string): Promise<TokenRow | undefined> {
    return (await this.#select<TokenRow>(T.tokens, { hash }))[0];
  }
  async touchToken(id: number, at: string): Promise<void> {
    await this.#update(T.tokens, { id }, { lastUsedAt: at });
  }
  async revokeToken(name: string, at: string): Promise<boolean> {
    const d = this.#d;
    return this.#driver.transaction(async (c) => (await c.all(`UPDATE ${d.table(T.tokens.name)} SET revoked_at = ${d.placeholder(1)} WHERE name = ${d.placeholder(2)} AND revoked_at IS NULL RETURNING 1 AS n`, [at, name])).length > 0);
  }

  // Sessions ------------------------------------------------------------------------------------------

  async createSession(session: SessionRow): Promise<void> {
    const d = this.#d;
    // Expired sessions are cleared as new ones are made, so the table never grows without bound.
    await this.#driver.transaction((c) => c.run(`DELETE FROM ${d.table(T.sessions.name)} WHERE expires_at < ${d.placeholder(1)}`, [nowIso()]));
    await this.#insert(T.sessions, { ...session });
  }
  async getSession(idHash: string): Promise<SessionRow | undefined> {
    return (await this.#select<SessionRow>(T.sessions, { idHash }))[0];
  }
  async extendSession(idHash: string, expiresAt: string): Promise<void> {
    await this.#update(T.sessions, { idHash }, { expiresAt });
  }
  async deleteSession(idHash: string): Promise<void> {
    await this.#delete(T.sessions, { idHash });
  }

  // Settings ------------------------------------------------------------------------------------------

  async getSetting(key: string): Promise<JsonValue | undefined> {
    const [row] = await this.#select<{ value: JsonValue }>(T.settings, { key });
    return row?.value;
  }
  async putSetting(key: string, value: JsonValue): Promise<void> {
    await this.#driver.transaction(async (c) => {
      const [row] = await this.#select(T.settings, { key }, '', c);
      if (row) await this.#update(T.settings, { key }, { value, updatedAt: nowIso() }, c);
      else await this.#insert(T.settings, { key, value, updatedAt: nowIso() }, c);
    });
  }

  // One-time secrets ----------------------------------------------------------------------------------

  async putOneTime(purpose: string, idHash: string, data: JsonObject, expiresAt: string): Promise<void> {
    const d = this.#d;
    await this.#driver.transaction(async (c) => {
      // Used or expired entries older than a day are of no further use (they only answer "used").
      await c.run(`DELETE FROM ${d.table(T.oneTime.name)} WHERE expires_at < ${d.placeholder(1)}`, [new Date(Date.now() - 86_400_000).toISOString()]);
      await this.#insert(T.oneTime, { purpose, idHash, data, expiresAt, usedAt: null }, c);
    });
  }
  async takeOneTime(purpose: string, idHash: string, now: string): Promise<OneTimeTake> {
    return this.#driver.transaction(async (c) => {
      const [row] = await this.#select<{ data: JsonObject; expiresAt: string; usedAt: string | null }>(T.oneTime, { purpose, idHash }, '', c);
      if (!row) return { ok: false, reason: 'unknown' } as const;
      if (row.usedAt) return { ok: false, reason: 'used' } as const;
      // Marked used even when expired, so a late second attempt reports the same thing.
      await this.#update(T.oneTime, { purpose, idHash }, { usedAt: now }, c);
      if (row.expiresAt <= now) return { ok: false, reason: 'expired' } as const;
      return { ok: true, data: row.data } as const;
    });
  }

  // Inbox ---------------------------------------------------------------------------------------------

  async addInbox(item: { pipeline: string; dedupeKey: string; bodyHash?: string | null; payload: JsonObject; receivedAt?: string }): Promise<{ row: InboxRow; added: boolean }> {
    return (await this.addInboxBatch([item]))[0];
  }
  addInboxBatch(items: readonly { pipeline: string; dedupeKey: string; bodyHash?: string | null; payload: JsonObject; receivedAt?: string }[]): Promise<{ row: InboxRow; added: boolean }[]> {
    const d = this.#d;
    const def = T.inbox;
    const fields = ['pipeline', 'dedupeKey', 'bodyHash', 'payload', 'state', 'attempts', 'nextAttemptAt', 'receivedAt', 'updatedAt'] as const;
    const sql = `INSERT INTO ${d.table(def.name)} (${fields.map((f) => quote(def.columns[f][0])).join(', ')}) VALUES (${fields.map((_, i) => d.placeholder(i + 1)).join(', ')}) ON CONFLICT (pipeline, dedupe_key) DO NOTHING RETURNING *`;
    return this.#driver.transaction(async (c) => {
      const out: { row: InboxRow; added: boolean }[] = [];
      for (const item of items) {
        const ts = item.receivedAt ?? nowIso();
        const values = { ...item, bodyHash: item.bodyHash ?? null, state: 'pending', attempts: 0, nextAttemptAt: ts, receivedAt: ts, updatedAt: ts } as Record<string, unknown>;
        const [row] = await c.all(sql, fields.map((f) => encode(def.columns[f][1], values[f])));
        if (row) out.push({ row: fromRow<InboxRow>(def, row), added: true });
        else out.push({ row: (await this.#select<InboxRow>(def, { pipeline: item.pipeline, dedupeKey: item.dedupeKey }, '', c))[0], added: false });
      }
      return out;
    });
  }
  async getInbox(id: number): Promise<InboxRow | undefined> {
    return (await this.#select<InboxRow>(T.inbox, { id }))[0];
  }
  async findInbox(pipeline: string, dedupeKey: string): Promise<InboxRow | undefined> {
    return (await this.#select<InboxRow>(T.inbox, { pipeline, dedupeKey }))[0];
  }
  async dueInbox(pipeline: string, now: string, limit: number): Promise<InboxRow[]> {
    const d = this.#d;
    const rows = await this.#driver.read((c) => c.all(`SELECT * FROM ${d.table(T.inbox.name)} WHERE pipeline = ${d.placeholder(1)} AND state = 'pending' AND next_attempt_at <= ${d.placeholder(2)} ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`, [pipeline, now]));
    return rows.map((r) => fromRow<InboxRow>(T.inbox, r));
  }
  async nextInboxAttempt(pipeline: string): Promise<string | undefined> {
    const d = this.#d;
    const [row] = await this.#driver.read((c) => c.all(`SELECT MIN(next_attempt_at) AS at FROM ${d.table(T.inbox.name)} WHERE pipeline = ${d.placeholder(1)} AND state = 'pending'`, [pipeline]));
    return row?.at == null ? undefined : String(row.at);
  }
  async updateInbox(id: number, changes: Partial<Pick<InboxRow, 'state' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'result' | 'payload'>>): Promise<void> {
    await this.#update(T.inbox, { id }, { ...changes, updatedAt: nowIso() });
  }
  async listInbox(options: { pipeline?: string; state?: InboxState; limit?: number; before?: number } = {}): Promise<InboxRow[]> {
    const d = this.#d;
    const p = new Params(d);
    const where: string[] = [];
    if (options.pipeline !== undefined) where.push(`pipeline = ${p.add(options.pipeline)}`);
    if (options.state !== undefined) where.push(`state = ${p.add(options.state)}`);
    if (options.before !== undefined) where.push(`id < ${p.add(options.before)}`);
    const limit = Math.max(1, Math.min(1000, Math.floor(options.limit ?? 50)));
    const rows = await this.#driver.read((c) => c.all(`SELECT * FROM ${d.table(T.inbox.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`, p.values));
    return rows.map((r) => fromRow<InboxRow>(T.inbox, r));
  }
  async countInbox(options: { pipeline?: string; state?: InboxState } = {}): Promise<number> {
    const d = this.#d;
    const p = new Params(d);
    const where: string[] = [];
    if (options.pipeline !== undefined) where.push(`pipeline = ${p.add(options.pipeline)}`);
    if (options.state !== undefined) where.push(`state = ${p.add(options.state)}`);
    const [row] = await this.#driver.read((c) => c.all(`SELECT COUNT(*) AS n FROM ${d.table(T.inbox.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, p.values));
    return Number(row.n);
  }
}
