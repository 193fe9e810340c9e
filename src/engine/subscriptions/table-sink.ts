/**
 * A store table as an event pipeline's sink: one row per event, keyed by the event id, so a redelivered
 * event rewrites its own row instead of adding one (at-least-once delivery, exactly one row per event).
 * Columns: `Id` (the event id), `ReplayId` (hex), `Topic`, `EntityName`, `ChangeType` and `RecordIds`
 * (change events), `CreatedDate` (the event's CreatedDate, or a change's commit time), `Payload` (the
 * decoded event as JSON). The table is created on the first delivery; a batch is one store transaction.
 */
import type { FieldSpec, JsonObject, Store } from '../../store/types.ts';
import { redactCredentials } from '../sinks/config.ts';
import { StoreBackedSink } from '../sinks/store.ts';
import { SinkError, type DeliverOptions, type SinkMessage } from '../sinks/types.ts';

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

export class EventTableSink extends StoreBackedSink {
  readonly label: string;
  readonly #table: string;
  #ready: Promise<void> | undefined;

  /** Rows go to `table` in `store` (the pipeline's own, left open) or in the store at `url` (opened here). */
  constructor(table: string, target: { store: Store } | { url: string }) {
    super(target);
    this.#table = table;
    this.label = 'store' in target ? `table ${table}` : `table ${table} in ${redactCredentials(target.url)}`;
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    if (messages.length === 0) return;
    // The table is made on the first delivery (again after a failed attempt).
    const ensure = (store: Store) =>
      (this.#ready ??= store.ensureTable({ object: this.#table, fields: EVENT_TABLE_FIELDS }).then(() => undefined).catch((err: unknown) => {
        this.#ready = undefined;
        throw err;
      }));
    await this.writeBatch((tx) => tx.upsert(this.#table, messages.map(eventRow)).then(() => undefined), options, ensure);
  }
}
