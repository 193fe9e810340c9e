/**
 * sObject Tree (`POST /composite/tree/{Obj}`): creates nested record trees (children under their child
 * relationship name) in one all-or-nothing transaction. Inserts run breadth-first so each parent has its
 * Id before its children are written; the success body lists results in that order (roots first, then by
 * level). Runs synchronously under a shared section of the org write lock once the body is parsed.
 */
import type { Ctx } from '../app.ts';
import { insertRecord, requireObject, type ApiRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { ObjectDef } from '../schema/types.ts';
import { toSaveError, type SaveError } from './save-results.ts';
import { orgWriteLock } from './write-lock.ts';

/** Most records one tree request may hold across all levels. */
export const MAX_TREE_RECORDS = 200;
/** Most distinct object types in one tree request. */
export const MAX_TREE_TYPES = 5;
/** Deepest nesting (roots are level 1). */
export const MAX_TREE_DEPTH = 5;

interface Node {
  record: ApiRecord;
  /** Declared `attributes.type`, validated when the node is inserted. */
  type: string | undefined;
  referenceId: string | undefined;
  depth: number;
  parent: Node | null;
  /** The foreign-key field on this record that points at `parent`. */
  parentField: string | null;
  children: Node[];
  id?: string;
  failed?: boolean;
}

type TreeResult = { referenceId: string | undefined; id: string } | { referenceId: string | undefined; errors: SaveError[] };

function badRequest(message: string, errorCode = 'INVALID_INPUT'): SfError {
  return new SfError(400, errorCode, message);
}

/** Builds the node tree breadth-first, splitting child-relationship collections out of each record body. */
function parseTree(ctx: Ctx, records: unknown[]): Node[] {
  const order: Node[] = [];
  let level: { raw: unknown; parent: Node | null; parentDef: ObjectDef | null; relName: string | null }[] = records.map((raw) => ({ raw, parent: null, parentDef: null, relName: null }));
  const types = new Set<string>();
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > MAX_TREE_DEPTH) throw badRequest(`The request exceeds the maximum depth of ${MAX_TREE_DEPTH} levels.`);
    const next: typeof level = [];
    for (const { raw, parent, parentDef, relName } of level) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SfError(400, 'JSON_PARSER_ERROR', 'Each entry of records must be a JSON object');
      const attrs = ((raw as ApiRecord).attributes ?? {}) as { type?: unknown; referenceId?: unknown };
      const type = typeof attrs.type === 'string' ? attrs.type : undefined;
      const referenceId = typeof attrs.referenceId === 'string' && attrs.referenceId !== '' ? attrs.referenceId : undefined;
      const def = type ? ctx.org.schema.get(type) : undefined;
      if (def) types.add(def.name);
      let parentField: string | null = null;
      if (parent && parentDef && relName) parentField = ctx.org.schema.childRelationship(parentDef.name, relName)!.field;
      const node: Node = { record: {}, type, referenceId, depth, parent, parentField, children: [] };
      for (const [key, value] of Object.entries(raw as ApiRecord)) {
        const rel = def && value && typeof value === 'object' && !Array.isArray(value) ? ctx.org.schema.childRelationship(def.name, key) : undefined;
        if (rel && Array.isArray((value as { records?: unknown }).records)) {
          for (const child of (value as { records: unknown[] }).records) next.push({ raw: child, parent: node, parentDef: def!, relName: rel.relationshipName });
        } else {
          node.record[key] = value;
        }
      }
      if (parent) parent.children.push(node);
      order.push(node);
      if (order.length > MAX_TREE_RECORDS) {
        throw new SfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_TREE_RECORDS} records into this call`);
      }
    }
    level = next;
  }
  if (types.size > MAX_TREE_TYPES) throw badRequest(`The request contains more than ${MAX_TREE_TYPES} different object types.`);
  return order;
}

const ROLLBACK = Symbol('sfbridge.tree.rollback');

/** Inserts every node in breadth-first order; returns results, or only the failures when anything failed. */
function insertTree(ctx: Ctx, rootType: ObjectDef, order: Node[]): { ok: boolean; results: TreeResult[] } {
  const failures: TreeResult[] = [];
  const seenRefs = new Set<string>();
  try {
    ctx.org.store.transaction(() => {
      for (const node of order) {
        // Children of a record that failed have no parent Id; their parent's error already explains them.
        if (node.parent?.failed) {
          node.failed = true;
          continue;
        }
        try {
          if (!node.referenceId) throw new SfError(400, 'INVALID_INPUT', 'Each record must have a referenceId in its attributes');
          if (seenRefs.has(node.referenceId)) throw new SfError(400, 'INVALID_INPUT', `Duplicate ReferenceId provided in the request: ${node.referenceId}`);
          seenRefs.add(node.referenceId);
          if (!node.type) throw new SfError(400, 'INVALID_TYPE', 'Each record must have a type in its attributes');
          const def = ctx.org.schema.get(node.type);
          if (!def) throw new SfError(400, 'INVALID_TYPE', `sObject type '${node.type}' is not supported.`);
          if (!node.parent && def.name !== rootType.name) {
            throw new SfError(400, 'INVALID_TYPE', `The root records must be of type ${rootType.name}, found ${def.name}`);
          }
          if ('Id' in node.record || 'id' in node.record) throw new SfError(400, 'INVALID_FIELD', 'Cannot specify Id in an insert call', ['Id']);
          const body: ApiRecord = {};
          for (const [k, v] of Object.entries(node.record)) if (k !== 'attributes') body[k] = v;
          // The foreign key to the parent is implied by the nesting and always wins over a value in the body.
          if (node.parent && node.parentField) {
            for (const k of Object.keys(body)) if (k.toLowerCase() === node.parentField.toLowerCase()) delete body[k];
            body[node.parentField] = node.parent.id;
          }
          node.id = ctx.org.store.transaction(() => insertRecord(ctx.org, def, body));
        } catch (err) {
          node.failed = true;
          failures.push({ referenceId: node.referenceId, errors: [toSaveError(err)] });
        }
      }
      if (failures.length > 0) throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
    return { ok: false, results: failures };
  }
  return { ok: true, results: order.map((n) => ({ referenceId: n.referenceId, id: n.id! })) };
}

/** Registers `POST /composite/tree/{Obj}`. */
export function registerTreeRoutes(router: Router<Ctx>): void {
  router.on('POST', '/services/data/:version/composite/tree/:object', async (ctx, p) => {
    if (Number(ctx.version) < 42) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const rootType = requireObject(ctx.org, p.object);
    const body = await readJson<{ records?: unknown }>(ctx.req);
    if (body === null || typeof body !== 'object' || !Array.isArray(body.records) || body.records.length === 0) {
      throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must contain a non-empty records array');
    }
    const order = parseTree(ctx, body.records);
    const { ok, results } = await orgWriteLock(ctx.org).shared(() => insertTree(ctx, rootType, order));
    return json({ hasErrors: !ok, results }, ok ? 201 : 400);
  });
}
