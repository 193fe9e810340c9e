/**
 * Turns stored rows into REST record JSON: `attributes` first, fields in describe order, compound address
 * and location objects assembled from their components, formula fields evaluated.
 */
import type { Org } from './org.ts';
import type { FieldDef, ObjectDef } from './schema/types.ts';
import type { StoredRow } from './store/org-store.ts';
import { fromStorage, isStored } from './store/values.ts';
import { evaluateFormula } from './schema/formula.ts';

export function recordUrl(org: Org, def: ObjectDef, id: string, version = org.apiVersion): string {
  return `/services/data/v${version}/sobjects/${def.name}/${id}`;
}

/** The value of any readable field of a row (stored, compound or formula). */
export function fieldValue(def: ObjectDef, f: FieldDef, row: StoredRow): unknown {
  if (f.type === 'address') return compoundAddress(def, f, row);
  if (f.type === 'location') return compoundLocation(def, f, row);
  if (isStored(f)) return fromStorage(f, row[f.name]);
  if (f.formula) {
    return evaluateFormula(f.formula, (name) => {
      const c = def.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
      return c ? row[c.name] : null;
    });
  }
  return null;
}

function compoundAddress(def: ObjectDef, f: FieldDef, row: StoredRow): unknown {
  const prefix = f.name.replace(/Address$/, '');
  const parts = {
    city: row[`${prefix}City`] ?? null,
    country: row[`${prefix}Country`] ?? null,
    geocodeAccuracy: row[`${prefix}GeocodeAccuracy`] ?? null,
    latitude: row[`${prefix}Latitude`] ?? null,
    longitude: row[`${prefix}Longitude`] ?? null,
    postalCode: row[`${prefix}PostalCode`] ?? null,
    state: row[`${prefix}State`] ?? null,
    street: row[`${prefix}Street`] ?? null,
  };
  return Object.values(parts).every((v) => v === null) ? null : parts;
}

function compoundLocation(def: ObjectDef, f: FieldDef, row: StoredRow): unknown {
  const comps = def.fields.filter((c) => c.compoundFieldName === f.name);
  const lat = comps.find((c) => /Latitude/.test(c.name));
  const lon = comps.find((c) => /Longitude/.test(c.name));
  const latitude = lat ? (row[lat.name] ?? null) : null;
  const longitude = lon ? (row[lon.name] ?? null) : null;
  return latitude === null && longitude === null ? null : { latitude, longitude };
}

/** Full REST record (sObject Rows GET): every readable field, nulls included. */
export function toApiRecord(org: Org, def: ObjectDef, row: StoredRow, fields?: FieldDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: def.name, url: recordUrl(org, def, String(row.Id)) } };
  for (const f of fields ?? def.fields) {
    if (f.hidden) continue;
    // Blob fields answer with the URL of their content (`…/ContentVersion/068…/VersionData`), as on Salesforce.
    out[f.name] = f.type === 'base64' ? (row[f.name] == null ? null : `${recordUrl(org, def, String(row.Id))}/${f.name}`) : fieldValue(def, f, row);
  }
  return out;
}
