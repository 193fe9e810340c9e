/**
 * Flag parsing shared by commands: node's parseArgs plus errors that name the bad flag and the fix, and the
 * CLI's error model: every failure a command reports is a {@link CliError} with a stable `code`, a message,
 * an optional `fix` and the exit code it maps to (see {@link EXIT}).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SalesforceError } from '../client/errors.ts';
import { didYouMean } from '../client/suggest.ts';

/**
 * The exit codes of every command (documented in `sfbridge --help` and docs/CLI.md):
 * 0 success; 1 the work ran and something failed (a record, an object, a job); 2 the input was refused
 * before any work (flags, config, unknown object/field/column) — nothing was sent or written; 3 the org
 * could not be reached or refused the login — nothing was sent or written; 130 interrupted (Ctrl-C).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, connection: 3, interrupted: 130 } as const;

/** A failure a command reports: stable `code`, a message, the fix (when there is one) and the exit code. */
export class CliError extends Error {
  readonly code: string;
  readonly fix: string | undefined;
  readonly exitCode: number;
  constructor(code: string, message: string, opts: { fix?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'CliError';
    this.code = code;
    this.fix = opts.fix;
    this.exitCode = opts.exitCode ?? EXIT.failed;
  }
}

/** Bad flags, config or input, refused before any work (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, opts: { code?: string; fix?: string } = {}) {
    super(opts.code ?? 'USAGE', message, { fix: opts.fix, exitCode: EXIT.usage });
    this.name = 'UsageError';
  }
}

/** parseArgs' message for an unknown option, with the closest known flag. */
function unknownFlagText(msg: string, options: Record<string, unknown>): string {
  const m = /^Unknown option '(--?[^']+)'/.exec(msg);
  if (!m) return msg;
  const flag = m[1].replace(/^-+/, '').split('=')[0];
  const guess = didYouMean(flag, Object.keys(options)).replace(/did you mean (\S+)\?/, 'did you mean --$1?');
  return `unknown flag ${m[1]}${guess}`;
}

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${unknownFlagText(msg, options)}\n\n${usage}`);
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

/**
 * `1,234,567`: an integer with comma thousands separators, as `toLocaleString('en-US')` prints it but without
 * loading the locale data (~30 ms of a command's start-up). Non-integers go through toLocaleString.
 */
export function thousands(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? `-${out}` : out;
}

/** `1 record`, `2,000 records`: a count with thousands separators and the noun in the right number. */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${thousands(n)} ${n === 1 ? noun : pluralNoun}`;
}
