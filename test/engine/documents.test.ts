/**
 * Search documents against the in-process emulator with the demo seed plus examples/schema.yaml: per-type
 * fields, Case comments/feed/emails, file metadata, Bulk CSV records, URI-sized chunking with 3000 Ids,
 * custom-object categories, the JSONL sink, and documents searchable in a SQLite store (deletes included).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SalesforceClient, type DescribeSObjectResult } from '../../src/client/index.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { loadSchemaFile } from '../../src/emulator/schema/custom.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import {
  CASE_COMMENTS,
  CASE_EMAILS,
  CASE_FEED,
  chunkedInQueries,
  createDocumentBuilder,
  encodedLength,
  FEED_COMMENTS,
  FILE_LINKS,
  indexRecords,
  MAX_QUERY_PARAM_BYTES,
  MAX_RELATED_TEXT_CHARS,
  MAX_URI_BYTES,
  removeDocuments,
  type DocumentBuilder,
} from '../../src/engine/documents/index.ts';
import { openSink, parseSinkConfig, type Sink, type SinkMessage } from '../../src/engine/sinks/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { SearchDocument } from '../../src/store/types.ts';

const BASE = 'https://acme.my.salesforce.com';
type Rec = Record<string, unknown>;

let emu: Emulator;
/** URLs of every request the client sent (reset per test where counted). */
let requests: string[] = [];
/** When set, answers instead of the emulator (fault injection). */
let intercept: ((url: URL) => Response | undefined) | undefined;
let sf: SalesforceClient;

function client(): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: async (input, init) => {
      const req = new Request(input, init);
      requests.push(req.url);
      return intercept?.(new URL(req.url)) ?? emu.fetch(req);
    },
  });
}

/** Every queryable scalar field plus the builder's relationship paths, as the engine would select them. */
async function fetchRecords(builder: DocumentBuilder, object: string, where = '', limit = 2000): Promise<Rec[]> {
  const d: DescribeSObjectResult = await sf.describe(object);
  const fields = d.fields.filter((f) => !['address', 'location', 'base64'].includes(f.type)).map((f) => f.name);
  const soql = `SELECT ${[...fields, ...builder.queryFields(object, d)].join(', ')} FROM ${object} ${where} ORDER BY Id LIMIT ${limit}`;
  return sf.query<Rec>(soql).toArray();
}

const queryUrls = () => requests.filter((u) => new URL(u).searchParams.has('q'));
const soqlOf = (u: string) => new URL(u).searchParams.get('q')!;

before(async () => {
  emu = createEmulator({ objects: await loadSchemaFile(join(import.meta.dirname, '../../examples/schema.yaml')) });
  await seedOrg(emu.org, 'demo');
  sf = client();
});
after(() => emu.close());

describe('document builder: queryFields', () => {
  it('adds Owner/CreatedBy/LastModifiedBy names and per-object parents, only where describe has the relationship', async () => {
    const b = createDocumentBuilder(sf);
    assert.deepEqual(b.queryFields('Case', await sf.describe('Case')), ['Owner.Name', 'CreatedBy.Name', 'LastModifiedBy.Name', 'Account.Name', 'Contact.Name']);
    assert.deepEqual(b.queryFields('Lead', await sf.describe('Lead')), ['Owner.Name', 'CreatedBy.Name', 'LastModifiedBy.Name']);
    // Invoice__c has no owner field in examples/schema.yaml? Whatever it has, every path must be a real relationship.
    const inv = await sf.describe('Invoice__c');
    const fields = b.queryFields('Invoice__c', inv);
    assert.ok(fields.includes('Account__r.Name'), fields.join());
    const rels = new Set(inv.fields.map((f) => f.relationshipName).filter(Boolean));
    for (const f of fields) assert.ok(rels.has(f.split('.')[0]), f);
    // And the emulator accepts the resulting SELECT (throws otherwise).
    await fetchRecords(b, 'Invoice__c', '', 1);
  });
});

describe('document builder: standard objects', () => {
  it('Account: title, Lightning URL, category, owner, ISO dates, description/website/type/billing address, tags, raw without attributes', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const rec = (await fetchRecords(b, 'Account', 'WHERE Website != null AND Type != null AND BillingCity != null', 200)).find((r) => r.Description)!;
    const [doc] = await b.build('Account', [rec]);
    assert.equal(doc.id, rec.Id);
    assert.equal(doc.type, 'Account');
    assert.equal(doc.title, rec.Name);
    assert.equal(doc.url, `${BASE}/lightning/r/Account/${rec.Id}/view`);
    assert.deepEqual(doc.categories, ['Standard Objects/Account']);
    assert.equal(doc.owner, (rec.Owner as Rec).Name);
    assert.equal(doc.created, new Date(Date.parse(String(rec.CreatedDate).replace('+0000', 'Z'))).toISOString());
    assert.match(doc.updated!, /Z$/);
    for (const v of [rec.Description, rec.Website, rec.Type, rec.BillingCity, rec.BillingStreet]) assert.ok(doc.content.includes(String(v)), `${v} in ${doc.content}`);
    assert.ok(doc.tags.includes(String(rec.Type)));
    const raw = doc.raw as Rec;
    assert.equal(raw.attributes, undefined);
    assert.equal((raw.Owner as Rec).attributes, undefined);
    assert.equal((raw.Owner as Rec).Name, (rec.Owner as Rec).Name);
    assert.equal(raw.Name, rec.Name);
  });

  it('Opportunity, Contact, Lead, Campaign carry their issue-listed fields', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const [opp] = await fetchRecords(b, 'Opportunity', 'WHERE IsClosed = false', 1);
    const [od] = await b.build('Opportunity', [opp]);
    assert.ok(od.content.includes(String(opp.StageName)));
    assert.ok(od.content.includes(String((opp.Account as Rec).Name)));
    assert.ok(od.tags.includes(String(opp.StageName)) && od.tags.includes('open'));

    const [con] = await fetchRecords(b, 'Contact', 'WHERE Email != null AND Phone != null AND Title != null', 1);
    const [cd] = await b.build('Contact', [con]);
    assert.equal(cd.title, con.Name);
    for (const f of ['Email', 'Phone', 'Title']) assert.ok(cd.content.includes(String(con[f])), f);

    const [lead] = await fetchRecords(b, 'Lead', 'WHERE Company != null AND Status != null', 1);
    const [ld] = await b.build('Lead', [lead]);
    for (const f of ['Company', 'Email', 'Phone', 'Status']) if (lead[f]) assert.ok(ld.content.includes(String(lead[f])), f);
    assert.ok(ld.tags.includes(String(lead.Status)));

    const [camp] = await fetchRecords(b, 'Campaign', '', 1);
    const [kd] = await b.build('Campaign', [camp]);
    for (const f of ['Type', 'Status', 'Description']) if (camp[f]) assert.ok(kd.content.includes(String(camp[f])), f);
    assert.ok(kd.tags.includes(camp.IsActive ? 'active' : 'inactive'));
    assert.ok(kd.content.includes(camp.IsActive ? 'Active' : 'Inactive'));
  });

  it('records flagged IsDeleted and rows without an Id get no document', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const [acc] = await fetchRecords(b, 'Account', '', 1);
    assert.deepEqual(await b.build('Account', [{ ...acc, IsDeleted: true }, { Name: 'no id' }, { ...acc, Id: "x' OR Name != '" }]), []);
  });
});

describe('document builder: Case activity and files', () => {
  it('a Case document has its comments, Chatter posts with their comments, emails and file metadata', async () => {
    // A Case that has all four kinds of related records in the demo seed.
    const withAll = async () => {
      const ids = (soql: string, key: string) => sf.query<Rec>(soql).toArray().then((rs) => new Set(rs.map((r) => String(r[key]))));
      const c = await ids('SELECT ParentId FROM CaseComment', 'ParentId');
      const f = await ids('SELECT ParentId FROM FeedComment WHERE ParentId IN (SELECT Id FROM Case)', 'ParentId');
      const e = await ids('SELECT ParentId FROM EmailMessage WHERE ParentId != null', 'ParentId');
      const l = await ids('SELECT LinkedEntityId FROM ContentDocumentLink WHERE LinkedEntityId IN (SELECT Id FROM Case)', 'LinkedEntityId');
      return [...c].filter((id) => f.has(id) && e.has(id) && l.has(id));
    };
    const candidates = await withAll();
    assert.ok(candidates.length > 0, 'demo seed has a Case with comments, feed comments, emails and files');
    const id = candidates[0];
    const warnings: string[] = [];
    const b = createDocumentBuilder(sf, { instanceUrl: BASE, logger: { debug() {}, info() {}, warn: (_o: object, m?: string) => warnings.push(String(m)) } });
    const [rec] = await fetchRecords(b, 'Case', `WHERE Id = '${id}'`);
    const [doc] = await b.build('Case', [rec]);

    assert.equal(doc.title, `${rec.CaseNumber}: ${rec.Subject}`);
    assert.deepEqual(doc.categories, ['Standard Objects/Case']);
    assert.ok(doc.tags.includes(rec.IsClosed ? 'closed' : 'open'));
    assert.ok(doc.tags.includes(String(rec.Status)));
    for (const v of [rec.CaseNumber, rec.Status, rec.IsClosed ? 'Closed' : 'Open', (rec.Account as Rec).Name]) assert.ok(doc.content.includes(String(v)), String(v));

    const comments = await sf.query<Rec>(`SELECT CommentBody FROM CaseComment WHERE ParentId = '${id}'`).toArray();
    for (const c of comments) assert.ok(doc.content.includes(String(c.CommentBody)));
    const posts = await sf.query<Rec>(`SELECT Id, Body FROM CaseFeed WHERE ParentId = '${id}'`).toArray();
    for (const p of posts) assert.ok(doc.content.includes(String(p.Body).replace(/<[^>]+>/g, '')), 'post body as plain text');
    const feedComments = await sf.query<Rec>(`SELECT FeedItemId, CommentBody FROM FeedComment WHERE ParentId = '${id}'`).toArray();
    for (const c of feedComments) assert.ok(doc.content.includes(String(c.CommentBody).replace(/<[^>]+>/g, '')));
    assert.ok(!doc.content.includes('<p>'), 'rich text is stripped');
    const emails = await sf.query<Rec>(`SELECT Subject FROM EmailMessage WHERE ParentId = '${id}'`).toArray();
    for (const e of emails) assert.ok(doc.content.includes(String(e.Subject)));
    const links = await sf.query<Rec>(`SELECT ContentDocument.Title, ContentDocument.FileExtension FROM ContentDocumentLink WHERE LinkedEntityId = '${id}'`).toArray();
    for (const l of links) assert.ok(doc.content.includes(`${(l.ContentDocument as Rec).Title}.${(l.ContentDocument as Rec).FileExtension}`));

    // raw: the record plus child-relationship results, shaped like a subquery's.
    const raw = doc.raw as Rec;
    assert.equal((raw.CaseComments as Rec).totalSize, comments.length);
    assert.equal((raw.EmailMessages as Rec).totalSize, emails.length);
    const feeds = raw.Feeds as { records: Rec[] };
    assert.equal(feeds.records.length, posts.length);
    const nested = feeds.records.flatMap((p) => ((p.FeedComments as { records: Rec[] } | null)?.records ?? []));
    assert.equal(nested.length, feedComments.length);
    const files = (raw.ContentDocumentLinks as { records: Rec[] }).records;
    assert.equal(files.length, links.length);
    const cd = files[0].ContentDocument as Rec;
    assert.equal(typeof cd.Title, 'string');
    assert.equal(typeof cd.FileExtension, 'string');
    assert.equal(typeof cd.ContentSize, 'number');
    assert.equal(files[0].attributes, undefined);
    assert.deepEqual(warnings, [], 'every related query is valid for the emulator');
  });

  it('Opportunities get file metadata too; objects without a ContentDocumentLinks relationship never query it', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const linked = await sf.query<Rec>('SELECT LinkedEntityId, ContentDocument.Title FROM ContentDocumentLink WHERE LinkedEntityId IN (SELECT Id FROM Opportunity)').toArray();
    const [opp] = await fetchRecords(b, 'Opportunity', `WHERE Id = '${linked[0].LinkedEntityId}'`);
    const [doc] = await b.build('Opportunity', [opp]);
    assert.ok(doc.content.includes(String((linked[0].ContentDocument as Rec).Title)));
    const invoices = await fetchRecords(b, 'Invoice__c', '', 1);
    requests = [];
    await b.build('Invoice__c', invoices.length ? invoices : [{ Id: 'a008d0000000001AAA', Name: 'INV-0' }]);
    assert.equal(queryUrls().filter((u) => /ContentDocumentLink/.test(soqlOf(u))).length, 0);
  });

  it('3000 Case Ids: each related kind is fetched in IN-list chunks whose URLs stay under 16 KB, one query per chunk', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const real = await fetchRecords(b, 'Case');
    assert.equal(real.length, 400);
    const fake = Array.from({ length: 2600 }, (_, i) => ({ Id: `5008d${String(900000 + i).padStart(10, '0')}AAA`, CaseNumber: `9${i}`, Subject: 'synthetic', IsClosed: false }));
    const records = [...real, ...fake];
    requests = [];
    const docs = await b.build('Case', records);
    assert.equal(docs.length, 3000);
    const urls = queryUrls();
    for (const u of urls) assert.ok(u.length <= MAX_URI_BYTES, `URL of ${u.length} bytes`);
    const ids = records.map((r) => r.Id as string);
    for (const kind of [CASE_COMMENTS, CASE_FEED, FEED_COMMENTS, CASE_EMAILS, FILE_LINKS]) {
      const mine = urls.filter((u) => new RegExp(`FROM ${kind.object} WHERE`).test(soqlOf(u)));
      const expected = chunkedInQueries(kind.soql, ids).length;
      assert.ok(expected >= 6, `${kind.object}: ${expected} chunks`);
      assert.equal(mine.length, expected, kind.object);
      // Every Id asked exactly once across the chunks.
      const asked = mine.flatMap((u) => soqlOf(u).match(/'[A-Za-z0-9]{18}'/g)!.map((s) => s.slice(1, -1)));
      assert.equal(asked.length, 3000);
      assert.deepEqual(new Set(asked), new Set(ids));
    }
    // The real cases still got their related text.
    const withComments = docs.find((d) => ((d.raw as Rec).CaseComments as Rec | undefined)?.totalSize);
    assert.ok(withComments);
  });

  it('chunkedInQueries: dedupes, drops non-Ids, respects the byte budget', () => {
    const soql = (list: string) => `SELECT Id FROM CaseComment WHERE ParentId IN (${list})`;
    const ids = Array.from({ length: 1000 }, (_, i) => `500${String(i).padStart(15, '0')}`);
    const out = chunkedInQueries(soql, [...ids, ids[0], "bad' OR Id != '"], 2000);
    for (const q of out) assert.ok(encodedLength(q) <= 2000);
    const all = out.flatMap((q) => q.match(/'(\w+)'/g)!.map((s) => s.slice(1, -1)));
    assert.deepEqual(all, ids);
    assert.equal(out.length, Math.ceil(1000 / Math.floor((2000 - encodedLength(soql(''))) / 27)));
    assert.deepEqual(chunkedInQueries(soql, []), []);
    assert.ok(MAX_QUERY_PARAM_BYTES < MAX_URI_BYTES);
    assert.throws(() => chunkedInQueries(() => 'x'.repeat(100), ids, 50), /too long/);
  });

  it('a related object the org refuses (INVALID_TYPE) is skipped with one warning; the rest still arrives', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (_o: object, msg?: string) => warnings.push(String(msg)) };
    const b = createDocumentBuilder(sf, { instanceUrl: BASE, logger });
    const cases = await fetchRecords(b, 'Case', '', 50);
    intercept = (url) => {
      const q = url.searchParams.get('q');
      if (q && /FROM CaseFeed /.test(q)) return Response.json([{ errorCode: 'INVALID_TYPE', message: "sObject type 'CaseFeed' is not supported." }], { status: 400 });
      return undefined;
    };
    try {
      requests = [];
      const docs = await b.build('Case', cases);
      assert.equal(docs.length, 50);
      assert.ok(docs.some((d) => (d.raw as Rec).CaseComments));
      assert.ok(docs.every((d) => !(d.raw as Rec).Feeds));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /CaseFeed is not available/);
      requests = [];
      await b.build('Case', cases);
      assert.equal(queryUrls().filter((u) => /FROM (CaseFeed|FeedComment) /.test(soqlOf(u))).length, 0);
      assert.equal(warnings.length, 1);
    } finally {
      intercept = undefined;
    }
  });

  it('a long email body is cut in content and raw; the Case record itself is not', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const [c] = await sf.query<Rec>('SELECT Id FROM Case ORDER BY Id DESC LIMIT 1').toArray();
    const body = `Unique-marker-zebra ${'lorem ipsum '.repeat(2000)}`;
    await sf.create('EmailMessage', { ParentId: c.Id, Subject: 'Long thread', TextBody: body, Incoming: true, Status: '0' });
    const [rec] = await fetchRecords(b, 'Case', `WHERE Id = '${c.Id}'`);
    const [doc] = await b.build('Case', [{ ...rec, Description: 'd'.repeat(30_000) }]);
    assert.ok(doc.content.includes('Unique-marker-zebra'));
    const email = ((doc.raw as Rec).EmailMessages as { records: Rec[] }).records.find((e) => e.Subject === 'Long thread')!;
    assert.equal((email.TextBody as string).length, MAX_RELATED_TEXT_CHARS);
    assert.ok(doc.content.length < 30_000 + 2 * MAX_RELATED_TEXT_CHARS + 5_000);
    assert.equal(((doc.raw as Rec).Description as string).length, 30_000);
  });

  it('any other error fails the batch (the engine retries it) and the builder keeps the kind', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const cases = await fetchRecords(b, 'Case', '', 20);
    intercept = (url) => (/FROM CaseComment /.test(url.searchParams.get('q') ?? '') ? Response.json([{ errorCode: 'QUERY_TIMEOUT', message: 'Your query request was running for too long.' }], { status: 400 }) : undefined);
    try {
      await assert.rejects(b.build('Case', cases), { errorCode: 'QUERY_TIMEOUT' });
    } finally {
      intercept = undefined;
    }
    const docs = await b.build('Case', cases);
    assert.ok(docs.some((d) => (d.raw as Rec).CaseComments));
  });

  it('an aborted signal stops the build', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const cases = await fetchRecords(b, 'Case', '', 10);
    await assert.rejects(b.build('Case', cases, AbortSignal.abort()), { name: 'AbortError' });
  });
});

describe('document builder: Bulk CSV records and custom objects', () => {
  it('Bulk CSV rows (dotted keys, strings, "" = null) make the same document as REST JSON', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE, files: false, caseActivity: false });
    const rest = (await fetchRecords(b, 'Case', 'WHERE IsClosed = true', 100)).find((r) => r.Description)!;
    const csv: Rec = {};
    const flatten = (o: Rec, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (k === 'attributes') continue;
        if (v && typeof v === 'object') flatten(v as Rec, `${prefix}${k}.`);
        else csv[`${prefix}${k}`] = v === null ? '' : String(v);
      }
    };
    flatten(rest, '');
    csv.CreatedDate = new Date(Date.parse(String(rest.CreatedDate).replace('+0000', 'Z'))).toISOString();
    const [a] = await b.build('Case', [rest]);
    const [c] = await b.build('Case', [csv]);
    assert.equal(c.title, a.title);
    assert.equal(c.owner, a.owner);
    assert.equal(c.created, a.created);
    assert.deepEqual(c.tags, a.tags);
    assert.ok(c.tags.includes('closed'));
    assert.equal(c.content, a.content);
    assert.ok(c.content.includes(String((rest.Account as Rec).Name)));
  });

  it('custom object: Custom Objects/Invoice__c, autonumber title, text fields and lookup names as content, picklists as tags', async () => {
    const b = createDocumentBuilder(sf, { instanceUrl: BASE });
    const [acc] = await sf.query<Rec>('SELECT Id, Name FROM Account ORDER BY Id LIMIT 1').toArray();
    const { id } = await sf.create('Invoice__c', { Invoice_Key__c: 'ERP-1001', Account__c: acc.Id, Status__c: 'Sent', Amount__c: 120, Notes__c: 'Quarterly turbine maintenance for Springfield plant' });
    const [rec] = await fetchRecords(b, 'Invoice__c', `WHERE Id = '${id}'`);
    const [doc] = await b.build('Invoice__c', [rec]);
    assert.deepEqual(doc.categories, ['Custom Objects/Invoice__c']);
    assert.match(doc.title, /^INV-\d{5}$/);
    assert.equal(doc.url, `${BASE}/lightning/r/Invoice__c/${id}/view`);
    assert.ok(doc.content.includes('Quarterly turbine maintenance'));
    assert.ok(doc.content.includes('ERP-1001'));
    assert.ok(doc.content.includes(String(acc.Name)), 'Account__r.Name');
    assert.ok(doc.tags.includes('Sent'));
    // A custom field on a standard object keeps it a standard object.
    const [a] = await b.build('Account', await fetchRecords(b, 'Account', '', 1));
    assert.deepEqual(a.categories, ['Standard Objects/Account']);
  });
});

describe('documents in a store and a JSONL file', () => {
  it('indexRecords makes records searchable with ranked hits and category paths; deletions leave the index and the JSONL file says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-docs-'));
    const path = join(dir, 'out', 'documents.jsonl');
    const sink = openSink(parseSinkConfig({ kind: 'jsonl', url: path }));
    const sinks = [sink];
    const store = await openStore('sqlite::memory:');
    try {
      const b = createDocumentBuilder(sf, { instanceUrl: BASE });
      const [acc] = await sf.query<Rec>("SELECT Id, Name FROM Account WHERE Id IN (SELECT AccountId FROM Case) ORDER BY Id LIMIT 1").toArray();
      const word = String(acc.Name).split(' ')[0];
      const accounts = await fetchRecords(b, 'Account', `WHERE Id = '${acc.Id}'`);
      const cases = await fetchRecords(b, 'Case', `WHERE AccountId = '${acc.Id}'`);
      assert.ok(cases.length > 0);
      assert.deepEqual(await indexRecords(b, store, 'Account', accounts, { sinks }), { indexed: 1, unchanged: 0, removed: 0 });
      assert.deepEqual(await indexRecords(b, store, 'Case', cases, { sinks }), { indexed: cases.length, unchanged: 0, removed: 0 });

      const exact = await store.search(String(acc.Name));
      assert.equal(exact[0].id, acc.Id, 'the account named so ranks first (title match)');
      assert.deepEqual(exact[0].categories, ['Standard Objects/Account']);
      assert.match(exact[0].snippet, /<mark>/);
      assert.ok(exact.length >= 1 + cases.length, 'its cases mention the account name');
      const onlyCases = await store.search(word, { type: 'Case' });
      assert.ok(onlyCases.length >= cases.length && onlyCases.every((h) => h.type === 'Case' && h.categories[0] === 'Standard Objects/Case'));
      const caseNumber = String(cases[0].CaseNumber);
      assert.equal((await store.search(caseNumber))[0].id, cases[0].Id);

      // Deleted in the org: the engine learns it (getDeleted) and removes the document.
      await sf.delete('Case', String(cases[0].Id));
      assert.equal(await removeDocuments(store, 'Case', [String(cases[0].Id)], { sinks }), 1);
      assert.deepEqual(await store.search(caseNumber, { type: 'Case' }).then((h) => h.filter((x) => x.id === cases[0].Id)), []);
      // A queryAll batch carrying IsDeleted removes too.
      if (cases.length > 1) {
        const r = await indexRecords(b, store, 'Case', [{ ...cases[1], IsDeleted: true }], { sinks });
        assert.deepEqual(r, { indexed: 0, unchanged: 0, removed: 1 });
        assert.equal((await store.search(String(cases[1].CaseNumber))).filter((h) => h.id === cases[1].Id).length, 0);
      }
      await sink.close();

      const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as SearchDocument & { deleted?: boolean });
      assert.equal(lines.length, 1 + cases.length + 1 + (cases.length > 1 ? 1 : 0));
      assert.equal(lines[0].id, acc.Id);
      assert.equal(lines[0].title, acc.Name);
      assert.deepEqual(lines[0].categories, ['Standard Objects/Account']);
      assert.deepEqual(lines[1 + cases.length], { id: cases[0].Id, type: 'Case', deleted: true });
      await assert.rejects(sink.deliver([{ id: 'x', key: 'x', body: {} }]), /closed/);
    } finally {
      await store.close();
    }
  });

  it('an unchanged document is neither rewritten nor re-emitted; a changed one is, once, with a new message id', async () => {
    const store = await openStore('sqlite::memory:');
    const delivered: SinkMessage[] = [];
    const sinks: Sink[] = [{ kind: 'jsonl', label: 'memory', deliver: async (m) => void delivered.push(...m), close: async () => undefined }];
    try {
      const b = createDocumentBuilder(sf, { instanceUrl: BASE });
      const accounts = await fetchRecords(b, 'Account', '', 3);
      assert.deepEqual(await indexRecords(b, store, 'Account', accounts, { sinks }), { indexed: 3, unchanged: 0, removed: 0 });
      // The same records again (a lag-window re-read), and once more with only the stamps moved.
      assert.deepEqual(await indexRecords(b, store, 'Account', accounts, { sinks }), { indexed: 0, unchanged: 3, removed: 0 });
      const touched = accounts.map((a) => ({ ...a, SystemModstamp: '2031-01-01T00:00:00.000+0000', LastModifiedDate: '2031-01-01T00:00:00.000+0000' }));
      assert.deepEqual(await indexRecords(b, store, 'Account', touched, { sinks }), { indexed: 0, unchanged: 3, removed: 0 });
      assert.equal(delivered.length, 3);
      const changed = [{ ...accounts[1], Description: 'Now sells turbines' }];
      assert.deepEqual(await indexRecords(b, store, 'Account', changed, { sinks }), { indexed: 1, unchanged: 0, removed: 0 });
      assert.equal(delivered.length, 4);
      assert.equal(delivered[3].key, accounts[1].Id);
      assert.notEqual(delivered[3].id, delivered[1].id);
      assert.match(delivered[3].id, new RegExp(`^documents>memory:${String(accounts[1].Id)}:[0-9a-f]{20}$`));
      assert.equal((await store.search('turbines'))[0].id, accounts[1].Id);
      // Removing an emitted document emits one tombstone; removing it again emits nothing.
      assert.equal(await removeDocuments(store, 'Account', [String(accounts[0].Id)], { sinks }), 1);
      assert.equal(await removeDocuments(store, 'Account', [String(accounts[0].Id)], { sinks }), 0);
      assert.deepEqual(delivered.slice(4).map((m) => [m.key, m.body, m.headers?.['sfbridge-op']]), [[accounts[0].Id, { id: accounts[0].Id, type: 'Account', deleted: true }, 'delete']]);
    } finally {
      await store.close();
    }
  });
});
