import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SearchDocument } from '../../src/store/types.ts';
import { backends, fresh } from './backends.ts';

function doc(id: string, type: string, title: string, content: string, extra: Partial<SearchDocument> = {}): SearchDocument {
  return {
    id,
    type,
    title,
    url: `https://acme.my.salesforce.com/${id}`,
    created: '2024-03-05T17:38:40.000+0000',
    updated: '2024-03-05T17:38:40.000+0000',
    owner: '005A00000000001AAA',
    tags: [],
    categories: [`Standard Objects/${type}`],
    content,
    raw: { Id: id },
    ...extra,
  };
}

const DOCS = [
  doc('001A00000000001AAA', 'Account', 'Globex Corporation', 'A customer in Springfield. They resell turbines made by others.'),
  doc('001A00000000002AAA', 'Account', 'Turbines International', 'Manufacturer based in Shelbyville.'),
  doc('003A00000000001AAA', 'Contact', 'Hank Scorpio', 'Turbines enthusiast, works at Globex.', { tags: ['vip'] }),
];

/** Many long-titled records that mention the word, and the records named by it (the demo org's shape). */
const RANKED = [
  ...Array.from({ length: 40 }, (_, i) => doc(`006A0000000${String(i).padStart(4, '0')}AAA`, 'Opportunity', `Acme Health ${i} - Expansion ${i * 7}`, `Opportunity of Acme Health ${i}. acme acme`)),
  doc('001A00000000010AAA', 'Account', 'Acme Health', 'Hospital group.'),
  doc('001A00000000011AAA', 'Account', 'Acme', 'Holding.'),
  doc('500A00000000001AAA', 'Case', 'Printer jammed', 'Reported by acme staff, acme again, acme thrice.'),
];
const rankings = new Map<string, string[]>();

for (const backend of backends) {
  describe(`search documents (${backend.name})`, () => {
    test('ranking: title matches first, the closest (shortest) title first, body-only hits last; the same on every backend', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.upsertDocuments(RANKED);
        const hits = await store.search('acme', { limit: 50 });
        assert.equal(hits.length, 43);
        assert.deepEqual(hits.slice(0, 2).map((h) => h.title), ['Acme', 'Acme Health']);
        assert.equal(hits.at(-1)!.type, 'Case', 'a body-only hit comes after every title hit');
        const two = await store.search('acme health', { limit: 3 });
        assert.equal(two[0].title, 'Acme Health');
        const order = hits.map((h) => h.id);
        for (const [other, seen] of rankings) assert.deepEqual(order, seen, `same order as on ${other}`);
        rankings.set(backend.name, order);
      } finally {
        await done();
      }
    });

    test('title hits outrank body hits; results carry snippet and categories', async () => {
      const { store, done } = await fresh(backend);
      try {
        assert.equal(await store.upsertDocuments(DOCS), 3);
        const hits = await store.search('turbines');
        assert.equal(hits.length, 3);
        assert.equal(hits[0].id, '001A00000000002AAA');
        assert.ok(hits[0].score > hits[1].score);
        assert.deepEqual(hits[0].categories, ['Standard Objects/Account']);
        assert.equal(hits[0].url, 'https://acme.my.salesforce.com/001A00000000002AAA');
        const body = hits.find((h) => h.id === '001A00000000001AAA');
        assert.match(body?.snippet ?? '', /<mark>turbines<\/mark>/i);
        // Every word must match.
        assert.deepEqual((await store.search('globex springfield')).map((h) => h.id), ['001A00000000001AAA']);
        // Tags and category paths are searchable.
        assert.deepEqual((await store.search('vip')).map((h) => h.id), ['003A00000000001AAA']);
        assert.equal((await store.search('standard objects')).length, 3);
        assert.equal((await store.search('turbines', { limit: 1 })).length, 1);
      } finally {
        await done();
      }
    });

    test('type filter', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.upsertDocuments(DOCS);
        assert.deepEqual((await store.search('globex', { type: 'Contact' })).map((h) => h.id), ['003A00000000001AAA']);
        assert.deepEqual((await store.search('globex', { type: 'Account' })).map((h) => h.id), ['001A00000000001AAA']);
        assert.deepEqual(await store.search('globex', { type: 'Lead' }), []);
      } finally {
        await done();
      }
    });

    test('hostile query strings never raise and are treated as plain words', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.upsertDocuments([...DOCS, doc('001A00000000003AAA', 'Account', "O'Brien & Sons (AND-OR)", 'NEAR the "quoted" text*')]);
        for (const q of ['"', '*', 'AND(', '-', '"unbalanced', 'NOT', 'a OR', ')(', "'", '\\', ':', '^', 'NEAR(x y)', '!&|<->', '', '   ', 'title:globex', '-globex', 'globex*']) {
          const hits = await store.search(q);
          assert.ok(Array.isArray(hits), q);
        }
        assert.deepEqual((await store.search("o'brien")).map((h) => h.id), ['001A00000000003AAA']);
        assert.deepEqual((await store.search('(AND-OR)')).map((h) => h.id), ['001A00000000003AAA']);
        assert.deepEqual((await store.search('"quoted"')).map((h) => h.id), ['001A00000000003AAA']);
        assert.deepEqual((await store.search('-globex')).map((h) => h.id).sort(), ['001A00000000001AAA', '003A00000000001AAA']);
      } finally {
        await done();
      }
    });

    test('replaced and deleted documents leave the index', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.upsertDocuments(DOCS);
        await store.upsertDocuments([doc('001A00000000001AAA', 'Account', 'Initech', 'Software, nothing else.')]);
        assert.deepEqual((await store.search('springfield')).map((h) => h.id), []);
        assert.deepEqual((await store.search('initech')).map((h) => h.id), ['001A00000000001AAA']);
        assert.equal(await store.deleteDocuments(['001A00000000001AAA', '001A00000000009AAA']), 1);
        assert.deepEqual(await store.search('initech'), []);
        assert.deepEqual((await store.search('turbines')).map((h) => h.id).sort(), ['001A00000000002AAA', '003A00000000001AAA']);
      } finally {
        await done();
      }
    });

    test('invalid documents are rejected', async () => {
      const { store, done } = await fresh(backend);
      try {
        await assert.rejects(store.upsertDocuments([{ ...DOCS[0], id: '' }]), /without id/);
        await assert.rejects(store.upsertDocuments([{ ...DOCS[0], tags: 'vip' as unknown as string[] }]), /tags/);
        await assert.rejects(store.search('x', { limit: 0 }), /limit/);
      } finally {
        await done();
      }
    });
  });
}
