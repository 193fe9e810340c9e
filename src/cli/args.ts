/**
 * Flag parsing shared by commands: node's parseArgs plus errors that name the bad flag and the fix.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SalesforceError } from '../client/errors.ts';

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${msg}\n\n${usage}`);
  }
}

/** Parses `10m`, `30s`, `500ms`, `2h` or a bare number of seconds into milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} must be a duration like 30s, 10m or 500ms, got "${value}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
}

export function parsePort(value: string, flag = '--port'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port number 0-65535 (0 picks a free port), got "${value}"`);
  return n;
}

/**
 * The one-line text a command prints for a failure: Salesforce's own error code and messages when the org
 * refused the call (what users search for), the error's message otherwise.
 */
export function failureText(err: unknown): string {
  if (err instanceof SalesforceError) return `${err.errorCode}: ${err.errors.map((e) => e.message).join('; ')}`;
  return err instanceof Error ? err.message : String(err);
}
