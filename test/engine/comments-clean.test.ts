/**
 * Email cleaning on the hand-written corpus (test/fixtures/emails): every case's body, signature and
 * forwarded messages exactly as expected; plus the normalisation rules on their own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCorpus, scoreCase } from '../../bench/lib-emails.ts';
import { caseReference, cleanEmail, normalizeText, repairMojibake, splitSignature, stripCaseReferences } from '../../src/engine/comments/clean.ts';

const corpus = loadCorpus();

describe('email cleaning corpus', () => {
  test('has at least 40 cases across clients, languages, forwards, newsletters and Email-to-Case', () => {
    assert.ok(corpus.length >= 40, `${corpus.length} cases`);
    for (const client of ['gmail', 'outlook', 'apple', 'newsletter', 'email-to-case']) assert.ok(corpus.some((c) => c.client === client), client);
    assert.ok(new Set(corpus.map((c) => c.lang)).size >= 8);
    assert.ok(corpus.filter((c) => c.expected.forwarded.length).length >= 5);
  });

  for (const c of corpus) {
    test(c.name, () => {
      const s = scoreCase(c);
      assert.equal(s.result.body, c.expected.body);
      assert.equal(s.result.signature, c.expected.signature);
      assert.deepEqual(s.result.forwarded.map((f) => [f.from, f.sent_at, f.subject, f.to, f.body]), c.expected.forwarded.map((f) => [f.from, f.sent_at, f.subject, f.to, f.body]));
    });
  }
});

describe('cleaning rules', () => {
  test('normalisation: line ends, no-break and zero-width spaces, runs of spaces, blank lines, NFC', () => {
    assert.equal(normalizeText('  \r\nA\u00a0b\u200b  c \t\r\n\r\n\r\n\r\nd\u0301\n\n'), 'A b c\n\nd\u0301'.normalize('NFC'));
    assert.equal(normalizeText('- one\n    indented code'), '- one\n    indented code');
  });

  test('mis-decoded UTF-8 is repaired, genuine text is left alone', () => {
    assert.equal(repairMojibake('RÃ©clamation â€“ piÃ¨ce'), 'Réclamation – pièce');
    assert.equal(repairMojibake('NÃO e São Paulo'), 'NÃO e São Paulo');
    assert.equal(repairMojibake('Ã© and 日本'), 'Ã© and 日本');
  });

  test('Email-to-Case references are removed and can be read', () => {
    const subject = 'RE: Case 00001042: Noise [ ref:_00D5g00000aBcD._5005g00001XyZ9q:ref ]';
    assert.equal(caseReference(subject), 'ref:_00D5g00000aBcD._5005g00001XyZ9q:ref');
    assert.equal(caseReference('Re: x [ thread::9nQpKd3w4lU7mX2A8-RzTkE::]'), 'thread::9nQpKd3w4lU7mX2A8-RzTkE::');
    assert.equal(caseReference('no reference'), null);
    assert.equal(stripCaseReferences(`${subject}\nref:_00D5g00000aBcD._5005g00001XyZ9q:ref\nbody`), 'RE: Case 00001042: Noise\nbody');
  });

  test('a thank-you sentence is body, a thank-you line a sign-off', () => {
    assert.deepEqual(splitSignature('All fixed.\n\nThanks for the help!'), { body: 'All fixed.\n\nThanks for the help!' });
    assert.deepEqual(splitSignature('All fixed.\n\nThanks!\nAnn'), { body: 'All fixed.', signature: 'Thanks!\nAnn' });
    assert.deepEqual(splitSignature('One line only'), { body: 'One line only' });
  });

  test('HTML wins over text, and empty input gives an empty body', () => {
    assert.deepEqual(cleanEmail({ text: 'plain', html: '<p>rich <b>text</b></p>' }).body, 'rich text');
    assert.deepEqual(cleanEmail({ text: null, html: '  ' }), { body: '', forwarded: [], text: '', source: 'empty' });
  });
});
