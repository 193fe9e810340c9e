import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore, parseStoreUrl } from '../../src/store/index.ts';

test('store URLs map to backends', () => {
  assert.deepEqual(parseStoreUrl('sqlite::memory:'), { kind: 'sqlite', path: ':memory:' });
  assert.deepEqual(parseStoreUrl('sqlite:./data/mirror.db'), { kind: 'sqlite', path: './data/mirror.db' });
  assert.deepEqual(parseStoreUrl('sqlite:/var/lib/sfbridge.db'), { kind: 'sqlite', path: '/var/lib/sfbridge.db' });
  assert.deepEqual(parseStoreUrl('postgres://u@db:5432/app?schema=mirror&sslmode=disable'), {
    kind: 'postgres',
    connectionString: 'postgres://u@db:5432/app?sslmode=disable',
    schema: 'mirror',
  });
  assert.deepEqual(parseStoreUrl('postgresql://u@db/app'), { kind: 'postgres', connectionString: 'postgresql://u@db/app', schema: undefined });
});

test('a bad store URL fails naming the accepted forms, without leaking passwords', async () => {
  for (const bad of ['', 'mysql://u@h/db', 'sqlite:', 'sqlite://host/x.db', './mirror.db', 'postgres://user:secret@host', 'postgres://']) {
    await assert.rejects(openStore(bad), (err: Error) => {
      assert.match(err.message, /sqlite::memory:/);
      assert.match(err.message, /sqlite:\.\/path\.db/);
      assert.match(err.message, /postgres:\/\//);
      assert.match(err.message, /postgresql:\/\//);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  }
});

test('an invalid Postgres schema name is refused before connecting', async () => {
  await assert.rejects(openStore('postgres://postgres@127.0.0.1:5432/test?schema=bad;name'), /schema/);
});

test('deleteMode is validated', async () => {
  await assert.rejects(openStore('sqlite::memory:', { deleteMode: 'purge' as 'remove' }), /deleteMode/);
});
