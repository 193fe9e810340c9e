import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';

type Item = { body: unknown; httpHeaders: Record<string, string>; httpStatusCode: number; referenceId: string };

async function composite(org: TestOrg, payload: unknown, path = '/composite'): Promise<{ status: number; body: { compositeResponse: Item[] } }> {
  const res = await org.api(path, { method: 'POST', json: payload });
  return { status: res.status, body: (await res.json()) as { compositeResponse: Item[] } };
}

async function count(org: TestOrg, object: string): Promise<number> {
  return org.emu.org.store.count(org.emu.org.schema.get(object)!);
}

test('composite: create, reference id and record fields, query-style path, exact item shape', async () => {
  const org = await testOrg();
  const { status, body } = await composite(org, {
    compositeRequest: [
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'newAcct', body: { Name: 'Globex Ltd', BillingCity: 'Leeds' } },
      { method: 'GET', url: `${V}/sobjects/Account/@{newAcct.id}?fields=Name,BillingAddress`, referenceId: 'readAcct' },
      { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'newCon', body: { LastName: 'Okafor', AccountId: '@{newAcct.id}', MailingCity: '@{readAcct.BillingAddress.city}' } },
      { method: 'GET', url: `${V}/sobjects/Account/@{newAcct.id}/Contacts?fields=Id,LastName`, referenceId: 'kids' },
      { method: 'PATCH', url: `${V}/sobjects/Contact/@{kids.records[0].Id}`, referenceId: 'upd', body: { Title: 'Lead of @{readAcct.Name}' } },
      { method: 'DELETE', url: `${V}/sobjects/Contact/@{newCon.id}`, referenceId: 'del' },
    ],
  });
  assert.equal(status, 200);
  const items = body.compositeResponse;
  assert.deepEqual(items.map((i) => [i.referenceId, i.httpStatusCode]), [['newAcct', 201], ['readAcct', 200], ['newCon', 201], ['kids', 200], ['upd', 204], ['del', 204]]);
  assert.deepEqual(Object.keys(items[0]), ['body', 'httpHeaders', 'httpStatusCode', 'referenceId']);
  const acctId = (items[0].body as { id: string }).id;
  assert.deepEqual(items[0].body, { id: acctId, success: true, errors: [] });
  assert.deepEqual(items[0].httpHeaders, { Location: `${V}/sobjects/Account/${acctId}` });
  assert.equal((items[1].body as { Name: string }).Name, 'Globex Ltd');
  assert.equal(items[4].body, null);
  assert.deepEqual(items[4].httpHeaders, {});
  const kids = items[3].body as { totalSize: number; records: { Id: string; LastName: string }[] };
  assert.equal(kids.totalSize, 1);
  assert.equal(kids.records[0].Id, (items[2].body as { id: string }).id);
  const con = org.emu.org.store.getRow(org.emu.org.schema.get('Contact')!, kids.records[0].Id)!;
  assert.equal(con.AccountId, acctId);
  assert.equal(con.MailingCity, 'Leeds');
  assert.equal(con.Title, 'Lead of Globex Ltd');
  assert.equal(con.IsDeleted, 1);
  org.close();
});

test('composite counts one API call for the whole request', async () => {
  const org = await testOrg();
  const before = org.emu.org.apiUsage;
  await composite(org, { compositeRequest: [1, 2, 3].map((n) => ({ method: 'POST', url: `${V}/sobjects/Account`, referenceId: `a${n}`, body: { Name: `A${n}` } })) });
  assert.equal(org.emu.org.apiUsage, before + 1);
  org.close();
});

test('composite allOrNone: one failure rolls everything back; others report PROCESSING_HALTED', async () => {
  const org = await testOrg();
  const { status, body } = await composite(org, {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acct', body: { Name: 'Rolled back' } },
      { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'bad', body: { FirstName: 'NoLastName', AccountId: '@{acct.id}' } },
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'never', body: { Name: 'Never run' } },
    ],
  });
  assert.equal(status, 200);
  const halted = { body: [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }], httpHeaders: {}, httpStatusCode: 400 };
  assert.deepEqual(body.compositeResponse, [
    { ...halted, referenceId: 'acct' },
    { body: [{ message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }], httpHeaders: {}, httpStatusCode: 400, referenceId: 'bad' },
    { ...halted, referenceId: 'never' },
  ]);
  assert.equal(await count(org, 'Account'), 0);
  assert.equal(await count(org, 'Contact'), 0);
  org.close();
});

test('composite allOrNone overrides a collections subrequest and rolls back on its record failure', async () => {
  const org = await testOrg();
  const { body } = await composite(org, {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acct', body: { Name: 'Parent' } },
      { method: 'POST', url: `${V}/composite/sobjects`, referenceId: 'coll', body: { allOrNone: false, records: [{ attributes: { type: 'Contact' }, LastName: 'Ok' }, { attributes: { type: 'Contact' }, FirstName: 'Bad' }] } },
    ],
  });
  assert.equal(body.compositeResponse[0].httpStatusCode, 400);
  assert.equal(body.compositeResponse[1].httpStatusCode, 200);
  const results = body.compositeResponse[1].body as { success: boolean; errors: { statusCode: string }[] }[];
  assert.deepEqual(results.map((r) => r.errors[0].statusCode), ['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'REQUIRED_FIELD_MISSING']);
  assert.equal(await count(org, 'Account'), 0);
  assert.equal(await count(org, 'Contact'), 0);
  org.close();
});

test('composite without allOrNone: successes stay, dependants of a failure are halted with an invalid-reference error', async () => {
  const org = await testOrg();
  const { body } = await composite(org, {
    compositeRequest: [
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'bad', body: { Nope__c: 1 } },
      { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'dep', body: { LastName: 'X', AccountId: '@{bad.id}' } },
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'ok', body: { Name: 'Kept' } },
      { method: 'GET', url: `${V}/sobjects/Account/@{ok.id}?fields=Name`, referenceId: 'missingField' },
      { method: 'GET', url: `${V}/sobjects/Account/@{missingField.Industry}`, referenceId: 'notInResponse' },
    ],
  });
  const items = body.compositeResponse;
  assert.deepEqual(items.map((i) => i.httpStatusCode), [400, 400, 201, 200, 400]);
  assert.deepEqual(items[1].body, [{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for bad.id found in bad' }]);
  assert.deepEqual(items[4].body, [{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for missingField.Industry found in missingField' }]);
  assert.equal(await count(org, 'Account'), 1);
  org.close();
});

test('composite: null reference substitutes null on v52+, and query records path resolves', async () => {
  const org = await testOrg();
  const { body } = await composite(org, {
    compositeRequest: [
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a', body: { Name: 'A' } },
      { method: 'GET', url: `${V}/sobjects/Account/@{a.id}?fields=Id,Industry`, referenceId: 'r' },
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'b', body: { Name: 'B', Industry: '@{r.Industry}', ParentId: '@{r.Id}' } },
    ],
  });
  assert.equal(body.compositeResponse[2].httpStatusCode, 201);
  const b = org.emu.org.store.getRow(org.emu.org.schema.get('Account')!, (body.compositeResponse[2].body as { id: string }).id)!;
  assert.equal(b.Industry, null);
  assert.equal(b.ParentId, (body.compositeResponse[0].body as { id: string }).id);
  org.close();
});

test('composite httpHeaders are passed to the subrequest; forbidden headers fail the envelope', async () => {
  const org = await testOrg();
  const future = new Date(Date.now() + 3_600_000).toUTCString();
  const { body } = await composite(org, { compositeRequest: [{ method: 'GET', url: `${V}/sobjects/Account/describe`, referenceId: 'd', httpHeaders: { 'If-Modified-Since': future } }] });
  assert.equal(body.compositeResponse[0].httpStatusCode, 304);
  const bad = await org.api('/composite', { method: 'POST', json: { compositeRequest: [{ method: 'GET', url: `${V}/sobjects`, referenceId: 'd', httpHeaders: { Authorization: 'Bearer x' } }] } });
  assert.equal(bad.status, 400);
  org.close();
});

test('composite envelope errors: 26 subrequests, more than 5 queries/collections, bad and duplicate referenceIds, bad url', async () => {
  const org = await testOrg();
  const sub = (n: number) => ({ method: 'POST', url: `${V}/sobjects/Account`, referenceId: `r${n}`, body: { Name: `A${n}` } });
  const tooMany = await org.api('/composite', { method: 'POST', json: { compositeRequest: Array.from({ length: 26 }, (_, i) => sub(i)) } });
  assert.equal(tooMany.status, 400);
  const [err] = (await tooMany.json()) as { errorCode: string; message: string }[];
  assert.equal(err.errorCode, 'INVALID_BATCH_REQUEST');
  assert.equal(await count(org, 'Account'), 0);
  const ok25 = await composite(org, { compositeRequest: Array.from({ length: 25 }, (_, i) => sub(i)) });
  assert.equal(ok25.body.compositeResponse.length, 25);

  const queries = Array.from({ length: 6 }, (_, i) => ({ method: 'GET', url: `${V}/composite/sobjects/Account?ids=001000000000000AAA&fields=Name`, referenceId: `q${i}` }));
  assert.equal((await org.api('/composite', { method: 'POST', json: { compositeRequest: queries } })).status, 400);
  assert.equal((await org.api('/composite', { method: 'POST', json: { compositeRequest: [{ ...sub(1), referenceId: '_bad' }] } })).status, 400);
  assert.equal((await org.api('/composite', { method: 'POST', json: { compositeRequest: [sub(1), sub(1)] } })).status, 400);
  assert.equal((await org.api('/composite', { method: 'POST', json: { compositeRequest: [{ ...sub(1), url: '/sobjects/Account' }] } })).status, 400);
  assert.equal((await org.api('/composite', { method: 'POST', json: { compositeRequest: [] } })).status, 400);
  org.close();
});

test('composite: disallowed targets fail their subrequest only', async () => {
  const org = await testOrg();
  const { body } = await composite(org, {
    compositeRequest: [
      { method: 'POST', url: `${V}/composite/tree/Account`, referenceId: 't', body: { records: [] } },
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a', body: { Name: 'A' } },
    ],
  });
  assert.deepEqual(body.compositeResponse.map((i) => i.httpStatusCode), [400, 201]);
  org.close();
});

test('GET /composite lists the composite resources', async () => {
  const org = await testOrg();
  const res = await org.api('/composite');
  assert.deepEqual(await res.json(), { tree: `${V}/composite/tree`, batch: `${V}/composite/batch`, sobjects: `${V}/composite/sobjects`, graph: `${V}/composite/graph` });
  org.close();
});

test('atomicity: a concurrent REST create during an allOrNone composite survives its rollback', async () => {
  const org = await testOrg();
  const store = org.emu.org.store;
  let firstWrite!: () => void;
  const wrote = new Promise<void>((r) => (firstWrite = r));
  const onWrite = () => {
    org.emu.org.events.off('write', onWrite);
    firstWrite();
  };
  org.emu.org.events.on('write', onWrite);
  const reads = Array.from({ length: 10 }, (_, i) => ({ method: 'GET', url: `${V}/sobjects/Account/@{acct.id}`, referenceId: `read${i}` }));
  const compositeDone = composite(org, {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acct', body: { Name: 'Composite' } },
      ...reads,
      { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'bad', body: { FirstName: 'NoLastName' } },
    ],
  });
  // Started while the composite's savepoint is open (after its first insert), outside its async context.
  await wrote;
  const concurrent = org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Concurrent' } });
  const [c, r] = await Promise.all([compositeDone, concurrent]);
  assert.equal(c.body.compositeResponse.at(-1)!.httpStatusCode, 400);
  assert.equal(r.status, 201);
  const { id } = (await r.json()) as { id: string };
  const names = store.prepare('SELECT Name FROM Account').all().map((row) => row.Name);
  assert.deepEqual(names, ['Concurrent']);
  assert.equal(store.getRow(org.emu.org.schema.get('Account')!, id)?.Name, 'Concurrent');
  org.close();
});

test('composite graph: each graph is all-or-none and independent', async () => {
  const org = await testOrg();
  const res = await org.api('/composite/graph', {
    method: 'POST',
    json: {
      graphs: [
        { graphId: 'g1', compositeRequest: [
          { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acct', body: { Name: 'Hooli' } },
          { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'con', body: { LastName: 'Belson', AccountId: '@{acct.id}' } },
        ] },
        { graphId: 'g2', compositeRequest: [
          { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acct', body: { Name: 'Rolled' } },
          { method: 'PATCH', url: `${V}/sobjects/Account/Ext_Key__c/K-9`, referenceId: 'up', body: { Name: 'Pied Piper' } },
        ] },
      ],
    },
  });
  assert.equal(res.status, 200);
  const out = (await res.json()) as { graphs: { graphId: string; isSuccessful: boolean; graphResponse: { compositeResponse: Item[] } }[] };
  assert.deepEqual(out.graphs.map((g) => [g.graphId, g.isSuccessful]), [['g1', true], ['g2', false]]);
  assert.deepEqual(out.graphs[1].graphResponse.compositeResponse.map((i) => i.httpStatusCode), [400, 404]);
  assert.equal((out.graphs[1].graphResponse.compositeResponse[0].body as { errorCode: string }[])[0].errorCode, 'PROCESSING_HALTED');
  assert.equal(await count(org, 'Account'), 1);
  assert.equal(await count(org, 'Contact'), 1);
  org.close();
});
