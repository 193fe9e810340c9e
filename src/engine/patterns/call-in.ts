/**
 * Remote call-in: another system writes into Salesforce through sfbridge (`POST /api/v1/call-in/{object}`).
 * A request is one record or up to 200, one operation (create, update, upsert by external id, delete). It is
 * written to the inbox under its `Idempotency-Key` before anything is sent, so:
 *
 * - the same key with the same body gets the stored result, and a request still running is waited for, not
 *   sent again (twenty concurrent duplicates make one Salesforce write);
 * - the same key with another body is refused (422), since the caller has mixed two requests up;
 * - a request whose process died is finished by the job queue after a restart, and the publisher's outbox
 *   (key: request and record position) keeps a record from being written twice.
 *
 * Failures are returned to the caller per record (Salesforce's error codes), not dead-lettered: the caller
 * decides whether to retry, and a later replay would duplicate that retry.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SalesforceClient } from '../../client/index.ts';
import type { JsonObject, JsonValue, PublishState } from '../../store/index.ts';
import { publish } from '../publish/publisher.ts';
import type { PublishOperation } from '../publish/types.ts';

export const CALL_IN_OPERATIONS = ['create', 'update', 'upsert', 'delete'] as const;
export type CallInOperation = (typeof CALL_IN_OPERATIONS)[number];
/** Records per request (one sObject Collections call). */
export const CALL_IN_MAX_RECORDS = 200;
/** Outbox namespace of call-in writes. */
export const CALL_IN_PIPELINE = 'call-in';
/** Inbox namespace of call-in requests, per object. */
export const callInInbox = (object: string): string => `call-in:${object}`;

const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

export const callInBodySchema = z
  .strictObject({
    operation: z.enum(CALL_IN_OPERATIONS).describe('create, update (records carry Id), upsert (by external_id_field) or delete (records carry Id)'),
    external_id_field: z.string().regex(FIELD, 'a field API name such as External_Id__c').optional(),
    record: z.record(z.string(), z.unknown()).optional().describe('one record'),
    records: z.array(z.record(z.string(), z.unknown())).min(1).max(CALL_IN_MAX_RECORDS).optional().describe(`up to ${CALL_IN_MAX_RECORDS} records`),
    all_or_none: z.boolean().optional().describe('roll back every record when one fails'),
  })
  .meta({ id: 'CallInRequest' });
export type CallInBody = z.output<typeof callInBodySchema>;

/** A refused request (status and a stable code). */
export class CallInError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = 'CallInError';
    this.code = code;
    this.status = status;
  }
}

/** What the inbox keeps of a request. */
export interface StoredCallIn extends JsonObject {
  object: string;
  operation: CallInOperation;
  externalIdField: string | null;
  allOrNone: boolean;
  connection: string;
  /** The token (or `dashboard`) that sent it: a scoped token sees only its own requests. */
  principal: string;
  records: JsonObject[];
}

/** Checks a body and returns its records; throws {@link CallInError} naming the fix. */
export function callInRecords(object: string, body: CallInBody): JsonObject[] {
  if (!FIELD.test(object)) throw new CallInError('INVALID_OBJECT', 400, `"${object}" is not an sObject API name (e.g. Contact, Invoice__c)`);
  if ((body.record === undefined) === (body.records === undefined)) throw new CallInError('INVALID_REQUEST', 400, 'send either record: {…} or records: [{…}, …]');
  const records = (body.records ?? [body.record!]) as JsonObject[];
  if (body.operation === 'upsert' && !body.external_id_field) throw new CallInError('INVALID_REQUEST', 400, 'upsert needs external_id_field (e.g. "External_Id__c"), and each record its value');
  records.forEach((r, i) => {
    if ((body.operation === 'update' || body.operation === 'delete') && typeof r.Id !== 'string') throw new CallInError('INVALID_REQUEST', 400, `records[${i}]: ${body.operation} needs the record's Id`);
    if (body.operation === 'upsert' && (r[body.external_id_field!] === undefined || r[body.external_id_field!] === null || r[body.external_id_field!] === '')) throw new CallInError('INVALID_REQUEST', 400, `records[${i}]: upsert by ${body.external_id_field} needs a value for ${body.external_id_field}`);
  });
  return records;
}

/**
 * Whether a token's scopes allow `operation` on `object`. Scopes read `call-in:Object:op,op`, with `*` for
 * any object or any operation; a token without scopes may do everything.
 */
export function callInAllowed(scopes: readonly string[] | null | undefined, object: string, operation: CallInOperation): boolean {
  if (!scopes) return true;
  return scopes.some((s) => {
    const m = /^call-in:([^:]+):(.+)$/.exec(s);
    if (!m) return false;
    const objOk = m[1] === '*' || m[1].toLowerCase() === object.toLowerCase();
    const ops = m[2].split(',').map((o) => o.trim());
    return objOk && (ops.includes('*') || ops.includes(operation));
  });
}

/** Validates a scope written on the command line (`Contact:create,upsert`, `*:*`) and returns its stored form. */
export function parseCallInScope(text: string): string {
  const m = /^([A-Za-z][A-Za-z0-9_]*|\*):([a-z*,]+)$/.exec(text.trim());
  if (!m) throw new CallInError('INVALID_SCOPE', 400, `--call-in "${text}": write Object:operations, e.g. Contact:create,upsert or Account:* or *:*`);
  const ops = m[2].split(',');
  for (const o of ops) if (o !== '*' && !(CALL_IN_OPERATIONS as readonly string[]).includes(o)) throw new CallInError('INVALID_SCOPE', 400, `--call-in "${text}": unknown operation "${o}" (operations: ${CALL_IN_OPERATIONS.join(', ')}, or *)`);
  return `call-in:${m[1]}:${ops.join(',')}`;
}

/** SHA-256 of what a request asks for (key order ignored), compared when a key is used again. */
export function callInHash(request: Omit<StoredCallIn, 'connection' | 'principal'>): string {
  const canon = (v: unknown): unknown => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v);
  return createHash('sha256').update(JSON.stringify(canon({ object: request.object, operation: request.operation, externalIdField: request.externalIdField, allOrNone: request.allOrNone, records: request.records }))).digest('hex');
}

/** One record's outcome, in Salesforce's save-result terms. */
export interface CallInRecordResult extends JsonObject {
  index: number;
  id: string | null;
  success: boolean;
  created: boolean;
  errors: { code: string; message: string; fields: string[] }[];
}

/** What a finished request returns (and the inbox keeps). */
export interface CallInResult extends JsonObject {
  ok: boolean;
  results: CallInRecordResult[];
}

const OPERATION: Record<CallInOperation, PublishOperation> = { create: 'insert', update: 'update', upsert: 'upsert', delete: 'delete' };

/** Writes a stored request through the publisher; `requestId` keys its records in the outbox. */
export async function executeCallIn(request: StoredCallIn, requestId: number, deps: { client: SalesforceClient; state: PublishState; signal?: AbortSignal }): Promise<CallInResult> {
  const results: CallInRecordResult[] = [];
  await publish({
    client: deps.client,
    state: deps.state,
    pipeline: CALL_IN_PIPELINE,
    target: { object: request.object, operation: OPERATION[request.operation], ...(request.externalIdField ? { externalIdField: request.externalIdField } : {}), ...(request.allOrNone ? { allOrNone: true } : {}) },
    records: request.records.map((record, i) => ({ key: `${requestId}:${i}`, record: record as Record<string, unknown> })),
    path: 'collections',
    deadLetters: false,
    signal: deps.signal,
    onResult: (r) => {
      results.push({ index: r.index, id: r.id, success: r.success, created: r.created, errors: r.errors.map((e) => ({ code: e.code, message: e.message, fields: [...e.fields] })) });
    },
  });
  results.sort((a, b) => a.index - b.index);
  return { ok: results.every((r) => r.success), results: results as unknown as JsonValue[] as unknown as CallInRecordResult[] };
}
