import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

async function createOpp(org: Awaited<ReturnType<typeof testOrg>>, name: string, amount: number | null, probability: number) {
  const res = await org.api('/sobjects/Opportunity', { method: 'POST', json: { Name: name, StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: amount, Probability: probability } });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

test('a formula field reads its computed value through REST', async () => {
  const org = await testOrg();
  const id = await createOpp(org, 'Big deal', 200_000, 25);
  const rec = (await (await org.api(`/sobjects/Opportunity/${id}?fields=ExpectedRevenue`)).json()) as Record<string, unknown>;
  assert.equal(rec.ExpectedRevenue, 50_000);
  org.close();
});

test('SOQL selects, filters and sorts on a formula field; blank operands give null', async () => {
  const org = await testOrg();
  await createOpp(org, 'A', 1000, 10);
  await createOpp(org, 'B', 1000, 90);
  await createOpp(org, 'C', null, 50);
  const q = async (soql: string) => (await (await org.api(`/query?q=${encodeURIComponent(soql)}`)).json()) as { records: Record<string, unknown>[] };
  const all = await q('SELECT Name, ExpectedRevenue FROM Opportunity ORDER BY ExpectedRevenue DESC NULLS LAST');
  assert.deepEqual(all.records.map((r) => [r.Name, r.ExpectedRevenue]), [['B', 900], ['A', 100], ['C', null]]);
  const big = await q('SELECT Name FROM Opportunity WHERE ExpectedRevenue > 500');
  assert.deepEqual(big.records.map((r) => r.Name), ['B']);
  org.close();
});

test('auto-number fields take successive numbers on REST inserts', async () => {
  const org = await testOrg();
  const numbers: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await org.api('/sobjects/Case', { method: 'POST', json: { Subject: `Case ${i}`, Status: 'New', Origin: 'Web' } });
    assert.equal(res.status, 201, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    numbers.push(String(((await (await org.api(`/sobjects/Case/${id}?fields=CaseNumber`)).json()) as { CaseNumber: string }).CaseNumber));
  }
  assert.equal(new Set(numbers).size, 3, `distinct numbers: ${numbers.join(', ')}`);
  assert.deepEqual(numbers.map(Number), [Number(numbers[0]), Number(numbers[0]) + 1, Number(numbers[0]) + 2]);
  org.close();
});
