/** Shared deterministic fixture for the SOQL suites: a few accounts, contacts, opportunities and tasks. */
import type { Emulator } from '../../src/emulator/app.ts';
import { insertRecord } from '../../src/emulator/dml.ts';
import { currency, date, datetime, double, multipicklist, nameField, picklist, ref, systemFields, text, bool } from '../../src/emulator/schema/dsl.ts';
import type { ObjectDef } from '../../src/emulator/schema/types.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';

/** Custom fields merged onto the standard Account. */
export const AccountExtras: ObjectDef = {
  name: 'Account', label: 'Account', labelPlural: 'Accounts', keyPrefix: '001',
  fields: [
    text('Ext__c', 40, { externalId: true, unique: true, custom: true }),
    multipicklist('Tags__c', ['a', 'b', 'c', 'd'], { custom: true }),
    double('Score__c', 18, 2, { custom: true }),
    date('Since__c', { custom: true }),
    bool('Vip__c', { custom: true }),
    datetime('Reviewed__c', { custom: true }),
  ],
};

export const Opportunity: ObjectDef = {
  name: 'Opportunity', label: 'Opportunity', labelPlural: 'Opportunities', keyPrefix: '006',
  fields: [
    ...systemFields({ owner: true, name: nameField(120) }),
    ref('AccountId', ['Account'], 'Account', 'Opportunities'),
    currency('Amount'),
    picklist('StageName', ['Prospecting', 'Closed Won', 'Closed Lost']),
    date('CloseDate'),
  ],
};

export const Task: ObjectDef = {
  name: 'Task', label: 'Task', labelPlural: 'Tasks', keyPrefix: '00T',
  fields: [
    ...systemFields({ owner: true }),
    text('Subject', 255),
    ref('WhatId', ['Account', 'Opportunity'], 'What', 'Tasks'),
    ref('WhoId', ['Contact', 'Lead'], 'Who', 'Tasks'),
    picklist('Status', ['Open', 'Completed']),
  ],
};

export const NOW = Date.UTC(2024, 2, 15, 12, 0, 0); // Friday 2024-03-15 12:00 UTC

export interface Fixture extends TestOrg {
  ids: Record<string, string>;
}

/** Builds the fixture; record creation times are spread so date literals select different rows. */
export async function fixture(): Promise<Fixture> {
  const org = await testOrg({ objects: [AccountExtras, Opportunity, Task] });
  const o = org.emu.org;
  const ids: Record<string, string> = {};
  const ins = (key: string, obj: string, at: number, rec: Record<string, unknown>) => {
    o.clock.set(at, true);
    ids[key] = insertRecord(o, o.schema.get(obj)!, rec);
  };
  const day = 86_400_000;
  ins('A1', 'Account', Date.UTC(2023, 5, 1), { Name: 'Acme', Industry: 'Banking', AnnualRevenue: 1000000, NumberOfEmployees: 100, BillingCity: 'Paris', BillingCountry: 'France', Rating: 'Hot', Ext__c: 'EXT-1', Tags__c: 'a;b', Score__c: 1.5, Since__c: '2020-01-15', Type: 'Customer - Direct', Vip__c: true, Reviewed__c: '2024-03-15T08:30:00.000Z' });
  ins('A2', 'Account', Date.UTC(2024, 0, 10), { Name: 'Globex', Industry: 'Banking', AnnualRevenue: 500000, NumberOfEmployees: 50, BillingCity: 'London', Rating: 'Warm', Ext__c: 'EXT-2', Tags__c: 'b;c', Score__c: 2.5, ParentId: ids.A1, Since__c: '2024-01-10' });
  ins('A3', 'Account', Date.UTC(2024, 2, 10), { Name: 'Initech', Industry: 'Technology', AnnualRevenue: 250000, NumberOfEmployees: 20, Rating: 'Cold', Tags__c: 'c', Since__c: '2024-03-14', Description: 'Makes TPS reports' });
  ins('A4', 'Account', Date.UTC(2024, 2, 14), { Name: 'Umbrella', Ext__c: 'ext-4' });
  ins('A5', 'Account', NOW - 3 * 3_600_000, { Name: "O'Reilly Media", Industry: 'Media', AnnualRevenue: 750000, NumberOfEmployees: 75, Tags__c: 'a;d', ParentId: ids.A1, Since__c: '2024-03-15', Score__c: 0 });
  ins('A6', 'Account', NOW, { Name: 'acme subsidiary', Industry: 'Technology', AnnualRevenue: 100, NumberOfEmployees: 5, ParentId: ids.A2, Since__c: '2024-04-02' });
  ins('C1', 'Contact', NOW - 10 * day, { FirstName: 'Ada', LastName: 'Lovelace', AccountId: ids.A1, Email: 'ada@example.com', Birthdate: '1990-12-10', LeadSource: 'Web', DoNotCall: true });
  ins('C2', 'Contact', NOW - 9 * day, { FirstName: 'Bob', LastName: 'Smith', AccountId: ids.A1, ReportsToId: ids.C1 });
  ins('C3', 'Contact', NOW - 8 * day, { FirstName: 'Carol', LastName: 'Jones', AccountId: ids.A2, Email: 'carol@example.org' });
  ins('C4', 'Contact', NOW - 7 * day, { FirstName: 'Dan', LastName: 'Brown' });
  ins('C5', 'Contact', NOW - 6 * day, { FirstName: 'Eve', LastName: 'Adams', AccountId: ids.A5 });
  ins('O1', 'Opportunity', NOW - 5 * day, { Name: 'Big Deal', AccountId: ids.A1, Amount: 5000, StageName: 'Closed Won', CloseDate: '2024-03-01' });
  ins('O2', 'Opportunity', NOW - 4 * day, { Name: 'Small Deal', AccountId: ids.A2, Amount: 100, StageName: 'Prospecting', CloseDate: '2024-04-10' });
  ins('O3', 'Opportunity', NOW - 3 * day, { Name: 'Mid Deal', AccountId: ids.A1, Amount: 1000, StageName: 'Prospecting' });
  ins('T1', 'Task', NOW - 2 * day, { Subject: 'Call', WhatId: ids.A1, WhoId: ids.C1, Status: 'Open' });
  ins('T2', 'Task', NOW - day, { Subject: 'Email', WhatId: ids.O1, Status: 'Completed' });
  ins('T3', 'Task', NOW, { Subject: 'Note' });
  o.clock.set(NOW, true);
  return { ...org, ids };
}

/** GET /query with the fixture's token; returns status and parsed body. */
export async function query(org: TestOrg, soql: string, opts: { all?: boolean; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const res = await org.api(`/${opts.all ? 'queryAll' : 'query'}?q=${encodeURIComponent(soql)}`, { headers: opts.headers });
  return { status: res.status, body: await res.json() };
}

export type { Emulator };
