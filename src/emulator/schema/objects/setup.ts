/**
 * Setup objects every org has: User, Group (public groups and queues), RecordType and Organization.
 * Queues are Groups of Type `Queue`, which is why OwnerId on Lead, Case and Task points at `['Group', 'User']`.
 */
import { address, bool, codedPicklist, datetime, email, int, personName, phone, picklist, READ_ONLY, ref, systemFields, text, textarea, url, withDefault } from '../dsl.ts';
import type { ObjectDef } from '../types.ts';

/** Time zones a new org offers first (the full list has several hundred). */
const TIME_ZONES = ['America/Los_Angeles', 'America/Denver', 'America/Chicago', 'America/New_York', 'America/Sao_Paulo', 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Singapore', 'Asia/Tokyo', 'Australia/Sydney', 'GMT'];
const LOCALES = ['en_US', 'en_GB', 'en_AU', 'en_CA', 'fr_FR', 'de_DE', 'es_ES', 'it_IT', 'ja_JP', 'pt_BR'];
const LANGUAGES = ['en_US', 'en_GB', 'fr', 'de', 'es', 'it', 'ja', 'pt_BR'];

/** Feature licenses a user holds, as `UserPermissions<Name>` checkboxes. */
const USER_PERMISSIONS = [
  'MarketingUser', 'OfflineUser', 'AvantgoUser', 'CallCenterAutoLogin', 'MobileUser', 'SFContentUser',
  'KnowledgeUser', 'InteractionUser', 'SupportUser',];
/** Personal settings, as `UserPreferences<Name>` checkboxes (read-only to other users' API calls, writable here). */
const USER_PREFERENCES = [
  'ActivityRemindersPopup', 'EventRemindersCheckboxDefault', 'TaskRemindersCheckboxDefault', 'ReminderSoundOff',
  'DisableAllFeedsEmail', 'DisableFollowersEmail', 'DisableProfilePostEmail', 'DisableChangeCommentEmail',
  'DisableLaterCommentEmail', 'DisProfPostCommentEmail', 'ContentNoEmail', 'ContentEmailAsAndWhen',
  'ApexPagesDeveloperMode', 'HideCSNGetChatterMobileTask', 'DisableMentionsPostEmail', 'DisMentionsCommentEmail',
  'HideCSNDesktopTask', 'HideChatterOnboardingSplash', 'HideSecondChatterOnboardingSplash',
  'DisCommentAfterLikeEmail', 'DisableLikeEmail', 'SortFeedByComment', 'DisableMessageEmail', 'DisableBookmarkEmail',
  'DisableSharePostEmail', 'EnableAutoSubForFeeds', 'DisableFileShareNotificationsForApi',
  'ShowTitleToExternalUsers', 'ShowManagerToExternalUsers', 'ShowEmailToExternalUsers',
  'ShowWorkPhoneToExternalUsers', 'ShowMobilePhoneToExternalUsers', 'ShowFaxToExternalUsers',
  'ShowStreetAddressToExternalUsers', 'ShowCityToExternalUsers', 'ShowStateToExternalUsers',
  'ShowPostalCodeToExternalUsers', 'ShowCountryToExternalUsers', 'ShowProfilePicToGuestUsers',
  'ShowTitleToGuestUsers', 'ShowCityToGuestUsers', 'ShowStateToGuestUsers', 'ShowPostalCodeToGuestUsers',
  'ShowCountryToGuestUsers', 'HideS1BrowserUI', 'DisableEndorsementEmail', 'PathAssistantCollapsed',
  'CacheDiagnostics', 'ShowEmailToGuestUsers', 'ShowManagerToGuestUsers', 'ShowWorkPhoneToGuestUsers',
  'ShowMobilePhoneToGuestUsers', 'ShowFaxToGuestUsers', 'ShowStreetAddressToGuestUsers',
  'LightningExperiencePreferred', 'PreviewLightning', 'HideEndUserOnboardingAssistantModal',
  'HideLightningMigrationModal', 'HideSfxWelcomeMat', 'HideBiggerPhotoCallout', 'GlobalNavBarWTShown',
  'GlobalNavGridMenuWTShown', 'CreateLEXAppsWTShown', 'FavoritesWTShown', 'RecordHomeSectionCollapseWTShown',
  'RecordHomeReservedWTShown', 'FavoritesShowTopFavorites', 'ExcludeMailAppAttachments', 'SuppressTaskSFXReminders',
  'SuppressEventSFXReminders', 'PreviewCustomTheme', 'HasCelebrationBadge', 'UserDebugModePref',
  'NewLightningReportRunPageEnabled',];
const photo = (name: string) => url(name, { length: 1024, ...READ_ONLY });

export const User: ObjectDef = {
  name: 'User', label: 'User', labelPlural: 'Users', keyPrefix: '005', deletable: false, undeletable: false, feedEnabled: true,
  fields: [
    ...systemFields(),
    text('Username', 80, { nillable: false, unique: true, idLookup: true }),
    text('LastName', 80, { nillable: false }),
    text('FirstName', 40),
    personName(),
    text('CompanyName', 80),
    text('Division', 80),
    text('Department', 80),
    text('Title', 80),
    ...address(''),
    email('Email', { nillable: false }),
    bool('EmailPreferencesAutoBcc'),
    bool('EmailPreferencesAutoBccStayInTouch'),
    bool('EmailPreferencesStayInTouchReminder'),
    email('SenderEmail'),
    text('SenderName', 80),
    textarea('Signature', 1333),
    text('StayInTouchSubject', 80),
    textarea('StayInTouchSignature', 512),
    text('StayInTouchNote', 512),
    phone('Phone'),
    phone('Fax'),
    phone('MobilePhone'),
    text('Alias', 8, { nillable: false }),
    text('CommunityNickname', 40, { unique: true }),
    text('BadgeText', 80, READ_ONLY),
    bool('IsActive', { defaultValue: true }),
    picklist('TimeZoneSidKey', TIME_ZONES, { nillable: false, restrictedPicklist: true }),
    ref('UserRoleId', ['UserRole'], 'UserRole', 'Users'),
    picklist('LocaleSidKey', LOCALES, { nillable: false, restrictedPicklist: true }),
    bool('ReceivesInfoEmails'),
    bool('ReceivesAdminInfoEmails'),
    picklist('EmailEncodingKey', ['UTF-8', 'ISO-8859-1', 'Shift_JIS', 'EUC-JP'], { nillable: false, restrictedPicklist: true }),
    ref('ProfileId', ['Profile'], 'Profile', 'Users', { nillable: false }),
    withDefault(picklist('UserType', ['Standard', 'PowerPartner', 'PowerCustomerSuccess', 'CsnOnly', 'Guest', 'AutomatedProcess'], { ...READ_ONLY, restrictedPicklist: true }), 'Standard'),
    picklist('LanguageLocaleKey', LANGUAGES, { nillable: false, restrictedPicklist: true }),
    text('EmployeeNumber', 20),
    ref('DelegatedApproverId', ['Group', 'User'], 'DelegatedApprover', undefined),
    ref('ManagerId', ['User'], 'Manager', 'ManagedUsers'),
    datetime('LastLoginDate', READ_ONLY),
    datetime('LastPasswordChangeDate', READ_ONLY),
    datetime('OfflineTrialExpirationDate', READ_ONLY),
    datetime('OfflinePdaTrialExpirationDate', READ_ONLY),
    ...USER_PERMISSIONS.map((p) => bool(`UserPermissions${p}`)),
    bool('ForecastEnabled'),
    ...USER_PREFERENCES.map((p) => bool(`UserPreferences${p}`)),
    ref('ContactId', ['Contact'], 'Contact', undefined, { updateable: false }),
    // Derived by the platform from the contact of a portal or community user.
    ref('AccountId', ['Account'], 'Account', undefined, READ_ONLY),
    text('Extension', 40),
    picklist('PortalRole', ['Executive', 'Manager', 'Worker', 'PersonAccount'], { ...READ_ONLY, restrictedPicklist: true }),
    bool('IsPortalEnabled', READ_ONLY),
    bool('IsPortalSelfRegistered'),
    text('FederationIdentifier', 512),
    textarea('AboutMe', 1000),
    photo('FullPhotoUrl'),
    photo('SmallPhotoUrl'),
    bool('IsExtIndicatorVisible', READ_ONLY),
    text('OutOfOfficeMessage', 40, READ_ONLY),
    photo('MediumPhotoUrl'),
    withDefault(codedPicklist('DigestFrequency', [['D', 'Daily'], ['W', 'Weekly'], ['N', 'Never']], { nillable: false, restrictedPicklist: true }), 'D'),
    withDefault(codedPicklist('DefaultGroupNotificationFrequency', [['P', 'Email on Each Post'], ['D', 'Daily Digests'], ['W', 'Weekly Digests'], ['N', 'Never']], { nillable: false, restrictedPicklist: true }), 'N'),
    datetime('LastViewedDate', READ_ONLY),
    datetime('LastReferencedDate', READ_ONLY),
    photo('BannerPhotoUrl'),
    photo('SmallBannerPhotoUrl'),
    photo('MediumBannerPhotoUrl'),
    bool('IsProfilePhotoActive', READ_ONLY),
  ],
};

/** Public groups and queues. `Type = 'Queue'` rows can own Leads, Cases and Tasks. */
export const Group: ObjectDef = {
  name: 'Group', label: 'Group', labelPlural: 'Groups', keyPrefix: '00G', undeletable: false,
  fields: [
    ...systemFields(),
    text('Name', 40, { nameField: true, nillable: false }),
    text('DeveloperName', 80, { unique: true, idLookup: true }),
    ref('RelatedId', ['User'], 'Related', undefined, READ_ONLY),
    withDefault(picklist('Type', ['Regular', 'Role', 'RoleAndSubordinates', 'Organization', 'Queue', 'Manager', 'AllCustomerPortal'], { nillable: false, restrictedPicklist: true, updateable: false }), 'Regular'),
    email('Email', { length: 255 }),
    ref('OwnerId', ['Organization', 'User'], 'Owner', undefined, { ...READ_ONLY, nillable: false, defaultedOnCreate: true }),
    bool('DoesSendEmailToMembers'),
    bool('DoesIncludeBosses', { defaultValue: true }),
  ],
};

/** Record types are metadata: readable through the API, created in Setup. */
export const RecordType: ObjectDef = {
  name: 'RecordType', label: 'Record Type', labelPlural: 'Record Types', keyPrefix: '012',
  createable: false, updateable: false, deletable: false, undeletable: false, searchable: false, layoutable: false, triggerable: false,
  fields: [
    ...systemFields(),
    text('Name', 80, { nameField: true, nillable: false, ...READ_ONLY }),
    text('DeveloperName', 80, { nillable: false, ...READ_ONLY }),
    text('NamespacePrefix', 15, READ_ONLY),
    text('Description', 255, READ_ONLY),
    picklist('SobjectType', ['Account', 'Campaign', 'Case', 'Contact', 'Event', 'Lead', 'Opportunity', 'Task'], { nillable: false, ...READ_ONLY, restrictedPicklist: true }),
    bool('IsActive', READ_ONLY),
    bool('IsPersonType', READ_ONLY),
  ],
};

/** Organization-wide sharing defaults (`DefaultAccountAccess` …): stored codes with their Setup labels. */
const ORG_WIDE_DEFAULTS = [
  { value: 'None', label: 'Private' }, { value: 'Read', label: 'Read Only' }, { value: 'Edit', label: 'Read/Write' },
  { value: 'ReadEditTransfer', label: 'Read/Write/Transfer' }, { value: 'ControlledByParent', label: 'Controlled by Parent' },
  { value: 'ControlledByCampaign', label: 'Controlled by Campaign' }, { value: 'ControlledByLeadOrContact', label: 'Controlled by Lead or Contact' },
  { value: 'ShowDetails', label: 'Show Details' }, { value: 'HideDetails', label: 'Hide Details' }, { value: 'HideDetailsInsert', label: 'Hide Details and Add Events' },
  { value: 'All', label: 'Use' },
];

/** The org's own row (one per org, Id = the org ID). Read-only through the API. */
export const Organization: ObjectDef = {
  name: 'Organization', label: 'Organization', labelPlural: 'Organizations', keyPrefix: '00D',
  createable: false, updateable: false, deletable: false, undeletable: false, searchable: false, layoutable: false, triggerable: false,
  fields: [
    ...systemFields(),
    text('Name', 80, { nameField: true, nillable: false, ...READ_ONLY }),
    text('Division', 80, READ_ONLY),
    ...address('', READ_ONLY),
    phone('Phone', READ_ONLY),
    phone('Fax', READ_ONLY),
    text('PrimaryContact', 80, READ_ONLY),
    picklist('DefaultLocaleSidKey', LOCALES, { ...READ_ONLY, nillable: false }),
    picklist('TimeZoneSidKey', TIME_ZONES, { ...READ_ONLY, nillable: false }),
    picklist('LanguageLocaleKey', LANGUAGES, { ...READ_ONLY, nillable: false }),
    int('FiscalYearStartMonth', { ...READ_ONLY, precision: 2 }),
    bool('UsesStartDateAsFiscalYearName', READ_ONLY),
    picklist('OrganizationType', ['Team Edition', 'Professional Edition', 'Enterprise Edition', 'Developer Edition', 'Personal Edition', 'Unlimited Edition', 'Contact Manager Edition', 'Base Edition'], { ...READ_ONLY, restrictedPicklist: true }),
    text('InstanceName', 5, READ_ONLY),
    bool('IsSandbox', READ_ONLY),
    text('NamespacePrefix', 15, READ_ONLY),
    datetime('TrialExpirationDate', READ_ONLY),
    email('ComplianceBccEmail', READ_ONLY),
    bool('ReceivesInfoEmails', READ_ONLY),
    bool('ReceivesAdminInfoEmails', READ_ONLY),
    ...['RequireOpportunityProducts', 'ConsentManagementEnabled', 'IndividualAutoCreateEnabled', 'AutoSelectIndividualOnMerge', 'LightningLoginEnabled', 'OnlyLLPermUserAllowed'].map((p) => bool(`Preferences${p}`, READ_ONLY)),
    ...['Account', 'Contact', 'Opportunity', 'Lead', 'Case', 'Calendar', 'Pricebook', 'Campaign'].map((o) => picklist(`Default${o}Access`, ORG_WIDE_DEFAULTS, { ...READ_ONLY, restrictedPicklist: true })),
    picklist('UiSkin', ['Theme1', 'Theme2', 'PortalDefault', 'Webstore', 'Theme3', 'Theme4d', 'Theme4t', 'Theme4u'], { ...READ_ONLY, restrictedPicklist: true }),
    text('SignupCountryIsoCode', 2, READ_ONLY),
    int('NumKnowledgeService', READ_ONLY),
    text('WebToCaseDefaultOrigin', 40, READ_ONLY),
    int('MonthlyPageViewsUsed', READ_ONLY),
    int('MonthlyPageViewsEntitlement', READ_ONLY),
    bool('IsReadOnly', READ_ONLY),
  ],
};
