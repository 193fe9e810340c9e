/**
 * The emitted version of a search document: its content hash and its sink message. The hash leaves out
 * what changes without the document changing — `updated` and the record's modification stamps in `raw`
 * (SystemModstamp, LastModifiedDate/ById, LastViewedDate, LastReferencedDate) — so re-reading a record
 * (the lag window, a touch, a formula refresh) emits nothing, while any change to the title, content,
 * tags, owner or a field value emits one new version.
 */
import type { JsonValue, SearchDocument } from '../../store/types.ts';
import { contentHash, emitStream, tombstoneMessage, type Emittable } from '../emit.ts';
import { versionMessageId, type SinkMessage } from '../sinks/types.ts';

/** The emit stream of search documents (the key of their hashes in the store). */
export const DOCUMENTS_STREAM = 'documents';

/** Fields of `raw` that move on every save, whatever changed. */
export const VOLATILE_FIELDS: readonly string[] = ['SystemModstamp', 'LastModifiedDate', 'LastModifiedById', 'LastModifiedBy', 'LastViewedDate', 'LastReferencedDate'];

/** Hash of what a document says (see the module comment for what is left out). */
export function documentHash(doc: SearchDocument): string {
  const { updated: _updated, raw, ...rest } = doc;
  let stable: JsonValue = raw;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    stable = Object.fromEntries(Object.entries(raw).filter(([k]) => !VOLATILE_FIELDS.includes(k)));
  }
  return contentHash({ ...rest, raw: stable } as unknown as JsonValue);
}

/** A document as an emittable version: message id `documents:<Id>:<hash>`, key the record Id, body the document. */
export function documentVersion(doc: SearchDocument, stream = DOCUMENTS_STREAM): Emittable<SearchDocument> {
  const hash = documentHash(doc);
  return {
    id: doc.id,
    hash,
    item: doc,
    message: { id: versionMessageId(stream, doc.id, hash), key: doc.id, body: doc as unknown as JsonValue, headers: { 'sfbridge-type': 'document', 'sfbridge-object': doc.type, 'sfbridge-op': 'upsert' } },
  };
}

/** The tombstone of a removed document: `{"id": …, "type": …, "deleted": true}` (the JSONL format's removal line plus type). */
export function documentTombstone(object: string, stream = DOCUMENTS_STREAM): (id: string, lastHash: string) => SinkMessage {
  return (id, lastHash) => tombstoneMessage(stream, id, lastHash, { id, type: object, deleted: true }, { 'sfbridge-type': 'document', 'sfbridge-object': object });
}

/** The emit stream of documents for a set of destinations (see emitStream). */
export function documentStream(sinks: readonly { label: string }[] | undefined): string {
  return emitStream(DOCUMENTS_STREAM, sinks);
}
