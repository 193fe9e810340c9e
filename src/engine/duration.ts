/** Durations as users write them in config files and flags (`30s`, `5m`, `500ms`, `2h`, `1d`, or seconds). */
import { z } from 'zod';

/** Parses `30s`, `5m`, `500ms`, `2h`, `1d` or a bare number of seconds into milliseconds; undefined if malformed. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
}

/** A zod schema for a duration, in milliseconds once parsed. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a duration like 30s, 5m, 2h or a number of seconds, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});
