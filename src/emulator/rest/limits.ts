/**
 * `GET /services/data/vXX.X/limits` (§3) and `/limits/recordCount`. `DailyApiRequests` follows the org's API
 * usage and the `dailyLimit` fault, so it always agrees with `Sforce-Limit-Info` on the same response; the Bulk
 * counters follow what the Bulk engine records (`org.bumpLimit`); `DataStorageMB` follows the record count.
 * Everything else is a plausible static allocation (an Enterprise Edition org).
 */
import type { Ctx } from '../app.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { Org } from '../org.ts';
import type { ObjectDef } from '../schema/types.ts';

export interface Limit {
  Max: number;
  Remaining: number;
  [nested: string]: number | Limit;
}

/** Daily Bulk allocations (§3, §5.4, §5.7); usage is counted by the Bulk engine under these names. */
export const BULK_LIMITS = {
  DailyBulkApiBatches: 15_000,
  DailyBulkV2QueryJobs: 10_000,
  DailyBulkV2QueryFileStorageMB: 976_562,
} as const;

/** Salesforce counts about 2 KB of data storage per record. */
export const RECORD_STORAGE_KB = 2;
/** Data storage allocation of the emulated org, MB. */
export const DATA_STORAGE_MB = 10_240;

/** Static allocations reported with Remaining = Max. */
export const STATIC_LIMITS: Record<string, number> = {
  ActiveScratchOrgs: 3,
  AnalyticsExternalDataSizeMB: 40_960,
  ConcurrentAsyncGetReportInstances: 200,
  ConcurrentEinsteinDataInsightsStoryCreation: 5,
  ConcurrentEinsteinDiscoveryStoryCreation: 2,
  ConcurrentSyncReportRuns: 20,
  DailyAnalyticsDataflowJobExecutions: 60,
  DailyAnalyticsUploadedFilesSizeMB: 51_200,
  DailyAsyncApexExecutions: 250_000,
  DailyAsyncApexTests: 500,
  DailyDeliveredPlatformEvents: 50_000,
  DailyDurableGenericStreamingApiEvents: 200_000,
  DailyDurableStreamingApiEvents: 200_000,
  DailyEinsteinDataInsightsStoryCreation: 1_000,
  DailyEinsteinDiscoveryPredictAPICalls: 50_000,
  DailyEinsteinDiscoveryPredictionsByCDC: 500_000,
  DailyEinsteinDiscoveryStoryCreation: 100,
  DailyFunctionsApiCallLimit: 235_000,
  DailyGenericStreamingApiEvents: 10_000,
  DailyScratchOrgs: 6,
  DailyStandardVolumePlatformEvents: 10_000,
  DailyStreamingApiEvents: 200_000,
  DailyWorkflowEmails: 1_000_000,
  DurableStreamingApiConcurrentClients: 2_000,
  FileStorageMB: 10_240,
  HourlyAsyncReportRuns: 1_200,
  HourlyDashboardRefreshes: 200,
  HourlyDashboardResults: 5_000,
  HourlyDashboardStatuses: 999_999_999,
  HourlyLongTermIdMapping: 100_000,
  HourlyManagedContentPublicRequests: 50_000,
  HourlyODataCallout: 10_000,
  HourlyPublishedPlatformEvents: 250_000,
  HourlyPublishedStandardVolumePlatformEvents: 100_000,
  HourlyShortTermIdMapping: 100_000,
  HourlySyncReportRuns: 500,
  HourlyTimeBasedWorkflow: 1_000,
  MassEmail: 5_000,
  MonthlyEinsteinDiscoveryStoryCreation: 500,
  MonthlyPlatformEventsUsageEntitlement: 1_500_000,
  Package2VersionCreates: 6,
  Package2VersionCreatesWithoutValidation: 500,
  PrivateConnectOutboundCalloutHourlyLimitMB: 0,
  PublishCallbackUsageInApex: 5_000_000,
  SingleEmail: 5_000,
  StreamingApiConcurrentClients: 2_000,
};

const limit = (max: number, used = 0): Limit => ({ Max: max, Remaining: Math.max(0, max - used) });

/** Objects that hold records (change-event shadows and other tables without IsDeleted do not count). */
function recordObjects(org: Org): ObjectDef[] {
  return org.schema.all().filter((d) => d.fields.some((f) => f.name === 'IsDeleted'));
}

/**
 * Salesforce recomputes storage usage periodically, not per call; counting every table on each `/limits` call
 * would cost a full scan on a million-row org, so the figure is cached this long (org clock).
 */
export const STORAGE_REFRESH_MS = 60_000;
const storageCache = new WeakMap<Org, { at: number; records: number }>();

/** The org's live record count (not deleted), at most {@link STORAGE_REFRESH_MS} old. */
function totalRecords(org: Org): number {
  const now = org.clock.now();
  const cached = storageCache.get(org);
  if (cached && now - cached.at >= 0 && now - cached.at < STORAGE_REFRESH_MS) return cached.records;
  let n = 0;
  for (const def of recordObjects(org)) n += org.store.count(def);
  storageCache.set(org, { at: now, records: n });
  return n;
}

/** The full `/limits` body, keys in alphabetical order as Salesforce returns them. */
export function limitsBody(org: Org, clientId: string): Record<string, Limit> {
  const max = org.faults.settings.dailyLimit;
  const api: Limit = limit(max, org.apiUsage);
  // Real orgs nest per-connected-app usage under DailyApiRequests; clients must ignore such keys.
  api[clientId] = { Max: 0, Remaining: 0 };
  const out: Record<string, Limit> = { ...Object.fromEntries(Object.entries(STATIC_LIMITS).map(([k, v]) => [k, limit(v)])) };
  out.DailyApiRequests = api;
  for (const [name, m] of Object.entries(BULK_LIMITS)) out[name] = limit(m, org.limitUsage(name));
  // Salesforce reports storage over the allocation as a negative Remaining.
  const usedMb = Math.ceil((totalRecords(org) * RECORD_STORAGE_KB) / 1024);
  out.DataStorageMB = { Max: DATA_STORAGE_MB, Remaining: DATA_STORAGE_MB - usedMb };
  out.PermissionSets = { Max: 1_500, Remaining: 1_498, CreateCustom: { Max: 1_000, Remaining: 998 } };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export function registerLimitsRoutes(router: Router<Ctx>): void {
  router.on('GET', '/services/data/:version/limits', (ctx) => json(limitsBody(ctx.org, ctx.session?.clientId ?? ctx.org.clientId)));

  // Approximate record counts (excludes deleted rows); unknown names are ignored, as on Salesforce.
  router.on('GET', '/services/data/:version/limits/recordCount', (ctx) => {
    const names = ctx.url.searchParams.get('sObjects');
    const defs = names
      ? names.split(',').map((n) => ctx.org.schema.get(n.trim())).filter((d): d is ObjectDef => d !== undefined && d.fields.some((f) => f.name === 'IsDeleted'))
      : recordObjects(ctx.org);
    const sObjects = defs.map((d) => ({ count: ctx.org.store.count(d), name: d.name })).filter((e) => names || e.count > 0);
    return json({ sObjects });
  });
}
