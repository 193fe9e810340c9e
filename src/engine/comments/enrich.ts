/**
 * Enrichment from the parent Case: number, subject, status, priority, account, contact and owner, one query
 * per URI-sized chunk of Case Ids per batch (never one per comment), and only for comments being emitted.
 */
import type { SalesforceClient } from '../../client/index.ts';
import { chunkedInQueries } from '../documents/chunk.ts';
import { fieldValue, toText, type AnyRecord } from '../documents/records.ts';
import type { Comment } from './shape.ts';

/** The Case fields read for enrichment. */
export const CASE_ENRICHMENT_SOQL = (list: string): string =>
  `SELECT Id, CaseNumber, Subject, Status, Priority, Origin, Type, Account.Name, Contact.Name, Contact.Email, Owner.Name FROM Case WHERE Id IN (${list})`;

/** Case priorities as numbers (1 most urgent), for `number:Priority`. */
export const PRIORITY_RANK: Readonly<Record<string, number>> = { critical: 0, urgent: 0, high: 1, medium: 2, normal: 2, low: 3 };

/** Adds the parent Case's properties to comments whose parent (or thread) is a Case. Mutates and returns them. */
export async function enrichFromCases(client: SalesforceClient, comments: Comment[], signal?: AbortSignal): Promise<Comment[]> {
  const caseOf = (c: Comment) => (c.metadata.parent_object === 'Case' ? c.metadata.parent_id : c.thread_id.startsWith('500') ? c.thread_id : null);
  const ids = [...new Set(comments.map(caseOf).filter((id): id is string => !!id))];
  if (ids.length === 0) return comments;
  const cases = new Map<string, AnyRecord>();
  for (const soql of chunkedInQueries(CASE_ENRICHMENT_SOQL, ids)) {
    for await (const rec of client.query<Record<string, unknown>>(soql, { signal })) cases.set(String(rec.Id), rec);
  }
  for (const c of comments) {
    const rec = cases.get(caseOf(c) ?? '');
    if (!rec) continue;
    const t = (p: string) => toText(fieldValue(rec, p));
    const props = c.user_properties;
    const set = (label: string, v: string) => {
      if (v) props[`string:${label}`] = v;
    };
    set('Case Number', t('CaseNumber'));
    set('Case Subject', t('Subject'));
    set('Case Status', t('Status'));
    set('Case Priority', t('Priority'));
    set('Case Origin', t('Origin'));
    set('Case Type', t('Type'));
    const rank = PRIORITY_RANK[t('Priority').toLowerCase()];
    if (rank !== undefined) props['number:Priority'] = rank;
    if (!props['string:Account']) set('Account', t('Account.Name'));
    if (!props['string:Contact']) set('Contact', t('Contact.Name'));
    set('Case Owner', t('Owner.Name'));
    const contact = t('Contact.Email');
    if (contact) {
      const who = t('Contact.Name') ? `${t('Contact.Name')} <${contact}>` : contact;
      if (!c.metadata.participants.some((p) => p.toLowerCase().includes(contact.toLowerCase()))) c.metadata.participants.push(who);
    }
  }
  return comments;
}
