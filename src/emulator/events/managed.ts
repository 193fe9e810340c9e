/**
 * Managed subscriptions: a named subscription to one topic whose position the server keeps (Pub/Sub
 * `ManagedSubscribe`). The client commits replay ids with `CommitReplayRequest`; a new stream of the same
 * subscription resumes after the last committed one, or from the subscription's default replay when nothing
 * was committed yet.
 *
 * Salesforce defines these through Setup metadata that the reference does not describe, so the emulator
 * defines them through its admin API (`/__emulator/managed-subscriptions`) or `EmulatorOptions`. They live in
 * the org database (`_managed_subscription`), so committed positions survive a restart with `--db FILE`.
 */
import type { Org } from '../org.ts';
import { makeId } from '../ids.ts';
import { resolveTopic } from './topics.ts';

/** Key prefix of the ids the emulator gives managed subscriptions (the one Salesforce-written clients recognise). */
export const MANAGED_SUBSCRIPTION_PREFIX = '18x';

export interface ManagedSubscriptionDef {
  /** Unique API name, letters, digits and underscores, starting with a letter. */
  developerName: string;
  /** The channel, e.g. `/data/AccountChangeEvent` or `/event/Order_Placed__e`. */
  topicName: string;
  /** Where a subscription with no committed replay id starts (default LATEST). */
  defaultReplay?: 'LATEST' | 'EARLIEST';
  /** `RUN` (default) serves streams; `STOP` refuses them. */
  state?: 'RUN' | 'STOP';
}

export interface ManagedSubscription extends Required<ManagedSubscriptionDef> {
  id: string;
  /** The last committed replay id (the log position), or null. */
  committedReplayId: number | null;
  /** Org-clock time of the last commit (epoch ms), or null. */
  committedAt: number | null;
}

/** A definition the emulator refuses, with the fix in the message. */
export class ManagedSubscriptionError extends Error {
  readonly code = 'INVALID_MANAGED_SUBSCRIPTION';
}

export class ManagedSubscriptions {
  readonly #org: Org;
  constructor(org: Org) {
    this.#org = org;
    org.store.db.exec(`CREATE TABLE IF NOT EXISTS _managed_subscription (
        id TEXT PRIMARY KEY,
        developer_name TEXT NOT NULL UNIQUE,
        topic_name TEXT NOT NULL,
        default_replay TEXT NOT NULL,
        state TEXT NOT NULL,
        committed_replay_id INTEGER,
        committed_at INTEGER)`);
  }

  list(): ManagedSubscription[] {
    return this.#org.store.prepare('SELECT * FROM _managed_subscription ORDER BY developer_name').all().map(fromRow);
  }

  /** By id (15 or 18 characters) or developer name; undefined when there is none. */
  get(idOrName: string): ManagedSubscription | undefined {
    if (!idOrName) return undefined;
    const row = this.#org.store.prepare('SELECT * FROM _managed_subscription WHERE id = ? OR substr(id, 1, 15) = ? OR developer_name = ?').get(idOrName, idOrName, idOrName);
    return row ? fromRow(row) : undefined;
  }

  /**
   * Creates a subscription, or updates the one with that developer name. Moving it to another topic
   * forgets its committed position (replay ids are per channel).
   */
  define(def: ManagedSubscriptionDef): ManagedSubscription {
    const name = String(def.developerName ?? '');
    if (!/^[A-Za-z][A-Za-z0-9_]{0,79}$/.test(name) || name.includes('__') || name.endsWith('_')) {
      throw new ManagedSubscriptionError(`developerName must be letters, digits and single underscores, starting with a letter (like Account_Sync), got ${JSON.stringify(def.developerName)}`);
    }
    if (typeof def.topicName !== 'string' || !resolveTopic(this.#org, def.topicName)) {
      throw new ManagedSubscriptionError(`topicName ${JSON.stringify(def.topicName)} is not a topic of this org; use /data/<Object>ChangeEvent for an object with Change Data Capture on, /data/ChangeEvents or /event/<Name>__e`);
    }
    const defaultReplay = def.defaultReplay ?? 'LATEST';
    if (defaultReplay !== 'LATEST' && defaultReplay !== 'EARLIEST') throw new ManagedSubscriptionError(`defaultReplay must be LATEST or EARLIEST, got ${JSON.stringify(def.defaultReplay)}`);
    const state = def.state ?? 'RUN';
    if (state !== 'RUN' && state !== 'STOP') throw new ManagedSubscriptionError(`state must be RUN or STOP, got ${JSON.stringify(def.state)}`);
    const store = this.#org.store;
    const existing = this.get(name);
    if (existing && existing.developerName === name) {
      const moved = existing.topicName !== def.topicName;
      store.prepare(`UPDATE _managed_subscription SET topic_name = ?, default_replay = ?, state = ?${moved ? ', committed_replay_id = NULL, committed_at = NULL' : ''} WHERE id = ?`)
        .run(def.topicName, defaultReplay, state, existing.id);
      return this.get(existing.id)!;
    }
    // An org reset restarts the id sequences but keeps subscriptions: skip ids still in use.
    let id: string;
    do id = makeId(MANAGED_SUBSCRIPTION_PREFIX, store.nextSequence(MANAGED_SUBSCRIPTION_PREFIX));
    while (store.prepare('SELECT 1 FROM _managed_subscription WHERE id = ?').get(id));
    store.prepare('INSERT INTO _managed_subscription (id, developer_name, topic_name, default_replay, state) VALUES (?, ?, ?, ?, ?)').run(id, name, def.topicName, defaultReplay, state);
    return this.get(id)!;
  }

  remove(idOrName: string): boolean {
    const sub = this.get(idOrName);
    if (!sub) return false;
    this.#org.store.prepare('DELETE FROM _managed_subscription WHERE id = ?').run(sub.id);
    return true;
  }

  /** Stores a committed position. */
  commit(id: string, replayId: number): void {
    this.#org.store.prepare('UPDATE _managed_subscription SET committed_replay_id = ?, committed_at = ? WHERE id = ?').run(replayId, this.#org.clock.now(), id);
  }
}

function fromRow(r: Record<string, unknown>): ManagedSubscription {
  return {
    id: String(r.id),
    developerName: String(r.developer_name),
    topicName: String(r.topic_name),
    defaultReplay: String(r.default_replay) as 'LATEST' | 'EARLIEST',
    state: String(r.state) as 'RUN' | 'STOP',
    committedReplayId: r.committed_replay_id === null ? null : Number(r.committed_replay_id),
    committedAt: r.committed_at === null ? null : Number(r.committed_at),
  };
}

const registries = new WeakMap<Org, ManagedSubscriptions>();

/** The managed subscriptions of an org (the table is created on first use). */
export function managedSubscriptions(org: Org): ManagedSubscriptions {
  let m = registries.get(org);
  if (!m) {
    m = new ManagedSubscriptions(org);
    registries.set(org, m);
  }
  return m;
}
