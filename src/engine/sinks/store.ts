/**
 * The store's search index as a sink: search documents are upserted, tombstones (`{"deleted": true}`)
 * remove them, and comments become documents (subject as title, cleaned message bodies as content), so a
 * comments pipeline can feed `sfbridge search` too. Delivery is one store transaction per batch.
 */
import { openStore } from '../../store/index.ts';
import type { JsonValue, SearchDocument, Store, StoreTransaction } from '../../store/types.ts';
import { redactCredentials, type SinkConfig } from './config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from './types.ts';

type Obj = Record<string, JsonValue>;

const isObj = (v: JsonValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** A message body as a search document, or null for a tombstone. Throws for a body that is neither. */
export function searchDocumentOf(body: JsonValue): SearchDocument | null {
  if (!isObj(body) || typeof body.id !== 'string') throw new TypeError('message body is not a search document, comment or tombstone (no string id)');
  if (body.deleted === true) return null;
  if (Array.isArray(body.messages)) {
    const messages = body.messages.filter(isObj);
    const meta = isObj(body.metadata) ? body.metadata : {};
    const object = str(meta.object) ?? 'Comment';
    const subject = messages.map((m) => str(m.subject)).find(Boolean);
    return {
      id: body.id,
      type: object,
      title: subject ?? `${object} ${body.id}`,
      url: str(meta.url),
      created: str(body.timestamp),
      updated: str(body.timestamp),
      owner: null,
      tags: [],
      categories: [`Comments/${object}`],
      content: messages.map((m) => [str(m.from), str(m.body)].filter(Boolean).join(': ')).join('\n'),
      raw: body,
    };
  }
  if (typeof body.type !== 'string' || typeof body.content !== 'string') throw new TypeError(`message body ${body.id} is not a search document (needs type and content)`);
  return {
    id: body.id,
    type: body.type,
    title: str(body.title) ?? body.id,
    url: str(body.url),
    created: str(body.created),
    updated: str(body.updated),
    owner: str(body.owner),
    tags: Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === 'string') : [],
    categories: Array.isArray(body.categories) ? body.categories.filter((t): t is string => typeof t === 'string') : [],
    content: body.content,
    raw: body.raw ?? null,
  };
}

/** Store errors that pass: a connection refused or reset, a busy database. Anything else refuses the batch. */
const TRANSIENT_STORE_ERROR = /ECONNREFUSED|ECONNRESET|SQLITE_BUSY|database is locked|terminating connection|Connection terminated/i;

/**
 * What the store sinks share: a store handle — the pipeline's own (left open), or one opened from a URL on
 * first delivery and closed with the sink — and a batch written in one store transaction, with a store that
 * cannot be reached reported as `SINK_UNAVAILABLE` (retried) and any other failure as `SINK_REJECTED`.
 */
export abstract class StoreBackedSink implements Sink {
  readonly kind = 'store' as const;
  abstract readonly label: string;
  readonly #url: string | undefined;
  readonly #owned: boolean;
  #store: Promise<Store> | undefined;
  #closed = false;

  protected constructor(target: { store: Store } | { url: string }) {
    if ('store' in target) {
      this.#store = Promise.resolve(target.store);
      this.#owned = false;
    } else {
      this.#url = target.url;
      this.#owned = true;
    }
  }

  abstract deliver(messages: readonly SinkMessage[], options?: DeliverOptions): Promise<void>;

  /** Opens the store (and runs `prepare` on it), then writes the batch with `write` in one transaction. */
  protected async writeBatch(write: (tx: StoreTransaction) => Promise<void>, options: DeliverOptions, prepare?: (store: Store) => Promise<void>): Promise<void> {
    if (this.#closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    let store: Store;
    try {
      store = await this.#open();
      await prepare?.(store);
    } catch (err) {
      throw new SinkError('SINK_UNAVAILABLE', this.label, (err as Error).message, { cause: err });
    }
    try {
      await store.transaction(write, { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new SinkError(TRANSIENT_STORE_ERROR.test((err as Error).message) ? 'SINK_UNAVAILABLE' : 'SINK_REJECTED', this.label, (err as Error).message, { cause: err });
    }
  }

  protected get closed(): boolean {
    return this.#closed;
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

export class StoreSink extends StoreBackedSink {
  readonly label: string;

  /** `store` given: deliver into it (not closed by `close()`); otherwise the store at `config.url` is opened. */
  constructor(config: Pick<SinkConfig, 'url'>, store?: Store) {
    if (!store && !config.url) throw new SinkError('SINK_MISCONFIGURED', 'store', 'a store sink needs url: (sqlite:… or postgres://…) when it is not the pipeline\'s own store');
    super(store ? { store } : { url: config.url! });
    this.label = store ? `store ${store.kind}` : `store ${redactCredentials(config.url!)}`;
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    if (messages.length === 0) return;
    const upserts = new Map<string, SearchDocument>();
    const deletes = new Set<string>();
    for (const m of messages) {
      let doc: SearchDocument | null;
      try {
        doc = searchDocumentOf(m.body);
      } catch (err) {
        throw new SinkError('SINK_REJECTED', this.label, `message ${m.id}: ${(err as Error).message}`);
      }
      // Later messages for one document win, as they would in order.
      const id = doc?.id ?? String((m.body as Obj).id);
      if (doc) {
        deletes.delete(id);
        upserts.set(id, doc);
      } else {
        upserts.delete(id);
        deletes.add(id);
      }
    }
    await this.writeBatch(async (tx) => {
      if (deletes.size) await tx.deleteDocuments([...deletes]);
      if (upserts.size) await tx.upsertDocuments([...upserts.values()]);
    }, options);
  }
}
