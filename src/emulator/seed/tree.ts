/**
 * `--seed tree:PLAN.json`: imports `sf data tree export` output the way `sf data tree import --plan` does.
 * The plan lists steps `{sobject, saveRefs, resolveRefs, files[]}`; record files hold
 * `{records: [{attributes: {type, referenceId}, ...fields}]}`, and `@RefName` values are replaced with the
 * Ids of records saved by earlier steps. Records go through DML, so field names are case-insensitive,
 * unrestricted picklists take any value and invalid data fails as it would on a real org.
 * `tree:Accounts.json` (a record file instead of a plan) imports that one file, like `--files`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { insertRecord, type ApiRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import type { Org } from '../org.ts';
import type { ObjectDef } from '../schema/types.ts';

interface PlanStep {
  sobject: string;
  saveRefs: boolean;
  resolveRefs: boolean;
  files: string[];
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`--seed tree: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path (record files are resolved relative to the plan)`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`--seed tree: ${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function asPlan(data: unknown, path: string): PlanStep[] {
  if (!Array.isArray(data)) throw new Error(`--seed tree: plan ${path} must be a JSON array of steps like {"sobject": "Account", "saveRefs": true, "resolveRefs": false, "files": ["Accounts.json"]}`);
  return data.map((s: unknown, i) => {
    const step = s as Partial<PlanStep> | null;
    if (!step || typeof step.sobject !== 'string' || !Array.isArray(step.files) || step.files.some((f) => typeof f !== 'string')) {
      throw new Error(`--seed tree: plan ${path} step ${i + 1} needs "sobject" (a name) and "files" (a list of record files)`);
    }
    return { sobject: step.sobject, saveRefs: step.saveRefs ?? true, resolveRefs: step.resolveRefs ?? true, files: step.files };
  });
}

function recordsOf(data: unknown, path: string): ApiRecord[] {
  const records = (data as { records?: unknown } | null)?.records;
  if (!Array.isArray(records)) throw new Error(`--seed tree: ${path} must look like {"records": [{"attributes": {"type": "Account", "referenceId": "AccountRef1"}, "Name": "..."}]}`);
  return records as ApiRecord[];
}

/** Imports a plan (or one record file) into the org and returns the number of records created per object. */
export async function importTree(org: Org, planPath: string): Promise<Record<string, number>> {
  const path = resolve(planPath);
  const data = await readJsonFile(path, 'plan');
  const steps: PlanStep[] = Array.isArray(data)
    ? asPlan(data, path)
    : [{ sobject: String((recordsOf(data, path)[0]?.attributes as { type?: unknown } | undefined)?.type ?? ''), saveRefs: true, resolveRefs: true, files: [path] }];
  // Read and check every file first, then import in one transaction: a bad record leaves the org untouched.
  const loaded: { step: PlanStep; def: ObjectDef; file: string; records: ApiRecord[] }[] = [];
  for (const step of steps) {
    const def = org.schema.get(step.sobject);
    if (!def) throw new Error(`--seed tree: plan ${path} names sobject "${step.sobject}", which this org does not have; add it with --schema or fix the plan`);
    for (const file of step.files) {
      const filePath = resolve(dirname(path), file);
      const records = !Array.isArray(data) ? recordsOf(data, filePath) : recordsOf(await readJsonFile(filePath, 'record file'), filePath);
      loaded.push({ step, def, file, records });
    }
  }
  const refs = new Map<string, string>();
  const counts: Record<string, number> = {};
  // Seed data is not subject to injected faults: a lockrow or commit-delay setting must not make startup flaky.
  const saved = { ...org.faults.settings };
  org.faults.settings = { ...saved, lockrow: 0, commitDelay: 0 };
  try {
    org.store.transaction(() => {
      for (const { step, def, file, records } of loaded) {
        records.forEach((rec, i) => {
          const attrs = (rec.attributes ?? {}) as { type?: string; referenceId?: string };
          const label = `${file} record ${i + 1}${attrs.referenceId ? ` (${attrs.referenceId})` : ''}`;
          if (attrs.type && attrs.type.toLowerCase() !== def.name.toLowerCase()) {
            throw new Error(`--seed tree: ${label} has type ${attrs.type} but the plan step is for ${def.name}; put it in a ${attrs.type} step`);
          }
          const fields: ApiRecord = {};
          for (const [k, v] of Object.entries(rec)) {
            if (k === 'attributes') continue;
            if (step.resolveRefs && typeof v === 'string' && v.startsWith('@')) {
              const id = refs.get(v.slice(1).toLowerCase());
              if (!id) throw new Error(`--seed tree: ${label} field ${k} refers to ${v}, but no earlier step saved a record with referenceId ${v.slice(1)}; import that record first (with saveRefs: true) or fix the reference`);
              fields[k] = id;
            } else fields[k] = v;
          }
          let id: string;
          try {
            id = insertRecord(org, def, fields);
          } catch (err) {
            if (err instanceof SfError) throw new Error(`--seed tree: ${label}: ${err.errorCode}: ${err.message}`);
            throw err;
          }
          if (step.saveRefs && attrs.referenceId) refs.set(attrs.referenceId.toLowerCase(), id);
          counts[def.name] = (counts[def.name] ?? 0) + 1;
        });
      }
    });
  } finally {
    org.faults.settings = saved;
  }
  return counts;
}
