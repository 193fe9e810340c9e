/**
 * Durable replay-id checkpoints for Pub/Sub subscribers: where a subscriber keeps the replay id of the last
 * event it finished, so that its next run resumes right after it. Replay ids stay opaque bytes; stores that
 * keep text write them as lowercase hex.
 */

/** Where a subscriber keeps its replay id between runs (memory, a file, a database row, the sfbridge store). */
export interface ReplayCheckpointStore {
  /** The stored replay id of `key`, or null when none was saved. */
  load(key: string, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** Saves the replay id of the last finished event (or of a keepalive) for `key`. */
  save(key: string, replayId: Uint8Array, signal?: AbortSignal): Promise<void>;
}

/** A checkpoint store in memory (tests, or one process that never restarts). */
export class MemoryReplayCheckpoints implements ReplayCheckpointStore {
  readonly #ids = new Map<string, Uint8Array>();
  async load(key: string): Promise<Uint8Array | null> {
    return this.#ids.get(key) ?? null;
  }
  async save(key: string, replayId: Uint8Array): Promise<void> {
    this.#ids.set(key, new Uint8Array(replayId));
  }
}

/** The parts of the sfbridge store (or one of its transactions) that checkpoints use. */
export interface CheckpointWriter {
  setCheckpoint(key: string, cursor: null, extra: { [k: string]: string | null }): Promise<void>;
}
export interface CheckpointReader {
  getCheckpoint(key: string): Promise<{ extra: { [k: string]: unknown } | null } | undefined>;
}

/** The store checkpoint key of a subscriber's replay id: `events:<key>`. */
export function replayCheckpointKey(key: string): string {
  return `events:${key}`;
}

/** A replay id as checkpoint text: lowercase hex of its bytes. */
export function replayIdHex(replayId: Uint8Array): string {
  return Buffer.from(replayId).toString('hex');
}

/**
 * Writes a replay id as a store checkpoint (`events:<key>`, `extra.replayId` in hex). Pass a store
 * transaction to commit the position together with what the events wrote.
 */
export function writeReplayCheckpoint(target: CheckpointWriter, key: string, replayId: Uint8Array): Promise<void> {
  return target.setCheckpoint(replayCheckpointKey(key), null, { replayId: replayIdHex(replayId), savedAt: new Date().toISOString() });
}

/** Reads a replay id written by {@link writeReplayCheckpoint}, or null. */
export async function readReplayCheckpoint(source: CheckpointReader, key: string): Promise<Uint8Array | null> {
  const cp = await source.getCheckpoint(replayCheckpointKey(key));
  const hex = cp?.extra?.replayId;
  return typeof hex === 'string' && /^(?:[0-9a-f]{2})+$/.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : null;
}

/**
 * Checkpoints in the sfbridge store (`openStore(url)`): one checkpoint row per key, beside the mirror's
 * own, so they survive restarts and are as durable as the store.
 */
export function storeReplayCheckpoints(store: CheckpointReader & CheckpointWriter): ReplayCheckpointStore {
  return {
    load: (key) => readReplayCheckpoint(store, key),
    save: (key, replayId) => writeReplayCheckpoint(store, key, replayId),
  };
}
