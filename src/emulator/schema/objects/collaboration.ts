/**
 * Chatter and Files: FeedItem (posts on any feed-enabled record), the `<Object>Feed` views of those posts,
 * FeedComment, and the Files trio ContentVersion → ContentDocument → ContentDocumentLink.
 */
import { bool, codedPicklist, date, datetime, foreignKey, int, picklist, READ_ONLY, ref, systemFields, text, textarea, url, withDefault } from '../dsl.ts';
import type { FieldDef, ObjectDef } from '../types.ts';

/** Records that have a Chatter feed in this org (FeedItem.ParentId). */
export const FEED_PARENTS = ['Account', 'Campaign', 'Case', 'Contact', 'ContentDocument', 'Lead', 'Opportunity', 'User'];
/** Records files can be shared with (ContentDocumentLink.LinkedEntityId). */
export const FILE_LINK_TARGETS = ['Account', 'Campaign', 'Case', 'Contact', 'EmailMessage', 'Lead', 'Opportunity', 'User'];
export const FEED_TYPES = ['TextPost', 'LinkPost', 'ContentPost', 'TrackedChange', 'CaseCommentPost', 'EmailMessageEvent', 'PollPost', 'QuestionPost'];

/** Fields shared by FeedItem and the per-object feed views (CaseFeed). */
function feedBody(): FieldDef[] {
  return [
    withDefault(picklist('Type', FEED_TYPES, { restrictedPicklist: true, updateable: false }), 'TextPost'),
    text('Title', 255),
    textarea('Body', 10000, { htmlFormatted: true, extraTypeInfo: 'richtextarea' }),
    url('LinkUrl', { length: 1000 }),
    bool('IsRichText'),
    ref('RelatedRecordId', ['ContentVersion'], 'RelatedRecord', undefined),
    ref('InsertedById', ['User'], 'InsertedBy', undefined, READ_ONLY),
    int('CommentCount', READ_ONLY),
    int('LikeCount', READ_ONLY),
  ];
}

export const FeedItem: ObjectDef = {
  name: 'FeedItem', label: 'Feed Item', labelPlural: 'Feed Items', keyPrefix: '0D5', undeletable: false, searchable: false, layoutable: false,
  fields: [
    ...systemFields(),
    // Feed items are not subqueryable from their parents (relationshipName null), the <Object>Feed views are.
    ref('ParentId', FEED_PARENTS, 'Parent', undefined, { nillable: false, updateable: false, cascadeDelete: true }),
    ...feedBody(),
    withDefault(picklist('Visibility', ['AllUsers', 'InternalUsers'], { restrictedPicklist: true }), 'InternalUsers'),
    withDefault(picklist('Status', ['Published', 'PendingReview'], { restrictedPicklist: true }), 'Published'),
    ref('BestCommentId', ['FeedComment'], 'BestComment', undefined, READ_ONLY),
    bool('HasContent', READ_ONLY),
    bool('HasLink', READ_ONLY),
    datetime('LastEditDate', READ_ONLY),
    ref('LastEditById', ['User'], 'LastEditBy', undefined, READ_ONLY),
    int('Revision', READ_ONLY),
    bool('HasFeedEntity', READ_ONLY),
    bool('HasVerifiedComment', READ_ONLY),
    bool('IsClosed', READ_ONLY),
  ],
};

/**
 * An object's feed (`CaseFeed`, `AccountFeed` …): the FeedItems whose parent is a record of that object, with
 * the same Ids (0D5), as a view over FeedItem, so a post made through any API shows in its feed at once.
 * Read-only (posts are created as FeedItems) and deletable, like Salesforce's; no key prefix of its own.
 */
export function feedFor(parent: ObjectDef): ObjectDef {
  return {
    name: `${parent.name}Feed`, label: `${parent.label} Feed`, labelPlural: `${parent.label} Feed`, keyPrefix: null,
    associateEntityType: 'Feed', associateParentEntity: parent.name,
    createable: false, updateable: false, undeletable: false, searchable: false, layoutable: false, triggerable: false, replicateable: false,
    view: [{ from: 'FeedItem', where: `substr(ParentId, 1, 3) = '${parent.keyPrefix}'` }],
    fields: [
      ...systemFields(),
      ref('ParentId', [parent.name], 'Parent', 'Feeds', { nillable: false, ...READ_ONLY, cascadeDelete: true }),
      ...feedBody().map((f) => ({ ...f, ...READ_ONLY })),
    ],
  };
}

export const FeedComment: ObjectDef = {
  name: 'FeedComment', label: 'Feed Comment', labelPlural: 'Feed Comments', keyPrefix: '0D7', undeletable: false, searchable: false, layoutable: false, replicateable: false,
  fields: [
    ...systemFields(),
    ref('FeedItemId', ['FeedItem'], 'FeedItem', 'FeedComments', { nillable: false, updateable: false, cascadeDelete: true }),
    ref('ParentId', FEED_PARENTS, 'Parent', undefined, READ_ONLY),
    textarea('CommentBody', 10000, { nillable: false, htmlFormatted: true, extraTypeInfo: 'richtextarea' }),
    withDefault(picklist('CommentType', ['TextComment', 'ContentComment'], { restrictedPicklist: true, updateable: false }), 'TextComment'),
    ref('RelatedRecordId', ['ContentVersion'], 'RelatedRecord', undefined),
    bool('IsRichText'),
    ref('InsertedById', ['User'], 'InsertedBy', undefined, READ_ONLY),
    withDefault(picklist('Status', ['Published', 'PendingReview'], { restrictedPicklist: true }), 'Published'),
    datetime('LastEditDate', READ_ONLY),
    ref('LastEditById', ['User'], 'LastEditBy', undefined, READ_ONLY),
    int('Revision', READ_ONLY),
    bool('IsVerified', READ_ONLY),
    bool('HasEntityLinks', READ_ONLY),
    ref('ThreadParentId', ['FeedComment'], 'ThreadParent', undefined, { updateable: false }),
    int('ThreadLevel', READ_ONLY),
    int('ThreadChildrenCount', READ_ONLY),
    datetime('ThreadLastUpdatedDate', READ_ONLY),
  ],
};

const sharing = (): FieldDef[] => [
  withDefault(codedPicklist('SharingOption', [['A', 'Allowed'], ['R', 'Restricted']], { restrictedPicklist: true, nillable: false }), 'A'),
  withDefault(codedPicklist('SharingPrivacy', [['N', 'None'], ['P', 'Private on Records']], { restrictedPicklist: true, nillable: false }), 'N'),
];

/** A file. Created by inserting its first ContentVersion; the API can rename or delete it. */
export const ContentDocument: ObjectDef = {
  name: 'ContentDocument', label: 'Content Document', labelPlural: 'Content Documents', keyPrefix: '069', createable: false, feedEnabled: true,
  fields: [
    ...systemFields({ owner: true }),
    bool('IsArchived', READ_ONLY),
    ref('ArchivedById', ['User'], 'ArchivedBy', undefined, READ_ONLY),
    date('ArchivedDate'),
    text('Title', 255, { nillable: false, nameField: true }),
    textarea('Description', 1000, { filterable: false }),
    int('ContentSize', READ_ONLY),
    text('FileType', 20, READ_ONLY),
    text('FileExtension', 40, READ_ONLY),
    withDefault(codedPicklist('PublishStatus', [['U', 'Upload Interrupted'], ['P', 'Public'], ['R', 'Personal Library']], { ...READ_ONLY, restrictedPicklist: true, nillable: false }), 'P'),
    ref('LatestPublishedVersionId', ['ContentVersion'], 'LatestPublishedVersion', undefined, READ_ONLY),
    datetime('ContentModifiedDate', READ_ONLY),
    ...sharing(),
    foreignKey('ParentId', 'ContentWorkspace', READ_ONLY),
    foreignKey('ContentAssetId', 'ContentAsset', READ_ONLY),
    datetime('LastViewedDate', READ_ONLY),
    datetime('LastReferencedDate', READ_ONLY),
  ],
};

export const ContentVersion: ObjectDef = {
  name: 'ContentVersion', label: 'Content Version', labelPlural: 'Content Versions', keyPrefix: '068', deletable: false, undeletable: false, feedEnabled: true,
  fields: [
    ...systemFields({ owner: true }),
    ref('ContentDocumentId', ['ContentDocument'], 'ContentDocument', 'ContentVersions', { updateable: false, cascadeDelete: true }),
    bool('IsLatest', READ_ONLY),
    url('ContentUrl', { updateable: false }),
    text('VersionNumber', 20, READ_ONLY),
    text('Title', 255, { nillable: false, nameField: true }),
    textarea('Description', 1000, { filterable: false }),
    text('ReasonForChange', 1000),
    text('PathOnClient', 500, { updateable: false }),
    text('TagCsv', 2000),
    { name: 'VersionData', type: 'base64', label: 'Version Data', updateable: false, filterable: false, sortable: false, groupable: false },
    int('ContentSize', READ_ONLY),
    text('FileType', 20, READ_ONLY),
    text('FileExtension', 40, READ_ONLY),
    text('Checksum', 50, READ_ONLY),
    withDefault(codedPicklist('PublishStatus', [['U', 'Upload Interrupted'], ['P', 'Public'], ['R', 'Personal Library']], { ...READ_ONLY, restrictedPicklist: true, nillable: false }), 'P'),
    ref('FirstPublishLocationId', [...FILE_LINK_TARGETS.filter((t) => t !== 'EmailMessage')], 'FirstPublishLocation', undefined, { updateable: false }),
    withDefault(codedPicklist('Origin', [['C', 'Content'], ['H', 'Chatter']], { updateable: false, restrictedPicklist: true, nillable: false }), 'C'),
    withDefault(codedPicklist('ContentLocation', [['S', 'Salesforce'], ['E', 'External'], ['L', 'Social Customer Service']], { updateable: false, restrictedPicklist: true, nillable: false }), 'S'),
    datetime('ContentModifiedDate'),
    ref('ContentModifiedById', ['User'], 'ContentModifiedBy', undefined, READ_ONLY),
    bool('IsMajorVersion', { updateable: false, defaultValue: true }),
    ...sharing(),
    foreignKey('ContentBodyId', 'ContentBody', READ_ONLY),
    int('RatingCount', READ_ONLY),
    int('PositiveRatingCount', READ_ONLY),
    int('NegativeRatingCount', READ_ONLY),
    int('FeaturedContentBoost', READ_ONLY),
    date('FeaturedContentDate', READ_ONLY),
    text('TextPreview', 255, READ_ONLY),
    text('ExternalDocumentInfo1', 1000),
    text('ExternalDocumentInfo2', 1000),
    foreignKey('ExternalDataSourceId', 'ExternalDataSource'),
    bool('IsAssetEnabled', { updateable: false }),
  ],
};

export const ContentDocumentLink: ObjectDef = {
  name: 'ContentDocumentLink', label: 'Content Document Link', labelPlural: 'Content Document Links', keyPrefix: '06A',
  undeletable: false, searchable: false, layoutable: false, replicateable: false, triggerable: true,
  fields: [
    ...systemFields({ audit: false }),
    ref('LinkedEntityId', FILE_LINK_TARGETS, 'LinkedEntity', 'ContentDocumentLinks', { nillable: false, updateable: false, cascadeDelete: true }),
    ref('ContentDocumentId', ['ContentDocument'], 'ContentDocument', 'ContentDocumentLinks', { nillable: false, updateable: false, cascadeDelete: true }),
    withDefault(codedPicklist('ShareType', [['V', 'Viewer'], ['C', 'Collaborator'], ['I', 'Inferred']], { restrictedPicklist: true, nillable: false }), 'V'),
    withDefault(picklist('Visibility', ['AllUsers', 'InternalUsers', 'SharedUsers'], { restrictedPicklist: true, nillable: false }), 'InternalUsers'),
  ],
};
