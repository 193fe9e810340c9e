/** Helpers for the Bulk API 2.0 tests: an org with external-ID fields, job driving and polling. */
import assert from 'node:assert/strict';
import { text } from '../../src/emulator/schema/dsl.ts';
import type { ObjectDef } from '../../src/emulator/schema/types.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';
import type { EmulatorOptions } from '../../src/emulator/app.ts';

/** Account.External_Id__c and Contact.Legacy_Key__c as external IDs, for upsert and relationship columns. */
export const EXTRA_OBJECTS: ObjectDef[] = [
  { name: 'Account', label: 'Account', labelPlural: 'Accounts', keyPrefix: '001', fields: [text('External_Id__c', 80, { externalId: true, unique: true, custom: true })] },
  { name: 'Contact', label: 'Contact', labelPlural: 'Contacts', keyPrefix: '003', fields: [text('Legacy_Key__c', 80, { externalId: true, unique: true, custom: true })] },
];

export function bulkOrg(opts: EmulatorOptions = {}): Promise<TestOrg> {
  return testOrg({ objects: EXTRA_OBJECTS, ...opts });
}

export type JobInfo = Record<string, unknown> & { id: string; state: string };

export async function createJob(org: TestOrg, spec: Record<string, unknown>): Promise<JobInfo> {
  const res = await org.api('/jobs/ingest', { method: 'POST', json: spec });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as JobInfo;
}

export async function upload(org: TestOrg, id: string, csv: string): Promise<Response> {
  return org.api(`/jobs/ingest/${id}/batches`, { method: 'PUT', body: csv, headers: { 'content-type': 'text/csv' } });
}

export async function setState(org: TestOrg, kind: 'ingest' | 'query', id: string, state: string): Promise<Response> {
  return org.api(`/jobs/${kind}/${id}`, { method: 'PATCH', json: { state } });
}

export async function jobInfo(org: TestOrg, kind: 'ingest' | 'query', id: string): Promise<JobInfo> {
  const res = await org.api(`/jobs/${kind}/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as JobInfo;
}

/** Polls job info until a final state (bounded; no timing assertions). */
export async function waitFinal(org: TestOrg, kind: 'ingest' | 'query', id: string): Promise<JobInfo> {
  for (let i = 0; i < 5000; i++) {
    const info = await jobInfo(org, kind, id);
    if (info.state === 'JobComplete' || info.state === 'Failed' || info.state === 'Aborted') return info;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`job ${id} did not finish`);
}

/** Create, upload, close and wait: returns the final job info. */
export async function runJob(org: TestOrg, spec: Record<string, unknown>, csv: string): Promise<JobInfo> {
  const job = await createJob(org, { contentType: 'CSV', lineEnding: 'LF', ...spec });
  const up = await upload(org, job.id, csv);
  assert.equal(up.status, 201, await up.clone().text());
  const closed = await setState(org, 'ingest', job.id, 'UploadComplete');
  assert.equal(closed.status, 200);
  return waitFinal(org, 'ingest', job.id);
}

export async function results(org: TestOrg, id: string, which: 'successfulResults' | 'failedResults' | 'unprocessedrecords'): Promise<string> {
  const res = await org.api(`/jobs/ingest/${id}/${which}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
  return res.text();
}

export async function getRecord(org: TestOrg, object: string, id: string, fields: string): Promise<Record<string, unknown>> {
  const res = await org.api(`/sobjects/${object}/${id}?fields=${fields}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}
