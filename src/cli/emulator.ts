/**
 * `sfbridge emulator`: runs the org emulator on a socket until Ctrl-C.
 */
import { createEmulator, SUPPORTED_VERSIONS } from '../emulator/app.ts';
import { serve } from '../emulator/http/node-server.ts';
import { generateSelfSigned, loadTlsFiles, TlsError, type TlsMaterial } from '../emulator/http/tls.ts';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFaultSpec } from '../emulator/faults.ts';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME, OrgIdError } from '../emulator/org.ts';
import { parseOrgId } from '../emulator/ids.ts';
import { readFile } from 'node:fs/promises';
import { loadJwtVerificationKey } from '../emulator/oauth/config.ts';
import { loadSchemaFile } from '../emulator/schema/custom.ts';
import { seedOrg } from '../emulator/seed/index.ts';
import { DEMO_SCHEMA } from '../emulator/seed/demo.ts';
import { DEFAULT_PUBSUB_PORT, startPubSub } from '../emulator/events/pubsub/server.ts';
import { parseFlags, parsePort, UsageError } from './args.ts';

export const EMULATOR_USAGE = `Usage: sfbridge emulator [options]

  --port N               port to listen on (default 8484; 0 picks a free port)
  --host H               address to bind (default 127.0.0.1)
  --db PATH|:memory:     SQLite file for the org's data (default :memory:); a file survives restarts
  --org-id ID            the org's Id, 15 or 18 chars starting 00D (default: the one stored in --db,
                         else a new random one, stored with the data)
  --seed SPEC            demo | none | COUNTS (Account=1000,Contact=3000) | tree:PLAN.json (default demo)
                         (demo adds an External_Id__c external ID to Account and Contact)
  --schema FILE          custom objects and fields (YAML or JSON)
  --client-id ID         connected app consumer key (default ${DEFAULT_CLIENT_ID})
  --client-secret S      connected app consumer secret (default ${DEFAULT_CLIENT_SECRET})
  --faults SPEC          http503=P,http429=P,lockrow=P,reset=P,latency=MS,tokenTtl=SECONDS,dailyLimit=N,
                         commitDelay=MS (P a probability 0..1), e.g. http503=0.05,latency=20
                         concurrentLongLimit=N,longRequestMs=MS: a call arriving while N calls have run
                         for MS or longer gets 403 REQUEST_LIMIT_EXCEEDED (default 25, 20000)
                         events: streamDrop=P (a subscription is closed instead of getting its next
                         batch), gap=P (a change is published as its header-only GAP_ event),
                         overflow=N (per transaction and object, changes past N become one
                         GAP_OVERFLOW; default 100000)
  --jwt-cert PATH        PEM certificate (or RSA public key) that verifies JWT bearer assertions
  --redirect-uri URL     callback URL for the authorization-code flow (repeatable; default: any
                         http://localhost / 127.0.0.1 URL)
  --rotate-refresh-tokens  each refresh returns a new refresh token and invalidates the old one
  --api-version V        default API version (default 62.0)
  --tls                  serve HTTPS with a self-signed certificate generated at start (its SHA-256
                         fingerprint is printed and its PEM written next to the printed path)
  --tls-cert PATH        serve HTTPS with this PEM certificate (with --tls-key)
  --tls-key PATH         the PEM private key of --tls-cert
  --pubsub-port N        port of the Pub/Sub API (gRPC; default ${DEFAULT_PUBSUB_PORT}, or a free port when --port
                         is 0; 0 picks a free port); TLS with the same certificate as HTTPS
  --cdc OBJECTS|all      objects with Change Data Capture on, e.g. Account,Invoice__c (default Account,
                         Contact,Lead,Opportunity,Case plus schema-file objects with cdc: true)
`;

export async function emulatorCommand(argv: string[], signal?: AbortSignal): Promise<number> {
  const { values } = parseFlags(argv, {
    port: { type: 'string', default: '8484' },
    host: { type: 'string', default: '127.0.0.1' },
    db: { type: 'string', default: ':memory:' },
    seed: { type: 'string', default: 'demo' },
    'org-id': { type: 'string' },
    schema: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    faults: { type: 'string', default: '' },
    'api-version': { type: 'string', default: '62.0' },
    'jwt-cert': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'rotate-refresh-tokens': { type: 'boolean', default: false },
    tls: { type: 'boolean', default: false },
    cdc: { type: 'string' },
    'pubsub-port': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, EMULATOR_USAGE);
  if (values.help) {
    process.stdout.write(EMULATOR_USAGE);
    return 0;
  }
  const port = parsePort(values.port!);
  // A throwaway emulator (--port 0, as tests start it) must not collide with another one on the Pub/Sub port.
  const pubsubPort = values['pubsub-port'] !== undefined ? parsePort(values['pubsub-port'], '--pubsub-port') : port === 0 ? 0 : DEFAULT_PUBSUB_PORT;
  const apiVersion = values['api-version']!;
  if (!SUPPORTED_VERSIONS.includes(apiVersion)) throw new UsageError(`--api-version ${apiVersion} is not served; use one of ${SUPPORTED_VERSIONS[0]}..${SUPPORTED_VERSIONS.at(-1)}`);
  let faults;
  try {
    faults = parseFaultSpec(values.faults!);
  } catch (err) {
    throw new UsageError(`--faults: ${(err as Error).message}`);
  }
  let jwtCert: string | undefined;
  if (values['jwt-cert']) {
    try {
      jwtCert = await readFile(values['jwt-cert'], 'utf8');
    } catch (err) {
      throw new UsageError(`--jwt-cert: cannot read ${values['jwt-cert']} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass the PEM certificate file`);
    }
    try {
      loadJwtVerificationKey(jwtCert);
    } catch (err) {
      throw new UsageError(`--jwt-cert ${values['jwt-cert']}: ${(err as Error).message}`);
    }
  }
  const redirectUris = values['redirect-uri'] ?? [];
  for (const uri of redirectUris) {
    if (!URL.canParse(uri)) throw new UsageError(`--redirect-uri "${uri}" is not an absolute URL; use e.g. http://localhost:1717/OauthRedirect`);
  }
  if (values['org-id'] !== undefined) {
    try {
      parseOrgId(values['org-id']);
    } catch (err) {
      throw new UsageError(`--org-id: ${(err as Error).message}`);
    }
  }
  const tls = await tlsFromFlags(values.tls!, values['tls-cert'], values['tls-key'], values.host!);
  // The demo org's own fields come first, so a --schema file's definition of the same field wins.
  const objects = [...(values.seed === 'demo' ? DEMO_SCHEMA : []), ...(values.schema ? await loadSchemaFile(values.schema) : [])];
  const cdc = values.cdc === undefined ? undefined : values.cdc.trim() === 'all' ? 'all' as const : values.cdc.split(',').map((s) => s.trim()).filter(Boolean);
  let emulator;
  try {
    emulator = createEmulator({
      db: values.db, faults, apiVersion, objects, cdc, orgId: values['org-id'],
      clientId: values['client-id'], clientSecret: values['client-secret'],
      jwtCert, redirectUris, rotateRefreshTokens: values['rotate-refresh-tokens'],
    });
  } catch (err) {
    if (err instanceof OrgIdError) throw new UsageError(`--org-id: ${err.message}`);
    if (cdc !== undefined && /Change Data Capture/.test((err as Error).message)) throw new UsageError(`--cdc: ${(err as Error).message}`);
    throw err;
  }
  const seeded = await seedOrg(emulator.org, values.seed!);
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const server = await serve(emulator.fetch, { port, host: values.host!, signal: controller.signal, tls });
  let pubsub;
  try {
    pubsub = await startPubSub(emulator, { port: pubsubPort, host: values.host!, tls: tls ? { cert: tls.cert, key: tls.key } : undefined });
  } catch (err) {
    await server.close();
    emulator.close();
    throw new UsageError(`--pubsub-port ${pubsubPort}: cannot serve the Pub/Sub API (${(err as Error).message}); pick another port or 0`);
  }
  // Signals are taken before the ready line is printed: a supervisor that stops the emulator as soon as it
  // reads the line gets a clean stop, not a default kill.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    controller.signal.addEventListener('abort', stop, { once: true });
  });
  const out = process.stdout;
  out.write(`sfbridge emulator listening on ${server.url} (pubsub on ${pubsub.address})\n`);
  if (tls) {
    let certFile = values['tls-cert'];
    if (!certFile) {
      // Only the certificate is written (it is public); the key never leaves the process.
      certFile = join(tmpdir(), `sfbridge-emulator-${server.port}.crt`);
      await writeFile(certFile, tls.cert);
    }
    out.write(`  tls certificate:    ${certFile} (${values.tls ? 'self-signed, ' : ''}valid to ${tls.validTo})\n`);
    out.write(`  tls fingerprint:    SHA-256 ${tls.fingerprint}\n`);
    out.write(`  trust it (Node):    NODE_EXTRA_CA_CERTS=${certFile}\n`);
  }
  out.write(`  login/instance URL: ${server.url}\n`);
  out.write(`  org id:             ${emulator.org.orgId}\n`);
  out.write(`  client id:          ${emulator.org.clientId}\n`);
  out.write(`  client secret:      ${emulator.org.clientSecret}\n`);
  out.write(`  username/password:  ${DEFAULT_USERNAME} / ${DEFAULT_PASSWORD}\n`);
  out.write(`  oauth flows:        client_credentials, password, authorization_code (${redirectUris.length ? redirectUris.join(' ') : 'any http://localhost callback'}), refresh_token${values['rotate-refresh-tokens'] ? ' (rotating)' : ''}, JWT bearer (${jwtCert ? values['jwt-cert'] : 'off: no --jwt-cert'})\n`);
  out.write(`  admin API:          ${server.url}/__emulator/{reset,faults,clock,stats,sessions/expire,cdc,events/drop,events/gap,managed-subscriptions}\n`);
  out.write(`  pubsub API (gRPC):  ${pubsub.address} ${pubsub.tls ? 'TLS' : 'plaintext'}; change events for ${emulator.org.bus.cdcObjects.join(', ') || 'no objects'}\n`);
  out.write(`  api version:        ${apiVersion}   data: ${values.db}${seeded ? `   seeded: ${seeded}` : ''}\n`);
  await stopped;
  await pubsub.close();
  await server.close();
  emulator.close();
  out.write('sfbridge emulator stopped\n');
  return 0;
}

/** The TLS material the flags ask for: none, generated (`--tls`), or read from `--tls-cert`/`--tls-key`. */
async function tlsFromFlags(generate: boolean, cert: string | undefined, key: string | undefined, host: string): Promise<TlsMaterial | undefined> {
  if (generate && (cert || key)) throw new UsageError('--tls generates a certificate; give either --tls or --tls-cert with --tls-key, not both');
  if (Boolean(cert) !== Boolean(key)) throw new UsageError(cert ? '--tls-cert needs --tls-key (the certificate\'s PEM private key)' : '--tls-key needs --tls-cert (the PEM certificate it belongs to)');
  try {
    if (cert && key) return await loadTlsFiles(cert, key);
    if (generate) return await generateSelfSigned(host);
  } catch (err) {
    if (err instanceof TlsError) throw new UsageError(err.message);
    throw err;
  }
  return undefined;
}
