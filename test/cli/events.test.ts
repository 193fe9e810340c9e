/**
 * `sfbridge events tail|publish`: the real launcher in a child process against an emulator serving REST over
 * HTTP and the Pub/Sub API over gRPC on random ports. Change events for REST writes with their exact
 * headers, replay from a printed replay id, a tail that survives a dropped stream, publish and receive a
 * platform event, and refusals before anything is sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { openStore } from '../../src/store/index.ts';
import { cliOrg, sfbridge, startSfbridge, workdir, type CliOrg } from './helpers.ts';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 1500) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A tail in a child process; `lines` grows as it prints. */
const children = new Set<ReturnType<typeof startSfbridge>>();

function startTail(args: string[], org: CliOrg, cwd: string) {
  const child = startSfbridge(['events', 'tail', ...args], { cwd, env: org.env });
  children.add(child);
  child.on('close', () => children.delete(child));
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exit = new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
  return { child, lines, exit, stderr: () => stderr };
}

describe('sfbridge events', () => {
  let org: CliOrg;
  let pubsub: PubSubServer;
  let sf: SalesforceClient;
  let cwd: string;

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Ping__e', fields: [{ name: 'Note__c', type: 'string', length: 50 }, { name: 'Count__c', type: 'int' }] }] });
    org = await cliOrg({ objects });
    pubsub = await startPubSub(org.emu, { port: 0, host: '127.0.0.1', keepaliveMs: 100 });
    org.env.SF_PUBSUB_ENDPOINT = pubsub.address;
    org.env.SF_PUBSUB_PLAINTEXT = '1';
    sf = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: org.server.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret },
      governor: false,
    });
    cwd = await workdir();
  });

  after(async () => {
    // A failed assertion must not leave a tail running (it would keep the test process alive).
    for (const child of children) child.kill('SIGKILL');
    await pubsub.close();
    await org.close();
  });

  test('tail --from earliest --format jsonl prints change events of REST writes with their exact headers', async () => {
    const { id } = await sf.create('Account', { Name: 'Tail Co', BillingCity: 'Leeds' });
    await sf.update('Account', id, { Name: 'Tail Co Ltd', Phone: null, BillingCity: 'York' });
    await sf.update('Account', id, { Phone: '123' });
    await sf.update('Account', id, { Phone: null });
    const run = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--from', 'earliest', '--limit', '4', '--format', 'jsonl'], { cwd, env: org.env });
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.length, 4);
    const [create, update, , nulled] = events;
    assert.equal(create.topic, '/data/AccountChangeEvent');
    assert.match(create.replayId, /^[0-9a-f]{16}$/);
    assert.equal(create.header.changeType, 'CREATE');
    assert.equal(create.header.entityName, 'Account');
    assert.deepEqual(create.header.recordIds, [id]);
    assert.match(create.header.changeOrigin, /^com\/salesforce\/api\/rest/);
    assert.equal(create.payload.Name, 'Tail Co');
    assert.equal(update.header.changeType, 'UPDATE');
    assert.deepEqual([...update.header.changedFields].sort(), ['BillingAddress.City', 'LastModifiedDate', 'Name']);
    assert.equal(update.payload.BillingAddress.City, 'York');
    assert.deepEqual(nulled.header.nulledFields, ['Phone']);
    assert.ok(nulled.header.changedFields.includes('Phone'));
    assert.ok(events.every((e, i) => i === 0 || e.replayId > events[i - 1].replayId), 'replay ids increase');
    assert.match(run.stderr, /tailing \/data\/AccountChangeEvent from earliest/);
  });

  test('tail --from ID prints only the events after that replay id (--replay is the same flag)', async () => {
    const first = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--from', 'earliest', '--limit', '1', '--json'], { cwd, env: org.env });
    const from = JSON.parse(first.stdout).replayId as string;
    const all = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--replay', 'earliest', '--limit', '3', '--json'], { cwd, env: org.env });
    const after = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--from', from, '--limit', '2', '--json'], { cwd, env: org.env });
    assert.equal(after.code, 0, after.stderr);
    const ids = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l).replayId as string);
    assert.deepEqual(ids(after.stdout), ids(all.stdout).slice(1));
    const alias = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--replay', from, '--limit', '2', '--format', 'jsonl'], { cwd, env: org.env });
    assert.deepEqual(ids(alias.stdout), ids(all.stdout).slice(1));
    // The table's replay id column resumes a tail as well.
    const table = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--from', 'earliest', '--limit', '1'], { cwd, env: org.env });
    assert.equal(/replay ([0-9a-f]{16})$/.exec(table.stdout.trim())?.[1], from);
  });

  test('a tail from latest prints new changes as lines and keeps going after a dropped stream', async () => {
    const subs = pubsub.stats.subscriptions;
    const tail = startTail(['/data/AccountChangeEvent', '--limit', '2'], org, cwd);
    await until(() => pubsub.stats.subscriptions > subs, 'the subscription');
    const { id } = await sf.create('Account', { Name: 'Live One' });
    await until(() => tail.lines.length === 1, 'the first event');
    const time = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    assert.match(tail.lines[0], new RegExp(`^${time}  CREATE {6}  Account  ${id}  (?:\\S+=\\S+ )*Name="Live One"(?: \\S+=\\S+)*  replay [0-9a-f]{16}$`));
    // A create's line leaves out the audit fields every create carries.
    assert.doesNotMatch(tail.lines[0], /CreatedDate|LastModifiedById/);
    await org.emu.request('/__emulator/events/drop', { method: 'POST' });
    await sf.update('Account', id, { Name: 'Live Two' });
    assert.equal(await tail.exit, 0, tail.stderr());
    assert.equal(tail.lines.length, 2);
    assert.match(tail.lines[1], new RegExp(`^${time}  UPDATE {6}  Account  ${id}  (?:Name="Live Two" LastModifiedDate=\\d+|LastModifiedDate=\\d+ Name="Live Two")  replay [0-9a-f]{16}$`));
    assert.match(tail.stderr(), /2 events/);
  });

  test('publish --data sends platform events a tail receives; --json gives the result of each', async () => {
    const subs = pubsub.stats.subscriptions;
    const tail = startTail(['/event/Ping__e', '--limit', '2', '--json'], org, cwd);
    await until(() => pubsub.stats.subscriptions > subs, 'the subscription');
    const run = await sfbridge(['events', 'publish', '/event/Ping__e', '--data', '[{"id":"k-1","Note__c":"one","Count__c":1},{"Note__c":"two"}]', '--json'], { cwd, env: org.env });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.published, 2);
    assert.equal(doc.results[0].correlationKey, 'k-1');
    assert.ok(doc.results.every((r: { replayId?: string }) => /^[0-9a-f]{16}$/.test(r.replayId ?? '')));
    assert.equal(await tail.exit, 0, tail.stderr());
    const got = tail.lines.map((l) => JSON.parse(l));
    assert.deepEqual(got.map((e) => [e.payload.Note__c, e.payload.Count__c]), [['one', 1], ['two', null]]);
    assert.equal(got[0].id, 'k-1');
    assert.deepEqual(got.map((e) => e.replayId), doc.results.map((r: { replayId: string }) => r.replayId));
  });

  test('publish --from - reads JSON lines from stdin', async () => {
    const run = await sfbridge(['events', 'publish', '/event/Ping__e', '--from', '-'], { cwd, env: org.env, input: '{"Note__c":"a"}\n\n{"Note__c":"b"}\n' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').filter((l) => l.startsWith('published ')).length, 2);
    assert.match(run.stderr, /2 events published to \/event\/Ping__e/);
    // The table shows a platform event with its time, EVENT, the event name, its id and its values.
    const key = /published {2}(\S+)/.exec(run.stdout)![1];
    const replay = /replay ([0-9a-f]{16})/.exec(run.stdout)![1];
    const before = (BigInt(`0x${replay}`) - 1n).toString(16).padStart(16, '0');
    const tail = await sfbridge(['events', 'tail', '/event/Ping__e', '--from', before, '--limit', '1'], { cwd, env: org.env });
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout.trim(), new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  EVENT {7}  Ping__e  ${key}  Note__c="a"  replay ${replay}$`));
  });

  test('bad input is refused with the fix, exit 2, before anything is published', async () => {
    const tip = org.emu.org.bus.tip;
    const cases: [string[], RegExp][] = [
      [['events', 'publish', '/event/Ping__e', '--data', '{"Nope__c":1}'], /Ping__e has no field Nope__c; its fields are .*Note__c/],
      [['events', 'publish', '/event/Ping__e', '--data', '{nope'], /--data is not JSON/],
      [['events', 'publish', '/data/AccountChangeEvent', '--data', '{}'], /not a platform event channel/],
      [['events', 'publish', '/event/Ping__e'], /--data JSON or --from FILE/],
      [['events', 'tail', '/data/AccountChangeEvent', '--from', 'yesterday'], /--from must be latest, earliest or a replay id in hex/],
      [['events', 'tail', '/data/AccountChangeEvent', '--replay', 'yesterday'], /--replay must be latest, earliest or a replay id in hex/],
      [['events', 'tail', '/data/AccountChangeEvent', '--format', 'csv'], /--format must be table or jsonl, got "csv"/],
      [['events', 'tail', '/data/AccountChangeEvent', '--from', 'latest', '--replay', 'latest'], /--from or --replay/],
      [['events', 'tail', 'AccountChangeEvent'], /not a Pub\/Sub topic name/],
      [['events', 'tail', '/data/NopeChangeEvent'], /NopeChangeEvent/],
      [['events', 'tial'], /unknown events command "tial"/],
    ];
    for (const [args, message] of cases) {
      const run = await sfbridge(args, { cwd, env: org.env });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    assert.equal(org.emu.org.bus.tip, tip, 'nothing was published');
  });

  test('publish --from FILE.jsonl: a line per event, exit 1 when one is refused; a bad line or an unknown topic is refused first', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${cwd}/events.jsonl`, '{"id":"f-1","Note__c":"first","Count__c":1}\n{"id":"f-2","Count__c":2.5}\n{"id":"f-3","Note__c":"third"}\n');
    const tip = org.emu.org.bus.tip;
    const run = await sfbridge(['events', 'publish', '/event/Ping__e', '--from', 'events.jsonl'], { cwd, env: org.env });
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^published {2}f-1 {2}replay [0-9a-f]{16}$/);
    assert.match(lines[1], /^failed {5}f-2 {2}INVALID_EVENT: the values do not fit the schema of \/event\/Ping__e/);
    assert.match(lines[2], /^published {2}f-3 /);
    assert.match(run.stderr, /2 events published to \/event\/Ping__e, 1 failed/);
    assert.equal(org.emu.org.bus.tip, tip + 2);

    await writeFile(`${cwd}/bad.jsonl`, '{"Note__c":"a"}\n\n{"Note__c": nope}\n');
    const bad = await sfbridge(['events', 'publish', '/event/Ping__e', '--from', 'bad.jsonl'], { cwd, env: org.env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--from bad\.jsonl: line 3 is not JSON .*one event object per line/);
    const unknown = await sfbridge(['events', 'publish', '/event/Pong__e', '--from', 'events.jsonl', '--json'], { cwd, env: org.env });
    assert.equal(unknown.code, 2, unknown.stdout);
    const doc = JSON.parse(unknown.stdout);
    assert.equal(doc.error.code, 'PUBSUB_TOPIC');
    assert.match(doc.error.message, /Topic \/event\/Pong__e not found/);
    assert.equal(org.emu.org.bus.tip, tip + 2, 'nothing more was published');
  });

  test('publish --from a file of more than 200 events sends them over PublishStream, a result line each', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${cwd}/many.jsonl`, Array.from({ length: 450 }, (_, i) => JSON.stringify({ id: `m-${i}`, Count__c: i })).join('\n'));
    const tip = org.emu.org.bus.tip;
    const streams = pubsub.stats.publishStreams;
    const run = await sfbridge(['events', 'publish', '/event/Ping__e', '--from', 'many.jsonl', '--json'], { cwd, env: org.env });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.published, 450);
    assert.deepEqual(doc.results.map((r: { correlationKey: string }) => r.correlationKey), Array.from({ length: 450 }, (_, i) => `m-${i}`));
    assert.equal(org.emu.org.bus.tip, tip + 450);
    assert.equal(pubsub.stats.publishStreams, streams + 1);
  });

  test('sfbridge publish --object Ping__e goes over Pub/Sub (the SF_PUBSUB_* endpoint); --path collections keeps REST', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${cwd}/pings.csv`, 'Note__c,Count__c\nvia pubsub,7\nsecond,8\n');
    const tip = org.emu.org.bus.tip;
    const run = await sfbridge(['publish', '--object', 'Ping__e', '--operation', 'insert', '--from', 'pings.csv', '--state', 'sqlite::memory:', '--json'], { cwd, env: org.env });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.deepEqual(doc.paths, ['pubsub']);
    assert.equal(doc.succeeded, 2);
    const tail = await sfbridge(['events', 'tail', '/event/Ping__e', '--from', tip.toString(16).padStart(16, '0'), '--limit', '2', '--json'], { cwd, env: org.env });
    assert.deepEqual(tail.stdout.trim().split('\n').map((l) => [JSON.parse(l).payload.Note__c, JSON.parse(l).payload.Count__c]), [['via pubsub', 7], ['second', 8]]);
    const viaRest = await sfbridge(['publish', '--object', 'Ping__e', '--operation', 'insert', '--from', 'pings.csv', '--state', 'sqlite::memory:', '--path', 'collections', '--json'], { cwd, env: org.env });
    assert.equal(viaRest.code, 0, viaRest.stderr);
    assert.deepEqual(JSON.parse(viaRest.stdout).paths, ['collections']);
  });

  test("--connection NAME takes the connection's pubsub: setting (publish and tail); a malformed one is refused", async () => {
    const { writeFile } = await import('node:fs/promises');
    const dir = await workdir();
    const conn = (pubsubLine: string) => ['connections:', '  emu:', '    kind: client_credentials', `    instance_url: ${org.server.url}`, `    client_id: ${org.emu.org.clientId}`, '    client_secret: ${EMU_SECRET}', pubsubLine, ''].join('\n');
    await writeFile(`${dir}/sfbridge.yaml`, conn(`    pubsub: { endpoint: "${pubsub.address}", plaintext: true }`));
    await writeFile(`${dir}/pings.jsonl`, '{"Note__c":"named"}\n');
    const { SF_PUBSUB_ENDPOINT: _e, SF_PUBSUB_PLAINTEXT: _p, SF_INSTANCE_URL: _i, SF_CLIENT_ID: _c, SF_CLIENT_SECRET: _s, ...bare } = org.env;
    const env = { ...bare, EMU_SECRET: org.emu.org.clientSecret };
    const tip = org.emu.org.bus.tip;
    const run = await sfbridge(['publish', '--connection', 'emu', '--object', 'Ping__e', '--operation', 'insert', '--from', 'pings.jsonl', '--state', 'sqlite::memory:', '--json'], { cwd: dir, env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).paths, ['pubsub']);
    const tail = await sfbridge(['events', 'tail', '/event/Ping__e', '--connection', 'emu', '--from', tip.toString(16).padStart(16, '0'), '--limit', '1', '--json'], { cwd: dir, env });
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(JSON.parse(tail.stdout).payload.Note__c, 'named');
    await writeFile(`${dir}/sfbridge.yaml`, conn('    pubsub: { endpoint: "https://pubsub.example.com" }'));
    const bad = await sfbridge(['events', 'tail', '/event/Ping__e', '--connection', 'emu'], { cwd: dir, env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /pubsub\.endpoint: HOST:PORT/);
  });

  test('an expired replay id and an unreachable endpoint fail with their codes', async () => {
    const expired = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--from', '7fffffffffffff00', '--format', 'jsonl'], { cwd, env: org.env });
    assert.equal(expired.code, 1, expired.stdout);
    assert.equal(JSON.parse(expired.stdout).error.code, 'PUBSUB_REPLAY_ID_EXPIRED');
    const down = await sfbridge(['events', 'tail', '/data/AccountChangeEvent', '--pubsub-endpoint', '127.0.0.1:1', '--json'], { cwd, env: org.env });
    assert.equal(down.code, 3, down.stdout);
    assert.equal(JSON.parse(down.stdout).error.code, 'PUBSUB_UNAVAILABLE');
  });

  test('sync --cdc loads, then follows REST changes into the mirror with the replay id beside the rows', async () => {
    const { id } = await sf.create('Account', { Name: 'Before Load', Phone: '1' });
    const dir = await workdir();
    const child = startSfbridge(['sync', '--cdc', '--objects', 'Account', '--to', 'sqlite:./m.db'], { cwd: dir, env: org.env });
    children.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.resume();
    const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    await until(() => /following change events of Account/.test(stderr), `the follower to start: ${stderr}`);
    await sf.update('Account', id, { Name: 'After Load' });
    const { id: created } = await sf.create('Account', { Name: 'Created Live' });
    await until(() => stderr.includes(`Account CREATE ${created}`), `the live create: ${stderr}`);
    child.kill('SIGINT');
    assert.equal(await exit, 0, stderr);
    const store = await openStore(`sqlite:${dir}/m.db`);
    try {
      assert.equal((await store.getRecord('Account', id))?.Name, 'After Load');
      assert.equal((await store.getRecord('Account', id))?.Phone, '1');
      assert.equal((await store.getRecord('Account', created))?.Name, 'Created Live');
      assert.match(String((await store.getCheckpoint('cdc:Account'))?.extra?.replayId), /^[0-9a-f]{16}$/);
    } finally {
      await store.close();
    }
  });
});
