/**
 * Dead-letter replay: puts letters back into their pipeline's outbox as `pending` (optionally with an edited
 * payload) and publishes them through the same path as a normal run. A letter that succeeds is marked
 * `replayed` with its Salesforce Id; one that fails again stays `open` with the new error.
 */
import type { SalesforceClient } from '../../client/index.ts';
import type { DeadLetter, JsonObject, PublishState } from '../../store/index.ts';
import { publish, type PublishOptions } from './publisher.ts';
import { normalizeOperation, type PublishRecordResult, type PublishTarget } from './types.ts';

export interface ReplayOptions {
  client: SalesforceClient;
  state: PublishState;
  letters: readonly DeadLetter[];
  /** Replacement payload per letter id (an operator's fix). */
  payloads?: ReadonlyMap<number, JsonObject>;
  signal?: AbortSignal;
  publishOptions?: Partial<Pick<PublishOptions, 'retryBaseDelayMs' | 'maxRetries' | 'bulk' | 'path'>>;
}

export interface ReplayOutcome {
  letter: DeadLetter;
  result: PublishRecordResult;
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
  for (const letters of groups.values()) {
    const pipeline = letters[0].pipeline;
    const payloadOf = (l: DeadLetter) => opts.payloads?.get(l.id) ?? l.payload;
    // The outbox row may have been cleared since; enqueue restores it, the update resets it to pending.
    await opts.state.enqueue(pipeline, letters.map((l) => ({ key: l.key, payload: payloadOf(l) })));
    await opts.state.updateOutbox(pipeline, letters.map((l) => ({ key: l.key, state: 'pending' as const, payload: payloadOf(l), error: null })));
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
