/**
 * Service Cloud objects: Case (auto-numbered, queue-owned), CaseComment and EmailMessage (Email-to-Case).
 */
import { autoNumber, bool, codedPicklist, datetime, email, foreignKey, phone, picklist, READ_ONLY, ref, systemFields, text, textarea, withDefault } from '../dsl.ts';
import type { ObjectDef } from '../types.ts';

export const CASE_STATUSES = [
  { value: 'New', closed: false },
  { value: 'Working', closed: false },
  { value: 'Escalated', closed: false },
  { value: 'Closed', closed: true },
];
export const CASE_ORIGINS = ['Phone', 'Email', 'Web'];
export const CASE_PRIORITIES = ['High', 'Medium', 'Low'];
export const CASE_TYPES = ['Mechanical', 'Electrical', 'Electronic', 'Structural', 'Other'];
export const CASE_REASONS = ['Installation', 'Equipment Complexity', 'Performance', 'Breakdown', 'Equipment Design', 'Feedback', 'Other'];

/** Objects whose records can be related to an email (EmailMessage.RelatedToId). */
const EMAIL_RELATED = ['Account', 'Campaign', 'Case', 'Contact', 'Lead', 'Opportunity'];

export const Case: ObjectDef = {
  name: 'Case', label: 'Case', labelPlural: 'Cases', keyPrefix: '500', feedEnabled: true,
  fields: [
    ...systemFields(),
    ref('MasterRecordId', ['Case'], 'MasterRecord', undefined, READ_ONLY),
    autoNumber('CaseNumber', '{00000000}', { nameField: true }),
    ref('ContactId', ['Contact'], 'Contact', 'Cases'),
    ref('AccountId', ['Account'], 'Account', 'Cases', { cascadeDelete: true }),
    foreignKey('AssetId', 'Asset'),
    foreignKey('ProductId', 'Product2'),
    foreignKey('EntitlementId', 'Entitlement'),
    foreignKey('SourceId', 'SocialPost'),
    ref('ParentId', ['Case'], 'Parent', 'Cases'),
    text('SuppliedName', 80),
    email('SuppliedEmail'),
    phone('SuppliedPhone'),
    text('SuppliedCompany', 80),
    picklist('Type', CASE_TYPES),
    withDefault(picklist('Status', CASE_STATUSES.map((s) => s.value)), 'New'),
    picklist('Reason', CASE_REASONS),
    picklist('Origin', CASE_ORIGINS),
    text('Subject', 255),
    withDefault(picklist('Priority', CASE_PRIORITIES), 'Medium'),
    textarea('Description'),
    // Derived from Status (a status value is "closed" in Setup); read-only through the API.
    bool('IsClosed', READ_ONLY),
    datetime('ClosedDate', READ_ONLY),
    bool('IsEscalated'),
    ref('OwnerId', ['Group', 'User'], 'Owner', undefined, { nillable: false, defaultedOnCreate: true }),
    phone('ContactPhone', READ_ONLY),
    phone('ContactMobile', READ_ONLY),
    email('ContactEmail', READ_ONLY),
    phone('ContactFax', READ_ONLY),
    bool('IsVisibleInSelfService'),
    bool('HasCommentsUnreadByOwner', READ_ONLY),
    bool('HasSelfServiceComments', READ_ONLY),
    bool('IsClosedOnCreate', READ_ONLY),
    bool('IsSelfServiceClosed', READ_ONLY),
    datetime('SlaStartDate'),
    datetime('SlaExitDate', READ_ONLY),
    bool('IsStopped'),
    datetime('StopStartDate', READ_ONLY),
    textarea('Comments', 4000),
    picklist('MilestoneStatus', ['Compliant', 'Open Violation', 'Closed Violation'], READ_ONLY),
    datetime('LastViewedDate', READ_ONLY),
    datetime('LastReferencedDate', READ_ONLY),
  ],
};

export const CaseComment: ObjectDef = {
  name: 'CaseComment', label: 'Case Comment', labelPlural: 'Case Comments', keyPrefix: '00a', undeletable: false, searchable: false,
  fields: [
    ...systemFields(),
    ref('ParentId', ['Case'], 'Parent', 'CaseComments', { nillable: false, updateable: false, cascadeDelete: true }),
    bool('IsPublished'),
    textarea('CommentBody', 4000),
  ],
};

export const EmailMessage: ObjectDef = {
  name: 'EmailMessage', label: 'Email Message', labelPlural: 'Email Messages', keyPrefix: '02s', undeletable: false,
  fields: [
    ...systemFields(),
    ref('ParentId', ['Case'], 'Parent', 'EmailMessages', { cascadeDelete: true }),
    ref('ActivityId', ['Task'], 'Activity', undefined, READ_ONLY),
    textarea('TextBody', 131072),
    textarea('HtmlBody', 131072, { htmlFormatted: true, extraTypeInfo: 'richtextarea' }),
    textarea('Headers', 32000),
    text('Subject', 3000),
    text('FromName', 1000),
    email('FromAddress', { length: 1000 }),
    text('ToAddress', 4000),
    text('CcAddress', 4000),
    text('BccAddress', 4000),
    bool('Incoming'),
    bool('HasAttachment', READ_ONLY),
    withDefault(codedPicklist('Status', [['0', 'New'], ['1', 'Read'], ['2', 'Replied'], ['3', 'Sent'], ['4', 'Forwarded'], ['5', 'Draft']], { nillable: false, restrictedPicklist: true }), '5'),
    datetime('MessageDate'),
    bool('IsExternallyVisible'),
    text('MessageIdentifier', 998),
    text('ThreadIdentifier', 998),
    ref('ReplyToEmailMessageId', ['EmailMessage'], 'ReplyToEmailMessage', 'Replies'),
    ref('RelatedToId', EMAIL_RELATED, 'RelatedTo', 'Emails', { cascadeDelete: true }),
    bool('IsClientManaged', { updateable: false }),
    bool('IsBounced', READ_ONLY),
    bool('IsTracked'),
    bool('IsOpened', READ_ONLY),
    picklist('ValidatedFromAddress', [], { updateable: false }),
    bool('IsPrivateDraft', READ_ONLY),
  ],
};
