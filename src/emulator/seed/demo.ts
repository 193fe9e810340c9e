/**
 * `--seed demo`: a small, deterministic, realistic org. Sales reps own accounts, contacts and opportunities;
 * leads are worked (some converted, some in a queue); campaigns have members; support agents and a queue
 * own cases with comments and Email-to-Case messages; Chatter posts and comments sit on records; tasks and
 * events hang off accounts, opportunities and cases; files are shared with records. Every reference points
 * at a record that exists, and dates spread over the past months relative to the org clock.
 */
import { createHash } from 'node:crypto';
import type { Org } from '../org.ts';
import { COMMENTS, DAY, isoDate, rng } from './random.ts';
import { caseValues, VALUE_GENERATORS } from './values.ts';
import { RowWriter, type Values } from './writer.ts';
import { assignAccess } from './access.ts';
import { schemaFromData } from '../schema/custom.ts';

/**
 * What the demo org adds to the standard objects: a text external ID on Account and Contact, so upserts by
 * `External_Id__c` work against it (values `ACC-000001`…, `CON-000001`…). `sfbridge emulator --seed demo`
 * adds these fields; an org created without them is seeded the same way, without the values.
 */
export const DEMO_SCHEMA = schemaFromData(
  { objects: ['Account', 'Contact'].map((name) => ({ name, fields: [{ name: 'External_Id__c', label: 'External ID', type: 'string', length: 50, externalId: true, unique: true }] })) },
  'demo schema',
);

/** What the demo org contains, per object. */
export type DemoCounts = Record<string, number>;

const USERS = [
  { first: 'Maria', last: 'Garcia', title: 'VP Sales', dept: 'Sales', role: 'sales' },
  { first: 'James', last: 'Chen', title: 'Account Executive', dept: 'Sales', role: 'sales' },
  { first: 'Priya', last: 'Patel', title: 'Account Executive', dept: 'Sales', role: 'sales' },
  { first: 'Tom', last: 'Walker', title: 'Sales Development Rep', dept: 'Sales', role: 'sales' },
  { first: 'Aisha', last: 'Okafor', title: 'Support Engineer', dept: 'Support', role: 'support' },
  { first: 'Lukas', last: 'Schmidt', title: 'Support Engineer', dept: 'Support', role: 'support' },
] as const;

const FILES = [
  { title: 'Proposal', ext: 'pdf', type: 'PDF' },
  { title: 'Statement of Work', ext: 'docx', type: 'WORD_X' },
  { title: 'Pricing', ext: 'xlsx', type: 'EXCEL_X' },
  { title: 'Site photo', ext: 'png', type: 'PNG' },
];

/** Seeds the demo org and returns the number of records created per object. */
export function seedDemo(org: Org, seed = 42): DemoCounts {
  const r = rng(seed);
  const now = org.clock.now();
  const w = (name: string) => new RowWriter(org, org.schema.get(name)!);
  const W = {
    User: w('User'), Group: w('Group'), Account: w('Account'), Contact: w('Contact'), Campaign: w('Campaign'), Lead: w('Lead'),
    Opportunity: w('Opportunity'), CampaignMember: w('CampaignMember'), Case: w('Case'), CaseComment: w('CaseComment'),
    EmailMessage: w('EmailMessage'), Task: w('Task'), Event: w('Event'), ContentDocument: w('ContentDocument'),
    ContentVersion: w('ContentVersion'), ContentDocumentLink: w('ContentDocumentLink'), FeedItem: w('FeedItem'),
    FeedComment: w('FeedComment'),
  };
  const counts: DemoCounts = {};
  const add = (name: keyof typeof W, values: Values, at: number, by?: string, id?: string): string => {
    counts[name] = (counts[name] ?? 0) + 1;
    return W[name].insert(values, at, by, id);
  };
  const gen = (name: string, i: number) => VALUE_GENERATORS[name](i, r, now);
  const between = (from: number, to = now) => Math.floor(from + r() * Math.max(0, to - from));

  org.store.transaction(() => {
    // People and queues.
    const orgStart = now - 200 * DAY;
    const users = USERS.map((u, i) => ({
      ...u,
      id: add('User', {
        FirstName: u.first, LastName: u.last, Username: `${u.first}.${u.last}@emulator.sfbridge.dev`.toLowerCase(), Email: `${u.first}.${u.last}@example.com`.toLowerCase(),
        Alias: (u.first[0] + u.last).slice(0, 8).toLowerCase(), CommunityNickname: `${u.first}${u.last}`.toLowerCase(), Title: u.title, Department: u.dept,
        CompanyName: 'Emulated Org', IsActive: 1, TimeZoneSidKey: i % 2 ? 'America/New_York' : 'America/Los_Angeles', LocaleSidKey: 'en_US',
        EmailEncodingKey: 'UTF-8', LanguageLocaleKey: 'en_US', UserType: 'Standard', LastLoginDate: now - r.int(1, 72) * 3_600_000,
      }, orgStart + i * DAY),
    }));
    users.forEach((u, i) => assignAccess(org, u.id, {
      profile: 'Standard User',
      role: u.role === 'sales' ? (i === 0 ? 'VPSales' : 'SalesRep') : 'CustomerSupportNorthAmerica',
      permissionSets: u.role === 'support' ? ['Knowledge_Author'] : [],
    }));
    const sales = users.filter((u) => u.role === 'sales').map((u) => u.id);
    const support = users.filter((u) => u.role === 'support').map((u) => u.id);
    const supportQueue = add('Group', { Name: 'Support Queue', DeveloperName: 'Support_Queue', Type: 'Queue', Email: 'support@example.com', OwnerId: org.adminUserId }, orgStart);
    const leadQueue = add('Group', { Name: 'Inbound Leads', DeveloperName: 'Inbound_Leads', Type: 'Queue', OwnerId: org.adminUserId }, orgStart);
    add('Group', { Name: 'Sales Team', DeveloperName: 'Sales_Team', Type: 'Regular', OwnerId: org.adminUserId }, orgStart);

    // Accounts with their contacts.
    const accounts: { id: string; owner: string; at: number; name: string; contacts: { id: string; email: string; name: string; phone: string }[] }[] = [];
    const extId = (object: string) => org.schema.field(object, 'External_Id__c')?.externalId === true;
    const accountExtId = extId('Account');
    const contactExtId = extId('Contact');
    let contactSeq = 0;
    for (let i = 0; i < 500; i++) {
      const at = between(now - 180 * DAY, now - 5 * DAY);
      const owner = r.pick(sales);
      const v = gen('Account', i);
      if (accountExtId) v.External_Id__c = `ACC-${String(i + 1).padStart(6, '0')}`;
      if (i > 20 && r.chance(0.08)) v.ParentId = accounts[r.int(0, 19)].id;
      const id = add('Account', v, at, owner);
      const a = { id, owner, at, name: String(v.Name), contacts: [] as { id: string; email: string; name: string; phone: string }[] };
      const n = r.int(1, 5);
      for (let c = 0; c < n; c++) {
        const cv = gen('Contact', i * 5 + c);
        cv.AccountId = id;
        contactSeq++;
        if (contactExtId) cv.External_Id__c = `CON-${String(contactSeq).padStart(6, '0')}`;
        if (c > 0) cv.ReportsToId = a.contacts[0].id;
        for (const k of ['Street', 'City', 'State', 'PostalCode', 'Country', 'Latitude', 'Longitude', 'GeocodeAccuracy']) cv[`Mailing${k}`] = v[`Billing${k}`];
        const cid = add('Contact', cv, between(at, now), owner);
        a.contacts.push({ id: cid, email: String(cv.Email), name: `${cv.FirstName} ${cv.LastName}`, phone: String(cv.Phone) });
      }
      accounts.push(a);
    }

    // Campaigns, leads (some converted, some queued) and opportunities.
    const campaigns: { id: string; opps: number; won: number; amount: number; wonAmount: number; leads: number; contacts: number; responses: number; converted: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const id = add('Campaign', gen('Campaign', i), now - r.int(60, 170) * DAY, r.pick(sales));
      campaigns.push({ id, opps: 0, won: 0, amount: 0, wonAmount: 0, leads: 0, contacts: 0, responses: 0, converted: 0 });
    }
    const leads: { id: string; converted: boolean }[] = [];
    for (let i = 0; i < 300; i++) {
      const v = gen('Lead', i);
      const at = between(now - 150 * DAY);
      if (r.chance(0.06)) {
        const a = r.pick(accounts);
        Object.assign(v, { Status: 'Closed - Converted', IsConverted: 1, ConvertedDate: isoDate(between(at)), ConvertedAccountId: a.id, ConvertedContactId: a.contacts[0].id, IsUnreadByOwner: 0 });
      }
      const owner = v.Status === 'Open - Not Contacted' && r.chance(0.4) ? leadQueue : r.pick(sales);
      v.OwnerId = owner;
      leads.push({ id: add('Lead', v, at, owner === leadQueue ? org.adminUserId : owner), converted: v.IsConverted === 1 });
    }
    const opps: { id: string; account: (typeof accounts)[number]; owner: string }[] = [];
    for (const a of accounts) {
      const n = r.pick([0, 1, 1, 2, 2, 3]);
      for (let k = 0; k < n; k++) {
        const v = gen('Opportunity', opps.length);
        v.Name = `${a.name} - ${v.Name}`.slice(0, 120);
        v.AccountId = a.id;
        v.ContactId = a.contacts[0].id;
        if (r.chance(0.25)) {
          const c = r.pick(campaigns);
          v.CampaignId = c.id;
          c.opps++;
          c.amount += Number(v.Amount);
          if (v.IsWon === 1) {
            c.won++;
            c.wonAmount += Number(v.Amount);
          }
        }
        const at = between(a.at);
        const id = add('Opportunity', { ...v, LastModifiedDate: between(at) }, at, a.owner);
        opps.push({ id, account: a, owner: a.owner });
      }
    }
    for (const c of campaigns) {
      const size = r.int(15, 45);
      const members = new Set<string>();
      for (let k = 0; k < size; k++) {
        const asLead = r.chance(0.5);
        const lead = r.pick(leads);
        const who = asLead ? lead.id : r.pick(r.pick(accounts).contacts).id;
        if (members.has(who)) continue;
        members.add(who);
        const responded = r.chance(0.3);
        if (asLead) c.leads++;
        if (asLead && lead.converted) c.converted++;
        else c.contacts++;
        if (responded) c.responses++;
        add('CampaignMember', {
          CampaignId: c.id, LeadId: asLead ? who : null, ContactId: asLead ? null : who, Status: responded ? 'Responded' : 'Sent', HasResponded: responded ? 1 : 0,
          FirstRespondedDate: responded ? isoDate(between(now - 60 * DAY)) : null, Type: asLead ? 'Lead' : 'Contact', LeadOrContactId: who,
        }, between(now - 120 * DAY, now - 60 * DAY));
      }
      org.store.updateRow(org.schema.get('Campaign')!, c.id, {
        NumberOfLeads: c.leads, NumberOfContacts: c.contacts, NumberOfResponses: c.responses, NumberOfOpportunities: c.opps,
        NumberOfWonOpportunities: c.won, AmountAllOpportunities: c.amount, AmountWonOpportunities: c.wonAmount, NumberOfConvertedLeads: c.converted,
      });
    }

    // Cases with comments and Email-to-Case threads; queue-owned cases are still New.
    const cases: { id: string; account: (typeof accounts)[number]; owner: string }[] = [];
    for (let i = 0; i < 400; i++) {
      const a = r.pick(accounts);
      const contact = r.pick(a.contacts);
      const at = between(a.at);
      const v = caseValues(i, r, now, at);
      const queued = v.Status === 'New' && r.chance(0.5);
      const owner = queued ? supportQueue : r.pick(support);
      Object.assign(v, { AccountId: a.id, ContactId: contact.id, OwnerId: owner, ContactEmail: contact.email, ContactPhone: contact.phone });
      if (v.Origin !== 'Phone') Object.assign(v, { SuppliedName: contact.name, SuppliedEmail: contact.email, SuppliedCompany: a.name });
      const id = add('Case', v, at, queued ? org.adminUserId : owner);
      cases.push({ id, account: a, owner: queued ? support[0] : owner });
      for (let k = r.int(0, 3); k > 0; k--) add('CaseComment', { ParentId: id, CommentBody: r.pick(COMMENTS), IsPublished: r.chance(0.5) ? 1 : 0 }, between(at), cases.at(-1)!.owner);
      if (v.Origin === 'Email') {
        const thread = `<thread-${i + 1}@example.com>`;
        let prev: string | null = null;
        for (let k = 0, n = r.int(1, 3); k < n; k++) {
          const incoming = k % 2 === 0;
          prev = add('EmailMessage', {
            ParentId: id, RelatedToId: id, Subject: `${k ? 'RE: ' : ''}${v.Subject}`, TextBody: incoming ? `Hello,\n\n${v.Description}\n\nThanks, ${contact.name}` : 'Thanks for reaching out, we are looking into it.',
            FromName: incoming ? contact.name : 'Support', FromAddress: incoming ? contact.email : 'support@example.com', ToAddress: incoming ? 'support@example.com' : contact.email,
            Incoming: incoming ? 1 : 0, Status: incoming ? '1' : '3', MessageDate: between(at), MessageIdentifier: `<msg-${i + 1}-${k}@example.com>`, ThreadIdentifier: thread,
            ReplyToEmailMessageId: prev, IsExternallyVisible: 1,
          }, between(at), incoming ? org.adminUserId : cases.at(-1)!.owner);
        }
      }
    }

    // Activities about accounts, opportunities and cases, with a person from the same account.
    for (let i = 0; i < 1000; i++) {
      const kind = r();
      const target = kind < 0.4 ? r.pick(opps) : kind < 0.8 ? null : r.pick(cases);
      const a = target ? target.account : r.pick(accounts);
      const owner = target ? target.owner : a.owner;
      add('Task', { ...gen('Task', i), WhatId: target ? target.id : a.id, WhoId: r.pick(a.contacts).id, AccountId: a.id, OwnerId: owner }, between(now - 100 * DAY), owner);
    }
    for (let i = 0; i < 60; i++) {
      const lead = r.pick(leads);
      add('Task', { ...gen('Task', 1000 + i), WhoId: lead.id, OwnerId: r.pick(sales) }, between(now - 100 * DAY));
    }
    for (let i = 0; i < 300; i++) {
      const o = r.pick(opps);
      add('Event', { ...gen('Event', i), WhatId: o.id, WhoId: r.pick(o.account.contacts).id, AccountId: o.account.id, OwnerId: o.owner }, between(now - 90 * DAY), o.owner);
    }

    // Chatter: posts on opportunities, accounts and cases (each shows in its record's feed: CaseFeed …), with comments.
    for (let i = 0; i < 300; i++) {
      const kind = r();
      const onCase = kind >= 0.7;
      const target = kind < 0.4 ? r.pick(opps) : onCase ? r.pick(cases) : null;
      const parent = target ? target.id : r.pick(accounts).id;
      const author = target ? target.owner : r.pick(sales);
      const at = between(now - 90 * DAY);
      const v: Values = { ...gen('FeedItem', i), ParentId: parent, InsertedById: author };
      const nComments = r.int(0, 2);
      v.CommentCount = nComments;
      const id = add('FeedItem', v, at, author);
      for (let k = 0; k < nComments; k++) {
        const by = r.pick([...sales, ...support]);
        add('FeedComment', { ...gen('FeedComment', i), FeedItemId: id, ParentId: parent, InsertedById: by }, between(at), by);
      }
    }

    // Files: each upload is a ContentVersion of a new ContentDocument, linked to a record and to its owner.
    for (let i = 0; i < 40; i++) {
      const f = FILES[i % FILES.length];
      const target = i % 2 ? r.pick(opps) : r.pick(cases);
      const owner = target.owner;
      const at = between(now - 60 * DAY);
      const title = `${f.title} - ${target.account.name}`.slice(0, 240);
      const body = Buffer.from(`${title}\nGenerated by the sfbridge emulator demo seed.\n`);
      const docId = W.ContentDocument.allocate();
      const versionId = W.ContentVersion.allocate();
      const common = { Title: title, FileType: f.type, FileExtension: f.ext, ContentSize: body.length, PublishStatus: 'P', SharingOption: 'A', SharingPrivacy: 'N', ContentModifiedDate: at };
      add('ContentDocument', { ...common, OwnerId: owner, LatestPublishedVersionId: versionId }, at, owner, docId);
      add('ContentVersion', {
        ...common, ContentDocumentId: docId, OwnerId: owner, IsLatest: 1, VersionNumber: '1', PathOnClient: `${title}.${f.ext}`, VersionData: body.toString('base64'),
        Checksum: createHash('md5').update(body).digest('hex'), FirstPublishLocationId: target.id, Origin: 'C', ContentLocation: 'S', IsMajorVersion: 1, ContentModifiedById: owner,
      }, at, owner, versionId);
      add('ContentDocumentLink', { ContentDocumentId: docId, LinkedEntityId: target.id, ShareType: 'V', Visibility: 'AllUsers' }, at, owner);
      add('ContentDocumentLink', { ContentDocumentId: docId, LinkedEntityId: owner, ShareType: 'I', Visibility: 'AllUsers' }, at, owner);
    }
  });
  return counts;
}
