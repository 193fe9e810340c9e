/**
 * A store table as an event pipeline's sink: one row per event, keyed by the event id, so a redelivered
 * event rewrites its own row instead of adding one (at-least-once delivery, exactly one row per event).
 * Columns: `Id` (the event id), `ReplayId` (hex), `Topic`, `EntityName`, `ChangeType` and `RecordIds`
 * (change events), `CreatedDate` (the event's CreatedDate, or a change's commit time), `Payload` (the
 * decoded event as JSON). The table is created on the first delivery; a batch is one store transaction.
 */
import { openStore } from '../../store/index.ts';
import type { FieldSpec, JsonObject, Store } from '../../store/types.ts';
import { redactCredentials } from '../sinks/config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from '../sinks/types.ts';

export const EVENT_TABLE_FIELDS: readonly FieldSpec[] = [
  { name: 'Id', type: 'id' },
  { name: 'ReplayId', type: 'string', length: 64 },
  { name: 'Topic', type: 'string', length: 255 },
  { name: 'EntityName', type: 'string', length: 255 },
  { name: 'ChangeType', type: 'string', length: 40 },
  { name: 'RecordIds', type: 'textarea' },
  { name: 'CreatedDate', type: 'datetime' },
  { name: 'Payload', type: 'textarea' },
];

/** A row of the table for a message made by `eventMessage`. */
export function eventRow(m: SinkMessage): Record<string, unknown> {
  const body = m.body as JsonObject;
  const payload = (body.payload ?? {}) as JsonObject;
  const header = body.header as JsonObject | undefined;
  const at = typeof payload.CreatedDate === 'number' ? payload.CreatedDate : typeof header?.commitTimestamp === 'number' ? header.commitTimestamp : Date.now();
  return {
    Id: m.id,
    ReplayId: body.replayId ?? null,
    Topic: body.topic ?? null,
    EntityName: header?.entityName ?? null,
    ChangeType: header?.changeType ?? null,
    RecordIds: Array.isArray(header?.recordIds) ? header.recordIds.join(',') : null,
    CreatedDate: new Date(at).toISOString(),
    Payload: JSON.stringify(payload),
  };
}

export class EventTableSink implements Sink {
  readonly kind = 'store' as const;
  readonly label: string;
  readonly #table: string;
  readonly #url: string | undefined;
  readonly #owned: boolean;
  #store: Promise<Store> | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;

  /** Rows go to `table` in `store` (the pipeline's own, left open) or in the store at `url` (opened here). */
  constructor(table: string, target: { store: Store } | { url: string }) {
    this.#table = table;
    if ('store' in target) {
      this.#store = Promise.resolve(target.store);
      this.#owned = false;
      this.label = `table ${table}`;
    } else {
      this.#url = target.url;
      this.#owned = true;
      this.label = `table ${table} in ${redactCredentials(target.url)}`;
    }
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.#closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    if (messages.length === 0) return;
    let store: Store;
    try {
      store = await this.#open();
      await (this.#ready ??= store.ensureTable({ object: this.#table, fields: EVENT_TABLE_FIELDS }).then(() => undefined).catch((err: unknown) => {
        this.#ready = undefined;
        throw err;
      }));
    } catch (err) {
      throw new SinkError('SINK_UNAVAILABLE', this.label, (err as Error).message, { cause: err });
    }
    try {
      await store.transaction((tx) => tx.upsert(this.#table, messages.map(eventRow)).then(() => undefined), { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      const retryable = /ECONNREFUSED|ECONNRESET|SQLITE_BUSY|database is locked|terminating connection|Connection terminated/i.test((err as Error).message);
      throw new SinkError(retryable ? 'SINK_UNAVAILABLE' : 'SINK_REJECTED', this.label, (err as Error).message, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await (await this.#store?.catch(() => undefined))?.close();
  }

  #open(): Promise<Store> {
    this.#store ??= openStore(this.#url!).catch((err: unknown) => {
      this.#store = undefined;
      throw err;
    });
    return this.#store;
  }
}
