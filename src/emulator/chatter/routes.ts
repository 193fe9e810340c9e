/**
 * Chatter REST basics under `/services/data/vXX.X/chatter`: feed elements (post, get, delete), comments
 * (`/feed-elements/{id}/capabilities/comments/items`), likes (`…/capabilities/chatter-likes/items`,
 * `/likes/{id}`), `/users/me` and `/users/{id}`, and a record's feed (`/feeds/record/{id}/feed-elements`).
 * Posts are FeedItem records and comments FeedComment records (written through dml.ts), so what Chatter
 * posts, the sObject API, SOQL (`CaseFeed` …) and the sync's Case feeds all read the same data.
 */
import type { Ctx } from '../app.ts';
import { orgWriteLock } from '../composite/write-lock.ts';
import { deleteRecord, insertRecord, requireLiveRow } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json, noContent, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { isValidId, makeId, normaliseId } from '../ids.ts';
import type { StoredRow } from '../store/org-store.ts';
import { bodyFromSegments, bodyRepresentation } from './segments.ts';

const C = '/services/data/:version/chatter';
const PAGE_SIZE = 25;

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();
const base = (ctx: Ctx) => `/services/data/v${ctx.version}/chatter`;
const def = (ctx: Ctx, name: string) => ctx.org.schema.get(name)!;

function likesTable(ctx: Ctx): void {
  ctx.org.store.db.exec('CREATE TABLE IF NOT EXISTS _chatter_like (id TEXT PRIMARY KEY, item_id TEXT NOT NULL, user_id TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE (item_id, user_id))');
}

function userRow(ctx: Ctx, id: string): StoredRow {
  const row = ctx.org.store.getRow(def(ctx, 'User'), id);
  if (!row) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return row;
}

/** The User Summary representation. */
function userSummary(ctx: Ctx, id: string) {
  const u = userRow(ctx, id);
  const photoBase = `${ctx.baseUrl}/profilephoto/005/`;
  return {
    additionalLabel: null, communityNickname: u.CommunityNickname ?? u.Alias, companyName: u.CompanyName ?? null, displayName: u.Name, firstName: u.FirstName ?? null,
    id: u.Id, isActive: u.IsActive === 1, isInThisCommunity: true, lastName: u.LastName, motif: { color: '1797C0', largeIconUrl: '/img/icon/profile64.png', mediumIconUrl: '/img/icon/profile32.png', smallIconUrl: '/img/icon/profile16.png', svgIconUrl: null },
    mySubscription: null, name: u.Name, outOfOffice: { message: '' },
    photo: { fullEmailPhotoUrl: `${photoBase}F`, largePhotoUrl: `${photoBase}F`, mediumPhotoUrl: `${photoBase}M`, photoVersionId: null, smallPhotoUrl: `${photoBase}T`, standardEmailPhotoUrl: `${photoBase}T`, url: `${base(ctx)}/users/${u.Id}/photo` },
    reputation: null, title: u.Title ?? null, type: 'User', url: `${base(ctx)}/users/${u.Id}`, userType: 'Internal',
  };
}

/** The parent of a post: a record summary (id, name, type, url). */
function recordSummary(ctx: Ctx, id: string) {
  const d = ctx.org.schema.objectForId(id);
  if (d?.name === 'User') return userSummary(ctx, id);
  const row = d ? ctx.org.store.getRow(d, id) : undefined;
  const nameField = d?.fields.find((f) => f.nameField && !f.hidden)?.name;
  return { id, motif: { color: '54698D', largeIconUrl: null, mediumIconUrl: null, smallIconUrl: null, svgIconUrl: null }, mySubscription: null, name: nameField && row ? (row[nameField] ?? null) : null, type: d?.name ?? null, url: `/services/data/v${ctx.version}/sobjects/${d?.name}/${id}` };
}

function likePage(ctx: Ctx, itemId: string) {
  likesTable(ctx);
  const rows = ctx.org.store.prepare('SELECT id, user_id FROM _chatter_like WHERE item_id = ? ORDER BY created, id').all(itemId);
  const type = ctx.org.schema.objectForId(itemId)?.name === 'FeedComment' ? 'Comment' : 'FeedItem';
  const url = type === 'Comment' ? `${base(ctx)}/comments/${itemId}/likes` : `${base(ctx)}/feed-elements/${itemId}/capabilities/chatter-likes/items`;
  return {
    currentPageToken: null, currentPageUrl: url, items: rows.map((r) => likeRep(ctx, String(r.id), itemId, String(r.user_id))), nextPageToken: null, nextPageUrl: null, previousPageToken: null, previousPageUrl: null, total: rows.length,
  };
}

function likeRep(ctx: Ctx, id: string, itemId: string, userId: string) {
  const type = ctx.org.schema.objectForId(itemId)?.name === 'FeedComment' ? 'Comment' : 'FeedItem';
  return { id, likedItem: { id: itemId, type, url: type === 'Comment' ? `${base(ctx)}/comments/${itemId}` : `${base(ctx)}/feed-elements/${itemId}` }, url: `${base(ctx)}/likes/${id}`, user: userSummary(ctx, userId) };
}

function myLike(ctx: Ctx, itemId: string) {
  likesTable(ctx);
  const row = ctx.org.store.prepare('SELECT id FROM _chatter_like WHERE item_id = ? AND user_id = ?').get(itemId, ctx.session!.userId);
  return row ? { id: String(row.id), url: `${base(ctx)}/likes/${row.id}` } : null;
}

function commentRep(ctx: Ctx, c: StoredRow) {
  const id = String(c.Id);
  const like = myLike(ctx, id);
  return {
    body: bodyRepresentation(c.CommentBody as string | null, c.IsRichText === 1), capabilities: {}, clientInfo: null, createdDate: iso(c.CreatedDate),
    feedElement: { id: String(c.FeedItemId), url: `${base(ctx)}/feed-elements/${c.FeedItemId}` }, id, isDeleteRestricted: false,
    likes: likePage(ctx, id), likesMessage: null, moderationFlags: null, myLike: like, parent: recordSummary(ctx, String(c.ParentId)),
    relativeCreatedDate: null, type: c.CommentType === 'ContentComment' ? 'ContentComment' : 'TextComment', url: `${base(ctx)}/comments/${id}`, user: userSummary(ctx, String(c.InsertedById ?? c.CreatedById)),
  };
}

function commentPage(ctx: Ctx, itemId: string, pageSize = PAGE_SIZE) {
  const rows = ctx.org.store.prepare('SELECT * FROM "FeedComment" WHERE FeedItemId = ? AND IsDeleted = 0 ORDER BY CreatedDate, Id').all(itemId) as StoredRow[];
  return {
    comments: rows.slice(0, pageSize).map((c) => commentRep(ctx, c)), currentPageToken: null, currentPageUrl: `${base(ctx)}/feed-elements/${itemId}/capabilities/comments/items`,
    nextPageToken: null, nextPageUrl: null, total: rows.length,
  };
}

/** The Feed Item representation. */
function feedItemRep(ctx: Ctx, f: StoredRow) {
  const id = String(f.Id);
  const like = myLike(ctx, id);
  return {
    actor: userSummary(ctx, String(f.InsertedById ?? f.CreatedById)), body: bodyRepresentation(f.Body as string | null, f.IsRichText === 1),
    capabilities: {
      chatterLikes: { isLikedByCurrentUser: like !== null, likesMessage: null, myLike: like, page: likePage(ctx, id) },
      comments: { page: commentPage(ctx, id, 3) },
    },
    createdDate: iso(f.CreatedDate), feedElementType: 'FeedItem', header: { isRichText: null, messageSegments: [], text: null }, id, isSharable: false,
    modifiedDate: iso(f.LastModifiedDate), parent: recordSummary(ctx, String(f.ParentId)), relativeCreatedDate: null, type: f.Type ?? 'TextPost',
    url: `${base(ctx)}/feed-elements/${id}`, visibility: f.Visibility ?? 'InternalUsers',
  };
}

function requireFeedItem(ctx: Ctx, id: string): StoredRow {
  if (!isValidId(id) || ctx.org.schema.objectForId(normaliseId(id))?.name !== 'FeedItem') throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const row = ctx.org.store.getRow(def(ctx, 'FeedItem'), normaliseId(id));
  // A deleted post is gone for Chatter (no recycle-bin error as on the sObject API).
  if (!row || row.IsDeleted === 1) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return row;
}

const meOr = (ctx: Ctx, id: string) => (id === 'me' ? ctx.session!.userId : id);
const mention = (ctx: Ctx) => (id: string) => String(userRow(ctx, normaliseId(id)).Name);

async function readBody(ctx: Ctx): Promise<Record<string, unknown>> {
  const body = await readJson<Record<string, unknown>>(ctx.req);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  return body;
}

/** Bumps a FeedItem's read-only counters, as the platform does when comments and likes come and go. */
function recount(ctx: Ctx, itemId: string): void {
  likesTable(ctx);
  const comments = Number(ctx.org.store.prepare('SELECT COUNT(*) AS n FROM "FeedComment" WHERE FeedItemId = ? AND IsDeleted = 0').get(itemId)?.n ?? 0);
  const likes = Number(ctx.org.store.prepare('SELECT COUNT(*) AS n FROM _chatter_like WHERE item_id = ?').get(itemId)?.n ?? 0);
  ctx.org.store.updateRow(def(ctx, 'FeedItem'), itemId, { CommentCount: comments, LikeCount: likes });
}

function feedPage(ctx: Ctx, parentId: string) {
  const rows = ctx.org.store.prepare('SELECT * FROM "FeedItem" WHERE ParentId = ? AND IsDeleted = 0 AND _visible_at <= ? ORDER BY CreatedDate DESC, Id DESC').all(parentId, ctx.org.clock.now()) as StoredRow[];
  const size = Math.min(Number(ctx.url.searchParams.get('pageSize') ?? PAGE_SIZE) || PAGE_SIZE, 100);
  const url = `${base(ctx)}/feeds/record/${parentId}/feed-elements`;
  return { currentPageToken: null, currentPageUrl: url, elements: rows.slice(0, size).map((f) => feedItemRep(ctx, f)), isModifiedToken: null, isModifiedUrl: null, nextPageToken: null, nextPageUrl: null, updatesToken: null, updatesUrl: null };
}

export function registerChatterRoutes(router: Router<Ctx>): void {
  router.on('GET', `${C}`, (ctx) => json({ feeds: `${base(ctx)}/feeds`, groups: `${base(ctx)}/groups`, users: `${base(ctx)}/users` }));
  router.on('POST', `${C}/feed-elements`, async (ctx) => {
    const b = await readBody(ctx);
    if ((b.feedElementType ?? 'FeedItem') !== 'FeedItem') throw new SfError(400, 'INVALID_API_INPUT', `Unsupported feedElementType: ${String(b.feedElementType)}; use FeedItem`);
    if (typeof b.subjectId !== 'string' || !b.subjectId) throw new SfError(400, 'INVALID_API_INPUT', 'subjectId is required: the record (or "me") the post is on');
    const parent = meOr(ctx, b.subjectId);
    const { body, rich } = bodyFromSegments((b.body as { messageSegments?: unknown } | undefined)?.messageSegments, mention(ctx));
    const id = await orgWriteLock(ctx.org).shared(() => {
      const newId = insertRecord(ctx.org, def(ctx, 'FeedItem'), { ParentId: parent, Body: body, IsRichText: rich, Type: 'TextPost' });
      ctx.org.store.updateRow(def(ctx, 'FeedItem'), newId, { InsertedById: ctx.session!.userId, CommentCount: 0, LikeCount: 0 });
      return newId;
    });
    return json(feedItemRep(ctx, ctx.org.store.getRow(def(ctx, 'FeedItem'), id)!), 201);
  });
  router.on('GET', `${C}/feed-elements/:id`, (ctx, p) => json(feedItemRep(ctx, requireFeedItem(ctx, p.id))));
  router.on('DELETE', `${C}/feed-elements/:id`, async (ctx, p) => {
    const f = requireFeedItem(ctx, p.id);
    await orgWriteLock(ctx.org).shared(() => deleteRecord(ctx.org, def(ctx, 'FeedItem'), String(f.Id)));
    return noContent();
  });
  router.on('GET', `${C}/feed-elements/:id/capabilities/comments/items`, (ctx, p) => json(commentPage(ctx, String(requireFeedItem(ctx, p.id).Id))));
  router.on('POST', `${C}/feed-elements/:id/capabilities/comments/items`, async (ctx, p) => {
    const f = requireFeedItem(ctx, p.id);
    const b = await readBody(ctx);
    const { body, rich } = bodyFromSegments((b.body as { messageSegments?: unknown } | undefined)?.messageSegments, mention(ctx));
    const id = await orgWriteLock(ctx.org).shared(() => {
      const newId = insertRecord(ctx.org, def(ctx, 'FeedComment'), { FeedItemId: String(f.Id), CommentBody: body, IsRichText: rich });
      ctx.org.store.updateRow(def(ctx, 'FeedComment'), newId, { ParentId: f.ParentId, InsertedById: ctx.session!.userId });
      recount(ctx, String(f.Id));
      return newId;
    });
    return json(commentRep(ctx, ctx.org.store.getRow(def(ctx, 'FeedComment'), id)!), 201);
  });
  router.on('GET', `${C}/comments/:id`, (ctx, p) => {
    if (!isValidId(p.id) || ctx.org.schema.objectForId(normaliseId(p.id))?.name !== 'FeedComment') throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return json(commentRep(ctx, requireLiveRow(ctx.org, def(ctx, 'FeedComment'), p.id)));
  });
  router.on('DELETE', `${C}/comments/:id`, async (ctx, p) => {
    if (!isValidId(p.id) || ctx.org.schema.objectForId(normaliseId(p.id))?.name !== 'FeedComment') throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const c = requireLiveRow(ctx.org, def(ctx, 'FeedComment'), p.id);
    await orgWriteLock(ctx.org).shared(() => {
      deleteRecord(ctx.org, def(ctx, 'FeedComment'), String(c.Id));
      recount(ctx, String(c.FeedItemId));
    });
    return noContent();
  });
  router.on('GET', `${C}/feed-elements/:id/capabilities/chatter-likes/items`, (ctx, p) => json(likePage(ctx, String(requireFeedItem(ctx, p.id).Id))));
  router.on('POST', `${C}/feed-elements/:id/capabilities/chatter-likes/items`, async (ctx, p) => {
    const f = requireFeedItem(ctx, p.id);
    likesTable(ctx);
    const existing = myLike(ctx, String(f.Id));
    if (existing) return json(likeRep(ctx, existing.id, String(f.Id), ctx.session!.userId), 201);
    const id = makeId('0I0', ctx.org.store.nextSequence('0I0'));
    await orgWriteLock(ctx.org).shared(() => {
      ctx.org.store.prepare('INSERT INTO _chatter_like (id, item_id, user_id, created) VALUES (?, ?, ?, ?)').run(id, String(f.Id), ctx.session!.userId, ctx.org.clock.now());
      recount(ctx, String(f.Id));
    });
    return json(likeRep(ctx, id, String(f.Id), ctx.session!.userId), 201);
  });
  router.on('GET', `${C}/likes/:id`, (ctx, p) => {
    likesTable(ctx);
    const row = ctx.org.store.prepare('SELECT id, item_id, user_id FROM _chatter_like WHERE id = ?').get(p.id);
    if (!row) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return json(likeRep(ctx, String(row.id), String(row.item_id), String(row.user_id)));
  });
  router.on('DELETE', `${C}/likes/:id`, async (ctx, p) => {
    likesTable(ctx);
    const row = ctx.org.store.prepare('SELECT id, item_id FROM _chatter_like WHERE id = ?').get(p.id);
    if (!row) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    await orgWriteLock(ctx.org).shared(() => {
      ctx.org.store.prepare('DELETE FROM _chatter_like WHERE id = ?').run(p.id);
      recount(ctx, String(row.item_id));
    });
    return noContent();
  });
  router.on('GET', `${C}/users/:id`, (ctx, p) => {
    const id = meOr(ctx, p.id);
    if (!isValidId(id) || ctx.org.schema.objectForId(normaliseId(id))?.name !== 'User') throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const u = userRow(ctx, normaliseId(id));
    return json({
      ...userSummary(ctx, String(u.Id)), aboutMe: u.AboutMe ?? null, address: { city: u.City ?? null, country: u.Country ?? null, formattedAddress: null, state: u.State ?? null, street: u.Street ?? null, zip: u.PostalCode ?? null },
      bannerPhoto: null, chatterActivity: { commentCount: 0, commentReceivedCount: 0, likeReceivedCount: 0, postCount: 0 }, chatterInfluence: { percentile: '0', rank: 1 },
      email: u.Email, followersCount: 0, followingCounts: { people: 0, records: 0, total: 0 }, groupCount: 0, hasChatter: true, isChatterGuest: false, managerId: u.ManagerId ?? null,
      managerName: null, phoneNumbers: u.Phone ? [{ label: 'Work', phoneNumber: u.Phone, phoneType: 'Work' }] : [], thanksReceived: null, username: u.Username,
    });
  });
  router.on('GET', `${C}/feeds/record/:recordId/feed-elements`, (ctx, p) => {
    const id = meOr(ctx, p.recordId);
    const d = isValidId(id) ? ctx.org.schema.objectForId(normaliseId(id)) : undefined;
    if (!d || !(d.feedEnabled ?? false)) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    requireLiveRow(ctx.org, d, id);
    return json(feedPage(ctx, normaliseId(id)));
  });
}
