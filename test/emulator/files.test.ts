/** Files: multipart inserts, blob endpoints, VersionData as a URL in records and queries, ContentDocument creation. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { testOrg, V } from '../helpers/emulator.ts';

const BINARY = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d, 0x00, 0xff, 0x0d, 0x0a, 0x80, 0x7f, 0x0a, 0x2d, 0x2d]);

function multipart(boundary: string, entityName: string, entity: unknown, blobName: string, filename: string, data: Buffer): Blob {
  return new Blob([Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${entityName}";\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(entity)}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: form-data; name="${blobName}"; filename="${filename}"\r\n\r\n`),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])]);
}

test('multipart POST /sobjects/ContentVersion stores the bytes, creates the ContentDocument and its links', async () => {
  const org = await testOrg();
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Acme' } })).json()) as { id: string };
  const body = multipart('boundary_string', 'entity_content', { PathOnClient: 'Q1 Brochure.pdf', Title: 'Q1 Brochure', FirstPublishLocationId: acct.id }, 'VersionData', 'Q1 Brochure.pdf', BINARY);
  const res = await org.api('/sobjects/ContentVersion', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary="boundary_string"' }, body });
  assert.equal(res.status, 201);
  const { id, success, errors } = (await res.json()) as { id: string; success: boolean; errors: unknown[] };
  assert.deepEqual([success, errors], [true, []]);
  assert.match(id, /^068/);

  const rec = (await (await org.api(`/sobjects/ContentVersion/${id}`)).json()) as Record<string, unknown>;
  assert.equal(rec.VersionData, `${V}/sobjects/ContentVersion/${id}/VersionData`);
  assert.deepEqual([rec.ContentSize, rec.FileType, rec.FileExtension, rec.VersionNumber, rec.IsLatest, rec.Checksum], [BINARY.length, 'PDF', 'pdf', '1', true, createHash('md5').update(BINARY).digest('hex')]);
  const blob = await org.api(`/sobjects/ContentVersion/${id}/VersionData`);
  assert.equal(blob.status, 200);
  assert.equal(blob.headers.get('content-type'), 'application/pdf');
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), BINARY);

  const q = (await (await org.api(`/query?q=${encodeURIComponent(`SELECT VersionData, ContentDocument.Title, ContentDocument.LatestPublishedVersionId FROM ContentVersion WHERE Id = '${id}'`)}`)).json()) as { records: Record<string, unknown>[] };
  const doc = q.records[0].ContentDocument as Record<string, unknown>;
  assert.equal(q.records[0].VersionData, `${V}/sobjects/ContentVersion/${id}/VersionData`);
  assert.deepEqual([doc.Title, doc.LatestPublishedVersionId], ['Q1 Brochure', id]);
  const docId = String((doc.attributes as { url: string }).url.split('/').pop());
  const links = (await (await org.api(`/query?q=${encodeURIComponent(`SELECT LinkedEntityId, ShareType FROM ContentDocumentLink WHERE ContentDocumentId = '${docId}' ORDER BY LinkedEntityId`)}`)).json()) as { records: { LinkedEntityId: string; ShareType: string }[] };
  assert.deepEqual(links.records.map((l) => [l.LinkedEntityId, l.ShareType]), [[acct.id, 'I'], [org.emu.org.adminUserId, 'I']]);

  // A second version of the same document becomes the latest.
  const v2 = multipart('b2', 'entity_content', { PathOnClient: 'Q1 Brochure.pdf', ContentDocumentId: docId, ReasonForChange: 'typo' }, 'VersionData', 'Q1 Brochure.pdf', Buffer.from('v2'));
  const r2 = (await (await org.api('/sobjects/ContentVersion', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b2' }, body: v2 })).json()) as { id: string };
  const versions = (await (await org.api(`/query?q=${encodeURIComponent(`SELECT Id, VersionNumber, IsLatest, ContentDocument.LatestPublishedVersionId FROM ContentVersion WHERE ContentDocumentId = '${docId}' ORDER BY VersionNumber`)}`)).json()) as { records: Record<string, unknown>[] };
  assert.deepEqual(versions.records.map((v) => [v.Id, v.VersionNumber, v.IsLatest, (v.ContentDocument as Record<string, unknown>).LatestPublishedVersionId]), [[id, '1', false, r2.id], [r2.id, '2', true, r2.id]]);
  org.close();
});

test('JSON base64 inserts work too; Attachment and Document Body blobs carry their content type', async () => {
  const org = await testOrg();
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Acme' } })).json()) as { id: string };
  const att = (await (await org.api('/sobjects/Attachment', { method: 'POST', json: { ParentId: acct.id, Name: 'notes.txt', ContentType: 'text/plain', Body: Buffer.from('hello').toString('base64') } })).json()) as { id: string };
  const a = (await (await org.api(`/sobjects/Attachment/${att.id}`)).json()) as Record<string, unknown>;
  assert.deepEqual([a.Body, a.BodyLength], [`${V}/sobjects/Attachment/${att.id}/Body`, 5]);
  const ab = await org.api(`/sobjects/Attachment/${att.id}/Body`);
  assert.deepEqual([ab.status, ab.headers.get('content-type'), await ab.text()], [200, 'text/plain', 'hello']);

  const body = multipart('docb', 'entity_document', { Name: 'Logo.png', FolderId: org.emu.org.adminUserId, Description: 'logo', Keywords: 'brand' }, 'Body', 'Logo.png', BINARY);
  const res = await org.api('/sobjects/Document', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary="docb"' }, body });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  const d = (await (await org.api(`/sobjects/Document/${id}?fields=Name,DeveloperName,Type,BodyLength,Body`)).json()) as Record<string, unknown>;
  assert.deepEqual(d, { attributes: { type: 'Document', url: `${V}/sobjects/Document/${id}` }, Name: 'Logo.png', DeveloperName: 'Logo_png', Type: 'png', BodyLength: BINARY.length, Body: `${V}/sobjects/Document/${id}/Body` });
  const db = await org.api(`/sobjects/Document/${id}/Body`);
  assert.equal(db.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await db.arrayBuffer()), BINARY);

  // A multipart PATCH replaces the bytes.
  const patch = multipart('p', 'entity_document', { Keywords: 'brand,new' }, 'Body', 'Logo.png', Buffer.from('new'));
  assert.equal((await org.api(`/sobjects/Document/${id}`, { method: 'PATCH', headers: { 'content-type': 'multipart/form-data; boundary=p' }, body: patch })).status, 204);
  assert.equal(await (await org.api(`/sobjects/Document/${id}/Body`)).text(), 'new');
  org.close();
});

test('multipart errors name the problem', async () => {
  const org = await testOrg();
  const wrong = multipart('x', 'entity_content', { PathOnClient: 'a.txt' }, 'Body', 'a.txt', Buffer.from('a'));
  const res = await org.api('/sobjects/ContentVersion', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: wrong });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), [{ message: 'The binary part "Body" does not name a blob field of ContentVersion: use VersionData', errorCode: 'INVALID_FIELD', fields: ['Body'] }]);
  const noBoundary = await org.api('/sobjects/ContentVersion', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, body: wrong });
  assert.deepEqual(await noBoundary.json(), [{ message: 'The request body does not contain the multipart boundary "zzz".', errorCode: 'MULTIPART_PARSE_ERROR' }]);
  assert.equal((await org.api(`/sobjects/ContentVersion/068000000000000AAA/VersionData`)).status, 404);
  org.close();
});
