import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidId, makeId, toId18 } from '../../src/emulator/ids.ts';

test('18-char suffix matches the reference worked example', () => {
  assert.equal(toId18('001Hs00000AbCdE'), '001Hs00000AbCdEIAV');
});

test('15-char and any-case 18-char forms validate; wrong suffix does not', () => {
  assert.ok(isValidId('001Hs00000AbCdE'));
  assert.ok(isValidId('001Hs00000AbCdEIAV'));
  assert.ok(isValidId('001Hs00000AbCdEiav'));
  assert.ok(!isValidId('001Hs00000AbCdEAAA'));
  assert.ok(!isValidId('not-an-id'));
});

test('makeId produces distinct, valid 18-char IDs with the key prefix', () => {
  const a = makeId('001', 1);
  const b = makeId('001', 2);
  assert.notEqual(a, b);
  assert.equal(a.length, 18);
  assert.ok(a.startsWith('001'));
  assert.ok(isValidId(a) && isValidId(b));
});
