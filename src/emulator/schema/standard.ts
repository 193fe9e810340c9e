/**
 * Standard sObjects of the emulated org. Field names, types, lengths and flags follow Salesforce's describe
 * output; picklist values are the defaults of a new org. Objects live in ./objects/ by cloud.
 */
import { Event, Task } from './objects/activity.ts';
import { changeEventFor } from './objects/change-events.ts';
import { CaseFeed, ContentDocument, ContentDocumentLink, ContentVersion, FeedComment, FeedItem } from './objects/collaboration.ts';
import { Account, Campaign, CampaignMember, Contact, Lead, Opportunity } from './objects/sales.ts';
import { Case, CaseComment, EmailMessage } from './objects/service.ts';
import { Group, Organization, RecordType, User } from './objects/setup.ts';
import type { ObjectDef } from './types.ts';

export { Account, Campaign, CampaignMember, Contact, Lead, Opportunity } from './objects/sales.ts';
export { Case, CaseComment, EmailMessage } from './objects/service.ts';
export { Event, Task } from './objects/activity.ts';
export { CaseFeed, ContentDocument, ContentDocumentLink, ContentVersion, FeedComment, FeedItem } from './objects/collaboration.ts';
export { Group, Organization, RecordType, User } from './objects/setup.ts';

/** Objects with Change Data Capture enabled in the emulated org (their `…ChangeEvent` entities exist). */
export const CDC_ENABLED = [Account, Contact, Lead, Opportunity, Case];

/** Every standard object of the org, parents before children (the order seeding and describeGlobal use). */
export const standardObjects: ObjectDef[] = [
  Organization, User, Group, RecordType,
  Account, Contact, Campaign, Lead, Opportunity, CampaignMember,
  Case, CaseComment, EmailMessage, Task, Event,
  ContentDocument, ContentVersion, ContentDocumentLink, FeedItem, CaseFeed, FeedComment,
  ...CDC_ENABLED.map(changeEventFor),
];
