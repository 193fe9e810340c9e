/**
 * The dashboard in a real browser: playwright-core drives Debian's chromium against the service on a
 * socket and the emulator on another. A person's path: sign in with the one-time link, connect the
 * emulated org with Grant access on the emulator's approve page, create a sync pipeline, run it and watch
 * its per-object progress change on the page while it runs, see it succeed; run a publish pipeline that
 * fails one record, open that dead letter, correct its payload, replay it and see it resolved. A screenshot
 * of every page is kept in test-artifacts/browser/.
 *
 * Skipped, saying why, only when no chromium executable exists (CI installs Debian's with apt).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { SecretBox } from '../../src/engine/connections/registry.ts';
import { parsePipeline } from '../../src/engine/pipelines/index.ts';
import { Service } from '../../src/engine/service.ts';
import { createApp } from '../../src/server/app.ts';
import { Auth } from '../../src/server/auth.ts';
import { listen, type Listening } from '../../src/server/http.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

/** The chromium to drive: $SFBRIDGE_CHROMIUM, else chromium on PATH (Debian: /usr/bin/chromium). */
function findChromium(): string | undefined {
  const candidates = [process.env.SFBRIDGE_CHROMIUM, ...(process.env.PATH ?? '').split(delimiter).flatMap((d) => [join(d, 'chromium'), join(d, 'chromium-browser')]), '/usr/bin/chromium', '/usr/lib/chromium/chromium'];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const executable = findChromium();
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'browser');
const OBJECTS = ['Account', 'Contact', 'Lead', 'Opportunity'];

describe('the dashboard in chromium', { skip: executable ? false : 'no chromium found: install it with `apt-get install -y chromium` (or set SFBRIDGE_CHROMIUM to its path)' }, () => {
  let org: ServedOrg;
  let service: Service;
  let server: Listening;
  let auth: Auth;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let shot = 0;

  /** Saves a numbered full-page screenshot of what the browser shows now. */
  const snap = async (name: string) => {
    const path = join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
    // An artefact, not a check: on a loaded machine a screenshot can take long, and that is no failure.
    await page.screenshot({ path, fullPage: true, timeout: 60_000 }).catch((err: Error) => process.stderr.write(`screenshot ${path} not taken: ${err.message.split('\n')[0]}\n`));
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'sfb-browser-'));
    org = await servedOrg();
    await seedOrg(org.emu.org, OBJECTS.map((o) => `${o}=1500`).join(','));
    const contacts = join(dir, 'contacts.jsonl');
    writeFileSync(contacts, ['{"Email":"ok@example.test","LastName":"Okafor"}', '{"Email":"nolastname@example.test","FirstName":"Ada"}', ''].join('\n'));
    service = await Service.open({
      storeUrl: `sqlite:${join(dir, 'service.db')}`,
      box: new SecretBox(randomBytes(32)),
      connections: { org: { kind: 'web', login_url: org.url, client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret, scope: 'api refresh_token id' } },
      pipelines: [{ spec: parsePipeline({ name: 'contacts-in', kind: 'publish', connection: 'org', source: { file: contacts, key: 'Email' }, state: `sqlite:${join(dir, 'publish.db')}`, target: { object: 'Contact', operation: 'insert' }, schedule: '1h', maxRetries: 0, paused: true }), raw: {} as never, source: 'config' }],
      publicUrl: () => server?.url,
    });
    auth = new Auth({ state: service.state });
    const app = createApp({ service, auth });
    server = await listen(app.fetch, { port: 0, host: '127.0.0.1' });
    await service.start();
    browser = await chromium.launch({ executablePath: executable!, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.setDefaultTimeout(30_000);
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    await server?.close();
    await org?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, grants access, syncs with live progress, and replays a dead letter', async () => {
    // Sign in with the one-time link the service prints at start.
    await page.goto(`${server.url}/login/link/${await auth.createLoginLink()}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await snap('overview');

    // Grant access: the emulator's approve page, then back on the callback.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
    const row = page.locator('tr[data-connection="org"]');
    await row.locator('[data-k=status]', { hasText: /^not connected/ }).waitFor();
    await snap('connections-not-connected');
    await page.getByRole('link', { name: 'Grant access to Salesforce for org' }).click();
    // The org's two steps, as Salesforce has them: log in, then allow the app.
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(new URL(page.url()).origin, org.url, 'the browser is on the org');
    await page.getByLabel('Password').fill(org.emu.org.password);
    await snap('emulator-login');
    await page.getByRole('button', { name: 'Log In' }).click();
    await page.getByRole('heading', { name: 'Allow Access?' }).waitFor();
    await snap('emulator-approve');
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.getByText('Connected to Salesforce').waitFor();
    assert.equal(new URL(page.url()).pathname, '/oauth/callback');
    assert.ok((await page.content()).includes(org.emu.org.username));
    await snap('grant-callback');
    await page.getByRole('link', { name: 'Back to the connections' }).click();
    await row.locator('[data-k=status]', { hasText: /^connected/ }).waitFor();
    assert.ok((await row.textContent())!.includes(org.emu.org.orgId));
    await snap('connections-connected');

    // Create a sync pipeline (paused, so it runs when started here), by keyboard-reachable form fields.
    await org.emu.request('/__emulator/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency: 150 }) });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.getByLabel('Pipeline name').fill('crm');
    await page.getByLabel('Connection').selectOption('org');
    await page.getByLabel('Objects').fill(OBJECTS.join(', '));
    await page.getByLabel('Schedule').fill('1h');
    await page.getByLabel('Paused: runs only when started by hand').check();
    await snap('pipeline-form');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.getByRole('heading', { name: 'Pipeline crm' }).waitFor();
    await page.getByText('Pipeline crm was created paused').waitFor();
    await snap('pipeline-created');

    // Run it and watch the progress change on this page (no reload) while the run runs.
    // By keyboard: the first Tab stop skips to the content; Tab on to Run now, Enter presses it.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'Run crm now'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
    }
    assert.equal(focused, 'Run crm now', 'Run now is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/runs\/\d+$/, { timeout: 30_000 });
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const seen: string[] = [];
    const state = async () =>
      page.evaluate(() => ({
        same: (window as unknown as { sameDocument?: boolean }).sameDocument === true,
        run: document.querySelector('#run-status')?.textContent ?? '',
        events: document.querySelectorAll('#run-events tr').length,
        objects: [...document.querySelectorAll('#run-objects tr')].map((tr) => `${(tr as HTMLElement).dataset.object}:${tr.querySelector('[data-k=status]')?.textContent?.split(' ')[0]}:${tr.querySelector('[data-k=read]')?.textContent}`),
      }));
    let shotLive = false;
    let liveEvents = 0;
    for (;;) {
      const s = await state();
      if (!s.same || s.run !== 'running') break;
      liveEvents = Math.max(liveEvents, s.events);
      const key = s.objects.join(' ');
      if (seen.at(-1) !== key) seen.push(key);
      if (!shotLive && s.objects.some((o) => o.includes(':ok:')) && s.objects.some((o) => !o.includes(':ok:'))) {
        shotLive = true;
        await snap('run-live');
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    const done = seen.map((k) => k.split(' ').filter((o) => o.includes(':ok:')).length);
    assert.ok(seen.length >= 3, `the page changed while the run ran: ${JSON.stringify(seen)}`);
    assert.ok(liveEvents >= 2, `event-log entries appeared while the run ran: ${liveEvents}`);
    assert.ok(done.some((n, i) => i > 0 && n > done[i - 1] && n < OBJECTS.length), `objects finished one after another on the live page: ${JSON.stringify(seen)}`);
    await org.emu.request('/__emulator/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    // The finished run: the page reloads itself with the final counts.
    await page.locator('#run-status', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    for (const o of OBJECTS) {
      const r = page.locator(`tr[data-object="${o}"]`);
      assert.equal((await r.locator('[data-k=status]').textContent())?.split(' ')[0], 'ok', o);
      assert.equal((await r.locator('[data-k=written]').textContent())?.trim(), '1500', o);
    }
    await page.getByRole('heading', { name: 'Event log' }).waitFor();
    await snap('run-succeeded');

    // The publish pipeline fails one record: its run names the fix and leads to the dead letter.
    await page.goto(`${server.url}/pipelines/contacts-in`);
    await page.getByRole('button', { name: 'Run contacts-in now' }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    await page.locator('#run-status', { hasText: 'failed' }).waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Errors and what to do' }).waitFor();
    assert.match((await page.locator('.fix').allTextContents()).join(' '), /went to the dead-letter queue/);
    await snap('publish-run-failed');
    await page.getByRole('link', { name: 'Open the dead letters of contacts-in' }).click();
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    await snap('dead-letters');
    await page.getByRole('link', { name: /contacts-in #\d+/ }).click();
    await page.getByText('REQUIRED_FIELD_MISSING').first().waitFor();
    assert.match((await page.locator('.fix').textContent())!, /Add LastName to the payload/);
    await snap('dead-letter');
    const payload = page.getByLabel('Payload (JSON object; edit it before replaying)');
    // Not JSON: the page says so before anything is sent.
    await payload.fill('{"Email": ');
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByText('The payload is not valid').waitFor();
    await snap('dead-letter-invalid-json');
    await payload.fill(JSON.stringify({ Email: 'nolastname@example.test', FirstName: 'Ada', LastName: 'Lovelace' }, null, 2));
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByText('This dead letter is resolved').waitFor();
    assert.equal(await page.locator('#letter-status').textContent(), 'resolved (replayed)');
    await snap('dead-letter-resolved');
    const [letter] = await service.listDeadLetters({ pipeline: 'contacts-in', status: 'replayed' });
    assert.match(letter.sfId ?? '', /^003/);
    const client = await service.connections.client('org');
    assert.equal(await client.count(`SELECT COUNT() FROM Contact WHERE Id = '${letter.sfId}' AND LastName = 'Lovelace'`), 1, 'the edited payload reached the org');

    // The other pages, for the record.
    for (const [path, name, heading] of [['/runs', 'runs', 'Runs'], ['/usage', 'usage', 'API usage'], ['/pipelines', 'pipelines', 'Pipelines'], ['/connections', 'connections', 'Connections']] as const) {
      await page.goto(`${server.url}${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      if (path === '/usage') await page.locator('.uplot canvas').first().waitFor();
      await snap(name);
    }
    assert.ok(await page.locator('meter[aria-label="API calls used by org"]').count(), 'the API-usage gauge');
  });
});
