/**
 * What a document says about each object: its title, the text it is found by, and its tags. The standard
 * objects users search most have hand-picked fields; every other object (custom ones included) gets its
 * text fields from describe.
 */
import type { DescribeField, DescribeSObjectResult } from '../../client/index.ts';
import { addressText, fieldValue, htmlToText, isTrue, toText, type AnyRecord } from './records.ts';

/** How one object's records become document text. */
export interface Profile {
  /** Parent relationships (besides Owner/CreatedBy/LastModifiedBy) whose `Name` goes into the content. */
  relations?: readonly string[];
  /** Content lines for a record (empty strings are dropped). */
  content(rec: AnyRecord): string[];
  tags(rec: AnyRecord): string[];
  /** Title override; default is the describe name field. */
  title?(rec: AnyRecord): string | null;
}

/** Relationships every document reads the name of when the object has them. */
export const SYSTEM_RELATIONS = ['Owner', 'CreatedBy', 'LastModifiedBy'] as const;
/** Most parent-name relationships added to a query for a generic object. */
export const MAX_GENERIC_RELATIONS = 10;
/** Standard objects known to have a `Name` field, so `Rel.Name` is valid for lookups to them. */
const NAMED_OBJECTS = new Set(['Account', 'Contact', 'Lead', 'Opportunity', 'Campaign', 'User', 'Group', 'Product2', 'Pricebook2', 'Contract', 'Asset', 'Solution', 'Order', 'Quote']);

const v = (rec: AnyRecord, path: string) => toText(fieldValue(rec, path));
const openClosed = (rec: AnyRecord): string[] => {
  const c = fieldValue(rec, 'IsClosed');
  return c === null ? [] : [isTrue(c) ? 'closed' : 'open'];
};

/** Hand-tuned profiles (issue #5: the fields each standard object is found by). */
export const STANDARD_PROFILES: Readonly<Record<string, Profile>> = {
  Account: {
    relations: ['Parent'],
    content: (r) => [v(r, 'Description'), v(r, 'Website'), v(r, 'Type'), addressText(r, 'BillingAddress'), v(r, 'Industry'), v(r, 'Parent.Name')],
    tags: (r) => [v(r, 'Type'), v(r, 'Industry')],
  },
  Opportunity: {
    relations: ['Account'],
    content: (r) => [v(r, 'Description'), v(r, 'StageName'), v(r, 'Account.Name')],
    tags: (r) => [v(r, 'StageName'), v(r, 'Type'), ...openClosed(r), isTrue(fieldValue(r, 'IsWon')) ? 'won' : ''],
  },
  Contact: {
    relations: ['Account'],
    content: (r) => [v(r, 'Description'), v(r, 'Email'), v(r, 'Phone'), v(r, 'Title'), v(r, 'Account.Name')],
    tags: (r) => [v(r, 'LeadSource'), v(r, 'Department')],
    title: (r) => v(r, 'Name') || [v(r, 'FirstName'), v(r, 'LastName')].filter(Boolean).join(' ') || null,
  },
  Lead: {
    content: (r) => [v(r, 'Description'), v(r, 'Company'), v(r, 'Email'), v(r, 'Phone'), v(r, 'Status')],
    tags: (r) => [v(r, 'Status'), v(r, 'LeadSource'), v(r, 'Rating'), isTrue(fieldValue(r, 'IsConverted')) ? 'converted' : ''],
    title: (r) => v(r, 'Name') || [v(r, 'FirstName'), v(r, 'LastName')].filter(Boolean).join(' ') || null,
  },
  Campaign: {
    content: (r) => {
      const active = fieldValue(r, 'IsActive');
      return [v(r, 'Description'), v(r, 'Type'), v(r, 'Status'), active === null ? '' : isTrue(active) ? 'Active' : 'Inactive'];
    },
    tags: (r) => {
      const active = fieldValue(r, 'IsActive');
      return [v(r, 'Type'), v(r, 'Status'), active === null ? '' : isTrue(active) ? 'active' : 'inactive'];
    },
  },
  Case: {
    relations: ['Account', 'Contact'],
    content: (r) => {
      const closed = fieldValue(r, 'IsClosed');
      return [v(r, 'Description'), v(r, 'CaseNumber'), v(r, 'Status'), closed === null ? '' : isTrue(closed) ? 'Closed' : 'Open', v(r, 'Account.Name'), v(r, 'Contact.Name'), v(r, 'SuppliedName'), v(r, 'SuppliedEmail'), v(r, 'SuppliedCompany')];
    },
    tags: (r) => [v(r, 'Status'), v(r, 'Priority'), v(r, 'Type'), v(r, 'Origin'), ...openClosed(r)],
    title: (r) => {
      const n = v(r, 'CaseNumber');
      const s = v(r, 'Subject');
      return n && s ? `${n}: ${s}` : n || s || null;
    },
  },
};

/** Field types whose values are searchable text. */
const TEXT_TYPES = new Set(['string', 'textarea', 'email', 'phone', 'url', 'picklist', 'multipicklist', 'combobox']);
/** System text fields that only add noise. */
const SKIP_FIELDS = new Set(['Id', 'IsDeleted', 'SystemModstamp', 'LastViewedDate', 'LastReferencedDate', 'Jigsaw', 'JigsawCompanyId', 'CleanStatus', 'PhotoUrl']);

function isTextField(f: DescribeField): boolean {
  return TEXT_TYPES.has(f.type) && !SKIP_FIELDS.has(f.name) && !f.deprecatedAndHidden && f.type !== 'encryptedstring';
}

/** Parent relationships of a generic object whose `Name` is readable: single-target lookups to named objects. */
export function namedRelations(describe: DescribeSObjectResult): string[] {
  const out: string[] = [];
  for (const f of describe.fields) {
    if (f.type !== 'reference' || !f.relationshipName || f.deprecatedAndHidden) continue;
    if ((SYSTEM_RELATIONS as readonly string[]).includes(f.relationshipName) || f.relationshipName === 'MasterRecord') continue;
    const targets = f.referenceTo ?? [];
    if (targets.length === 1 && (NAMED_OBJECTS.has(targets[0]) || targets[0].endsWith('__c'))) out.push(f.relationshipName);
    if (out.length >= MAX_GENERIC_RELATIONS) break;
  }
  return out;
}

/** The profile for objects without a hand-tuned one: text fields in describe order, picklists as tags. */
export function genericProfile(describe: DescribeSObjectResult): Profile {
  const nameField = describe.fields.find((f) => f.nameField === true)?.name;
  const textFields = describe.fields.filter((f) => isTextField(f) && f.name !== nameField);
  const picklists = describe.fields.filter((f) => f.type === 'picklist' && !f.deprecatedAndHidden).map((f) => f.name);
  const hasIsClosed = describe.fields.some((f) => f.name === 'IsClosed');
  const relations = namedRelations(describe);
  const addresses = describe.fields.filter((f) => f.type === 'address').map((f) => f.name);
  return {
    relations,
    content: (r) => [
      ...textFields.map((f) => {
        const raw = v(r, f.name);
        return f.htmlFormatted === true ? htmlToText(raw) : raw;
      }),
      ...addresses.map((f) => addressText(r, f)),
      ...relations.map((rel) => v(r, `${rel}.Name`)),
    ],
    tags: (r) => [...picklists.map((p) => v(r, p)), ...(hasIsClosed ? openClosed(r) : [])],
  };
}

/** The profile for an object. */
export function profileFor(object: string, describe: DescribeSObjectResult): Profile {
  return STANDARD_PROFILES[object] ?? genericProfile(describe);
}
