/**
 * Activities: Task and Event. `WhoId` points at a person (Contact or Lead), `WhatId` at a business record;
 * both are polymorphic, and AccountId is derived by the platform from them.
 */
import { bool, codedPicklist, combobox, date, datetime, int, picklist, READ_ONLY, ref, systemFields, text, textarea, withDefault } from '../dsl.ts';
import type { FieldDef, ObjectDef } from '../types.ts';

/** Objects an activity can be about (WhatId); real orgs list every activity-enabled object. */
export const WHAT_TARGETS = ['Account', 'Campaign', 'Case', 'Opportunity'];
export const TASK_STATUSES = [
  { value: 'Not Started', closed: false },
  { value: 'In Progress', closed: false },
  { value: 'Completed', closed: true },
  { value: 'Waiting on someone else', closed: false },
  { value: 'Deferred', closed: false },
];
export const ACTIVITY_TYPES = ['Call', 'Email', 'Meeting', 'Other'];

function activityLinks(children: string): FieldDef[] {
  return [
    ref('WhoId', ['Contact', 'Lead'], 'Who', children, { cascadeDelete: true }),
    ref('WhatId', WHAT_TARGETS, 'What', children, { cascadeDelete: true }),
  ];
}

const RECURRENCE_TYPES = ['RecursDaily', 'RecursEveryWeekday', 'RecursMonthly', 'RecursMonthlyNth', 'RecursWeekly', 'RecursYearly', 'RecursYearlyNth'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A recurring series: the first occurrence carries the pattern, the others point at it (RecurrenceActivityId). */
function recurrence(object: 'Task' | 'Event'): FieldDef[] {
  return [
    ref('RecurrenceActivityId', [object], 'RecurrenceActivity', `Recurring${object}s`, READ_ONLY),
    bool('IsRecurrence', { updateable: false }),
    object === 'Task' ? date('RecurrenceStartDateOnly') : datetime('RecurrenceStartDateTime'),
    date('RecurrenceEndDateOnly'),
    picklist('RecurrenceTimeZoneSidKey', ['America/Los_Angeles', 'America/New_York', 'Europe/London', 'GMT'], { restrictedPicklist: true }),
    picklist('RecurrenceType', RECURRENCE_TYPES, { restrictedPicklist: true }),
    int('RecurrenceInterval'),
    int('RecurrenceDayOfWeekMask'),
    int('RecurrenceDayOfMonth'),
    picklist('RecurrenceInstance', ['First', 'Second', 'Third', 'Fourth', 'Last'], { restrictedPicklist: true }),
    picklist('RecurrenceMonthOfYear', MONTHS, { restrictedPicklist: true }),
    ...(object === 'Task' ? [picklist('RecurrenceRegeneratedType', ['RecurrenceRegenerateAfterDueDate', 'RecurrenceRegenerateAfterToday', 'RecurrenceRegenerated'], { restrictedPicklist: true })] : []),
  ];
}

export const Task: ObjectDef = {
  name: 'Task', label: 'Task', labelPlural: 'Tasks', keyPrefix: '00T', feedEnabled: true,
  fields: [
    ...systemFields(),
    ...activityLinks('Tasks'),
    combobox('Subject', ['Call', 'Send Letter', 'Send Quote', 'Other']),
    date('ActivityDate'),
    withDefault(picklist('Status', TASK_STATUSES.map((s) => s.value), { nillable: false }), 'Not Started'),
    withDefault(picklist('Priority', ['High', 'Normal', 'Low'], { nillable: false }), 'Normal'),
    bool('IsHighPriority', READ_ONLY),
    ref('OwnerId', ['Group', 'User'], 'Owner', undefined, { nillable: false, defaultedOnCreate: true }),
    textarea('Description'),
    picklist('Type', ACTIVITY_TYPES),
    ref('AccountId', ['Account'], 'Account', undefined, READ_ONLY),
    bool('IsClosed', READ_ONLY),
    bool('IsArchived', READ_ONLY),
    int('CallDurationInSeconds'),
    picklist('CallType', ['Internal', 'Inbound', 'Outbound'], { restrictedPicklist: true }),
    text('CallDisposition', 255),
    text('CallObject', 255),
    datetime('ReminderDateTime'),
    bool('IsReminderSet'),
    picklist('TaskSubtype', ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn'], { updateable: false, restrictedPicklist: true }),
    datetime('CompletedDateTime', READ_ONLY),
    ...recurrence('Task'),
  ],
};

export const Event: ObjectDef = {
  name: 'Event', label: 'Event', labelPlural: 'Events', keyPrefix: '00U', feedEnabled: true,
  fields: [
    ...systemFields(),
    ...activityLinks('Events'),
    combobox('Subject', ['Call', 'Email', 'Meeting', 'Send Letter/Quote', 'Other']),
    text('Location', 255),
    bool('IsAllDayEvent'),
    datetime('ActivityDateTime'),
    date('ActivityDate'),
    int('DurationInMinutes'),
    datetime('StartDateTime'),
    datetime('EndDateTime'),
    date('EndDate', READ_ONLY),
    textarea('Description'),
    ref('AccountId', ['Account'], 'Account', undefined, READ_ONLY),
    ref('OwnerId', ['User'], 'Owner', undefined, { nillable: false, defaultedOnCreate: true }),
    picklist('Type', ACTIVITY_TYPES),
    bool('IsPrivate'),
    picklist('ShowAs', ['Busy', 'OutOfOffice', 'Free', 'WorkingElsewhere'], { restrictedPicklist: true }),
    bool('IsChild', READ_ONLY),
    bool('IsGroupEvent', READ_ONLY),
    bool('IsArchived', READ_ONLY),
    datetime('ReminderDateTime'),
    bool('IsReminderSet'),
    picklist('EventSubtype', ['Event'], { updateable: false, restrictedPicklist: true }),
    codedPicklist('GroupEventType', [['0', 'Non-group Event'], ['1', 'Group Event'], ['2', 'Proposed Event']], { ...READ_ONLY, restrictedPicklist: true }),
    ...recurrence('Event'),
  ],
};

const CLOSED_TASK = `Status IN (${TASK_STATUSES.filter((s) => s.closed).map((s) => `'${s.value}'`).join(', ')})`;

/**
 * ActivityHistory and OpenActivity: the Tasks and Events of a record, read-only, readable only as the
 * `ActivityHistories` / `OpenActivities` subqueries of their parent. History holds closed tasks and events
 * that have ended (by the org clock, `sf_now()`); open activities the rest.
 */
function activityView(name: 'ActivityHistory' | 'OpenActivity', label: string, children: string, open: boolean): ObjectDef {
  const eventEnded = `EndDateTime <= sf_now()`;
  // Activities about an Account (WhatId) belong to it even before the platform has filled AccountId.
  const accountId = "COALESCE(AccountId, CASE WHEN substr(WhatId, 1, 3) = '001' THEN WhatId END)";
  // The parent a row belongs to: Accounts by AccountId (listed first, so it is the relationship's field),
  // people by WhoId, other records by WhatId.
  const links = [
    ref('AccountId', ['Account'], 'Account', children, READ_ONLY),
    ref('WhoId', ['Contact', 'Lead'], 'Who', children, READ_ONLY),
    ref('WhatId', WHAT_TARGETS, 'What', children, READ_ONLY),
  ];
  const ro = (f: FieldDef): FieldDef => ({ ...f, ...READ_ONLY });
  return {
    name, label, labelPlural: label === 'Activity History' ? 'Activity Histories' : 'Open Activities', keyPrefix: null,
    createable: false, updateable: false, deletable: false, undeletable: false, replicateable: false, searchable: false, layoutable: false, triggerable: false,
    subqueryOnly: true,
    view: [
      { from: 'Task', where: open ? `NOT (${CLOSED_TASK})` : CLOSED_TASK, values: { AccountId: accountId, IsTask: '1', ActivityType: 'Type', ActivitySubtype: 'TaskSubtype', IsClosed: open ? '0' : '1', IsAllDayEvent: '0' } },
      { from: 'Event', where: open ? `NOT (${eventEnded})` : eventEnded, values: { AccountId: accountId, IsTask: '0', ActivityType: 'Type', ActivitySubtype: 'EventSubtype', IsClosed: open ? '0' : '1', IsHighPriority: '0' } },
    ],
    fields: [
      ...systemFields().map(ro),
      ...links,
      ro(text('Subject', 255)),
      ro(bool('IsTask')),
      ro(date('ActivityDate')),
      ref('OwnerId', ['User'], 'Owner', undefined, READ_ONLY),
      ro(picklist('Status', TASK_STATUSES.map((t) => t.value))),
      ro(picklist('Priority', ['High', 'Normal', 'Low'])),
      ro(bool('IsHighPriority')),
      ro(picklist('ActivityType', ACTIVITY_TYPES)),
      ro(bool('IsClosed')),
      ro(bool('IsAllDayEvent')),
      ro(int('DurationInMinutes')),
      ro(text('Location', 255)),
      ro(textarea('Description')),
      ro(int('CallDurationInSeconds')),
      ro(picklist('CallType', ['Internal', 'Inbound', 'Outbound'])),
      ro(text('CallDisposition', 255)),
      ro(text('CallObject', 255)),
      ro(datetime('ReminderDateTime')),
      ro(bool('IsReminderSet')),
      ro(datetime('EndDateTime')),
      ro(datetime('StartDateTime')),
      ro(picklist('ActivitySubtype', ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn', 'Event'])),
      ro(text('AlternateDetailId', 18)),
    ],
  };
}

export const ActivityHistory = activityView('ActivityHistory', 'Activity History', 'ActivityHistories', false);
export const OpenActivity = activityView('OpenActivity', 'Open Activity', 'OpenActivities', true);
