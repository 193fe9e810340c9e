/**
 * Standard sObjects of the emulated org. Field names, types and flags follow Salesforce's describe output;
 * picklist values are the defaults of a new org.
 */
import { address, bool, currency, date, datetime, double, email, int, nameField, phone, picklist, ref, systemFields, text, textarea, url } from './dsl.ts';
import type { ObjectDef } from './types.ts';

const INDUSTRIES = ['Agriculture', 'Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction', 'Consulting', 'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Environmental', 'Finance', 'Food & Beverage', 'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Machinery', 'Manufacturing', 'Media', 'Not For Profit', 'Recreation', 'Retail', 'Shipping', 'Technology', 'Telecommunications', 'Transportation', 'Utilities', 'Other'];

export const User: ObjectDef = {
  name: 'User', label: 'User', labelPlural: 'Users', keyPrefix: '005', deletable: false, undeletable: false,
  fields: [
    ...systemFields(),
    text('Username', 80, { nillable: false, unique: true, idLookup: true }),
    text('LastName', 80, { nillable: false }),
    text('FirstName', 40),
    text('Name', 121, { nameField: true, createable: false, updateable: false, idLookup: false }),
    text('CompanyName', 80),
    text('Division', 80),
    text('Department', 80),
    text('Title', 80),
    ...address(''),
    email('Email', { nillable: false }),
    phone('Phone'),
    phone('MobilePhone'),
    text('Alias', 8, { nillable: false }),
    text('CommunityNickname', 40),
    bool('IsActive', { defaultValue: true }),
    picklist('TimeZoneSidKey', ['America/Los_Angeles', 'America/New_York', 'Europe/London', 'Europe/Paris', 'Asia/Tokyo', 'GMT'], { nillable: false }),
    picklist('LocaleSidKey', ['en_US', 'en_GB', 'fr_FR', 'de_DE', 'ja_JP'], { nillable: false }),
    picklist('EmailEncodingKey', ['UTF-8', 'ISO-8859-1'], { nillable: false }),
    picklist('LanguageLocaleKey', ['en_US', 'fr', 'de', 'ja'], { nillable: false }),
    picklist('UserType', ['Standard', 'PowerPartner', 'CsnOnly', 'Guest', 'AutomatedProcess'], { createable: false, updateable: false }),
    ref('ManagerId', ['User'], 'Manager'),
    text('FederationIdentifier', 512),
    datetime('LastLoginDate', { createable: false, updateable: false }),
  ],
};

export const Account: ObjectDef = {
  name: 'Account', label: 'Account', labelPlural: 'Accounts', keyPrefix: '001', feedEnabled: true, mergeable: true,
  fields: [
    ...systemFields({ owner: true }),
    ref('MasterRecordId', ['Account'], 'MasterRecord', undefined, { createable: false, updateable: false }),
    nameField(255),
    picklist('Type', ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller', 'Installation Partner', 'Technology Partner', 'Other']),
    ref('ParentId', ['Account'], 'Parent', 'ChildAccounts'),
    ...address('Billing'),
    ...address('Shipping'),
    phone('Phone'),
    phone('Fax'),
    text('AccountNumber', 40),
    url('Website'),
    text('PhotoUrl', 255, { type: 'url', createable: false, updateable: false }),
    text('Sic', 20),
    picklist('Industry', INDUSTRIES),
    currency('AnnualRevenue'),
    int('NumberOfEmployees'),
    picklist('Ownership', ['Public', 'Private', 'Subsidiary', 'Other']),
    text('TickerSymbol', 20),
    textarea('Description'),
    picklist('Rating', ['Hot', 'Warm', 'Cold']),
    text('Site', 80),
    datetime('LastActivityDate', { type: 'date', createable: false, updateable: false }),
    datetime('LastViewedDate', { createable: false, updateable: false }),
    text('Jigsaw', 20),
    text('AccountSource', 255, { type: 'picklist', picklistValues: ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'].map((value) => ({ value, label: value, active: true, defaultValue: false })) }),
    double('Employees_Estimate_Ratio', 18, 2, { hidden: true }),
  ].filter((f) => !f.hidden),
};

export const Contact: ObjectDef = {
  name: 'Contact', label: 'Contact', labelPlural: 'Contacts', keyPrefix: '003', feedEnabled: true, mergeable: true,
  fields: [
    ...systemFields({ owner: true }),
    ref('MasterRecordId', ['Contact'], 'MasterRecord', undefined, { createable: false, updateable: false }),
    ref('AccountId', ['Account'], 'Account', 'Contacts'),
    text('LastName', 80, { nillable: false }),
    text('FirstName', 40),
    picklist('Salutation', ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.']),
    text('Name', 121, { nameField: true, createable: false, updateable: false }),
    ...address('Other'),
    ...address('Mailing'),
    phone('Phone'),
    phone('Fax'),
    phone('MobilePhone'),
    phone('HomePhone'),
    phone('OtherPhone'),
    phone('AssistantPhone'),
    ref('ReportsToId', ['Contact'], 'ReportsTo'),
    email('Email', { idLookup: true }),
    text('Title', 128),
    text('Department', 80),
    text('AssistantName', 40),
    picklist('LeadSource', ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other']),
    date('Birthdate'),
    textarea('Description'),
    bool('HasOptedOutOfEmail'),
    bool('DoNotCall'),
    date('LastActivityDate', { createable: false, updateable: false }),
    datetime('LastViewedDate', { createable: false, updateable: false }),
    double('Score__c', 18, 0, { custom: true, hidden: true }),
  ].filter((f) => !f.hidden),
};

/** The standard objects, in describeGlobal order. Other standard objects are added in their own files. */
export const standardObjects: ObjectDef[] = [Account, Contact, User];
