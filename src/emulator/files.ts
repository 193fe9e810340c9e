/**
 * What the platform does around file records, for every API (REST, multipart, Composite, Bulk):
 * a ContentVersion gets its size, checksum, type and version number, and its ContentDocument (created for a
 * first version, updated for the next one) with links to the owner and to `FirstPublishLocationId`;
 * Attachment and Document get their BodyLength (and a Document its DeveloperName).
 */
import { createHash } from 'node:crypto';
import type { Org } from './org.ts';
import type { StoredRow } from './store/org-store.ts';

/** FileType values Salesforce gives common extensions (unknown ones are `UNKNOWN`). */
const FILE_TYPES: Record<string, string> = {
  pdf: 'PDF', doc: 'WORD', docx: 'WORD_X', xls: 'EXCEL', xlsx: 'EXCEL_X', ppt: 'POWER_POINT', pptx: 'POWER_POINT_X', csv: 'CSV', txt: 'TEXT',
  png: 'PNG', jpg: 'JPG', jpeg: 'JPEG', gif: 'GIF', zip: 'ZIP', xml: 'XML', html: 'HTML', htm: 'HTML', json: 'JSON', rtf: 'RTF', mp4: 'MP4', mp3: 'MP3',
};
/** Content types for blob downloads by extension. */
const MIME: Record<string, string> = {
  pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', txt: 'text/plain', csv: 'text/csv', html: 'text/html',
  json: 'application/json', xml: 'application/xml', zip: 'application/zip', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

export const extensionOf = (path: unknown): string | null => {
  const m = /\.([A-Za-z0-9]{1,40})$/.exec(String(path ?? ''));
  return m ? m[1].toLowerCase() : null;
};

/** The content type a blob is served with: the record's ContentType, else by file extension. */
export function blobContentType(declared: unknown, path: unknown): string {
  if (typeof declared === 'string' && declared) return declared;
  return MIME[extensionOf(path) ?? ''] ?? 'application/octet-stream';
}

/** Decoded size of a stored base64 blob. */
const blobSize = (b64: unknown) => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').length : 0);

/** Fills the derived columns of a file record before it is written (insert and update). */
export function deriveFileColumns(org: Org, object: string, cols: StoredRow, existing?: StoredRow): void {
  const merged = { ...existing, ...cols };
  if (object === 'Attachment' && 'Body' in cols) cols.BodyLength = blobSize(cols.Body);
  if (object === 'Document') {
    if ('Body' in cols) cols.BodyLength = blobSize(cols.Body);
    if (!existing && cols.BodyLength === undefined) cols.BodyLength = 0;
    if (!merged.DeveloperName && merged.Name) cols.DeveloperName = String(merged.Name).replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').replace(/^(\d)/, 'X$1').slice(0, 80) || 'Document';
    if (!merged.Type && merged.Name) cols.Type = extensionOf(merged.Name);
  }
  if (object === 'ContentVersion' && !existing) {
    // A version without a Title is named after its file (`Q1 Brochure.pdf` → `Q1 Brochure`).
    if (!cols.Title && cols.PathOnClient) cols.Title = String(cols.PathOnClient).replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
    const data = typeof cols.VersionData === 'string' ? Buffer.from(cols.VersionData, 'base64') : null;
    const ext = extensionOf(cols.PathOnClient);
    Object.assign(cols, {
      ContentSize: data ? data.length : null,
      Checksum: data ? createHash('md5').update(data).digest('hex') : null,
      FileExtension: ext,
      FileType: ext ? (FILE_TYPES[ext] ?? 'UNKNOWN') : 'UNKNOWN',
      IsLatest: 1,
      PublishStatus: 'P',
      ContentModifiedDate: cols.ContentModifiedDate ?? org.clock.now(),
      ContentModifiedById: org.currentUserId,
      VersionNumber: String(cols.ContentDocumentId ? versionCount(org, String(cols.ContentDocumentId)) + 1 : 1),
    });
  }
}

function versionCount(org: Org, documentId: string): number {
  return Number(org.store.prepare('SELECT COUNT(*) AS n FROM "ContentVersion" WHERE ContentDocumentId = ?').get(documentId)?.n ?? 0);
}

/**
 * After a ContentVersion insert: a first version creates its ContentDocument (the owner's link and a link to
 * FirstPublishLocationId with it); a later version becomes the document's latest.
 */
export function afterFileInsert(org: Org, object: string, id: string): void {
  if (object !== 'ContentVersion') return;
  const versionDef = org.schema.get('ContentVersion')!;
  const docDef = org.schema.get('ContentDocument')!;
  const linkDef = org.schema.get('ContentDocumentLink')!;
  const v = org.store.getRow(versionDef, id)!;
  const now = Number(v.CreatedDate);
  const user = org.currentUserId;
  const common = { Title: v.Title, FileType: v.FileType, FileExtension: v.FileExtension, ContentSize: v.ContentSize, ContentModifiedDate: v.ContentModifiedDate, LatestPublishedVersionId: id, SystemModstamp: now, LastModifiedDate: now, LastModifiedById: user };
  if (v.ContentDocumentId) {
    org.store.prepare('UPDATE "ContentVersion" SET IsLatest = 0 WHERE ContentDocumentId = ? AND Id != ?').run(String(v.ContentDocumentId), id);
    org.store.updateRow(docDef, String(v.ContentDocumentId), common);
    return;
  }
  const docId = org.store.nextId(docDef);
  org.store.insertRow(docDef, {
    ...common, Id: docId, IsDeleted: 0, OwnerId: v.OwnerId ?? user, PublishStatus: 'P', SharingOption: v.SharingOption ?? 'A', SharingPrivacy: v.SharingPrivacy ?? 'N',
    IsArchived: 0, CreatedDate: now, CreatedById: user, _visible_at: v._visible_at,
  });
  org.store.updateRow(versionDef, id, { ContentDocumentId: docId });
  const link = (entity: string) => org.store.insertRow(linkDef, {
    Id: org.store.nextId(linkDef), IsDeleted: 0, SystemModstamp: now, LinkedEntityId: entity, ContentDocumentId: docId, ShareType: 'I', Visibility: 'AllUsers', _visible_at: v._visible_at,
  });
  const owner = String(v.OwnerId ?? user);
  link(owner);
  if (v.FirstPublishLocationId && v.FirstPublishLocationId !== owner) link(String(v.FirstPublishLocationId));
  org.events.emit('write', { object: 'ContentDocument', id: docId, op: 'create' });
}
