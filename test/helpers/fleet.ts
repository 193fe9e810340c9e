/** Fleet test helpers: a throw-away Postgres database, `sfbridge worker` child processes, the audit check. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PG_URL } from '../store/backends.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A database of its own (dropped by `drop`), so pg-boss's schema and every mirror schema go with it. */
export async function scratchDatabase(prefix = 'sfbridge_fleet'): Promise<{ url: (schema: string) => string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`).finally(() => admin.end());
  const base = new URL(PG_URL);
  base.pathname = `/${name}`;
  return {
    url: (schema) => `${base.toString()}?schema=${schema}`,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** Resolves on the next log line whose `event` is `event` (and that `match` accepts), after the call. */
  next(event: string, match?: (rec: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Every JSON log line read so far, in order. */
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `sfbridge worker` and resolves once it is ready. */
export async function startWorker(args: string[], env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'worker', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let pending = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: Array<{ event: string; match?: (rec: Record<string, unknown>) => boolean; resolve: (v: Record<string, unknown>) => void }> = [];
  const onLine = (line: string) => {
    if (!line.startsWith('{')) return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(rec);
    for (const w of [...waiters]) {
      if (rec.event === w.event && (!w.match || w.match(rec))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(rec);
      }
    }
  };
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const l of parts) onLine(l);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('sfbridge worker: ready')) resolve();
    });
    void exited.then((e) => reject(new Error(`worker exited before it was ready (${e.signal ?? e.code}):\n${out}`)));
  });
  return { child, pid: child.pid!, output: () => out, exited, lines, next: (event, match) => new Promise((resolve) => waiters.push({ event, match, resolve })) };
}

export interface AuditSpan {
  key: string;
  worker: string;
  startedAt: number;
  endedAt: number | null;
  outcome: string | null;
}

/** Every attempt from the audit table. */
export async function readAudit(url: string, schema: string): Promise<AuditSpan[]> {
  const c = new pg.Client({ connectionString: url.replace(/\?.*$/, '') });
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT key, worker, started_at, ended_at, outcome FROM "${schema}"."_sfbridge_job_audit" ORDER BY key, started_at, id`);
    return rows.map((r) => ({ key: r.key, worker: r.worker, startedAt: (r.started_at as Date).getTime(), endedAt: r.ended_at ? (r.ended_at as Date).getTime() : null, outcome: r.outcome }));
  } finally {
    await c.end();
  }
}

/**
 * Overlaps per key. An attempt of a killed worker that it never closed ends, at the latest, when the
 * worker was killed (`killedAt` by pid); any other open attempt is an error.
 */
export function auditOverlaps(spans: AuditSpan[], killedAt: Map<number, number>): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, AuditSpan[]>();
  for (const s of spans) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    let prevEnd = -Infinity;
    let prev: AuditSpan | undefined;
    for (const s of list) {
      const pid = Number(s.worker.split(':')[1]);
      const end = s.endedAt ?? killedAt.get(pid);
      if (end === undefined) problems.push(`${key}: an attempt on ${s.worker} never ended and its worker was not killed`);
      if (s.startedAt < prevEnd) problems.push(`${key}: ${s.worker} started at ${new Date(s.startedAt).toISOString()} while ${prev?.worker} ran until ${new Date(prevEnd).toISOString()}`);
      prevEnd = Math.max(prevEnd, end ?? Infinity);
      prev = s;
    }
  }
  return problems;
}

/** For each attempt a killed worker held: seconds from the kill to the next start on its key. */
export function takeoverLatencies(spans: AuditSpan[], killedAt: Map<number, number>): Array<{ key: string; seconds: number | null }> {
  const out: Array<{ key: string; seconds: number | null }> = [];
  for (const s of spans) {
    const pid = Number(s.worker.split(':')[1]);
    const at = killedAt.get(pid);
    if (at === undefined || s.endedAt !== null) continue;
    const next = spans.filter((x) => x.key === s.key && x.startedAt > s.startedAt).sort((a, b) => a.startedAt - b.startedAt)[0];
    out.push({ key: s.key, seconds: next ? (next.startedAt - at) / 1000 : null });
  }
  return out;
}
