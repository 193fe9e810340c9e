/**
 * Dead-letter replay: puts letters back into their pipeline's outbox as `pending` (optionally with an edited
 * payload) and publishes them through the same path as a normal run. A letter that succeeds is marked
 * `replayed` with its Salesforce Id; one that fails again stays `open` with the new error.
 *
 * A letter whose outcome is unknown (an insert sent whose answer was lost) may already exist in Salesforce,
 * so it is never resent blindly: with a lookup field (idempotency marker or match fields) it goes back as
 * `sent`, which makes the publisher look it up first and adopt the record it finds; without one it is refused
 * unless `force` says the operator checked Salesforce.
 */
import type { SalesforceClient } from '../../client/index.ts';
import type { DeadLetter, JsonObject, PublishState } from '../../store/index.ts';
import { publish, type PublishOptions } from './publisher.ts';
import { normalizeOperation, UNKNOWN_OUTCOME, type PublishRecordResult, type PublishTarget } from './types.ts';

export interface ReplayOptions {
  client: SalesforceClient;
  state: PublishState;
  letters: readonly DeadLetter[];
  /** Replacement payload per letter id (an operator's fix). */
  payloads?: ReadonlyMap<number, JsonObject>;
  signal?: AbortSignal;
  /** Resend unknown-outcome inserts that cannot be looked up (the operator checked Salesforce). */
  force?: boolean;
  onWarning?: (message: string) => void;
  publishOptions?: Partial<Pick<PublishOptions, 'retryBaseDelayMs' | 'maxRetries' | 'bulk' | 'path'>>;
}

export interface ReplayOutcome {
  letter: DeadLetter;
  result: PublishRecordResult;
  /** Not resent: an unknown outcome with nothing to look the record up by, and no `force`. */
  refused?: boolean;
}

/** Stable code of a refused replay. */
export const REPLAY_REFUSED = 'REPLAY_UNCHECKED';

/** True when a letter's insert may have happened and cannot be looked up in Salesforce. */
function uncheckable(l: DeadLetter, payload: JsonObject): boolean {
  if (l.error.code !== UNKNOWN_OUTCOME || normalizeOperation(l.operation) !== 'insert') return false;
  const fields = l.externalIdField ? l.externalIdField.split(',').filter(Boolean) : [];
  return fields.length === 0 || fields.some((f) => payload[f] == null || payload[f] === '');
}

function targetOfLetter(l: DeadLetter): PublishTarget {
  const operation = normalizeOperation(l.operation);
  const fields = l.externalIdField ? l.externalIdField.split(',').filter(Boolean) : [];
  return operation === 'insert' ? { object: l.object, operation, matchFields: fields } : { object: l.object, operation, externalIdField: fields[0] };
}

/** Replays letters; returns one outcome per letter. */
export async function replayDeadLetters(opts: ReplayOptions): Promise<ReplayOutcome[]> {
  const groups = new Map<string, DeadLetter[]>();
  for (const l of opts.letters) {
    const g = `${l.pipeline}\u0000${l.object}\u0000${l.operation}\u0000${l.externalIdField ?? ''}`;
    groups.set(g, [...(groups.get(g) ?? []), l]);
  }
  const out: ReplayOutcome[] = [];
  for (const all of groups.values()) {
    const pipeline = all[0].pipeline;
    const payloadOf = (l: DeadLetter) => opts.payloads?.get(l.id) ?? l.payload;
    const letters: DeadLetter[] = [];
    for (const l of all) {
      if (!uncheckable(l, payloadOf(l))) letters.push(l);
      else if (opts.force) {
        opts.onWarning?.(`dead letter ${l.id}: resending an insert whose first answer was lost, without checking Salesforce (--force): if the first attempt was written, this creates a duplicate`);
        letters.push(l);
      } else {
        out.push({
          letter: l,
          refused: true,
          result: { index: 0, key: l.key, input: l.payload, success: false, id: null, created: false, attempts: 0, errors: [{ code: REPLAY_REFUSED, message: 'not resent: this insert may already be in Salesforce and it has no field to look it up by; check Salesforce, then discard the letter, or replay it with --force', fields: [] }] },
        });
      }
    }
    if (letters.length === 0) continue;
    // The outbox row may have been cleared since; enqueue restores it, the update resets it to pending, or,
    // for an insert whose outcome is unknown and that can be looked up, to sent: looked up before any resend.
    await opts.state.enqueue(pipeline, letters.map((l) => ({ key: l.key, payload: payloadOf(l) })));
    await opts.state.updateOutbox(pipeline, letters.map((l) => ({ key: l.key, state: l.error.code === UNKNOWN_OUTCOME && !opts.payloads?.has(l.id) && !uncheckable(l, payloadOf(l)) ? ('sent' as const) : ('pending' as const), payload: payloadOf(l), error: null })));
    const results: PublishRecordResult[] = [];
    await publish({
      ...opts.publishOptions,
      client: opts.client,
      state: opts.state,
      pipeline,
      target: targetOfLetter(letters[0]),
      records: letters.map((l) => ({ key: l.key, record: payloadOf(l) })),
      deadLetters: false,
      signal: opts.signal,
      onResult: (r) => {
        results.push(r);
      },
    });
    for (const [i, l] of letters.entries()) {
      const r = results[i];
      if (r.success) await opts.state.updateDeadLetter(l.id, { status: 'replayed', sfId: r.id, payload: payloadOf(l), attempts: l.attempts + r.attempts });
      else await opts.state.updateDeadLetter(l.id, { error: r.errors[0], payload: payloadOf(l), attempts: l.attempts + r.attempts });
      out.push({ letter: l, result: r });
    }
  }
  return out;
}
