/**
 * One emulated org: its schema, data, clock, faults, API counters and the identity of the running user.
 * Every HTTP handler works against an Org; nothing here knows about HTTP.
 */
import { EventEmitter } from 'node:events';
import { Clock } from './clock.ts';
import { Faults, type FaultSettings, DEFAULT_FAULTS } from './faults.ts';
import { parseOrgId, randomOrgId } from './ids.ts';
import { SchemaRegistry } from './schema/registry.ts';
import type { ObjectDef } from './schema/types.ts';
import { OrgStore } from './store/org-store.ts';
import { formatDateTime } from './store/values.ts';
import { assignAccess, ensureAccess } from './seed/access.ts';
import { changeEventFor } from './schema/objects/change-events.ts';
import { cdcCapable, DEFAULT_CDC_OBJECTS, EventBus } from './events/bus.ts';

export interface OrgOptions {
  /** SQLite path or `:memory:`. */
  db?: string;
  objects: ObjectDef[];
  faults?: FaultSettings;
  apiVersion?: string;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  random?: () => number;
  /**
   * Objects with Change Data Capture on: names, or `all` (every standard and custom object). Default:
   * Account, Contact, Lead, Opportunity and Case, plus schema-file objects marked `cdc: true` (and minus
   * those marked `cdc: false`).
   */
  cdc?: string[] | 'all';
  /**
   * The org Id (15 or 18 chars, `00D…`). Default: the one stored with the data, else a new random one, which
   * is then stored, so an emulator restarted on the same `db` is the same org.
   */
  orgId?: string;
}

export interface OrgEvents {
  write: [{ object: string; id: string; op: 'create' | 'update' | 'delete' | 'undelete' | 'purge' }];
}

export const DEFAULT_CLIENT_ID = 'sfbridge-emulator';
export const DEFAULT_CLIENT_SECRET = 'sfbridge-emulator-secret';
export const DEFAULT_USERNAME = 'admin@emulator.sfbridge.dev';
export const DEFAULT_PASSWORD = 'emulator';
export const DEFAULT_API_VERSION = '62.0';

/** Thrown for an `orgId` option that cannot be used (bad shape, or not the org the data belongs to). */
export class OrgIdError extends Error {}

function resolveOrgId(stored: string | undefined, wanted: string | undefined, db: string | undefined): string {
  if (wanted === undefined) return stored ?? randomOrgId();
  let id: string;
  try {
    id = parseOrgId(wanted);
  } catch (err) {
    throw new OrgIdError((err as Error).message);
  }
  if (stored && stored !== id) throw new OrgIdError(`org Id ${wanted} is not the org of ${db}: its data belongs to ${stored}; leave the org Id out, give ${stored}, or use another data file`);
  return id;
}

export class Org {
  readonly schema: SchemaRegistry;
  readonly store: OrgStore;
  readonly clock = new Clock();
  readonly faults: Faults;
  readonly events = new EventEmitter<OrgEvents>();
  /** Change events and platform events (the log behind Pub/Sub and CometD). */
  readonly bus: EventBus;
  readonly apiVersion: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  readonly password: string;
  readonly orgId: string;
  /** The admin user every request runs as (the emulator has one API user). */
  readonly adminUserId: string;
  currentUserId: string;
  /** API requests counted against the rolling daily allowance. */
  apiUsage = 0;

  constructor(opts: OrgOptions) {
    // Change-event entities follow the CDC selection (and the merged fields of their parent).
    this.schema = new SchemaRegistry(opts.objects.filter((o) => o.associateEntityType !== 'ChangeEvent'));
    const cdc = resolveCdcObjects(this.schema, opts.objects, opts.cdc);
    for (const name of cdc) this.schema.add(changeEventFor(this.schema.get(name)!));
    this.store = new OrgStore(opts.db ?? ':memory:', this.schema, () => this.clock.now());
    this.bus = new EventBus(this.store, this.clock);
    this.bus.setCdc(cdc);
    this.faults = new Faults(opts.faults ?? DEFAULT_FAULTS, opts.random);
    this.apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
    this.clientId = opts.clientId ?? DEFAULT_CLIENT_ID;
    this.clientSecret = opts.clientSecret ?? DEFAULT_CLIENT_SECRET;
    this.username = opts.username ?? DEFAULT_USERNAME;
    this.password = opts.password ?? DEFAULT_PASSWORD;
    this.orgId = resolveOrgId(this.store.getMeta('orgId'), opts.orgId, opts.db);
    this.store.setMeta('orgId', this.orgId);
    this.apiUsage = Number(this.store.getMeta('apiUsage') ?? 0);
    this.adminUserId = this.#ensureAdmin();
    this.currentUserId = this.adminUserId;
    this.ensureAdminAccess();
  }

  /** The profiles every org has, and the admin user on System Administrator (also after an admin reset). */
  ensureAdminAccess(): void {
    ensureAccess(this);
    const admin = this.store.getRow(this.schema.get('User')!, this.adminUserId);
    if (admin && !admin.ProfileId) assignAccess(this, this.adminUserId, { profile: 'System Administrator', role: 'CEO', permissionSets: ['API_Integration'] });
  }

  #ensureAdmin(): string {
    const existing = this.store.getMeta('adminUserId');
    if (existing) return existing;
    const user = this.schema.get('User')!;
    const id = this.store.nextId(user);
    const now = this.clock.now();
    this.store.insertRow(user, {
      Id: id, IsDeleted: 0, Username: this.username, LastName: 'Admin', FirstName: 'Emulator', Name: 'Emulator Admin',
      Email: this.username, Alias: 'eadmin', IsActive: 1, TimeZoneSidKey: 'GMT', LocaleSidKey: 'en_US',
      EmailEncodingKey: 'UTF-8', LanguageLocaleKey: 'en_US', UserType: 'Standard',
      CreatedDate: now, CreatedById: id, LastModifiedDate: now, LastModifiedById: id, SystemModstamp: now,
    });
    this.store.setMeta('adminUserId', id);
    return id;
  }

  /**
   * Bumps a named usage counter shown by `/limits` (e.g. `DailyBulkV2QueryJobs`, `DailyBulkApiBatches`,
   * `DailyBulkV2QueryFileStorageMB`). Counters are persisted with the org.
   */
  bumpLimit(name: string, by = 1): number {
    const next = this.limitUsage(name) + by;
    this.store.setMeta(`limit:${name}`, String(next));
    return next;
  }

  /** Current value of a usage counter (0 when never bumped). */
  limitUsage(name: string): number {
    return Number(this.store.getMeta(`limit:${name}`) ?? 0);
  }

  /** Counts one API request; persisted lazily so a file-backed org keeps its usage across restarts. */
  countApiCall(): void {
    this.apiUsage++;
    if (this.apiUsage % 100 === 0) this.store.setMeta('apiUsage', String(this.apiUsage));
  }

  /** Turns Change Data Capture on for exactly these objects (admin API); adds their change-event entities. */
  setCdc(objects: string[] | 'all'): string[] {
    const cdc = resolveCdcObjects(this.schema, [], objects);
    for (const name of cdc) {
      const ce = changeEventFor(this.schema.get(name)!);
      if (!this.schema.get(ce.name)) {
        this.schema.add(ce);
        this.store.ensureTable(ce);
      }
    }
    this.bus.setCdc(cdc);
    return cdc;
  }

  nowIso(): string {
    return formatDateTime(this.clock.now());
  }

  close(): void {
    this.store.setMeta('apiUsage', String(this.apiUsage));
    this.store.close();
  }
}

/**
 * The canonical names of the objects with CDC on. Throws an Error naming the problem for an unknown object
 * or one CDC cannot capture (views, external objects, platform events).
 */
export function resolveCdcObjects(schema: SchemaRegistry, objects: ObjectDef[], selection: string[] | 'all' | undefined): string[] {
  if (selection === 'all') return schema.all().filter(cdcCapable).map((o) => o.name);
  if (selection) {
    const out: string[] = [];
    for (const name of selection) {
      const def = schema.get(name.trim());
      if (!def) throw new Error(`no object named ${name} for Change Data Capture; use standard or schema-file object names, e.g. Account,Invoice__c, or all`);
      if (!cdcCapable(def)) throw new Error(`${def.name} cannot have Change Data Capture (views, external objects, platform events and change events have none)`);
      if (!out.includes(def.name)) out.push(def.name);
    }
    return out;
  }
  const on = new Set(DEFAULT_CDC_OBJECTS);
  for (const o of objects) {
    const def = schema.get(o.name);
    if (!def || o.cdc === undefined) continue;
    if (o.cdc) on.add(def.name);
    else on.delete(def.name);
  }
  return [...on].filter((n) => schema.get(n) && cdcCapable(schema.get(n)!));
}
