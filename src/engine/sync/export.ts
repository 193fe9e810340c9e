/**
 * The Bulk API 2.0 export behind an initial load, in Id-range chunks.
 *
 * A big object is exported as several query jobs, each over one contiguous range of record Ids (the technique
 * Salesforce's own PK chunking uses). Once a chunk's job is complete, the jobs of the next {@link LOOK_AHEAD}
 * chunks go to the org, so it prepares them while this process downloads and writes the current one: the mirror
 * writes overlap the org's query processing instead of coming after it.
 *
 * Exactness does not depend on where the boundaries fall: the chunks are `Id < b1`, `b1 ≤ Id < b2`, …,
 * `Id ≥ bk`, complementary conditions over the same boundary strings, so under any ordering the org uses every
 * record is in exactly one chunk, including records created after the boundaries were chosen. Ids never change,
 * so a record cannot move between chunks while they run. The boundaries only decide how evenly the records
 * spread: they split the base-62 range between the smallest and the largest Id evenly, which matches the way
 * an org numbers its records.
 *
 * Chunks are read one after the other. The export position (chunk, its job, `locator` and `skip` into it, the
 * jobs already created for the next chunks, and the boundaries) travels with every committed batch, so an
 * export that stops resumes exactly where the last commit ended, reusing the jobs it created.
 */
import { SalesforceError } from '../../client/errors.ts';
import type { SalesforceClient } from '../../client/index.ts';
import { from, type Condition } from '../../soql/index.ts';
import type { SyncBulk, SyncBulkQueryResult } from './bulk.ts';

/** Records per Bulk results page (`maxRecords`); fixed, so a resumed `skip` lands on the same record. */
export const BULK_PAGE_RECORDS = 50_000;

/** Chunks whose jobs run on the org ahead of the one being read. */
export const LOOK_AHEAD = 2;

/** Records per export chunk: an object with fewer than twice this many is exported as one job. */
export const BULK_CHUNK_RECORDS = 100_000;

/** Where an interrupted export continues (kept in the object's checkpoint with each committed batch). */
export interface ExportPosition {
  /** Job of the current chunk; `''` when it has not been created yet. */
  jobId: string;
  /** Locator of the page holding the first record not yet committed (`null`: the chunk's first page). */
  locator: string | null;
  /** Records of that page already committed. */
  skip: number;
  /** When the export's first job was created, by the org's clock: the catch-up after the export starts there. */
  startedAt?: string;
  /** Chunk boundaries (15-character Ids), k − 1 of them for k chunks; absent: one job for the whole object. */
  bounds?: string[];
  /** Index of the current chunk (0 when absent). */
  chunk?: number;
  /** Jobs already created for the chunks after the current one, in chunk order. */
  nextJobIds?: string[];
}

/** A batch of exported records and the export position right after its last record. */
export interface ExportBatch {
  records: Record<string, string>[];
  position: ExportPosition;
}

export interface ExportOptions {
  object: string;
  select: readonly string[];
  filter?: Condition;
  /** Chunk boundaries from {@link planChunks} (ignored when resuming: the position carries its own). */
  bounds?: readonly string[];
  resume?: ExportPosition;
  /** Records per yielded batch. */
  batchSize: number;
  /** About how many records one chunk holds (times the polls of its job from its progress). */
  chunkRecords?: number;
  signal?: AbortSignal;
  /**
   * Called when reading a job this export did not create in this run (a resumed one) fails: true exports that
   * chunk again with a new job (the job expired or was deleted), false rethrows.
   */
  restartChunk?: (err: unknown, jobId: string) => boolean;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The base-62 value of `s` (digits, then upper case, then lower case: the order of the characters' codes). */
function base62Value(s: string): bigint | undefined {
  let n = 0n;
  for (const ch of s) {
    const d = BASE62.indexOf(ch);
    if (d < 0) return undefined;
    n = n * 62n + BigInt(d);
  }
  return n;
}

function base62Digits(n: bigint, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

/**
 * `k − 1` boundaries splitting the Ids between `minId` and `maxId` into `k` ranges of equal width: the key
 * prefix (first 3 characters) of both, then the remaining 12 of the 15-character Id read as a base-62 number.
 * Fewer (or none) when the two do not share a prefix or are too close together to split.
 */
export function idBoundaries(minId: string, maxId: string, k: number): string[] {
  const lo15 = minId.slice(0, 15);
  const hi15 = maxId.slice(0, 15);
  if (lo15.length !== 15 || hi15.length !== 15 || lo15.slice(0, 3) !== hi15.slice(0, 3) || k < 2) return [];
  const lo = base62Value(lo15.slice(3));
  const hi = base62Value(hi15.slice(3));
  if (lo === undefined || hi === undefined || hi <= lo) return [];
  const out: string[] = [];
  for (let j = 1; j < k; j++) {
    const b = lo + ((hi - lo) * BigInt(j)) / BigInt(k);
    const id = lo15.slice(0, 3) + base62Digits(b, 12);
    if (b > lo && id !== out[out.length - 1]) out.push(id);
  }
  return out;
}

/**
 * Chunk boundaries for exporting `count` records of `object` (matching `filter`): none below twice
 * `chunkRecords`, else about one chunk per `chunkRecords` records, from the smallest and largest Id (two
 * one-row queries). An org that refuses to sort the object by Id gets one job.
 */
export async function planChunks(client: SalesforceClient, object: string, count: number, opts: { filter?: Condition; signal?: AbortSignal; chunkRecords?: number } = {}): Promise<string[]> {
  const per = opts.chunkRecords ?? BULK_CHUNK_RECORDS;
  const k = Math.ceil(count / per);
  if (k < 2) return [];
  const edge = async (dir: 'ASC' | 'DESC'): Promise<string | undefined> => {
    const q = from(object).select('Id');
    const soql = (opts.filter ? q.where(opts.filter) : q).orderBy('Id', dir).limit(1).toString();
    const [row] = await client.query<{ Id: string }>(soql, { signal: opts.signal }).toArray();
    return row?.Id;
  };
  try {
    const lo = await edge('ASC');
    const hi = await edge('DESC');
    return lo && hi ? idBoundaries(lo, hi, k) : [];
  } catch (err) {
    // An object the org will not sort by Id is exported as one job, as before chunking existed.
    if (err instanceof SalesforceError) return [];
    throw err;
  }
}

/** The SOQL of chunk `i` of the export (of `bounds.length + 1` chunks). */
export function chunkSoql(object: string, select: readonly string[], filter: Condition | undefined, bounds: readonly string[], i: number): string {
  let q = from(object).select(select);
  if (filter) q = q.where(filter);
  if (i > 0) q = q.where('Id', '>=', bounds[i - 1]);
  if (i < bounds.length) q = q.where('Id', '<', bounds[i]);
  return q.toString();
}

/**
 * Exports the object chunk by chunk, the next {@link LOOK_AHEAD} chunks' jobs running ahead, as batches of
 * `batchSize` records, each with the position right after it. A chunk's last batch carries the position of the next chunk (so a stop between
 * chunks does not read a finished chunk again); an empty chunk yields one empty batch for that move.
 */
export async function* bulkExport(bulk: SyncBulk, opts: ExportOptions): AsyncGenerator<ExportBatch> {
  const { object, select, filter, batchSize, signal } = opts;
  const resume = opts.resume;
  const bounds = [...(resume ? (resume.bounds ?? []) : (opts.bounds ?? []))];
  const chunks = bounds.length + 1;
  let startedAt = resume?.startedAt;
  const open = (i: number, jobId: string | undefined, locator: string | null = null, skip = 0): SyncBulkQueryResult =>
    bulk.query(chunkSoql(object, select, filter, bounds, i), { signal, maxRecords: BULK_PAGE_RECORDS, expectedRecords: opts.chunkRecords, resume: jobId ? { jobId, locator, skip } : undefined });
  let i = resume?.chunk ?? 0;
  // Jobs this export did not create in this run (from the resumed position): they may have expired since.
  const inheritedIds = new Set([resume?.jobId, ...(resume?.nextJobIds ?? [])].filter((id): id is string => Boolean(id)));
  let current: SyncBulkQueryResult | undefined = i < chunks ? open(i, resume?.jobId || undefined, resume?.locator ?? null, resume?.skip ?? 0) : undefined;
  // Results (and job ids) of the chunks after the current one whose jobs exist already.
  const queued: SyncBulkQueryResult[] = [];
  const queuedIds: string[] = [];
  const resumedAhead = [...(resume?.nextJobIds ?? [])];
  while (current !== undefined) {
    const result = current;
    const jobId = await result.start();
    const inherited = inheritedIds.has(jobId);
    /**
     * Creates the jobs of the next {@link LOOK_AHEAD} chunks once this one is complete (its first record is
     * here): the org prepares them while this one is read and written. Created before this one completes,
     * they would share the org with it and finish with it, leaving nothing to overlap; two ahead keep the org
     * busy while this process learns (by polling) that the next one is done.
     */
    const ahead = async (): Promise<void> => {
      while (queued.length < LOOK_AHEAD && i + 1 + queued.length < chunks) {
        const r = open(i + 1 + queued.length, resumedAhead.shift());
        queued.push(r);
        queuedIds.push(await r.start());
      }
    };
    const stamp = (): string | undefined => (startedAt ??= result.createdDate);
    const here = (): ExportPosition => ({ jobId, locator: result.locator, skip: result.pageOffset ?? 0, startedAt: stamp(), ...(bounds.length ? { bounds, chunk: i, nextJobIds: [...queuedIds] } : {}) });
    const after = (): ExportPosition => ({ jobId: queuedIds[0] ?? '', locator: null, skip: 0, startedAt: stamp(), ...(bounds.length ? { bounds, chunk: i + 1, nextJobIds: queuedIds.slice(1) } : {}) });
    let records: Record<string, string>[] = [];
    let yielded = 0;
    try {
      for await (const rec of result) {
        if (records.length === 0 && yielded === 0) await ahead();
        records.push(rec);
        if (records.length >= batchSize) {
          // The chunk's last record: the locator is back to null with nothing of a page consumed.
          const finished = result.locator === null && (result.pageOffset ?? 0) === 0;
          yielded += records.length;
          const batch = { records, position: finished ? after() : here() };
          records = [];
          yield batch;
        }
      }
    } catch (err) {
      // Nothing of a resumed job read yet, or it failed part way: either way a new job for the chunk is exact
      // (rows already stored are written again idempotently).
      if (inherited && opts.restartChunk?.(err, jobId)) {
        inheritedIds.delete(jobId);
        current = open(i, undefined);
        continue;
      }
      throw err;
    }
    await ahead();
    // The rest of the chunk, or (nothing left over) an empty chunk's move to the next one.
    if (records.length > 0 || yielded === 0) yield { records, position: after() };
    i++;
    current = queued.shift();
    queuedIds.shift();
  }
}
