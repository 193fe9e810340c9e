/**
 * The `sfbridge` command line. Each command lives in its own file and returns an exit code; what a command
 * throws is reported here the same way for all of them (report.ts): one line on stderr, or the JSON error
 * object on stdout with `--json`, and the exit code of its kind (EXIT in args.ts).
 *
 * Commands are imported on demand: loading every command (the emulator, both store drivers, the engine)
 * up front made `sfbridge search --help` take seconds.
 */
import { readFileSync } from 'node:fs';
import { didYouMean } from '../client/suggest.ts';
import { EXIT } from './args.ts';
import { reportError, wantsJson } from './report.ts';

const USAGE = `Usage: sfbridge <command> [options]

Commands:
  emulator     run a local Salesforce org emulator (OAuth, REST, SOQL, Composite, Bulk API 2.0)
  demo         sync a demo org into ./data/sfbridge.db and search it (what \`npm start\` runs)
  sync         mirror objects into SQLite/Postgres, once or continuously
  objects      list the org's objects (the names the other commands take)
  describe     list an object's fields: types, external IDs, what is writable
  query        run a SOQL query and stream the records (jsonl, csv, table; --bulk for Bulk API 2.0)
  bulk         Bulk API 2.0 loads from CSV: insert|update|upsert|delete|hardDelete, resume, status
  events       tail change events and platform events (Pub/Sub API), publish platform events
  publish      push records into Salesforce (insert/update/upsert/delete, exactly-once, per-record results)
  dlq          list, show, replay or discard records that failed permanently
  conflicts    two-way sync: writable tables' application changes and records changed on both sides
  search       full-text search over the synced records' documents (offline)
  comments     emails, case comments, Chatter and call notes into cleaned comments on a queue; preview one
  serve        the long-running service: schedules, dashboard, HTTP API, Grant access, metrics
  worker       run jobs scheduled by serve on a Postgres store (any number of workers, any machines)
  connections  add, list or remove named connections (--connection NAME on every command)
  tokens       create, list or revoke API tokens for the service
  runs         the sync run history in the store: status, per-object counts, errors
  completion   bash or zsh completion script

Run \`sfbridge help <command>\` (or \`sfbridge <command> --help\`) for a command's options;
\`sfbridge --version\` prints the version.

Connection (every command that talks to an org takes the same flags and environment):
  --connection NAME          a named connection (sfbridge connections add), or a connections: entry of
                             the config file; like sf's --target-org
  --instance-url, --login-url, --client-id, --client-secret, --username, --password, --jwt-key,
  --auth-url, --access-token, --api-version   or SF_INSTANCE_URL, SF_LOGIN_URL, SF_CLIENT_ID,
                             SF_CLIENT_SECRET, SF_USERNAME, SF_PASSWORD, SF_JWT_KEY, SF_AUTH_URL,
                             SF_ACCESS_TOKEN; flags win over the environment, which wins over the file
  --config FILE              the config file (default ./sfbridge.yaml when it exists, or $SFBRIDGE_CONFIG)

Output: --json prints one JSON document on stdout ({"ok":true,…} or {"ok":false,"error":{code,message,
fix}}); progress, notes and warnings go to stderr. NO_COLOR turns colour off.

Exit codes: 0 success; 1 the work ran and something failed; 2 bad flags, config or input (unknown
object, field or column) — nothing was sent or written; 3 login failed or the org is unreachable;
130 interrupted.

Environment:
  SFBRIDGE_CONFIG            config file when --config is not given (else ./sfbridge.yaml if present)
  SFBRIDGE_STORE             sync/service store URL (default sqlite:./data/sfbridge.db)
  SFBRIDGE_OBJECTS, SFBRIDGE_CUSTOM_OBJECTS, SFBRIDGE_INTERVAL, SFBRIDGE_LAG, SFBRIDGE_BULK_THRESHOLD
                             sync settings (between the config file and the flags)
  SFBRIDGE_PUBLISH_STATE     publish outbox and dead letters, shared by publish and dlq
                             (default sqlite:./data/publish.db)
  SFBRIDGE_HOME              where sfbridge keeps its own files (token store, secret key; default ~/.sfbridge)
  SFBRIDGE_CACHE_DIR         describe/bulk-rate cache (default $SFBRIDGE_HOME/cache or ~/.cache/sfbridge; off)
  SFBRIDGE_SECRET_KEY        key that seals stored connection secrets (else ~/.sfbridge/secret.key)
  SFBRIDGE_PROXY_PASSWORD    password of the --proxy user, for sfbridge connections add (sealed with the secrets)
  SFBRIDGE_TOKEN_KEY         key that seals saved refresh tokens (else a generated key file)
  SFBRIDGE_TOKEN_KEY_FILE    where that generated key file lives (default outside the token directory)
  SFBRIDGE_ADMIN_PASSWORD    dashboard password for sfbridge serve
  SFBRIDGE_PORT, SFBRIDGE_HOST, SFBRIDGE_PUBLIC_URL, SFBRIDGE_TRUST_PROXY, SFBRIDGE_LOG_LEVEL
                             sfbridge serve's --port, --host, --public-url, --trust-proxy (1), --log-level
  SFBRIDGE_HEAP              auto (default), lean or default: V8 heap settings of the launcher
  SFBRIDGE_NODE              the Node.js 24 binary the sfbridge command runs on (default: the one it comes with)
  NO_COLOR                   no colour in the output
`;

/** The package version (package.json next to src/). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  emulator: async () => (await import('./emulator.ts')).emulatorCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  sync: async () => (await import('./sync.ts')).syncCommand,
  objects: async () => (await import('./catalog.ts')).objectsCommand,
  describe: async () => (await import('./catalog.ts')).describeCommand,
  query: async () => (await import('./query.ts')).queryCommand,
  bulk: async () => (await import('./bulk.ts')).bulkCommand,
  publish: async () => (await import('./publish.ts')).publishCommand,
  events: async () => (await import('./events.ts')).eventsCommand,
  dlq: async () => (await import('./dlq.ts')).dlqCommand,
  conflicts: async () => (await import('./conflicts.ts')).conflictsCommand,
  search: async () => (await import('./search.ts')).searchCommand,
  comments: async () => (await import('./comments.ts')).commentsCommand,
  serve: async () => (await import('./serve.ts')).serveCommand,
  worker: async () => (await import('./worker.ts')).workerCommand,
  connections: async () => (await import('./connections.ts')).connectionsCommand,
  tokens: async () => (await import('./tokens.ts')).tokensCommand,
  runs: async () => (await import('./runs.ts')).runsCommand,
  completion: async () => (await import('./completion.ts')).completionCommand(Object.keys(commands)),
};

/** The command names, for completion and did-you-mean. */
export const COMMANDS: readonly string[] = Object.keys(commands);

export async function main(argv: string[]): Promise<void> {
  // `sfbridge … | head` closes the pipe early: that is the reader being done, not a failure to report.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
  let [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(wantsJson(rest) ? `${JSON.stringify({ ok: true, command: 'version', version: version(), node: process.version })}\n` : `sfbridge ${version()} (node ${process.version})\n`);
    process.exitCode = EXIT.ok;
    return;
  }
  if (name === 'help' && rest[0] && !rest[0].startsWith('-')) {
    name = rest[0];
    rest = ['--help'];
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? process.stdout : process.stderr).write(USAGE);
    process.exitCode = name ? EXIT.ok : EXIT.usage;
    return;
  }
  const command = commands[name];
  if (!command) {
    const json = wantsJson(rest);
    const hint = didYouMean(name, COMMANDS);
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, command: name, exitCode: EXIT.usage, error: { code: 'UNKNOWN_COMMAND', message: `unknown command "${name}"${hint}`, fix: 'run sfbridge --help for the commands' } })}\n`);
    else process.stderr.write(`sfbridge: unknown command "${name}"${hint}\nRun sfbridge --help for the commands.\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    process.exitCode = await (await command())(rest);
  } catch (err) {
    process.exitCode = reportError(name, err, { stdout: process.stdout, stderr: process.stderr, json: wantsJson(rest) });
  }
}

if (import.meta.main) await main(process.argv.slice(2));
