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
