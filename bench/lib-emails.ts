/**
 * The email cleaning corpus (test/fixtures/emails) and its scoring, shared by the cleaning test and
 * bench/comments.ts: exact match of body, signature and forwarded parts, and character-level precision and
 * recall of the kept body text (multiset of characters, whitespace ignored).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cleanEmail, normalizeText, type CleanOptions, type CleanResult, type ForwardedMessage } from '../src/engine/comments/clean.ts';

export const CORPUS_DIR = new URL('../test/fixtures/emails/', import.meta.url).pathname;

export interface CorpusCase {
  name: string;
  subject: string;
  client: string;
  lang: string;
  text?: string;
  html?: string;
  expected: { body: string; signature?: string; forwarded: ForwardedMessage[] };
}

function parseForwarded(text: string): ForwardedMessage[] {
  return text.split(/\n=====\n/).map((block) => {
    const [head, ...rest] = block.split('\n\n');
    const h: Record<string, string> = {};
    for (const line of head.split('\n')) {
      const i = line.indexOf(':');
      h[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const list = (v: string | undefined) => (v ? v.split(/,\s*/).filter(Boolean) : []);
    return { from: h.from ?? null, to: list(h.to), cc: list(h.cc), sent_at: h.date ?? null, subject: h.subject ?? null, body: normalizeText(rest.join('\n\n')) };
  });
}

/** Every case of the corpus, in index order. */
export function loadCorpus(dir = CORPUS_DIR): CorpusCase[] {
  const index = parse(readFileSync(join(dir, 'index.yaml'), 'utf8')) as { case: string; subject: string; client: string; lang: string }[];
  return index.map((e) => {
    const file = (suffix: string) => join(dir, `${e.case}${suffix}`);
    const read = (suffix: string) => (existsSync(file(suffix)) ? readFileSync(file(suffix), 'utf8') : undefined);
    const sig = read('.signature.txt');
    const fwd = read('.forwarded.txt');
    return {
      name: e.case,
      subject: e.subject,
      client: e.client,
      lang: e.lang,
      text: read('.txt'),
      html: read('.html'),
      expected: { body: (read('.expected.txt') ?? '').replace(/\n$/, ''), ...(sig ? { signature: sig.replace(/\n$/, '') } : {}), forwarded: fwd ? parseForwarded(fwd.replace(/\n$/, '')) : [] },
    };
  });
}

/** One case's outcome. */
export interface CaseScore {
  name: string;
  exact: boolean;
  bodyExact: boolean;
  signatureExact: boolean;
  forwardedExact: boolean;
  /** Characters of the kept body that are in the expected body, and their counts. */
  kept: number;
  expected: number;
  correct: number;
  result: CleanResult;
}

function chars(s: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const ch of s.replace(/\s+/g, '')) m.set(ch, (m.get(ch) ?? 0) + 1);
  return m;
}

const sameForwarded = (a: ForwardedMessage[], b: ForwardedMessage[]) =>
  a.length === b.length && a.every((x, i) => x.body === b[i].body && x.from === b[i].from && x.subject === b[i].subject && x.sent_at === b[i].sent_at && x.to.join(',') === b[i].to.join(','));

/** Cleans and scores one case. */
export function scoreCase(c: CorpusCase, opts: CleanOptions = {}): CaseScore {
  const result = cleanEmail({ text: c.text, html: c.html, subject: c.subject }, opts);
  const bodyExact = result.body === c.expected.body;
  const signatureExact = (result.signature ?? undefined) === c.expected.signature;
  const forwardedExact = sameForwarded(result.forwarded, c.expected.forwarded);
  const got = chars(result.body);
  const want = chars(c.expected.body);
  let correct = 0;
  for (const [ch, n] of got) correct += Math.min(n, want.get(ch) ?? 0);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return { name: c.name, exact: bodyExact && signatureExact && forwardedExact, bodyExact, signatureExact, forwardedExact, kept: sum(got), expected: sum(want), correct, result };
}

/** Totals over a corpus. */
export interface CorpusScore {
  cases: number;
  exact: number;
  exactRate: number;
  bodyExactRate: number;
  precision: number;
  recall: number;
  failures: CaseScore[];
}

export function scoreCorpus(corpus: readonly CorpusCase[], opts: CleanOptions = {}): CorpusScore {
  const scores = corpus.map((c) => scoreCase(c, opts));
  const kept = scores.reduce((a, s) => a + s.kept, 0);
  const expected = scores.reduce((a, s) => a + s.expected, 0);
  const correct = scores.reduce((a, s) => a + s.correct, 0);
  const exact = scores.filter((s) => s.exact).length;
  return {
    cases: scores.length,
    exact,
    exactRate: exact / scores.length,
    bodyExactRate: scores.filter((s) => s.bodyExact).length / scores.length,
    precision: kept ? correct / kept : 1,
    recall: expected ? correct / expected : 1,
    failures: scores.filter((s) => !s.exact),
  };
}
