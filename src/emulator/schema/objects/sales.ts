/**
 * Sales Cloud objects: Account, Contact, Lead, Opportunity, Campaign and CampaignMember, with the picklist
 * values of a new org. Standard picklists are unrestricted (a real org accepts values outside the list).
 */
import { address, bool, currency, date, datetime, double, email, foreignKey, int, percent, personName, phone, picklist, READ_ONLY, ref, systemFields, nameField, text, textarea, url, withDefault } from '../dsl.ts';
import type { FieldDef, ObjectDef } from '../types.ts';

/** Account.Industry and Lead.Industry defaults. */
export const INDUSTRIES = ['Agriculture', 'Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction', 'Consulting', 'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Environmental', 'Finance', 'Food & Beverage', 'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Machinery', 'Manufacturing', 'Media', 'Not For Profit', 'Recreation', 'Retail', 'Shipping', 'Technology', 'Telecommunications', 'Transportation', 'Utilities', 'Other'];
export const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
export const ACCOUNT_TYPES = ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller', 'Installation Partner', 'Technology Partner', 'Other'];
export const LEAD_STATUSES = ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'];
export const SALUTATIONS = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'];

/** Opportunity stages of a new org with their default probability and forecast category. */
export const OPPORTUNITY_STAGES: { value: string; probability: number; forecast: string; closed: boolean; won: boolean }[] = [
  { value: 'Prospecting', probability: 10, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Qualification', probability: 10, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Needs Analysis', probability: 20, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Value Proposition', probability: 50, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Id. Decision Makers', probability: 60, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Perception Analysis', probability: 70, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Proposal/Price Quote', probability: 75, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Negotiation/Review', probability: 90, forecast: 'Pipeline', closed: false, won: false },
  { value: 'Closed Won', probability: 100, forecast: 'Closed', closed: true, won: true },
  { value: 'Closed Lost', probability: 0, forecast: 'Omitted', closed: true, won: false },
];

export const CAMPAIGN_TYPES = ['Advertisement', 'Email', 'Telemarketing', 'Banner Ads', 'Seminar / Conference', 'Public Relations', 'Partners', 'Referral Program', 'Other'];
export const CAMPAIGN_STATUSES = ['Planned', 'In Progress', 'Completed', 'Aborted'];

const lastViewed = (): FieldDef[] => [datetime('LastViewedDate', READ_ONLY), datetime('LastReferencedDate', READ_ONLY)];

export const Account: ObjectDef = {
  name: 'Account', label: 'Account', labelPlural: 'Accounts', keyPrefix: '001', feedEnabled: true, mergeable: true,
  fields: [
    ...systemFields({ owner: true }),
    ref('MasterRecordId', ['Account'], 'MasterRecord', undefined, READ_ONLY),
    nameField(255, { label: 'Account Name' }),
    picklist('Type', ACCOUNT_TYPES),
    ref('ParentId', ['Account'], 'Parent', 'ChildAccounts'),
    ...address('Billing'),
    ...address('Shipping'),
    phone('Phone'),
    phone('Fax'),
    text('AccountNumber', 40),
    url('Website'),
    url('PhotoUrl', READ_ONLY),
    text('Sic', 20),
    picklist('Industry', INDUSTRIES),
    currency('AnnualRevenue'),
    int('NumberOfEmployees', { precision: 8 }),
    picklist('Ownership', ['Public', 'Private', 'Subsidiary', 'Other']),
    text('TickerSymbol', 20),
    textarea('Description'),
    picklist('Rating', ['Hot', 'Warm', 'Cold']),
    text('Site', 80),
    date('LastActivityDate', READ_ONLY),
    ...lastViewed(),
    text('Jigsaw', 20),
    text('JigsawCompanyId', 20, READ_ONLY),
    picklist('AccountSource', LEAD_SOURCES),
    bool('IsCustomerPortal', READ_ONLY),
    text('SicDesc', 80),
    // A field the integration user's profile cannot see (field-level security): stored, never exposed.
    double('Credit_Score__c', 3, 0, { custom: true, label: 'Credit Score', hidden: true }),
  ],
};

export const Contact: ObjectDef = {
  name: 'Contact', label: 'Contact', labelPlural: 'Contacts', keyPrefix: '003', feedEnabled: true, mergeable: true,
  fields: [
    ...systemFields({ owner: true }),
    ref('MasterRecordId', ['Contact'], 'MasterRecord', undefined, READ_ONLY),
    ref('AccountId', ['Account'], 'Account', 'Contacts', { cascadeDelete: true }),
    text('LastName', 80, { nillable: false }),
    text('FirstName', 40),
    picklist('Salutation', SALUTATIONS),
    personName(),
    ...address('Other'),
    ...address('Mailing'),
    phone('Phone'),
    phone('Fax'),
    phone('MobilePhone'),
    phone('HomePhone'),
    phone('OtherPhone'),
    phone('AssistantPhone'),
    ref('ReportsToId', ['Contact'], 'ReportsTo', 'ReportsTo'),
    email('Email', { idLookup: true }),
    text('Title', 128),
    text('Department', 80),
    text('AssistantName', 40),
    picklist('LeadSource', LEAD_SOURCES),
    date('Birthdate'),
    textarea('Description'),
    bool('HasOptedOutOfEmail'),
    bool('HasOptedOutOfFax'),
    bool('DoNotCall'),
    date('LastActivityDate', READ_ONLY),
    datetime('LastCURequestDate', READ_ONLY),
    datetime('LastCUUpdateDate', READ_ONLY),
    ...lastViewed(),
    text('EmailBouncedReason', 255),
    datetime('EmailBouncedDate'),
    bool('IsEmailBounced', READ_ONLY),
    url('PhotoUrl', READ_ONLY),
    text('Jigsaw', 20),
    text('JigsawContactId', 20, READ_ONLY),
    bool('CanAllowPortalSelfReg'),
    foreignKey('IndividualId', 'Individual'),
    // Hidden from the API user by field-level security.
    double('Score__c', 18, 0, { custom: true, label: 'Score', hidden: true }),
  ],
};

export const Lead: ObjectDef = {
  name: 'Lead', label: 'Lead', labelPlural: 'Leads', keyPrefix: '00Q', feedEnabled: true, mergeable: true,
  fields: [
    ...systemFields({ owner: ['Group', 'User'] }),
    ref('MasterRecordId', ['Lead'], 'MasterRecord', undefined, READ_ONLY),
    text('LastName', 80, { nillable: false }),
    text('FirstName', 40),
    picklist('Salutation', SALUTATIONS),
    personName(),
    text('Title', 128),
    text('Company', 255, { nillable: false }),
    ...address(''),
    phone('Phone'),
    phone('MobilePhone'),
    phone('Fax'),
    email('Email'),
    url('Website'),
    url('PhotoUrl', READ_ONLY),
    textarea('Description'),
    picklist('LeadSource', LEAD_SOURCES),
    withDefault(picklist('Status', LEAD_STATUSES, { nillable: false }), 'Open - Not Contacted'),
    picklist('Industry', INDUSTRIES),
    picklist('Rating', ['Hot', 'Warm', 'Cold']),
    currency('AnnualRevenue'),
    int('NumberOfEmployees', { precision: 8 }),
    bool('HasOptedOutOfEmail'),
    bool('IsConverted', { updateable: false }),
    date('ConvertedDate', READ_ONLY),
    ref('ConvertedAccountId', ['Account'], 'ConvertedAccount', undefined, READ_ONLY),
    ref('ConvertedContactId', ['Contact'], 'ConvertedContact', undefined, READ_ONLY),
    ref('ConvertedOpportunityId', ['Opportunity'], 'ConvertedOpportunity', undefined, READ_ONLY),
    bool('IsUnreadByOwner', { defaultValue: true }),
    date('LastActivityDate', READ_ONLY),
    bool('DoNotCall'),
    bool('HasOptedOutOfFax'),
    ...lastViewed(),
    text('Jigsaw', 20),
    text('JigsawContactId', 20, READ_ONLY),
    text('EmailBouncedReason', 255),
    datetime('EmailBouncedDate'),
    foreignKey('IndividualId', 'Individual'),
  ],
};

export const Opportunity: ObjectDef = {
  name: 'Opportunity', label: 'Opportunity', labelPlural: 'Opportunities', keyPrefix: '006', feedEnabled: true,
  fields: [
    ...systemFields({ owner: true }),
    ref('AccountId', ['Account'], 'Account', 'Opportunities', { cascadeDelete: true }),
    bool('IsPrivate'),
    nameField(120, { idLookup: false }),
    textarea('Description'),
    picklist('StageName', OPPORTUNITY_STAGES.map((s) => s.value), { nillable: false }),
    currency('Amount'),
    percent('Probability'),
    // A formula of the kind the emulator evaluates on read (see formula.ts).
    currency('ExpectedRevenue', { formula: 'Amount * Probability / 100', calculated: true, ...READ_ONLY }),
    double('TotalOpportunityQuantity', 18, 2),
    date('CloseDate', { nillable: false }),
    picklist('Type', ['Existing Customer - Upgrade', 'Existing Customer - Replacement', 'Existing Customer - Downgrade', 'New Customer']),
    text('NextStep', 255),
    picklist('LeadSource', LEAD_SOURCES),
    // Derived from the stage on every write; read-only through the API.
    bool('IsClosed', READ_ONLY),
    bool('IsWon', READ_ONLY),
    picklist('ForecastCategory', ['Omitted', 'Pipeline', 'BestCase', 'MostLikely', 'Forecast', 'Closed'], { ...READ_ONLY, nillable: false, restrictedPicklist: true }),
    picklist('ForecastCategoryName', ['Omitted', 'Pipeline', 'Best Case', 'Commit', 'Closed']),
    ref('CampaignId', ['Campaign'], 'Campaign', 'Opportunities'),
    bool('HasOpportunityLineItem', READ_ONLY),
    ref('ContactId', ['Contact'], 'Contact', 'Opportunities'),
    foreignKey('Pricebook2Id', 'Pricebook2'),
    bool('HasOpenActivity', READ_ONLY),
    bool('HasOverdueTask', READ_ONLY),
    date('LastActivityDate', READ_ONLY),
    int('FiscalQuarter', { ...READ_ONLY, precision: 1 }),
    int('FiscalYear', { ...READ_ONLY, precision: 4 }),
    text('Fiscal', 6, READ_ONLY),
    ...lastViewed(),
  ],
};

export const Campaign: ObjectDef = {
  name: 'Campaign', label: 'Campaign', labelPlural: 'Campaigns', keyPrefix: '701', feedEnabled: true,
  fields: [
    ...systemFields({ owner: true }),
    nameField(80, { idLookup: false }),
    ref('ParentId', ['Campaign'], 'Parent', 'ChildCampaigns'),
    foreignKey('CampaignMemberRecordTypeId', 'RecordType'),
    picklist('Type', CAMPAIGN_TYPES),
    picklist('Status', CAMPAIGN_STATUSES),
    date('StartDate'),
    date('EndDate'),
    currency('ExpectedRevenue'),
    currency('BudgetedCost'),
    currency('ActualCost'),
    percent('ExpectedResponse', { precision: 10, scale: 2 }),
    double('NumberSent', 18, 0),
    bool('IsActive'),
    textarea('Description'),
    // Roll-ups the platform maintains from members and opportunities.
    int('NumberOfLeads', READ_ONLY),
    int('NumberOfConvertedLeads', READ_ONLY),
    int('NumberOfContacts', READ_ONLY),
    int('NumberOfResponses', READ_ONLY),
    int('NumberOfOpportunities', READ_ONLY),
    int('NumberOfWonOpportunities', READ_ONLY),
    currency('AmountAllOpportunities', READ_ONLY),
    currency('AmountWonOpportunities', READ_ONLY),
    date('LastActivityDate', READ_ONLY),
    ...lastViewed(),
  ],
};

export const CampaignMember: ObjectDef = {
  name: 'CampaignMember', label: 'Campaign Member', labelPlural: 'Campaign Members', keyPrefix: '00v', undeletable: false,
  fields: [
    ...systemFields(),
    ref('CampaignId', ['Campaign'], 'Campaign', 'CampaignMembers', { nillable: false, updateable: false, cascadeDelete: true }),
    ref('LeadId', ['Lead'], 'Lead', 'CampaignMembers', { updateable: false, cascadeDelete: true }),
    ref('ContactId', ['Contact'], 'Contact', 'CampaignMembers', { updateable: false, cascadeDelete: true }),
    withDefault(picklist('Status', ['Sent', 'Responded'], { nillable: true }), 'Sent'),
    bool('HasResponded', READ_ONLY),
    date('FirstRespondedDate', READ_ONLY),
    text('Salutation', 40, READ_ONLY),
    text('Name', 121, { ...READ_ONLY, nameField: true }),
    text('FirstName', 40, READ_ONLY),
    text('LastName', 80, READ_ONLY),
    text('Title', 128, READ_ONLY),
    text('CompanyOrAccount', 255, READ_ONLY),
    email('Email', READ_ONLY),
    phone('Phone', READ_ONLY),
    picklist('Type', ['Lead', 'Contact'], { ...READ_ONLY, restrictedPicklist: true }),
    ref('LeadOrContactId', ['Contact', 'Lead'], 'LeadOrContact', undefined, READ_ONLY),
    ref('LeadOrContactOwnerId', ['Group', 'User'], 'LeadOrContactOwner', undefined, READ_ONLY),
    // Copied from the lead or contact; read-only on the member.
    text('Street', 255, READ_ONLY),
    text('City', 40, READ_ONLY),
    text('State', 80, READ_ONLY),
    text('PostalCode', 20, READ_ONLY),
    text('Country', 80, READ_ONLY),
    phone('Fax', READ_ONLY),
    phone('MobilePhone', READ_ONLY),
    textarea('Description', 32000, READ_ONLY),
    bool('DoNotCall', READ_ONLY),
    bool('HasOptedOutOfEmail', READ_ONLY),
    bool('HasOptedOutOfFax', READ_ONLY),
    picklist('LeadSource', LEAD_SOURCES, READ_ONLY),
  ],
};
