/**
 * Shared by the benchmark workers: each worker is its own process, so `process.resourceUsage().maxRSS` at
 * the end is that variant's own peak. Workers print one JSON line on stdout with their figures.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface WorkerArgs {
  url: string;
  token: string;
  soql: string;
  out: string;
  /** Upserts: external IDs `from`..`from+count-1` (seeded ones update, others insert). */
  from: number;
  count: number;
  newFrom: number;
}

/** Worker arguments: `… ARGS_JSON MODE` at the end of the command line (directly or through run.mjs). */
export function args(): WorkerArgs {
  return JSON.parse(process.argv[process.argv.length - 2]) as WorkerArgs;
}

export const mode = (): string => process.argv[process.argv.length - 1];

export function report(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...fields, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

/** `ACC-0000042`, the format COUNTS seeding gives Account.External_Id__c. */
export const extId = (n: number) => `ACC-${String(n).padStart(7, '0')}`;

/** The records to upsert: half of them match seeded Accounts (updates), half are new (inserts). */
export function upsertRecords(a: WorkerArgs): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < a.count; i++) {
    const key = i % 2 === 0 ? extId(a.from + i / 2) : extId(a.newFrom + (i - 1) / 2);
    out.push({ External_Id__c: key, Name: `Upserted ${key}`, Industry: 'Technology', AnnualRevenue: 1000 + i, BillingCity: 'Lyon' });
  }
  return out;
}

/** A JSONL file writer that respects backpressure (what a careful user writes). */
export function jsonl(path: string) {
  const stream = createWriteStream(path);
  return {
    async write(record: unknown): Promise<void> {
      if (!stream.write(`${JSON.stringify(record)}\n`)) await once(stream, 'drain');
    },
    /** Fire-and-forget write (what an EventEmitter `on('record')` handler can do: it cannot await). */
    writeNow(record: unknown): void {
      stream.write(`${JSON.stringify(record)}\n`);
    },
    async close(): Promise<void> {
      stream.end();
      await once(stream, 'finish');
    },
  };
}
