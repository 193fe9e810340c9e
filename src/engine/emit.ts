/**
 * Emit only on change, for every pipeline that hands versions of records to a sink (search documents,
 * comments): each item carries a content hash; the store keeps the hash last emitted per id and stream;
 * an item whose hash matches is not emitted again (a lag-window re-read, a field change outside the
 * content), a changed one is emitted once with a message id derived from its hash, and a delete of an
 * emitted id emits one tombstone. The plan is delivered before the transaction that moves the cursor and
 * records the new hashes, so a crash or an outage in between only repeats messages with the same ids.
 */
import { createHash } from 'node:crypto';
import type { EmittedHash, JsonValue, StoreOperations } from '../store/types.ts';
// The sink modules themselves (and their NATS, RabbitMQ and Redis clients) load only where sinks are opened.
import { deliverWithRetry, type SinkRetryOptions } from './sinks/deliver.ts';
import { versionMessageId, type Sink, type SinkMessage, type SinkObserver } from './sinks/types.ts';

/** One version of a record, ready to emit. */
export interface Emittable<T> {
  id: string;
  hash: string;
  item: T;
  message: SinkMessage;
}

/** What a batch emits. */
export interface EmitPlan<T> {
  stream: string;
  /** New or changed items: emitted, and their hashes recorded. */
  changed: Emittable<T>[];
  /** Items whose content is the one already emitted. */
  unchanged: number;
  /** Tombstones for deleted ids that had been emitted. */
  tombstones: SinkMessage[];
  /** Ids whose hash is forgotten once the tombstones are delivered. */
  forgotten: string[];
}

/**
 * The emit stream of `base` for a set of destinations. Hashes are kept per destination set, so a newly
 * configured sink has none and receives every item the next (re)load reads.
 */
export function emitStream(base: string, sinks: readonly { label: string }[] | undefined): string {
  return sinks?.length ? `${base}>${sinks.map((k) => k.label).join(',')}` : base;
}

/** sha256 (hex) of a JSON value with object keys sorted, so equal content always hashes equal. */
export function contentHash(value: JsonValue | undefined): string {
  return createHash('sha256').update(stableJson(value ?? null)).digest('hex');
}

function stableJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`;
}

/** The tombstone message of a deleted id whose last emitted content had `lastHash`. */
export function tombstoneMessage(stream: string, id: string, lastHash: string, body: JsonValue, headers: Record<string, string> = {}): SinkMessage {
  return { id: versionMessageId(stream, id, `deleted-${lastHash}`), key: id, body, headers: { ...headers, 'sfbridge-op': 'delete' } };
}

/**
 * Compares a batch with what the stream last emitted. Later items for one id win (a batch may carry two
 * versions); a deleted id that is also in `items` counts as deleted.
 */
export async function planEmission<T>(
  store: Pick<StoreOperations, 'getEmitted'>,
  stream: string,
  items: readonly Emittable<T>[],
  deletedIds: readonly string[],
  tombstone: (id: string, lastHash: string) => SinkMessage,
): Promise<EmitPlan<T>> {
  const deleted = new Set(deletedIds);
  const latest = new Map<string, Emittable<T>>();
  for (const it of items) if (!deleted.has(it.id)) latest.set(it.id, it);
  const known = await store.getEmitted(stream, [...latest.keys(), ...deleted]);
  const changed = [...latest.values()].filter((it) => known.get(it.id) !== it.hash);
  const forgotten = [...deleted].filter((id) => known.has(id));
  return { stream, changed, unchanged: latest.size - changed.length, tombstones: forgotten.map((id) => tombstone(id, known.get(id)!)), forgotten };
}

/** The plan's messages in emission order: versions, then tombstones. */
export function planMessages(plan: EmitPlan<unknown>): SinkMessage[] {
  return [...plan.changed.map((c) => c.message), ...plan.tombstones];
}

/** Delivers a plan to every sink (each pausing and retrying on its own). Throws when one cannot take it. */
export async function deliverPlan(sinks: readonly Sink[], plan: EmitPlan<unknown>, opts: { signal?: AbortSignal; retry?: SinkRetryOptions; observer?: SinkObserver } = {}): Promise<void> {
  const messages = planMessages(plan);
  if (messages.length === 0) return;
  for (const sink of sinks) await deliverWithRetry(sink, messages, opts);
}

/** Records a delivered plan: new hashes set, tombstoned ids forgotten. Call inside the cursor's transaction. */
export async function commitPlan(tx: Pick<StoreOperations, 'setEmitted' | 'deleteEmitted'>, plan: EmitPlan<unknown>): Promise<void> {
  if (plan.changed.length) await tx.setEmitted(plan.stream, plan.changed.map((c): EmittedHash => ({ id: c.id, hash: c.hash })));
  if (plan.forgotten.length) await tx.deleteEmitted(plan.stream, plan.forgotten);
}
