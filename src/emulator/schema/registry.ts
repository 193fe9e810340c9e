/**
 * The set of sObjects an emulated org has, with case-insensitive lookup of objects and fields and the
 * derived child relationships. Built once at start from the standard definitions plus a user schema file.
 */
import type { FieldDef, ObjectDef } from './types.ts';

export interface ChildRelationship {
  childSObject: string;
  field: string;
  relationshipName: string | null;
  cascadeDelete: boolean;
}

export class SchemaRegistry {
  readonly #objects = new Map<string, ObjectDef>();
  readonly #fields = new Map<string, Map<string, FieldDef>>();
  readonly #byPrefix = new Map<string, ObjectDef>();
  #children: Map<string, ChildRelationship[]> | null = null;

  constructor(objects: Iterable<ObjectDef> = []) {
    for (const o of objects) this.add(o);
  }

  add(def: ObjectDef): void {
    const key = def.name.toLowerCase();
    const existing = this.#objects.get(key);
    if (existing) {
      // A user schema may add fields to a standard object: merge, later definitions win per field.
      const byName = new Map(existing.fields.map((f) => [f.name.toLowerCase(), f]));
      for (const f of def.fields) byName.set(f.name.toLowerCase(), f);
      // Object-level properties stay the standard object's (a schema file that only adds fields carries no
      // key prefix or labels of its own).
      const outbound = [...(existing.outboundMessages ?? []), ...(def.outboundMessages ?? [])];
      def = { ...existing, fields: [...byName.values()], ...(outbound.length ? { outboundMessages: outbound } : {}) };
    }
    this.#objects.set(key, def);
    this.#fields.set(key, new Map(def.fields.map((f) => [f.name.toLowerCase(), f])));
    if (def.keyPrefix) this.#byPrefix.set(def.keyPrefix, def);
    this.#children = null;
  }

  /** Looks an object up by any casing. */
  get(name: string): ObjectDef | undefined {
    return this.#objects.get(name.toLowerCase());
  }

  field(objectName: string, fieldName: string): FieldDef | undefined {
    return this.#fields.get(objectName.toLowerCase())?.get(fieldName.toLowerCase());
  }

  byKeyPrefix(prefix: string): ObjectDef | undefined {
    return this.#byPrefix.get(prefix);
  }

  /** The object an ID belongs to, from its key prefix. */
  objectForId(id: string): ObjectDef | undefined {
    return this.#byPrefix.get(id.slice(0, 3));
  }

  /**
   * True when an Id can be a record of `def`: its key prefix is the object's, or (for a view such as
   * CaseFeed, which has no prefix of its own) the prefix of an object the view reads.
   */
  ownsId(def: ObjectDef, id: string): boolean {
    const owner = this.objectForId(id)?.name;
    return owner === def.name || (def.view?.some((v) => v.from === owner) ?? false);
  }

  all(): ObjectDef[] {
    return [...this.#objects.values()];
  }

  /** Finds the parent-side field for a relationship name (`Account` → AccountId, `Parent__r` → Parent__c). */
  relationship(objectName: string, relationshipName: string): FieldDef | undefined {
    const rel = relationshipName.toLowerCase();
    return this.get(objectName)?.fields.find((f) => f.relationshipName?.toLowerCase() === rel);
  }

  /** Child relationships of an object, derived from every reference field that names it. */
  childRelationships(objectName: string): ChildRelationship[] {
    if (!this.#children) {
      const map = new Map<string, ChildRelationship[]>();
      for (const child of this.#objects.values()) {
        // Change events and other non-queryable shadows are not children anyone can subquery or cascade to.
        if (child.queryable === false) continue;
        for (const f of child.fields) {
          if (f.hidden) continue;
          if (f.type !== 'reference' || !f.referenceTo) continue;
          for (const parent of f.referenceTo) {
            const key = parent.toLowerCase();
            if (!map.has(key)) map.set(key, []);
            // One relationship name per parent: a second field of the same child under the same name (the
            // WhatId of ActivityHistory after its AccountId) is not another relationship.
            const name = f.childRelationshipName;
            if (name && map.get(key)!.some((c) => c.childSObject === child.name && c.relationshipName === name)) continue;
            map.get(key)!.push({
              childSObject: child.name,
              field: f.name,
              relationshipName: f.childRelationshipName ?? null,
              cascadeDelete: f.cascadeDelete ?? false,
            });
          }
        }
      }
      this.#children = map;
    }
    return this.#children.get(objectName.toLowerCase()) ?? [];
  }

  /** Finds a child relationship by its name on a parent (`Contacts` on Account). */
  childRelationship(parentName: string, relationshipName: string): ChildRelationship | undefined {
    const rel = relationshipName.toLowerCase();
    return this.childRelationships(parentName).find((c) => c.relationshipName?.toLowerCase() === rel);
  }
}
