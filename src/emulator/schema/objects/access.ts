/**
 * Who may do what: Profile, UserRole, PermissionSet, PermissionSetAssignment and UserLicense. Every org has
 * them whatever its data (the admin user has the System Administrator profile), so they are seeded when the
 * org is created (see seed/access.ts), not by `--seed`.
 */
import { bool, datetime, int, picklist, READ_ONLY, ref, systemFields, text, textarea, withDefault } from '../dsl.ts';
import type { FieldDef, ObjectDef } from '../types.ts';

/** System permissions a Profile and a PermissionSet both carry, as `Permissions<Name>` checkboxes. */
export const PERMISSIONS = [
  'EmailSingle', 'EmailMass', 'EditTask', 'EditEvent', 'ExportReport', 'ImportPersonal', 'DataExport', 'ManageUsers',
  'EditPublicFilters', 'EditPublicTemplates', 'ModifyAllData', 'ManageCases', 'MassInlineEdit', 'EditKnowledge',
  'ManageKnowledge', 'ManageSolutions', 'CustomizeApplication', 'EditReadonlyFields', 'RunReports', 'ViewSetup',
  'TransferAnyEntity', 'NewReportBuilder', 'ManageCssUsers', 'ActivateContract', 'ActivateOrder', 'ImportLeads',
  'ManageLeads', 'TransferAnyLead', 'ViewAllData', 'EditPublicDocuments', 'ViewEncryptedData', 'EditBrandTemplates',
  'EditHtmlTemplates', 'ChatterInternalUser', 'DeleteActivatedContract', 'ChatterInviteExternalUsers',
  'SendSitRequests', 'ApiUserOnly', 'ManageRemoteAccess', 'CanUseNewDashboardBuilder', 'ManageCategories',
  'ConvertLeads', 'PasswordNeverExpires', 'UseTeamReassignWizards', 'EditActivatedOrders', 'ChatterOwnGroups',
  'EditOppLineItemUnitPrice', 'BulkApiHardDelete', 'InboundMigrationToolsUser', 'SolutionImport',
  'ManageCallCenters', 'PortalSuperUser', 'ManageSynonyms', 'OutboundMigrationToolsUser', 'DelegatedPortalUserAdmin',
  'ViewContent', 'ManageEmailClientConfig', 'EnableNotifications', 'ManageDataIntegrations',
  'DistributeFromPersWksp', 'ViewDataCategories', 'ManageDataCategories', 'AuthorApex', 'ManageMobile', 'ApiEnabled',
  'ManageCustomReportTypes', 'EditCaseComments', 'TransferAnyCase', 'ContentAdministrator', 'CreateWorkspaces',
  'ManageContentPermissions', 'ManageContentProperties', 'ManageContentTypes', 'ScheduleJob', 'ManageExchangeConfig',
  'ManageAnalyticSnapshots', 'ScheduleReports', 'ManageBusinessHourHolidays', 'ManageEntitlements',
  'ManageInteraction', 'ViewMyTeamsDashboards', 'ModerateChatter', 'ResetPasswords', 'FlowUFLRequired',
  'CanInsertFeedSystemFields', 'ManageKnowledgeImportExport', 'EmailTemplateManagement', 'EmailAdministration',
  'ManageChatterMessages', 'AllowEmailIC', 'ChatterFileLink', 'ForceTwoFactor', 'ViewEventLogFiles',
  'ManageNetworks', 'ViewCaseInteraction', 'ManageAuthProviders', 'RunFlow', 'CreateCustomizeDashboards',
  'CreateDashboardFolders', 'ViewPublicDashboards', 'ManageDashbdsInPubFolders', 'CreateCustomizeReports',
  'CreateReportFolders', 'ViewPublicReports', 'ManageReportsInPubFolders', 'EditMyDashboards', 'EditMyReports',
  'ViewAllUsers', 'BypassEmailApproval', 'AllowUniversalSearch', 'ConnectOrgToEnvironmentHub',
  'CreateCustomizeFilters', 'ContentHubUser', 'GovernNetworks', 'SalesConsole', 'TwoFactorApi', 'DeleteTopics',
  'EditTopics', 'CreateTopics', 'AssignTopics', 'IdentityEnabled', 'IdentityConnect', 'AllowViewKnowledge',
  'ContentWorkspaces', 'CreateWorkBadgeDefinition', 'ManageSearchPromotionRules', 'CustomMobileAppsAccess',
  'ViewHelpLink', 'ManageProfilesPermissionsets', 'AssignPermissionSets', 'ManageRoles', 'ManageIpAddresses',
  'ManageSharing', 'ManageInternalUsers', 'ManagePasswordPolicies', 'ManageLoginAccessPolicies',
  'ManageCustomPermissions', 'CanVerifyComment', 'ManageUnlistedGroups', 'InsightsAppDashboardEditor',
  'ManageTwoFactor', 'InsightsAppUser', 'InsightsAppAdmin', 'InsightsAppEltEditor', 'InsightsAppUploadUser',
  'InsightsCreateApplication', 'LightningExperienceUser', 'ConfigCustomRecs', 'SubmitMacrosAllowed',
  'BulkMacrosAllowed', 'ShareInternalArticles', 'ManageSessionPermissionSets', 'ManageTemplatedApp',
  'UseTemplatedApp', 'SendAnnouncementEmails', 'ChatterEditOwnPost', 'ChatterEditOwnRecordPost', 'WaveTrendReports',
  'WaveTabularDownload', 'ImportCustomObjects', 'DelegatedTwoFactor', 'ChatterComposeUiCodesnippet',
  'SelectFilesFromSalesforce', 'ModerateNetworkUsers', 'MergeTopics', 'SubscribeToLightningReports',
  'ManagePvtRptsAndDashbds', 'AllowLightningLogin', 'CampaignInfluence2', 'ViewDataAssessment',
  'RemoveDirectMessageMembers', 'CanApproveFeedPost', 'AddDirectMessageMembers', 'AllowViewEditConvertedLeads',
  'ShowCompanyNameAsUserBadge', 'AccessCMC', 'ViewHealthCheck', 'ManageHealthCheck', 'Packaging2',
  'ManageCertificates', 'CreateReportInLightning', 'PreventClassicExperience', 'HideReadByList', 'ListEmailSend',
  'FeedPinning', 'ChangeDashboardColors', 'IotUser', 'ManageRecommendationStrategies', 'ManagePropositions',
  'CloseConversations', 'UseWebLink', 'ViewOnlyEmbeddedAppUser', 'ViewAllActivities', 'SubscribeReportToOtherUsers',
  'LightningConsoleAllowedForUser', 'SubscribeReportsRunAsUser', 'SubscribeToLightningDashboards',
  'SubscribeDashboardToOtherUsers', 'ApexRestServices', 'EnableCommunityAppLauncher', 'LtngPromoReserved01UserPerm',
  'CanEditDataPrepRecipe', 'AddAnalyticsRemoteConnections', 'ManageSurveys', 'RecordVisibilityAPI', 'ViewRoles',
  'ModifyMetadata',];

const permissionFields = (extra: string): FieldDef[] =>
  [...PERMISSIONS.slice(0, 45), extra, ...PERMISSIONS.slice(45)].map((p) => bool(`Permissions${p}`, { nillable: false }));

/** The Id field, as every object has it (these objects lack some of the other system fields). */
const ID_FIELD = systemFields()[0];

export const USER_TYPES = ['Standard', 'PowerPartner', 'PowerCustomerSuccess', 'CustomerSuccess', 'Guest', 'CspLitePortal', 'CsnOnly', 'SelfService', 'AutomatedProcess'];

/** Profiles are set up in Setup; through the API they are read-only. */
export const Profile: ObjectDef = {
  name: 'Profile', label: 'Profile', labelPlural: 'Profiles', keyPrefix: '00e',
  createable: false, updateable: false, deletable: false, undeletable: false, layoutable: false, triggerable: false,
  fields: [
    ID_FIELD,
    // Profiles are never in the recycle bin: the flag is bookkeeping, not an API field.
    { ...bool('IsDeleted'), hidden: true, system: true },
    text('Name', 255, { nameField: true, nillable: false, idLookup: true, ...READ_ONLY }),
    ...permissionFields('InstallMultiforce').map((f) => ({ ...f, ...READ_ONLY })),
    ref('UserLicenseId', ['UserLicense'], 'UserLicense', undefined, { nillable: false, ...READ_ONLY }),
    picklist('UserType', USER_TYPES, { ...READ_ONLY, restrictedPicklist: true }),
    ...systemFields().slice(2),
    text('Description', 255, READ_ONLY),
    datetime('LastViewedDate', READ_ONLY),
    datetime('LastReferencedDate', READ_ONLY),
  ],
};

const ACCESS_LEVELS = [{ value: 'None', label: 'Private' }, { value: 'Read', label: 'Read Only' }, { value: 'Edit', label: 'Read/Write' }];

export const UserRole: ObjectDef = {
  name: 'UserRole', label: 'Role', labelPlural: 'Roles', keyPrefix: '00E', undeletable: false, layoutable: false, triggerable: false,
  fields: [
    ID_FIELD,
    { ...bool('IsDeleted'), hidden: true, system: true },
    text('Name', 80, { nameField: true, nillable: false }),
    ref('ParentRoleId', ['UserRole'], 'ParentRole', undefined),
    text('RollupDescription', 80),
    picklist('OpportunityAccessForAccountOwner', ACCESS_LEVELS, { nillable: false, restrictedPicklist: true }),
    picklist('CaseAccessForAccountOwner', ACCESS_LEVELS, { restrictedPicklist: true }),
    picklist('ContactAccessForAccountOwner', ACCESS_LEVELS, { restrictedPicklist: true }),
    ref('ForecastUserId', ['User'], 'ForecastUser', undefined),
    bool('MayForecastManagerShare', READ_ONLY),
    ...systemFields().slice(4),
    text('DeveloperName', 80, { unique: true }),
    ref('PortalAccountId', ['Account'], 'PortalAccount', undefined, READ_ONLY),
    picklist('PortalType', ['None', 'CustomerPortal', 'Partner'], { ...READ_ONLY, restrictedPicklist: true }),
    picklist('PortalRole', ['Executive', 'Manager', 'Worker', 'PersonAccount'], { ...READ_ONLY, restrictedPicklist: true }),
    ref('PortalAccountOwnerId', ['User'], 'PortalAccountOwner', undefined, READ_ONLY),
    // Created/CreatedBy are not part of UserRole's describe; kept for the store's bookkeeping.
    { ...datetime('CreatedDate'), hidden: true, system: true },
    { ...ref('CreatedById', ['User'], 'CreatedBy'), hidden: true, system: true },
  ],
};

export const PermissionSet: ObjectDef = {
  name: 'PermissionSet', label: 'Permission Set', labelPlural: 'Permission Sets', keyPrefix: '0PS', undeletable: false, layoutable: false, triggerable: false,
  fields: [
    ID_FIELD,
    { ...bool('IsDeleted'), hidden: true, system: true },
    text('Name', 80, { nameField: true, nillable: false, idLookup: true }),
    text('Label', 80, { nillable: false }),
    ref('LicenseId', ['UserLicense'], 'License', undefined),
    ref('ProfileId', ['Profile'], 'Profile', undefined, READ_ONLY),
    bool('IsOwnedByProfile', READ_ONLY),
    bool('IsCustom', READ_ONLY),
    ...permissionFields('InstallPackaging'),
    textarea('Description', 255, { filterable: true, sortable: true, groupable: true }),
    ...systemFields().slice(2),
    text('NamespacePrefix', 15, READ_ONLY),
    bool('HasActivationRequired'),
  ],
};

/** A user holding a permission set (profiles are permission sets too: `IsOwnedByProfile`). */
export const PermissionSetAssignment: ObjectDef = {
  name: 'PermissionSetAssignment', label: 'Permission Set Assignment', labelPlural: 'Permission Set Assignments', keyPrefix: '0Pa',
  updateable: false, undeletable: false, layoutable: false, searchable: false, triggerable: false,
  fields: [
    ID_FIELD,
    { ...bool('IsDeleted'), hidden: true, system: true },
    ref('PermissionSetId', ['PermissionSet'], 'PermissionSet', 'Assignments', { updateable: false, cascadeDelete: true }),
    ref('AssigneeId', ['User'], 'Assignee', 'PermissionSetAssignments', { nillable: false, updateable: false, cascadeDelete: true }),
    { ...datetime('SystemModstamp'), createable: false, updateable: false, nillable: false, defaultedOnCreate: true, system: true },
    { ...datetime('CreatedDate'), hidden: true, system: true },
    { ...datetime('LastModifiedDate'), hidden: true, system: true },
  ],
};

/** The licenses an org was sold; read-only. */
export const UserLicense: ObjectDef = {
  name: 'UserLicense', label: 'User License', labelPlural: 'User Licenses', keyPrefix: '100',
  createable: false, updateable: false, deletable: false, undeletable: false, layoutable: false, triggerable: false, searchable: false,
  fields: [
    ID_FIELD,
    { ...bool('IsDeleted'), hidden: true, system: true },
    text('LicenseDefinitionKey', 40, { nillable: false, ...READ_ONLY }),
    int('TotalLicenses', { nillable: false, ...READ_ONLY }),
    withDefault(picklist('Status', ['Active', 'Disabled'], { nillable: false, ...READ_ONLY, restrictedPicklist: true }), 'Active'),
    int('UsedLicenses', { nillable: false, ...READ_ONLY }),
    datetime('UsedLicensesLastUpdated', { nillable: false, ...READ_ONLY }),
    text('Name', 40, { nameField: true, nillable: false, ...READ_ONLY }),
    text('MasterLabel', 40, { nillable: false, ...READ_ONLY }),
    int('MonthlyLoginsUsed', READ_ONLY),
    int('MonthlyLoginsEntitlement', READ_ONLY),
    { ...datetime('CreatedDate'), createable: false, updateable: false, nillable: false, system: true },
    { ...datetime('LastModifiedDate'), createable: false, updateable: false, nillable: false, system: true },
    { ...datetime('SystemModstamp'), createable: false, updateable: false, nillable: false, system: true },
  ],
};
