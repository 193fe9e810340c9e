/**
 * Activities: Task and Event. `WhoId` points at a person (Contact or Lead), `WhatId` at a business record;
 * both are polymorphic, and AccountId is derived by the platform from them.
 */
import { bool, combobox, date, datetime, int, picklist, READ_ONLY, ref, systemFields, text, textarea, withDefault } from '../dsl.ts';
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
  ],
};
