import type { OutboundMessageDef } from '../outbound/sender.ts';
/**
 * The emulator's metadata model: what describe returns and what the store, the SOQL compiler and DML
 * validation read. One definition per sObject; describe JSON is rendered from it (see describe.ts).
 */
import type { ExternalObjectInfo } from '../external/schema.ts';

export type FieldType =
  | 'id' | 'string' | 'textarea' | 'picklist' | 'multipicklist' | 'combobox' | 'boolean'
  | 'int' | 'double' | 'currency' | 'percent' | 'date' | 'datetime' | 'time'
  | 'reference' | 'email' | 'phone' | 'url' | 'encryptedstring' | 'base64'
  | 'address' | 'location' | 'anyType' | 'long' | 'complexvalue';

export interface PicklistValue {
  value: string;
  label?: string;
  active?: boolean;
  defaultValue?: boolean;
}

export interface FieldDef {
  name: string;
  type: FieldType;
  label?: string;
  /**
   * Describe's `extraTypeInfo` when it cannot be inferred: `personname` (Contact.Name), `richtextarea`
   * (FeedItem.Body), `imageurl`. Plain text areas get `plaintextarea` automatically.
   */
  extraTypeInfo?: string;
  /** Rich text (FeedItem.Body): describe says `htmlFormatted: true`. */
  htmlFormatted?: boolean;
  /** The parent cannot be deleted while children point at it. */
  restrictedDelete?: boolean;
  /** 0/1 for the two master-detail fields of a junction object. */
  relationshipOrder?: number;
  /** Text length; for numbers see precision/scale. */
  length?: number;
  precision?: number;
  scale?: number;
  /** Reference targets; more than one makes the field polymorphic (What, Who, Owner). */
  referenceTo?: string[];
  /** Parent relationship name, e.g. `Account` for AccountId, `Parent__r` for Parent__c. */
  relationshipName?: string;
  /** Child relationship name on the parent side, e.g. `Contacts` for Contact.AccountId. */
  childRelationshipName?: string;
  cascadeDelete?: boolean;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  filterable?: boolean;
  sortable?: boolean;
  groupable?: boolean;
  aggregatable?: boolean;
  calculated?: boolean;
  /** Formula over fields of the same record, evaluated by the emulator on read (see formula.ts). */
  formula?: string;
  externalId?: boolean;
  unique?: boolean;
  caseSensitive?: boolean;
  idLookup?: boolean;
  nameField?: boolean;
  autoNumber?: boolean;
  /** Display format for auto-number fields, e.g. `{00000000}`. */
  displayFormat?: string;
  defaultedOnCreate?: boolean;
  defaultValue?: string | number | boolean | null;
  picklistValues?: PicklistValue[];
  restrictedPicklist?: boolean;
  /** For components of a compound field (BillingStreet → BillingAddress). */
  compoundFieldName?: string;
  /** Hidden from the API user: describe omits it and SOQL rejects it with INVALID_FIELD. */
  hidden?: boolean;
  custom?: boolean;
  /** For `deprecatedAndHidden`-style fields still present in describe but not queryable. */
  deprecatedAndHidden?: boolean;
  inlineHelpText?: string;
  /** Stored by the system, never writable through the API (CreatedDate, SystemModstamp …). */
  system?: boolean;
}

export interface ObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string | null;
  custom?: boolean;
  /** `ChangeEvent`, `Feed`, `History`, `Share` for objects that shadow another one (AccountChangeEvent). */
  associateEntityType?: string;
  /** The object shadowed by an associate entity (`Account` for AccountChangeEvent). */
  associateParentEntity?: string;
  queryable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  deletable?: boolean;
  undeletable?: boolean;
  retrieveable?: boolean;
  replicateable?: boolean;
  searchable?: boolean;
  triggerable?: boolean;
  layoutable?: boolean;
  feedEnabled?: boolean;
  mergeable?: boolean;
  /** Fields in describe order. System fields (Id, CreatedDate …) are included here explicitly. */
  fields: FieldDef[];
  /** Outbound Messages defined on the object (schema file `outboundMessages:`). */
  outboundMessages?: OutboundMessageDef[];
  /**
   * Objects whose rows are other objects' rows, stored as a SQL view: CaseFeed is the FeedItems posted on
   * Cases (same Ids), ActivityHistory the closed Tasks and past Events. Each source contributes the view's
   * columns of the same name; `values` supplies the others as SQL over the source row (schema text only).
   */
  view?: ViewSource[];
  /**
   * Readable only as a subquery from a parent (`SELECT (SELECT … FROM ActivityHistories) FROM Account`):
   * a top-level query is refused as Salesforce refuses it.
   */
  subqueryOnly?: boolean;
  /** Change Data Capture on (true) or off (false) for this object; unset: the org default. */
  cdc?: boolean;
  /** External objects (`__x`): where their rows live (Salesforce Connect, OData 4.0). */
  external?: ExternalObjectInfo;
  /** Record types, if any (describe recordTypeInfos always carries the Master one). */
  recordTypes?: { name: string; developerName: string; id: string; defaultRecordTypeMapping?: boolean }[];
}

export interface ViewSource {
  /** The object whose table holds the rows. */
  from: string;
  /** SQL condition over the source row, from the schema (never from a request). */
  where: string;
  /** View column → SQL expression over the source row, for columns the source lacks or names differently. */
  values?: Record<string, string>;
}

export type ObjectFlags = Required<
  Pick<ObjectDef, 'queryable' | 'createable' | 'updateable' | 'deletable' | 'undeletable' | 'retrieveable' | 'replicateable' | 'searchable' | 'triggerable' | 'layoutable' | 'feedEnabled' | 'mergeable'>
>;
