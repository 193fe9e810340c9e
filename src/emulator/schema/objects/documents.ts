/**
 * Classic files: Attachment (a file on one record), Document (a file in a Folder) and Folder. Their `Body`
 * is a blob: records and queries show its URL, `GET …/Body` serves the bytes (see rest/files.ts).
 */
import { bool, datetime, int, picklist, READ_ONLY, ref, systemFields, text, textarea, url } from '../dsl.ts';
import type { FieldDef, ObjectDef } from '../types.ts';

/** Records an Attachment can hang off (Attachment.ParentId). */
export const ATTACHMENT_PARENTS = ['Account', 'Campaign', 'Case', 'Contact', 'EmailMessage', 'Event', 'Lead', 'Opportunity', 'Task'];

export const blob = (name: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type: 'base64', length: 0, filterable: false, sortable: false, groupable: false, ...extra });

export const Attachment: ObjectDef = {
  name: 'Attachment', label: 'Attachment', labelPlural: 'Attachments', keyPrefix: '00P', searchable: false, layoutable: false,
  fields: [
    ...systemFields().slice(0, 2),
    ref('ParentId', ATTACHMENT_PARENTS, 'Parent', 'Attachments', { nillable: false, updateable: false, cascadeDelete: true }),
    text('Name', 255, { nameField: true, nillable: false }),
    bool('IsPrivate'),
    text('ContentType', 120),
    int('BodyLength', READ_ONLY),
    blob('Body', { nillable: false }),
    ref('OwnerId', ['User'], 'Owner', undefined, { nillable: false, defaultedOnCreate: true }),
    ...systemFields().slice(2),
    textarea('Description', 500),
  ],
};

export const Folder: ObjectDef = {
  name: 'Folder', label: 'Folder', labelPlural: 'Folders', keyPrefix: '00l', undeletable: false, searchable: false, layoutable: false, triggerable: false,
  fields: [
    ...systemFields().slice(0, 1),
    ref('ParentId', ['Folder'], 'Parent', 'SubFolders'),
    text('Name', 40, { nameField: true, nillable: false }),
    text('DeveloperName', 80, { unique: true }),
    picklist('AccessType', ['Shared', 'Public', 'Hidden', 'PublicInternal'], { nillable: false, restrictedPicklist: true }),
    bool('IsReadonly'),
    picklist('Type', ['Document', 'Email', 'Report', 'Dashboard', 'QuickText', 'Macro', 'EmailTemplate', 'Insights'], { nillable: false, restrictedPicklist: true, updateable: false }),
    text('NamespacePrefix', 15, READ_ONLY),
    ...systemFields().slice(2),
    { ...bool('IsDeleted'), hidden: true, system: true },
  ],
};

export const Document: ObjectDef = {
  name: 'Document', label: 'Document', labelPlural: 'Documents', keyPrefix: '015', undeletable: false, layoutable: false,
  fields: [
    ...systemFields().slice(0, 1),
    // A folder, or a user's personal folder (the user's Id).
    ref('FolderId', ['Folder', 'User'], 'Folder', 'Documents', { nillable: false }),
    ...systemFields().slice(1, 2),
    text('Name', 255, { nameField: true, nillable: false }),
    // Required on Salesforce; the emulator derives it from Name when a client leaves it out.
    text('DeveloperName', 80, { nillable: false, defaultedOnCreate: true }),
    text('NamespacePrefix', 15, READ_ONLY),
    text('ContentType', 120),
    text('Type', 40),
    bool('IsPublic'),
    int('BodyLength', { ...READ_ONLY, nillable: false }),
    blob('Body'),
    url('Url'),
    textarea('Description', 255),
    text('Keywords', 255),
    bool('IsInternalUseOnly'),
    ref('AuthorId', ['User'], 'Author', undefined, { nillable: false, defaultedOnCreate: true }),
    ...systemFields().slice(2),
    bool('IsBodySearchable', READ_ONLY),
    datetime('LastViewedDate', READ_ONLY),
    datetime('LastReferencedDate', READ_ONLY),
  ],
};
