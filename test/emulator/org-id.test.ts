/**
 * Each emulated org has its own org Id: random at first start, stored with the data (a restart on the same
 * file is the same org), settable with `--org-id`, and the one every API reports (identity, userinfo, the
 * resource directory's identity URL, access tokens, the Organization record, Pub/Sub's tenant check).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createEmulator } from '../../src/emulator/app.ts';
import { isValidId, parseOrgId, toId18 } from '../../src/emulator/ids.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { BIN, sfbridge } from '../cli/helpers.ts';
import { login, V } from '../helpers/emulator.ts';

async function reported(emu: ReturnType<typeof createEmulator>) {
  const token = await login(emu);
  const auth = { authorization: `Bearer ${token}` };
  const userinfo = (await (await emu.request('/services/oauth2/userinfo', { headers: auth })).json()) as { organization_id: string };
  const dir = (await (await emu.request(V, { headers: auth })).json()) as { identity: string };
  const identity = (await (await emu.request(new URL(dir.identity).pathname, { headers: auth })).json()) as { organization_id: string };
  const org = (await (await emu.request(`${V}/query?q=${encodeURIComponent('SELECT Id FROM Organization')}`, { headers: auth })).json()) as { records: { Id: string }[] };
  return { token, userinfo: userinfo.organization_id, identityUrl: dir.identity, identity: identity.organization_id, organization: org.records[0]?.Id };
}

describe('emulated org Id', () => {
  test('two emulators get different, well-formed org Ids, and every API reports its own', async () => {
    const a = createEmulator();
    const b = createEmulator();
    try {
      await seedOrg(a.org, 'none');
      await seedOrg(b.org, 'none');
      assert.notEqual(a.org.orgId, b.org.orgId);
      for (const emu of [a, b]) {
        const id = emu.org.orgId;
        assert.match(id, /^00D[A-Za-z0-9]{15}$/);
        assert.ok(isValidId(id));
        const r = await reported(emu);
        assert.equal(r.userinfo, id);
        assert.equal(r.identity, id);
        assert.match(r.identityUrl, new RegExp(`/id/${id}/005`));
        assert.equal(r.organization, id);
        assert.ok(r.token.startsWith(`${id.slice(0, 15)}!`));
      }
    } finally {
      a.close();
      b.close();
    }
  });

  test('a restarted emulator on the same data file keeps its org Id; another Id for that file is refused', async () => {
    const db = join(await mkdtemp(join(tmpdir(), 'sfb-orgid-')), 'org.db');
    const first = createEmulator({ db });
    const id = first.org.orgId;
    first.close();
    const again = createEmulator({ db });
    assert.equal(again.org.orgId, id);
    again.close();
    assert.throws(() => createEmulator({ db, orgId: '00D000000000001' }), new RegExp(`not the org of .*org\\.db: its data belongs to ${id}`));
    const same = createEmulator({ db, orgId: id.slice(0, 15) });
    assert.equal(same.org.orgId, id);
    same.close();
  });

  test('the orgId option sets it, in 15- or 18-char form', () => {
    const id18 = toId18('00D5g000004AbCd');
    const a = createEmulator({ orgId: '00D5g000004AbCd' });
    assert.equal(a.org.orgId, id18);
    a.close();
    assert.equal(parseOrgId(id18.slice(0, 15) + id18.slice(15).toLowerCase()), id18);
    for (const [bad, why] of [['001000000000001', /must start with 00D/], ['00D123', /15 or 18 letters and digits/], ['00D5g000004AbCdZZZ', /wrong 18-char suffix/], ['00D5g00000-AbCd', /letters and digits/]] as const) {
      assert.throws(() => parseOrgId(bad), why, bad);
    }
  });

  test('sfbridge emulator --org-id shows it in the ready banner; a bad --org-id exits 2 naming the flag', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sfb-orgid-cli-'));
    const env = { PATH: process.env.PATH, HOME: cwd, SFBRIDGE_HOME: cwd };
    const bad = await sfbridge(['emulator', '--port', '0', '--seed', 'none', '--org-id', '00X000000000001'], { cwd, env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--org-id: org Id "00X000000000001" must start with 00D/);
    assert.equal(bad.stdout, '');

    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--seed', 'none', '--org-id', '00D5g000004AbCd'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (/api version:/.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${out}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    assert.match(out, new RegExp(`org id: +${toId18('00D5g000004AbCd')}\\n`));
  });
});
