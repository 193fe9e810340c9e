/**
 * `/recent` (the user's most recently viewed records, newest first, from LastViewedDate), `/tabs` (a tab per
 * object with a UI) and `/theme` (each tab's colours and icons, on Salesforce's static icon paths).
 * Viewing a record through `GET /sobjects/{X}/{id}` marks it viewed, unless the request sends
 * `Sforce-Mru: updateMru=false`.
 */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { ObjectDef } from '../schema/types.ts';
import { q } from '../store/org-store.ts';
import { isUiObject } from './ui-metadata.ts';

const V = '/services/data/:version';

/** Tab colours of the standard objects (Salesforce's Lightning palette). */
const COLORS: Record<string, string> = { Account: '7F8DE1', Contact: 'A094ED', Lead: 'F88962', Opportunity: 'FCB95B', Case: 'F2CF5B', Campaign: 'F49756', Task: '4BC076', Event: 'EB7092', User: '65CAE4', ContentDocument: '969492' };

/** Marks a record viewed by the current user (LastViewedDate, LastReferencedDate), as a UI view does. */
export function markViewed(ctx: Ctx, def: ObjectDef, id: string): void {
  if (/updateMru\s*=\s*false/i.test(ctx.req.headers.get('sforce-mru') ?? '')) return;
  const cols = ['LastViewedDate', 'LastReferencedDate'].filter((c) => def.fields.some((f) => f.name === c));
  if (cols.length === 0) return;
  const now = ctx.org.clock.now();
  // Not a data change: SystemModstamp and LastModifiedDate stay as they are.
  ctx.org.store.prepare(`UPDATE ${q(def.name)} SET ${cols.map((c) => `${q(c)} = ?`).join(', ')} WHERE Id = ?`).run(...cols.map(() => now), id);
}

function tabObjects(ctx: Ctx): ObjectDef[] {
  return ctx.org.schema.all().filter((d) => isUiObject(d) && d.searchable !== false && d.createable !== false).sort((a, b) => a.label.localeCompare(b.label));
}

function icons(ctx: Ctx, def: ObjectDef) {
  const slug = def.custom ? 'custom/custom1' : `standard/${def.name.toLowerCase()}`;
  return [
    { contentType: 'image/png', height: 32, theme: 'theme3', url: `${ctx.baseUrl}/img/icon/t4v35/${slug}_32.png`, width: 32 },
    { contentType: 'image/png', height: 16, theme: 'theme3', url: `${ctx.baseUrl}/img/icon/t4v35/${slug}_16.png`, width: 16 },
    { contentType: 'image/svg+xml', height: 0, theme: 'theme4', url: `${ctx.baseUrl}/img/icon/t4v35/${slug}.svg`, width: 0 },
    { contentType: 'image/png', height: 60, theme: 'theme4', url: `${ctx.baseUrl}/img/icon/t4v35/${slug}_60.png`, width: 60 },
    { contentType: 'image/png', height: 120, theme: 'theme4', url: `${ctx.baseUrl}/img/icon/t4v35/${slug}_120.png`, width: 120 },
  ];
}

const colors = (def: ObjectDef) => {
  const c = COLORS[def.name] ?? '54698D';
  return [{ color: c, context: 'primary', theme: 'theme4' }, { color: c, context: 'primary', theme: 'theme3' }];
};

export function registerUiRoutes(router: Router<Ctx>): void {
  router.on('GET', `${V}/recent`, (ctx) => {
    const raw = ctx.url.searchParams.get('limit');
    const limit = raw === null ? 200 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new SfError(400, 'INVALID_PARAMETER_VALUE', `limit must be between 1 and 200: ${raw}`);
    const rows: { def: ObjectDef; id: string; name: unknown; at: number }[] = [];
    for (const def of ctx.org.schema.all()) {
      if (!isUiObject(def) || !def.fields.some((f) => f.name === 'LastViewedDate')) continue;
      const name = def.fields.find((f) => f.nameField && !f.hidden)?.name;
      const sql = `SELECT Id, ${name ? q(name) : 'NULL'} AS n, LastViewedDate AS at FROM ${q(def.name)} WHERE LastViewedDate IS NOT NULL AND IsDeleted = 0 ORDER BY LastViewedDate DESC LIMIT ?`;
      for (const r of ctx.org.store.prepare(sql).all(limit)) rows.push({ def, id: String(r.Id), name: r.n, at: Number(r.at) });
    }
    rows.sort((a, b) => b.at - a.at || (a.id < b.id ? -1 : 1));
    return json(rows.slice(0, limit).map((r) => {
      const name = r.def.fields.find((f) => f.nameField && !f.hidden)?.name;
      return { attributes: { type: r.def.name, url: `/services/data/v${ctx.version}/sobjects/${r.def.name}/${r.id}` }, Id: r.id, ...(name ? { [name]: r.name ?? null } : {}) };
    }));
  });
  router.on('GET', `${V}/tabs`, (ctx) => json(tabObjects(ctx).map((def) => {
    const ic = icons(ctx, def);
    return { colors: colors(def), custom: def.custom ?? false, iconUrl: ic[0].url, icons: ic, label: def.labelPlural, miniIconUrl: ic[1].url, name: `standard-${def.name}`, sobjectName: def.name, url: `${ctx.baseUrl}/lightning/o/${def.name}/home` };
  })));
  router.on('GET', `${V}/theme`, (ctx) => json({ themeItems: tabObjects(ctx).map((def) => ({ colors: colors(def), icons: icons(ctx, def), name: def.name })) }));
}
