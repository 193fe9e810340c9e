import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEmulator } from '../../src/emulator/app.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';

test('/__emulator/stats counts live records of every object (change events have no IsDeleted column)', async () => {
  const emu = createEmulator();
  await seedOrg(emu.org, 'Account=7');
  const res = await emu.request('/__emulator/stats');
  assert.equal(res.status, 200);
  const body = (await res.json()) as { records: Record<string, number>; rssBytes: number };
  assert.equal(body.records.Account, 7);
  assert.equal(body.records.AccountChangeEvent, 0);
  assert.ok(body.rssBytes > 0);
  emu.close();
});

test('/__emulator/stats counts the records the org wrote, through any API', async () => {
  const emu = createEmulator();
  const before = ((await (await emu.request('/__emulator/stats')).json()) as { writes: number }).writes;
  const { login } = await import('../helpers/emulator.ts');
  const auth = { authorization: `Bearer ${await login(emu)}`, 'content-type': 'application/json' };
  const created = (await (await emu.request('/services/data/v62.0/sobjects/Account', { method: 'POST', headers: auth, body: JSON.stringify({ Name: 'Counted' }) })).json()) as { id: string };
  await emu.request(`/services/data/v62.0/sobjects/Account/${created.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ Phone: '555' }) });
  await emu.request('/services/data/v62.0/query?q=SELECT+Id+FROM+Account', { headers: auth });
  await emu.request(`/services/data/v62.0/sobjects/Account/${created.id}`, { method: 'DELETE', headers: auth });
  const after = ((await (await emu.request('/__emulator/stats')).json()) as { writes: number }).writes;
  assert.equal(after - before, 3);
  emu.close();
});

