import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

type TreeBody = { hasErrors: boolean; results: { referenceId: string; id?: string; errors?: { statusCode: string; message: string; fields: string[] }[] }[] };

test('tree: nested children get their parent id, results roots first then by level, 201', async () => {
  const org = await testOrg();
  const res = await org.api('/composite/tree/Account', {
    method: 'POST',
    json: {
      records: [
        {
          attributes: { type: 'Account', referenceId: 'acct1' },
          Name: 'Initech',
          Contacts: { records: [{ attributes: { type: 'Contact', referenceId: 'con1' }, LastName: 'Lumbergh' }, { attributes: { type: 'Contact', referenceId: 'con2' }, LastName: 'Waddams' }] },
          ChildAccounts: { records: [{ attributes: { type: 'Account', referenceId: 'sub1' }, Name: 'Initech EU', Contacts: { records: [{ attributes: { type: 'Contact', referenceId: 'con3' }, LastName: 'Bolton' }] } }] },
        },
        { attributes: { type: 'Account', referenceId: 'acct2' }, Name: 'Initrode' },
      ],
    },
  });
  assert.equal(res.status, 201);
  const body = (await res.json()) as TreeBody;
  assert.equal(body.hasErrors, false);
  assert.deepEqual(body.results.map((r) => r.referenceId), ['acct1', 'acct2', 'con1', 'con2', 'sub1', 'con3']);
  const byRef = new Map(body.results.map((r) => [r.referenceId, r.id!]));
  const o = org.emu.org;
  const contact = o.schema.get('Contact')!;
  assert.equal(o.store.getRow(contact, byRef.get('con1')!)!.AccountId, byRef.get('acct1'));
  assert.equal(o.store.getRow(o.schema.get('Account')!, byRef.get('sub1')!)!.ParentId, byRef.get('acct1'));
  assert.equal(o.store.getRow(contact, byRef.get('con3')!)!.AccountId, byRef.get('sub1'));
  org.close();
});

test('tree: any failure saves nothing and lists only the failing records with 400', async () => {
  const org = await testOrg();
  const res = await org.api('/composite/tree/Account', {
    method: 'POST',
    json: {
      records: [
        { attributes: { type: 'Account', referenceId: 'acct1' }, Name: 'Initech', Contacts: { records: [{ attributes: { type: 'Contact', referenceId: 'con1' }, LastName: 'Ok' }, { attributes: { type: 'Contact', referenceId: 'con2' }, LastName: 'Waddams', Email: 'not-an-email' }] } },
      ],
    },
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { hasErrors: true, results: [{ referenceId: 'con2', errors: [{ statusCode: 'INVALID_EMAIL_ADDRESS', message: 'Email: invalid email address: not-an-email', fields: ['Email'] }] }] });
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Account')!), 0);
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Contact')!), 0);
  org.close();
});

test('tree: root type mismatch, missing and duplicate referenceIds are record errors', async () => {
  const org = await testOrg();
  const res = await org.api('/composite/tree/Account', {
    method: 'POST',
    json: { records: [{ attributes: { type: 'Contact', referenceId: 'c' }, LastName: 'X' }, { attributes: { type: 'Account' }, Name: 'no ref' }, { attributes: { type: 'Account', referenceId: 'c' }, Name: 'dup' }] },
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as TreeBody;
  assert.deepEqual(body.results.map((r) => [r.referenceId, r.errors![0].statusCode]), [['c', 'INVALID_TYPE'], [undefined, 'INVALID_INPUT'], ['c', 'INVALID_INPUT']]);
  org.close();
});

test('tree: 201 records across levels is rejected; 200 are accepted', async () => {
  const org = await testOrg();
  const tree = (kids: number) => ({
    records: [{ attributes: { type: 'Account', referenceId: 'root' }, Name: 'Root', Contacts: { records: Array.from({ length: kids }, (_, i) => ({ attributes: { type: 'Contact', referenceId: `c${i}` }, LastName: `C${i}` })) } }],
  });
  const over = await org.api('/composite/tree/Account', { method: 'POST', json: tree(200) });
  assert.equal(over.status, 400);
  assert.equal(((await over.json()) as { errorCode: string }[])[0].errorCode, 'EXCEEDED_ID_LIMIT');
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Contact')!), 0);
  const ok = await org.api('/composite/tree/Account', { method: 'POST', json: tree(199) });
  assert.equal(ok.status, 201);
  assert.equal(((await ok.json()) as TreeBody).results.length, 200);
  org.close();
});

test('tree: nesting deeper than 5 levels is rejected', async () => {
  const org = await testOrg();
  let node: Record<string, unknown> = { attributes: { type: 'Account', referenceId: 'l6' }, Name: 'L6' };
  for (let level = 5; level >= 1; level--) node = { attributes: { type: 'Account', referenceId: `l${level}` }, Name: `L${level}`, ChildAccounts: { records: [node] } };
  const res = await org.api('/composite/tree/Account', { method: 'POST', json: { records: [node] } });
  assert.equal(res.status, 400);
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Account')!), 0);
  org.close();
});
