import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsforce from 'jsforce';
import { createEmulator } from '../../src/emulator/app.ts';
import { serve } from '../../src/emulator/http/node-server.ts';
import { login } from '../helpers/emulator.ts';

test('jsforce bulk2: load with results, then query with paging', async () => {
  const emu = createEmulator();
  const server = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
  try {
    const conn = new jsforce.Connection({ instanceUrl: server.url, accessToken: await login(emu), version: '62.0' });
    const loaded = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact',
      operation: 'insert',
      input: [{ LastName: 'Okafor', Title: 'Eng, "Lead"' }, { LastName: null, Title: 'x' }, { LastName: 'Ito', Title: 'multi\nline' }],
      pollInterval: 20,
    });
    assert.equal(loaded.successfulResults.length, 2);
    assert.equal(loaded.failedResults.length, 1);
    assert.equal(loaded.failedResults[0].sf__Error, 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --');
    assert.match(String(loaded.successfulResults[0].sf__Id), /^003/);

    const records = await (await conn.bulk2.query('SELECT LastName, Title FROM Contact ORDER BY LastName', { pollInterval: 20 })).toArray();
    assert.deepEqual(records.map((r) => [r.LastName, r.Title]), [['Ito', 'multi\nline'], ['Okafor', 'Eng, "Lead"']]);
  } finally {
    await server.close();
    emu.close();
  }
});
