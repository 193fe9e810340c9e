/**
 * How every command reports: failures as one line (`sfbridge CMD: problem — fix`) on stderr, or with
 * `--json` as `{"ok":false,"command":…,"error":{"code","message","fix"}}` on stdout, and the exit code that
 * goes with the failure's kind (see EXIT in args.ts). Successful `--json` results are one JSON document on
 * stdout, `{"ok":true,"command":…,…}`; everything else (progress, notes, warnings) goes to stderr.
 */
import type { Writable } from 'node:stream';
import { AuthError, LimitError, SalesforceError, SfClientError, TransportError } from '../client/errors.ts';
import { CliError, EXIT, failureText } from './args.ts';

/** What a failure is, for the text line and the JSON error object. */
export interface ReportedError {
  code: string;
  message: string;
  fix?: string;
  exitCode: number;
}

/** Splits `problem — fix` (the client's message style) into its two parts. */
function split(message: string): { message: string; fix?: string } {
  const i = message.indexOf(' — ');
  return i > 0 ? { message: message.slice(0, i), fix: message.slice(i + 3) } : { message };
}

/** Classifies any thrown value into a code, a message, a fix and an exit code. */
export function classify(err: unknown): ReportedError {
  if (err instanceof CliError) return { code: err.code, message: err.message, ...(err.fix ? { fix: err.fix } : {}), exitCode: err.exitCode };
  if (err instanceof AuthError) return { code: err.code, ...split(err.message), exitCode: EXIT.connection };
  if (err instanceof TransportError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT')) {
    return { code: err.code, ...split(err.message), exitCode: EXIT.connection };
  }
  if (err instanceof SalesforceError) return { code: err.errorCode, message: failureText(err).replace(/^[A-Z_]+: /, ''), exitCode: EXIT.failed };
  if (err instanceof LimitError) return { code: err.code, ...split(err.message), exitCode: EXIT.failed };
  if (err instanceof SfClientError) {
    const usage = err.code === 'CONFIG_ERROR' || err.code === 'BULK_INVALID_INPUT';
    return { code: err.code, ...split(err.message), exitCode: usage ? EXIT.usage : EXIT.failed };
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && (code === 'PUBLISH_CONFIG' || code === 'SYNC_CONFIG_ERROR')) return { code, ...split((err as Error).message), exitCode: EXIT.usage };
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return { code, ...split((err as Error).message), exitCode: EXIT.failed };
  return { code: 'ERROR', message: err instanceof Error ? err.message : String(err), exitCode: EXIT.failed };
}

/** The text line of a failure (Salesforce's error code first, as users search for it). */
export function errorText(command: string, e: ReportedError, err?: unknown): string {
  const body = err instanceof SalesforceError ? failureText(err) : e.message;
  const fix = e.fix ? (body.includes('\n') ? `\nfix: ${e.fix}` : ` — ${e.fix}`) : '';
  return `sfbridge ${command}: ${body}${fix}\n`;
}

/**
 * Whether to colour output on `stream`: a terminal, and neither NO_COLOR (https://no-color.org: set and
 * not empty) nor TERM=dumb.
 */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** Red bold (failures), when colour is on. */
export const red = (s: string, on: boolean): string => (on ? `\x1b[1;31m${s}\x1b[0m` : s);

/** Reports `err` the command's way and returns the exit code. */
export function reportError(command: string, err: unknown, io: { stdout: Writable; stderr: Writable; json?: boolean }): number {
  const e = classify(err);
  if (io.json) {
    const error = { code: e.code, message: e.message.split('\n\n')[0], ...(e.fix ? { fix: e.fix } : {}) };
    io.stdout.write(`${JSON.stringify({ ok: false, command, exitCode: e.exitCode, error })}\n`);
  } else io.stderr.write(red(errorText(command, e, err).trimEnd(), useColour(io.stderr as { isTTY?: boolean })) + '\n');
  return e.exitCode;
}

/** Writes a successful `--json` result. */
export function writeJson(stdout: Writable, command: string, data: Record<string, unknown>): void {
  stdout.write(`${JSON.stringify({ ok: true, command, ...data })}\n`);
}

/** Whether `--json` is among the arguments (before `--`). */
export function wantsJson(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}
