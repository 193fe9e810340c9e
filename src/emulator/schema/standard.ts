/**
 * Standard sObjects of the emulated org. Field names, types, lengths and flags follow Salesforce's describe
 * output; picklist values are the defaults of a new org. Objects live in ./objects/ by cloud.
 */
import { PermissionSet, PermissionSetAssignment, Profile, UserLicense, UserRole } from './objects/access.ts';
import { ActivityHistory, Event, OpenActivity, Task } from './objects/activity.ts';
import { changeEventFor } from './objects/change-events.ts';
import { ContentDocument, ContentDocumentLink, ContentVersion, FEED_PARENTS, FeedComment, FeedItem, feedFor } from './objects/collaboration.ts';
import { Attachment, Document, Folder } from './objects/documents.ts';
import { Account, Campaign, CampaignMember, Contact, Lead, Opportunity } from './objects/sales.ts';
import { Case, CaseComment, EmailMessage } from './objects/service.ts';
import { Group, Organization, RecordType, User } from './objects/setup.ts';
import type { ObjectDef } from './types.ts';

export { Account, Campaign, CampaignMember, Contact, Lead, Opportunity } from './objects/sales.ts';
export { Case, CaseComment, EmailMessage } from './objects/service.ts';
export { ActivityHistory, Event, OpenActivity, Task } from './objects/activity.ts';
export { ContentDocument, ContentDocumentLink, ContentVersion, FeedComment, FeedItem } from './objects/collaboration.ts';
export { Attachment, Document, Folder } from './objects/documents.ts';
export { PermissionSet, PermissionSetAssignment, Profile, UserLicense, UserRole } from './objects/access.ts';
export { Group, Organization, RecordType, User } from './objects/setup.ts';

/** Objects with Change Data Capture enabled in the emulated org (their `…ChangeEvent` entities exist). */
export const CDC_ENABLED = [Account, Contact, Lead, Opportunity, Case];

const byName = (name: string) => standardObjects.find((o) => o.name === name)!;

/** Every standard object of the org, parents before children (the order seeding and describeGlobal use). */
export const standardObjects: ObjectDef[] = [
  Organization, UserLicense, Profile, UserRole, User, PermissionSet, PermissionSetAssignment, Group, RecordType,
  Account, Contact, Campaign, Lead, Opportunity, CampaignMember,
  Case, CaseComment, EmailMessage, Task, Event, ActivityHistory, OpenActivity,
  ContentDocument, ContentVersion, ContentDocumentLink, FeedItem, FeedComment,
  Attachment, Folder, Document,
  ...CDC_ENABLED.map(changeEventFor),
];
// The `<Object>Feed` views (CaseFeed …), one per feed-enabled parent.
standardObjects.splice(standardObjects.indexOf(FeedComment), 0, ...FEED_PARENTS.map((p) => feedFor(byName(p))));

/** The Case feed (a view of the FeedItems posted on Cases). */
export const CaseFeed = byName('CaseFeed');
