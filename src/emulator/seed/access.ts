/**
 * The access setup every org has from its first day, whatever `--seed` adds: user licenses, the standard
 * profiles (each with the permission set it owns), a role hierarchy and a few permission sets, with the admin
 * user on System Administrator at the top of the hierarchy. Idempotent: an org that has profiles keeps them.
 */
import type { Org } from '../org.ts';
import { PERMISSIONS } from '../schema/objects/access.ts';
import type { ObjectDef } from '../schema/types.ts';
import type { SqlValue } from '../store/values.ts';

const LICENSES = [
  { key: 'SFDC', name: 'Salesforce', total: 10 },
  { key: 'AUL', name: 'Salesforce Platform', total: 10 },
  { key: 'PID_Chatter', name: 'Chatter Free', total: 5000 },
];

/** What an ordinary internal user may do; the standard profiles below grant subsets or supersets of it. */
const STANDARD = ['ApiEnabled', 'EditTask', 'EditEvent', 'ConvertLeads', 'RunReports', 'ChatterInternalUser', 'EmailSingle', 'EmailMass', 'ExportReport', 'ImportPersonal', 'LightningExperienceUser', 'CreateCustomizeReports', 'CreateCustomizeDashboards', 'CreateCustomizeFilters', 'ViewHelpLink', 'ChatterOwnGroups', 'ChatterFileLink', 'EditCaseComments', 'ChatterEditOwnPost', 'SelectFilesFromSalesforce', 'ShowCompanyNameAsUserBadge', 'ContentWorkspaces', 'AllowUniversalSearch', 'EnableNotifications', 'RunFlow', 'ViewContent'];
const READ_ONLY = ['ApiEnabled', 'RunReports', 'ChatterInternalUser', 'LightningExperienceUser', 'ExportReport', 'ViewHelpLink', 'AllowUniversalSearch', 'ViewContent'];

const PROFILES: { name: string; license: string; type: string; description: string | null; permissions: readonly string[] }[] = [
  { name: 'System Administrator', license: 'SFDC', type: 'Standard', description: null, permissions: PERMISSIONS },
  { name: 'Standard User', license: 'SFDC', type: 'Standard', description: null, permissions: STANDARD },
  { name: 'Read Only', license: 'SFDC', type: 'Standard', description: null, permissions: READ_ONLY },
  { name: 'Marketing User', license: 'SFDC', type: 'Standard', description: null, permissions: [...STANDARD, 'ImportLeads', 'ManageLeads'] },
  { name: 'Contract Manager', license: 'SFDC', type: 'Standard', description: null, permissions: [...STANDARD, 'ActivateContract'] },
  { name: 'Solution Manager', license: 'SFDC', type: 'Standard', description: null, permissions: [...STANDARD, 'ManageSolutions', 'SolutionImport'] },
  { name: 'Standard Platform User', license: 'AUL', type: 'Standard', description: null, permissions: STANDARD },
  { name: 'Chatter Free User', license: 'PID_Chatter', type: 'CsnOnly', description: null, permissions: ['ApiEnabled', 'ChatterInternalUser', 'ChatterOwnGroups', 'ChatterFileLink'] },
  { name: 'Minimum Access - Salesforce', license: 'SFDC', type: 'Standard', description: 'Profile for users who need only the permissions granted through permission sets', permissions: [] },
];

/** The role hierarchy of a small sales and service org. */
export const ROLES: { name: string; developerName: string; parent: string | null }[] = [
  { name: 'CEO', developerName: 'CEO', parent: null },
  { name: 'VP, Sales', developerName: 'VPSales', parent: 'CEO' },
  { name: 'Sales Rep', developerName: 'SalesRep', parent: 'VPSales' },
  { name: 'VP, Customer Support', developerName: 'VPCustomerSupport', parent: 'CEO' },
  { name: 'Customer Support, North America', developerName: 'CustomerSupportNorthAmerica', parent: 'VPCustomerSupport' },
];

/** Permission sets an admin creates first (not owned by a profile). */
const PERMISSION_SETS = [
  { name: 'API_Integration', label: 'API Integration', description: 'API access, Bulk API hard delete and view-all for integration users', permissions: ['ApiEnabled', 'BulkApiHardDelete', 'ViewAllData', 'ApexRestServices'] },
  { name: 'Knowledge_Author', label: 'Knowledge Author', description: 'Create and publish Knowledge articles', permissions: ['EditKnowledge', 'ManageKnowledge', 'AllowViewKnowledge'] },
];

export interface AccessIds {
  profiles: Map<string, string>;
  roles: Map<string, string>;
  permissionSets: Map<string, string>;
}

/** Inserts the access setup when the org has none; returns the Ids of profiles, roles and permission sets by name. */
export function ensureAccess(org: Org): AccessIds {
  const def = (name: string) => org.schema.get(name)!;
  const profile = def('Profile');
  const existing = accessIds(org);
  if (existing.profiles.size > 0) return existing;
  const now = org.clock.now();
  const by = org.store.getMeta('adminUserId') ?? null;
  const audit = { IsDeleted: 0, CreatedDate: now, CreatedById: by, LastModifiedDate: now, LastModifiedById: by, SystemModstamp: now };
  const insert = (d: ObjectDef, row: Record<string, SqlValue>): string => {
    const id = org.store.nextId(d);
    const stored = new Set(d.fields.map((f) => f.name));
    const out: Record<string, SqlValue> = { Id: id };
    for (const [k, v] of Object.entries({ ...audit, ...row })) if (stored.has(k)) out[k] = v;
    org.store.insertRow(d, out);
    return id;
  };
  const perms = (granted: readonly string[], all: readonly string[]) => Object.fromEntries(all.map((p) => [`Permissions${p}`, granted.includes(p) ? 1 : 0]));
  const profilePerms = [...PERMISSIONS, 'InstallMultiforce'];
  const setPerms = [...PERMISSIONS, 'InstallPackaging'];
  org.store.transaction(() => {
    const licenses = new Map(LICENSES.map((l) => [l.key, insert(def('UserLicense'), {
      LicenseDefinitionKey: l.key, TotalLicenses: l.total, Status: 'Active', UsedLicenses: 0, UsedLicensesLastUpdated: now, Name: l.name, MasterLabel: l.name,
    })]));
    for (const p of PROFILES) {
      const granted = p.name === 'System Administrator' ? [...profilePerms] : p.permissions;
      const id = insert(profile, { Name: p.name, UserLicenseId: licenses.get(p.license)!, UserType: p.type, Description: p.description, ...perms(granted, profilePerms) });
      // Every profile owns a permission set that carries its permissions (`X00e…` names, IsOwnedByProfile).
      insert(def('PermissionSet'), {
        Name: `X${id.slice(0, 15)}`, Label: `00${id.slice(3, 15)}`, LicenseId: licenses.get(p.license)!, ProfileId: id, IsOwnedByProfile: 1, IsCustom: 0,
        HasActivationRequired: 0, ...perms(p.name === 'System Administrator' ? setPerms : granted, setPerms),
      });
    }
    const roles = new Map<string, string>();
    for (const r of ROLES) {
      roles.set(r.developerName, insert(def('UserRole'), {
        Name: r.name, DeveloperName: r.developerName, ParentRoleId: r.parent ? roles.get(r.parent)! : null, OpportunityAccessForAccountOwner: 'None',
        CaseAccessForAccountOwner: 'Edit', ContactAccessForAccountOwner: 'Edit', MayForecastManagerShare: 0, PortalType: 'None', RollupDescription: r.name,
      }));
    }
    for (const s of PERMISSION_SETS) {
      insert(def('PermissionSet'), { Name: s.name, Label: s.label, Description: s.description, IsOwnedByProfile: 0, IsCustom: 1, HasActivationRequired: 0, ...perms(s.permissions, setPerms) });
    }
  });
  return accessIds(org);
}

/** Ids of the org's profiles, roles and (non-profile) permission sets by name / developer name. */
export function accessIds(org: Org): AccessIds {
  const map = (sql: string) => new Map(org.store.prepare(sql).all().map((r) => [String(r.k), String(r.Id)]));
  return {
    profiles: map('SELECT Name AS k, Id FROM "Profile" ORDER BY Id'),
    roles: map('SELECT DeveloperName AS k, Id FROM "UserRole" ORDER BY Id'),
    permissionSets: map('SELECT Name AS k, Id FROM "PermissionSet" WHERE IsOwnedByProfile = 0 ORDER BY Id'),
  };
}

/**
 * Gives a user a profile (and its owned permission set), optionally a role and extra permission sets, the
 * way Setup does: `User.ProfileId`, `User.UserRoleId` and PermissionSetAssignment rows.
 */
export function assignAccess(org: Org, userId: string, opts: { profile: string; role?: string; permissionSets?: string[] }): void {
  const ids = ensureAccess(org);
  const profileId = ids.profiles.get(opts.profile);
  if (!profileId) throw new Error(`no profile named ${opts.profile}`);
  const userDef = org.schema.get('User')!;
  org.store.updateRow(userDef, userId, { ProfileId: profileId, UserRoleId: opts.role ? ids.roles.get(opts.role) ?? null : null });
  const psa = org.schema.get('PermissionSetAssignment')!;
  const owned = org.store.prepare('SELECT Id FROM "PermissionSet" WHERE ProfileId = ?').get(profileId);
  const sets = [String(owned!.Id), ...(opts.permissionSets ?? []).map((n) => ids.permissionSets.get(n)!).filter(Boolean)];
  org.store.prepare('DELETE FROM "PermissionSetAssignment" WHERE AssigneeId = ?').run(userId);
  for (const ps of sets) {
    org.store.insertRow(psa, { Id: org.store.nextId(psa), IsDeleted: 0, PermissionSetId: ps, AssigneeId: userId, SystemModstamp: org.clock.now(), CreatedDate: org.clock.now(), LastModifiedDate: org.clock.now() });
  }
}
