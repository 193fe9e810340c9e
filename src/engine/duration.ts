/** Durations as users write them in config files and flags (`30s`, `5m`, `500ms`, `2h`, `1d`, or seconds). */
import { z } from 'zod';
import { parseDurationMs } from './settings.ts';

export { parseDurationMs };

/** A zod schema for a duration, in milliseconds once parsed. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a duration like 30s, 5m, 2h or a number of seconds, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});
