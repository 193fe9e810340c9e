import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';

async function create(org: TestOrg, object: string, body: Record<string, unknown>): Promise<string> {
  const res = await org.api(`/sobjects/${object}`, { method: 'POST', json: body });
  return ((await res.json()) as { id: string }).id;
}

test('relationship traversal: parent lookup, polymorphic owner, null lookup 404, ?fields', async () => {
  const org = await testOrg();
  const acct = await create(org, 'Account', { Name: 'Globex', Industry: 'Banking' });
  const con = await create(org, 'Contact', { LastName: 'Okafor', AccountId: acct });
  const orphan = await create(org, 'Contact', { LastName: 'Alone' });

  const parent = await org.api(`/sobjects/Contact/${con}/Account?fields=Name,Industry`);
  assert.equal(parent.status, 200);
  assert.deepEqual(await parent.json(), { attributes: { type: 'Account', url: `${V}/sobjects/Account/${acct}` }, Name: 'Globex', Industry: 'Banking' });

  const full = (await (await org.api(`/sobjects/Contact/${con}/account`)).json()) as Record<string, unknown>;
  assert.equal(full.Id, acct);
  assert.ok('BillingAddress' in full);

  const owner = (await (await org.api(`/sobjects/Account/${acct}/Owner?fields=Username`)).json()) as { attributes: { type: string } };
  assert.equal(owner.attributes.type, 'User');

  const none = await org.api(`/sobjects/Contact/${orphan}/Account`);
  assert.equal(none.status, 404);
  assert.deepEqual(await none.json(), [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
  assert.equal((await org.api(`/sobjects/Contact/${con}/NoSuchRel`)).status, 404);
  assert.equal((await org.api(`/sobjects/Contact/${con}/Account?fields=Nope`)).status, 400);
  org.close();
});

test('relationship traversal: child relationship answers the query shape, empty when no children', async () => {
  const org = await testOrg();
  const acct = await create(org, 'Account', { Name: 'Globex' });
  const empty = await org.api(`/sobjects/Account/${acct}/Contacts`);
  assert.equal(empty.status, 200);
  assert.deepEqual(await empty.json(), { totalSize: 0, done: true, records: [] });
  const c1 = await create(org, 'Contact', { LastName: 'One', AccountId: acct });
  const c2 = await create(org, 'Contact', { LastName: 'Two', AccountId: acct });
  const gone = await create(org, 'Contact', { LastName: 'Gone', AccountId: acct });
  await org.api(`/sobjects/Contact/${gone}`, { method: 'DELETE' });
  const kids = await org.api(`/sobjects/Account/${acct}/Contacts?fields=Id,LastName`);
  assert.deepEqual(await kids.json(), {
    totalSize: 2,
    done: true,
    records: [
      { attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${c1}` }, Id: c1, LastName: 'One' },
      { attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${c2}` }, Id: c2, LastName: 'Two' },
    ],
  });
  org.close();
});

test('external-ID reads still work next to traversal routes', async () => {
  const org = await testOrg();
  const acct = await create(org, 'Account', { Name: 'Globex' });
  const res = await org.api('/sobjects/Account/Name/Globex?fields=Id');
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { Id: string }).Id, acct);
  org.close();
});
