/**
 * Setup objects every org has: User, Group (public groups and queues), RecordType and Organization.
 * Queues are Groups of Type `Queue`, which is why OwnerId on Lead, Case and Task points at `['Group', 'User']`.
 */
import { address, bool, datetime, email, int, personName, phone, picklist, READ_ONLY, ref, systemFields, text, withDefault } from '../dsl.ts';
import type { ObjectDef } from '../types.ts';

/** Time zones a new org offers first (the full list has several hundred). */
const TIME_ZONES = ['America/Los_Angeles', 'America/Denver', 'America/Chicago', 'America/New_York', 'America/Sao_Paulo', 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Singapore', 'Asia/Tokyo', 'Australia/Sydney', 'GMT'];
const LOCALES = ['en_US', 'en_GB', 'en_AU', 'en_CA', 'fr_FR', 'de_DE', 'es_ES', 'it_IT', 'ja_JP', 'pt_BR'];
const LANGUAGES = ['en_US', 'en_GB', 'fr', 'de', 'es', 'it', 'ja', 'pt_BR'];

export const User: ObjectDef = {
  name: 'User', label: 'User', labelPlural: 'Users', keyPrefix: '005', deletable: false, undeletable: false, feedEnabled: true,
  fields: [
    ...systemFields(),
    text('Username', 80, { nillable: false, unique: true, idLookup: true }),
    text('LastName', 80, { nillable: false }),
    text('FirstName', 40),
    personName(),
    text('CompanyName', 80),
    text('Division', 80),
    text('Department', 80),
    text('Title', 80),
    ...address(''),
    email('Email', { nillable: false }),
    phone('Phone'),
    phone('MobilePhone'),
    text('Alias', 8, { nillable: false }),
    text('CommunityNickname', 40, { unique: true }),
    bool('IsActive', { defaultValue: true }),
    picklist('TimeZoneSidKey', TIME_ZONES, { nillable: false, restrictedPicklist: true }),
    picklist('LocaleSidKey', LOCALES, { nillable: false, restrictedPicklist: true }),
    picklist('EmailEncodingKey', ['UTF-8', 'ISO-8859-1', 'Shift_JIS', 'EUC-JP'], { nillable: false, restrictedPicklist: true }),
    picklist('LanguageLocaleKey', LANGUAGES, { nillable: false, restrictedPicklist: true }),
    withDefault(picklist('UserType', ['Standard', 'PowerPartner', 'PowerCustomerSuccess', 'CsnOnly', 'Guest', 'AutomatedProcess'], { ...READ_ONLY, restrictedPicklist: true }), 'Standard'),
    ref('ManagerId', ['User'], 'Manager', 'ManagedUsers'),
    text('EmployeeNumber', 20),
    text('FederationIdentifier', 512),
    datetime('LastLoginDate', READ_ONLY),
    datetime('LastViewedDate', READ_ONLY),
  ],
};

/** Public groups and queues. `Type = 'Queue'` rows can own Leads, Cases and Tasks. */
export const Group: ObjectDef = {
  name: 'Group', label: 'Group', labelPlural: 'Groups', keyPrefix: '00G', undeletable: false,
  fields: [
    ...systemFields(),
    text('Name', 40, { nameField: true, nillable: false }),
    text('DeveloperName', 80, { unique: true, idLookup: true }),
    ref('RelatedId', ['User'], 'Related', undefined, READ_ONLY),
    withDefault(picklist('Type', ['Regular', 'Role', 'RoleAndSubordinates', 'Organization', 'Queue', 'Manager', 'AllCustomerPortal'], { nillable: false, restrictedPicklist: true, updateable: false }), 'Regular'),
    email('Email', { length: 255 }),
    ref('OwnerId', ['Organization', 'User'], 'Owner', undefined, { ...READ_ONLY, nillable: false, defaultedOnCreate: true }),
    bool('DoesSendEmailToMembers'),
    bool('DoesIncludeBosses', { defaultValue: true }),
  ],
};

/** Record types are metadata: readable through the API, created in Setup. */
export const RecordType: ObjectDef = {
  name: 'RecordType', label: 'Record Type', labelPlural: 'Record Types', keyPrefix: '012',
  createable: false, updateable: false, deletable: false, undeletable: false, searchable: false, layoutable: false, triggerable: false,
  fields: [
    ...systemFields(),
    text('Name', 80, { nameField: true, nillable: false, ...READ_ONLY }),
    text('DeveloperName', 80, { nillable: false, ...READ_ONLY }),
    text('NamespacePrefix', 15, READ_ONLY),
    text('Description', 255, READ_ONLY),
    picklist('SobjectType', ['Account', 'Campaign', 'Case', 'Contact', 'Event', 'Lead', 'Opportunity', 'Task'], { nillable: false, ...READ_ONLY, restrictedPicklist: true }),
    bool('IsActive', READ_ONLY),
    bool('IsPersonType', READ_ONLY),
  ],
};

/** The org's own row (one per org, Id = the org ID). Read-only through the API. */
export const Organization: ObjectDef = {
  name: 'Organization', label: 'Organization', labelPlural: 'Organizations', keyPrefix: '00D',
  createable: false, updateable: false, deletable: false, undeletable: false, searchable: false, layoutable: false, triggerable: false,
  fields: [
    ...systemFields(),
    text('Name', 80, { nameField: true, nillable: false, ...READ_ONLY }),
    text('Division', 80, READ_ONLY),
    ...address('', READ_ONLY),
    phone('Phone', READ_ONLY),
    phone('Fax', READ_ONLY),
    text('PrimaryContact', 80, READ_ONLY),
    picklist('DefaultLocaleSidKey', LOCALES, { ...READ_ONLY, nillable: false }),
    picklist('TimeZoneSidKey', TIME_ZONES, { ...READ_ONLY, nillable: false }),
    picklist('LanguageLocaleKey', LANGUAGES, { ...READ_ONLY, nillable: false }),
    int('FiscalYearStartMonth', { ...READ_ONLY, precision: 2 }),
    bool('UsesStartDateAsFiscalYearName', READ_ONLY),
    picklist('OrganizationType', ['Team Edition', 'Professional Edition', 'Enterprise Edition', 'Developer Edition', 'Personal Edition', 'Unlimited Edition', 'Contact Manager Edition', 'Base Edition'], { ...READ_ONLY, restrictedPicklist: true }),
    text('InstanceName', 5, READ_ONLY),
    bool('IsSandbox', READ_ONLY),
    text('NamespacePrefix', 15, READ_ONLY),
    datetime('TrialExpirationDate', READ_ONLY),
    email('ComplianceBccEmail', READ_ONLY),
  ],
};
