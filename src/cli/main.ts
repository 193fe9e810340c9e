/**
 * The `sfbridge` command line. Each command lives in its own file and returns an exit code; usage errors
 * exit 2 with a message naming the fix, failures exit 1.
 */
import { UsageError } from './args.ts';
import { bulkCommand } from './bulk.ts';
import { emulatorCommand } from './emulator.ts';
import { queryCommand } from './query.ts';
import { searchCommand } from './search.ts';

const USAGE = `Usage: sfbridge <command> [options]

Commands:
  emulator     run a local Salesforce org emulator (OAuth, REST, SOQL, Composite)
  demo         start the emulator with demo data (what \`npm start\` runs)
  query        run a SOQL query and stream the records (jsonl, csv, table; --bulk for Bulk API 2.0)
  bulk         Bulk API 2.0 loads from CSV: insert|update|upsert|delete|hardDelete, resume, status
  search       full-text search over the synced records' documents (offline)

Run \`sfbridge <command> --help\` for a command's options.
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  emulator: emulatorCommand,
  demo: (argv) => emulatorCommand(['--seed', 'demo', ...argv]),
  query: (argv) => queryCommand(argv),
  bulk: (argv) => bulkCommand(argv),
  search: (argv) => searchCommand(argv),
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
    process.exitCode = await command(rest);
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
