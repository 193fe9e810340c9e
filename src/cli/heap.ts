/**
 * V8 heap settings a command applies once it knows it is streaming a large result. A REST `query` cannot know
 * before its first page whether it exports five rows or five million, and a start-up flag for the large case
 * (`--max-semi-space-size`) would cost every small query too: with changed flags Node's built-in code cache
 * no longer matches, which costs ~10–30 ms of start-up. So the query starts on V8's defaults and, when the
 * first page says more pages follow, turns on the lean settings bin/sfbridge.js gives the Bulk API commands
 * at start (`LEAN_V8_FLAGS` there: a young generation that stops growing, a full GC before the heap grows by
 * a fifth). These two are read each time the heap decides to grow, so they take effect when set mid-run.
 * Measured (docs/BENCHMARKS.md, "Launch" and "Client vs jsforce"): a 200,000-row export's peak RSS ≈ 103–110
 * MB on the defaults, ≈ 78–83 MB lean, at about the same CPU.
 */
import { createRequire } from 'node:module';

/** The same settings as bin/sfbridge.js's LEAN_V8_FLAGS. */
const LEAN_V8_FLAGS = '--semi-space-growth-factor=1 --heap-growing-percent=20';
/** More rows than one query page (2,000) holds. */
const ONE_PAGE = 2000;

let applied = false;

/** Applies the lean heap settings when a result of `rows` spans pages, unless SFBRIDGE_HEAP=default (or they are on). */
export function leanHeapForLargeResult(rows: number | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (applied || rows === undefined || rows <= ONE_PAGE || env.SFBRIDGE_HEAP === 'default' || env.SFBRIDGE_HEAP === 'lean') return;
  applied = true;
  (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(LEAN_V8_FLAGS);
}
