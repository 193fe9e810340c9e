/**
 * Realistic field values per standard object, without relationships (the demo and COUNTS generators wire
 * those). `i` numbers the record so names stay unique; `now` is the org clock.
 */
import { ACCOUNT_TYPES, CAMPAIGN_STATUSES, CAMPAIGN_TYPES, INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES, OPPORTUNITY_STAGES } from '../schema/objects/sales.ts';
import { CASE_ORIGINS, CASE_PRIORITIES, CASE_REASONS, CASE_STATUSES, CASE_TYPES } from '../schema/objects/service.ts';
import { TASK_STATUSES } from '../schema/objects/activity.ts';
import { CASE_SUBJECTS, CITIES, COMMENTS, COMPANY_A, COMPANY_B, DAY, DEPARTMENTS, FIRST, isoDate, LAST, phoneNumber, POSTS, TITLES, type Rand } from './random.ts';
import type { Values } from './writer.ts';

export type ValueGen = (i: number, r: Rand, now: number) => Values;

export function companyName(i: number, r: Rand): string {
  return `${r.pick(COMPANY_A)} ${r.pick(COMPANY_B)} ${i + 1}`;
}

function addressOf(prefix: string, r: Rand): Values {
  const [street, city, state, postal, country, lat, lon] = r.pick(CITIES);
  return {
    [`${prefix}Street`]: `${r.int(1, 999)} ${street}`, [`${prefix}City`]: city, [`${prefix}State`]: state,
    [`${prefix}PostalCode`]: postal, [`${prefix}Country`]: country,
    [`${prefix}Latitude`]: Math.round((lat + (r() - 0.5) / 50) * 1e6) / 1e6, [`${prefix}Longitude`]: Math.round((lon + (r() - 0.5) / 50) * 1e6) / 1e6,
    [`${prefix}GeocodeAccuracy`]: 'Address',
  };
}

function person(i: number, r: Rand, domain: string): Values {
  const first = r.pick(FIRST);
  const last = r.pick(LAST);
  return {
    FirstName: first, LastName: last, Salutation: r.pick(['Mr.', 'Ms.', 'Dr.', null, null]),
    Email: `${first}.${last}.${i + 1}@${domain}`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
    Title: r.pick(TITLES), Phone: phoneNumber(r),
  };
}

/** Stage-consistent opportunity values (closed stages close in the past, open ones in the future). */
export function opportunityValues(i: number, r: Rand, now: number): Values {
  const stage = r.pick(OPPORTUNITY_STAGES);
  const close = stage.closed ? now - r.int(1, 150) * DAY : now + r.int(1, 120) * DAY;
  const d = new Date(close);
  const quarter = Math.floor(d.getUTCMonth() / 3) + 1;
  return {
    Name: `${r.pick(['Renewal', 'Expansion', 'New Business', 'Pilot', 'Upgrade'])} ${i + 1}`,
    StageName: stage.value, Amount: r.int(50, 5000) * 100, Probability: stage.probability, CloseDate: isoDate(close),
    Type: r.pick(['New Customer', 'Existing Customer - Upgrade', 'Existing Customer - Replacement', 'Existing Customer - Downgrade']),
    LeadSource: r.pick(LEAD_SOURCES), NextStep: stage.closed ? null : r.pick(['Send proposal', 'Schedule demo', 'Security review', 'Negotiate terms']),
    IsClosed: stage.closed ? 1 : 0, IsWon: stage.won ? 1 : 0,
    ForecastCategory: stage.forecast === 'Pipeline' ? 'Pipeline' : stage.forecast, ForecastCategoryName: stage.forecast,
    FiscalYear: d.getUTCFullYear(), FiscalQuarter: quarter, Fiscal: `${d.getUTCFullYear()} ${quarter}`,
  };
}

/** Status-consistent case values (closed cases carry ClosedDate). */
export function caseValues(i: number, r: Rand, now: number, createdAt = now - r.int(1, 120) * DAY): Values {
  const status = r.pick(CASE_STATUSES);
  const origin = r.pick(CASE_ORIGINS);
  return {
    Subject: r.pick(CASE_SUBJECTS), Description: `Customer reported: ${r.pick(CASE_SUBJECTS).toLowerCase()}.`,
    Status: status.value, IsClosed: status.closed ? 1 : 0, ClosedDate: status.closed ? Math.min(now, createdAt + r.int(1, 14) * DAY) : null,
    Origin: origin, Priority: r.pick(CASE_PRIORITIES), Type: r.pick(CASE_TYPES), Reason: r.pick(CASE_REASONS),
    IsEscalated: status.value === 'Escalated' ? 1 : 0,
  };
}

/** Values for objects the generators know; other objects get generic values (see counts.ts). */
export const VALUE_GENERATORS: Record<string, ValueGen> = {
  Account: (i, r) => ({
    Name: companyName(i, r), Type: r.pick(ACCOUNT_TYPES.slice(0, 4)), Industry: r.pick(INDUSTRIES), Rating: r.pick(['Hot', 'Warm', 'Cold']),
    ...addressOf('Billing', r), Phone: phoneNumber(r), Website: `https://www.example-${i + 1}.com`,
    AnnualRevenue: r.int(1, 5000) * 100_000, NumberOfEmployees: r.int(5, 20000), Ownership: r.pick(['Public', 'Private', 'Subsidiary']),
    AccountSource: r.pick(LEAD_SOURCES), AccountNumber: `CD${String(100000 + i)}`, Description: `${r.pick(INDUSTRIES)} company.`,
    Credit_Score__c: r.int(300, 850),
  }),
  Contact: (i, r) => ({
    ...person(i, r, 'example.com'), Department: r.pick(DEPARTMENTS), LeadSource: r.pick(LEAD_SOURCES), MobilePhone: phoneNumber(r),
    ...addressOf('Mailing', r), Score__c: r.int(0, 100),
  }),
  Lead: (i, r) => {
    const status = r.pick(LEAD_STATUSES.filter((s) => s !== 'Closed - Converted'));
    return {
      ...person(i, r, 'example.org'), Company: companyName(i, r), Status: status, LeadSource: r.pick(LEAD_SOURCES), Industry: r.pick(INDUSTRIES),
      Rating: r.pick(['Hot', 'Warm', 'Cold']), AnnualRevenue: r.int(1, 500) * 100_000, NumberOfEmployees: r.int(5, 5000), ...addressOf('', r),
      IsUnreadByOwner: status === 'Open - Not Contacted' ? 1 : 0,
    };
  },
  Opportunity: opportunityValues,
  Campaign: (i, r, now) => {
    const start = now + r.int(-150, 30) * DAY;
    return {
      Name: `${r.pick(['Spring', 'Summer', 'Autumn', 'Winter'])} ${r.pick(['Webinar', 'Roadshow', 'Email Blast', 'Trade Show', 'Partner Summit'])} ${i + 1}`,
      Type: r.pick(CAMPAIGN_TYPES), Status: start > now ? 'Planned' : r.pick(CAMPAIGN_STATUSES.slice(1, 3)), StartDate: isoDate(start), EndDate: isoDate(start + r.int(1, 60) * DAY),
      BudgetedCost: r.int(10, 500) * 100, ActualCost: r.int(10, 500) * 100, ExpectedRevenue: r.int(100, 5000) * 100, ExpectedResponse: r.int(1, 20), NumberSent: r.int(100, 5000),
      IsActive: start <= now ? 1 : 0, Description: 'Demand generation campaign.',
    };
  },
  Case: (i, r, now) => caseValues(i, r, now),
  CaseComment: (_i, r) => ({ CommentBody: r.pick(COMMENTS), IsPublished: r.chance(0.5) ? 1 : 0 }),
  Task: (_i, r, now) => {
    const when = now + r.int(-90, 30) * DAY;
    const status = when < now ? (r.chance(0.8) ? TASK_STATUSES[2] : r.pick(TASK_STATUSES)) : r.pick(TASK_STATUSES.slice(0, 2));
    const subtype = r.pick(['Task', 'Call', 'Email'] as const);
    return {
      Subject: subtype === 'Call' ? 'Call' : subtype === 'Email' ? `Email: ${r.pick(['Follow up', 'Proposal', 'Intro'])}` : r.pick(['Send Quote', 'Send Letter', 'Other']),
      ActivityDate: isoDate(when), Status: status.value, IsClosed: status.closed ? 1 : 0, Priority: r.pick(['High', 'Normal', 'Normal', 'Low']),
      Type: subtype === 'Task' ? 'Other' : subtype, TaskSubtype: subtype, CallDurationInSeconds: subtype === 'Call' ? r.int(30, 1800) : null,
      CallType: subtype === 'Call' ? r.pick(['Inbound', 'Outbound']) : null, CompletedDateTime: status.closed ? Math.min(when, now) : null,
      Description: subtype === 'Call' ? 'Discussed timeline and budget.' : null,
    };
  },
  Event: (_i, r, now) => {
    const start = Math.floor((now + r.int(-60, 30) * DAY) / 3_600_000) * 3_600_000;
    const minutes = r.pick([30, 60, 90]);
    return {
      Subject: r.pick(['Meeting', 'Call', 'Demo', 'Quarterly business review']), Location: r.pick(['Zoom', 'Customer office', 'HQ', null]),
      StartDateTime: start, EndDateTime: start + minutes * 60_000, ActivityDateTime: start, ActivityDate: isoDate(start), EndDate: isoDate(start + minutes * 60_000),
      DurationInMinutes: minutes, Type: 'Meeting', ShowAs: 'Busy', EventSubtype: 'Event',
    };
  },
  FeedItem: (_i, r) => ({ Type: 'TextPost', Body: `<p>${r.pick(POSTS)}</p>`, IsRichText: 1, Visibility: 'InternalUsers', Status: 'Published', CommentCount: 0, LikeCount: r.int(0, 5) }),
  FeedComment: (_i, r) => ({ CommentBody: `<p>${r.pick(COMMENTS)}</p>`, IsRichText: 1, CommentType: 'TextComment', Status: 'Published' }),
};
