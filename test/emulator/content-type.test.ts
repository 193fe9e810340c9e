/** Request media types (415 for what a resource does not read) and describe of shadow objects that used to answer 500. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

test('a body in a media type the resource does not read answers 415 UNSUPPORTED_MEDIA_TYPE', async () => {
  const org = await testOrg();
  for (const [type, body] of [['text/plain', '{"Name":"x"}'], ['application/x-www-form-urlencoded', 'Name=x'], ['multipart/related; boundary=b', '--b--']]) {
    const res = await org.api('/sobjects/Account', { method: 'POST', headers: { 'content-type': type }, body });
    assert.equal(res.status, 415, type);
    assert.deepEqual(await res.json(), [{ message: `MediaType of '${type.split(';')[0]}' is not supported by this resource`, errorCode: 'UNSUPPORTED_MEDIA_TYPE' }]);
  }
  // Multipart is read where Salesforce reads it (blob inserts), and refused elsewhere.
  const form = await org.api('/composite/sobjects', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body: '--b--' });
  assert.deepEqual([form.status, ((await form.json()) as { errorCode: string }[])[0].errorCode], [415, 'UNSUPPORTED_MEDIA_TYPE']);
  org.close();
});

test('JSON is read with or without a charset, a +json type, or no Content-Type at all; multipart uploads still work', async () => {
  const org = await testOrg();
  for (const type of ['application/json', 'application/json; charset=UTF-8', 'application/vnd.example+json', null]) {
    const headers: Record<string, string> = type ? { 'content-type': type } : {};
    // Bytes, not a string: a string body would make fetch add `text/plain` itself.
    const res = await org.api('/sobjects/Account', { method: 'POST', headers, body: Buffer.from(JSON.stringify({ Name: `Acme ${type}` })) });
    assert.equal(res.status, 201, String(type));
  }
  const boundary = 'xyz';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="entity_content"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ PathOnClient: 'a.txt', Title: 'a' })}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="VersionData"; filename="a.txt"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--${boundary}--\r\n`),
  ]);
  const up = await org.api('/sobjects/ContentVersion', { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
  assert.equal(up.status, 201, await up.clone().text());
  const { id } = (await up.json()) as { id: string };
  const bytes = await org.api(`/sobjects/ContentVersion/${id}/VersionData`);
  assert.equal(await bytes.text(), 'hello');
  org.close();
});

test('ChangeEvent and ContentDocumentLink basic info and describe answer 200', async () => {
  const org = await testOrg();
  for (const path of ['/sobjects/AccountChangeEvent', '/sobjects/AccountChangeEvent/describe', '/sobjects/CaseChangeEvent', '/sobjects/ContentDocumentLink', '/sobjects/ContentDocumentLink/describe']) {
    const res = await org.api(path);
    assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
    const body = (await res.json()) as { name?: string; objectDescribe?: { name: string }; recentItems?: unknown[] };
    assert.equal(body.name ?? body.objectDescribe?.name, path.split('/')[2]);
    if (body.objectDescribe) assert.deepEqual(body.recentItems, []);
  }
  org.close();
});
