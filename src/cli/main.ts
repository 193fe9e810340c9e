/**
 * The `sfbridge` command line. Each command lives in its own file and returns an exit code; usage errors
 * exit 2 with a message naming the fix, failures exit 1.
 *
 * Commands are imported on demand: loading every command (the emulator, both store drivers, the engine)
 * up front made `sfbridge search --help` take seconds.
 */
import { UsageError } from './args.ts';

const USAGE = `Usage: sfbridge <command> [options]

Commands:
  emulator     run a local Salesforce org emulator (OAuth, REST, SOQL, Composite, Bulk API 2.0)
  demo         sync a demo org into ./data/sfbridge.db and search it (what \`npm start\` runs)
  sync         mirror objects into SQLite/Postgres, once or continuously
  query        run a SOQL query and stream the records (jsonl, csv, table; --bulk for Bulk API 2.0)
  bulk         Bulk API 2.0 loads from CSV: insert|update|upsert|delete|hardDelete, resume, status
  publish      push records into Salesforce (insert/update/upsert/delete, exactly-once, per-record results)
  dlq          list, show, replay or discard records that failed permanently
  search       full-text search over the synced records' documents (offline)
  comments     emails, case comments, Chatter and call notes into cleaned comments on a queue; preview one
  serve        the long-running service: schedules, dashboard, HTTP API, Grant access, metrics
  worker       run jobs scheduled by serve on a Postgres store (any number of workers, any machines)
  connections  add, list or remove named connections (--connection NAME on every command)
  tokens       create, list or revoke API tokens for the service

Run \`sfbridge <command> --help\` for a command's options.
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  emulator: async () => (await import('./emulator.ts')).emulatorCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  sync: async () => (await import('./sync.ts')).syncCommand,
  query: async () => (await import('./query.ts')).queryCommand,
  bulk: async () => (await import('./bulk.ts')).bulkCommand,
  publish: async () => (await import('./publish.ts')).publishCommand,
  dlq: async () => (await import('./dlq.ts')).dlqCommand,
  search: async () => (await import('./search.ts')).searchCommand,
  comments: async () => (await import('./comments.ts')).commentsCommand,
  serve: async () => (await import('./serve.ts')).serveCommand,
  worker: async () => (await import('./worker.ts')).workerCommand,
  connections: async () => (await import('./connections.ts')).connectionsCommand,
  tokens: async () => (await import('./tokens.ts')).tokensCommand,
};

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    process.exitCode = name ? 0 : 2;
    return;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`sfbridge: unknown command "${name}"\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  try {
    process.exitCode = await (await command())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sfbridge ${name}: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`sfbridge ${name}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.main) await main(process.argv.slice(2));
