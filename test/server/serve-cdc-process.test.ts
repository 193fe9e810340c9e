/**
 * `sfbridge serve` (its own process, SQLite) with a sync pipeline whose Account has `mode: cdc` in the YAML
 * file: a change made at the org reaches the mirror through its change event; the service is SIGKILLed, a
 * change is made while it is down, and after the restart the leader resumes after its committed replay id
 * and applies it.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { openStore } from '../../src/store/index.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { serviceHome, type ServiceHome } from '../helpers/service-process.ts';
import { until } from './helpers.ts';

let org: ServedOrg;
let pubsub: PubSubServer;
let home: ServiceHome;

before(async () => {
  org = await servedOrg();
  await seedOrg(org.emu.org, 'Account=20');
  pubsub = await startPubSub(org.emu, { port: 0, host: '127.0.0.1', keepaliveMs: 200 });
  home = serviceHome(
    org,
    ['  - name: crm', '    kind: sync', '    connection: emu', '    standard_objects_to_sync: [Account]', '    objects: { Account: { mode: cdc } }', '    schedule: 1s', '    lag: 1s', '    store: sqlite:./crm.db'],
    {},
    [`    pubsub: { endpoint: "${pubsub.address}", plaintext: true }`],
  );
});

after(async () => {
  home.close();
  await pubsub.close();
  await org.close();
});

/** The mirrored Name of an Account, read from the service's mirror file. */
async function mirrored(id: string): Promise<unknown> {
  const store = await openStore(`sqlite:${home.dir}/crm.db`);
  try {
    return (await store.getRecord('Account', id))?.Name;
  } finally {
    await store.close();
  }
}

async function following(): Promise<boolean> {
  const store = await openStore(`sqlite:${home.dir}/crm.db`).catch(() => undefined);
  if (!store) return false;
  try {
    return Boolean((await store.getCheckpoint('cdc:Account'))?.extra?.replayId);
  } catch {
    return false;
  } finally {
    await store.close();
  }
}

it('follows change events from the YAML file, and resumes after a SIGKILL from the committed replay id', { timeout: 90_000 }, async () => {
  const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret }, governor: false });
  const [acc] = await sf.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Id LIMIT 1').toArray();
  let svc = await home.start();
  await until(following, 30_000, 'the leader following (its replay id stored)');
  await sf.update('Account', acc.Id, { Name: 'Seen Live' });
  await until(async () => (await mirrored(acc.Id)) === 'Seen Live', 20_000, 'the change in the mirror');

  svc.child.kill('SIGKILL');
  await svc.exit;
  await sf.update('Account', acc.Id, { Name: 'Changed While Down' });
  svc = await home.start();
  await until(async () => (await mirrored(acc.Id)) === 'Changed While Down', 30_000, 'the change made while the service was down');
  svc.child.kill('SIGTERM');
  assert.equal(await svc.exit, 0);
});
