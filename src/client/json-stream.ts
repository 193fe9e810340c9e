/**
 * Incremental parser for one query result page (`{"totalSize":…,"done":…,"nextRecordsUrl":…,"records":[…]}`)
 * fed with decoded text chunks as they arrive. Each element of `records` is cut out of the text by
 * balancing braces and `JSON.parse`d on its own, so neither the whole page text (≈1.3 MB for 2,000 records)
 * nor the whole page's object graph ever exists: memory is one network chunk plus the records not yet taken.
 * Any other top-level member is parsed as a whole and kept in {@link QueryPageScanner.fields}.
 *
 * Feed it text decoded with `TextDecoder` in stream mode (multi-byte characters split across network chunks
 * are then joined by the decoder). Only the structure outside string literals is interpreted here; strings
 * (with their escapes) are skipped, never decoded, so JSON.parse stays the only judge of a record's content.
 */

/** Raised for a body that is not a well-formed page object. */
export class JsonStreamError extends Error {
  readonly code = 'BAD_RESPONSE';
  constructor(message: string) {
    super(message);
    this.name = 'JsonStreamError';
  }
}

// Structural states (outside any value being cut out).
const BEFORE_OBJECT = 0;
const EXPECT_KEY = 1; // after `{` or `,`
const EXPECT_COLON = 2;
const EXPECT_VALUE = 3;
const AFTER_VALUE = 4; // after a top-level member's value: `,` or `}`
const EXPECT_ELEMENT = 5; // after `[` or `,` in records
const AFTER_ELEMENT = 6; // `,` or `]`
const FINISHED = 7;
const EXPECT_FIRST_KEY = 8; // after `{`: a key or `}`
const EXPECT_FIRST_ELEMENT = 9; // after `[`: an element or `]`

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Where one record of a page ends and the next begins, as Salesforce writes it. */
const RECORD_BOUNDARY = '},{"attributes":';

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
/** Characters that end a number/true/false/null. */
const endsPrimitive = (c: number) => c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c);

/** What the value being cut out is: the member key, a top-level member value, or a record. */
const CUT_KEY = 0;
const CUT_MEMBER = 1;
const CUT_RECORD = 2;

/** Push parser for a query page; see the module comment. */
export class QueryPageScanner<T = unknown> {
  /** Top-level members other than `records` (`totalSize`, `done`, `nextRecordsUrl`, …), parsed. */
  readonly fields: Record<string, unknown> = {};
  #buf = '';
  /** Scan position in #buf. */
  #pos = 0;
  #state = BEFORE_OBJECT;
  #key = '';
  /** Inside a value being cut out: where it starts in #buf (-1: none), what it is, and the scan state. */
  #start = -1;
  #cut = CUT_KEY;
  #depth = 0;
  #inString = false;
  #primitive = false;
  #records: T[] = [];
  #recordsSeen = false;
  /** What a record is handed out as: its parsed value, its text as the page holds it, or its JSON line. */
  readonly #output: 'value' | 'text' | 'jsonl';

  /**
   * `output`: `value` (default) parses each record; `text` hands out each record's JSON text as the page holds
   * it (not validated here); `jsonl` hands out `JSON.stringify` of the record without its `attributes`
   * members ({@link recordJsonLine}), cut from the page text in the same pass that finds the record's end
   * wherever that is exact ({@link exactRecordAt}), so the record is never built as an object.
   */
  constructor(opts: { output?: 'value' | 'text' | 'jsonl' } = {}) {
    this.#output = opts.output ?? 'value';
  }

  /** Records completed since the last call, in order. */
  take(): T[] {
    const out = this.#records;
    this.#records = [];
    return out;
  }

  /** True once the `records` array has begun (members before it are known) or the page has ended. */
  get recordsStarted(): boolean {
    return this.#recordsSeen || this.#state === FINISHED;
  }

  /** True once the closing `}` of the page object has been read. */
  get finished(): boolean {
    return this.#state === FINISHED;
  }

  /** Feeds the next piece of text. Completed records become available through {@link take}. */
  write(text: string): void {
    if (text.length === 0) return;
    // Keep only the unconsumed tail (the value being cut out, if any) so memory stays one chunk wide.
    const keepFrom = this.#start >= 0 ? this.#start : this.#pos;
    this.#buf = keepFrom >= this.#buf.length ? text : this.#buf.slice(keepFrom) + text;
    this.#pos -= keepFrom;
    this.#runRefusedAt = this.#runRefusedAt >= keepFrom ? this.#runRefusedAt - keepFrom : -1;
    if (this.#start >= 0) this.#start = 0;
    this.#scan();
  }

  /** Call at end of input: throws unless exactly one complete page object was read. */
  end(): void {
    if (this.#state !== FINISHED) throw new JsonStreamError('the response body ended before the query page was complete (truncated JSON)');
    if (!this.#recordsSeen) throw new JsonStreamError('the query page has no "records" array');
  }

  #scan(): void {
    const buf = this.#buf;
    const n = buf.length;
    let i = this.#pos;
    while (i < n) {
      if (this.#start >= 0) {
        const end = this.#cutValue(buf, i);
        if (end < 0) {
          i = n;
          break;
        }
        i = end;
        this.#complete(buf.slice(this.#start, end));
        this.#start = -1;
        continue;
      }
      const c = buf.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      switch (this.#state) {
        case BEFORE_OBJECT:
          if (c !== OPEN_BRACE) throw this.#unexpected(buf, i, 'a JSON object');
          this.#state = EXPECT_FIRST_KEY;
          i++;
          break;
        case EXPECT_FIRST_KEY:
        case EXPECT_KEY:
          if (c === CLOSE_BRACE && this.#state === EXPECT_FIRST_KEY) {
            this.#state = FINISHED;
            i++;
            break;
          }
          if (c !== QUOTE) throw this.#unexpected(buf, i, 'a member name');
          this.#begin(i, CUT_KEY);
          break;
        case EXPECT_COLON:
          if (c !== COLON) throw this.#unexpected(buf, i, '":"');
          this.#state = EXPECT_VALUE;
          i++;
          break;
        case EXPECT_VALUE:
          if (this.#key === 'records' && c === OPEN_BRACKET) {
            if (this.#recordsSeen) throw new JsonStreamError('the query page has "records" twice');
            this.#recordsSeen = true;
            this.#state = EXPECT_FIRST_ELEMENT;
            i++;
            break;
          }
          this.#begin(i, CUT_MEMBER);
          break;
        case AFTER_VALUE:
          if (c === COMMA) this.#state = EXPECT_KEY;
          else if (c === CLOSE_BRACE) this.#state = FINISHED;
          else throw this.#unexpected(buf, i, '"," or "}"');
          i++;
          break;
        case EXPECT_FIRST_ELEMENT:
        case EXPECT_ELEMENT:
          if (c === CLOSE_BRACKET && this.#state === EXPECT_FIRST_ELEMENT) {
            this.#state = AFTER_VALUE;
            i++;
            break;
          }
          if (this.#output === 'jsonl' && c === OPEN_BRACE) {
            // One pass checks, cuts and finds the end; a record that is not exact, or not all in this chunk
            // yet, is cut out the usual way below.
            const end = exactRecordAt(buf, i);
            if (end >= 0) {
              this.#records.push(exactLine as T);
              this.#state = AFTER_ELEMENT;
              i = end;
              break;
            }
          }
          if (this.#output === 'value' && c === OPEN_BRACE) {
            const end = this.#parseRun(buf, i);
            if (end >= 0) {
              this.#state = AFTER_ELEMENT;
              i = end;
              break;
            }
          }
          this.#begin(i, CUT_RECORD);
          break;
        case AFTER_ELEMENT:
          if (c === COMMA) this.#state = EXPECT_ELEMENT;
          else if (c === CLOSE_BRACKET) this.#state = AFTER_VALUE;
          else throw this.#unexpected(buf, i, '"," or "]" in records');
          i++;
          break;
        default:
          throw this.#unexpected(buf, i, 'the end of the body');
      }
    }
    this.#pos = i;
  }

  /**
   * Parses every complete record from `i` up to the last record boundary in `buf` with one `JSON.parse` of
   * `[…]`, instead of cutting and parsing them one by one (the cutting cost as much as the parsing). The
   * boundary is found as text: `},{"attributes":`, which starts every record but the first of a page
   * Salesforce sends. The text there may instead sit inside a string or a nested records array (a
   * subquery); then the run is not valid JSON — a prefix that ends inside a string, or with unbalanced
   * brackets, cannot be — and the records are cut one by one as before, so the values are always those
   * that parsing each record on its own gives. Returns the index just past the run, or -1.
   */
  #parseRun(buf: string, i: number): number {
    const boundary = buf.lastIndexOf(RECORD_BOUNDARY);
    if (boundary < i || boundary === this.#runRefusedAt) return -1;
    let records: T[];
    try {
      records = JSON.parse(`[${buf.slice(i, boundary + 1)}]`) as T[];
    } catch {
      // Not a run of whole records (see above): cut them one by one up to this boundary.
      this.#runRefusedAt = boundary;
      return -1;
    }
    for (let k = 0; k < records.length; k++) this.#records.push(records[k]);
    return boundary + 1;
  }

  /** A boundary where #parseRun was refused, in the current #buf (so it is not tried again record after record). */
  #runRefusedAt = -1;

  #begin(i: number, cut: number): void {
    this.#start = i;
    this.#cut = cut;
    this.#depth = 0;
    this.#inString = false;
    this.#primitive = false;
  }

  /**
   * Continues cutting out the value that starts at #start, from position i. Returns the index just past the
   * value, or -1 when the text ends first (the state is kept for the next chunk).
   */
  #cutValue(buf: string, i: number): number {
    const n = buf.length;
    if (i === this.#start) {
      const c = buf.charCodeAt(i);
      if (c === QUOTE) this.#inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.#depth = 1;
      else this.#primitive = true;
      i++;
    }
    if (this.#primitive) {
      while (i < n && !endsPrimitive(buf.charCodeAt(i))) i++;
      return i < n ? i : -1;
    }
    for (;;) {
      if (this.#inString) {
        // Find the closing quote: one not preceded by an odd number of backslashes.
        let q = buf.indexOf('"', i);
        for (;;) {
          if (q < 0) return -1;
          let b = q - 1;
          while (buf.charCodeAt(b) === BACKSLASH) b--;
          if ((q - 1 - b) % 2 === 0) break;
          q = buf.indexOf('"', q + 1);
        }
        i = q + 1;
        this.#inString = false;
        if (this.#depth === 0) return i;
      }
      for (; i < n; i++) {
        const c = buf.charCodeAt(i);
        if (c === QUOTE) {
          this.#inString = true;
          i++;
          break;
        }
        if (c === OPEN_BRACE || c === OPEN_BRACKET) this.#depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (--this.#depth === 0) return i + 1;
        }
      }
      if (!this.#inString) return -1;
    }
  }

  #complete(text: string): void {
    if (this.#cut === CUT_RECORD && this.#output !== 'value') {
      this.#records.push((this.#output === 'text' ? text : recordJsonLine(text)) as T);
      this.#state = AFTER_ELEMENT;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new JsonStreamError(`malformed JSON in the query page: ${(err as Error).message} in ${JSON.stringify(text.slice(0, 80))}`);
    }
    if (this.#cut === CUT_KEY) {
      this.#key = value as string;
      this.#state = EXPECT_COLON;
    } else if (this.#cut === CUT_MEMBER) {
      this.fields[this.#key] = value;
      this.#state = AFTER_VALUE;
    } else {
      this.#records.push(value as T);
      this.#state = AFTER_ELEMENT;
    }
  }

  #unexpected(buf: string, i: number, wanted: string): JsonStreamError {
    return new JsonStreamError(`malformed query page: expected ${wanted} but found ${JSON.stringify(buf.slice(i, i + 20))}`);
  }
}

/** A copy of a parsed value with every object's `attributes` member removed, at any depth. */
export function withoutAttributes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutAttributes);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'attributes') out[k] = withoutAttributes(x);
    return out;
  }
  return v;
}

/**
 * `JSON.stringify(withoutAttributes(JSON.parse(text)))` for one record's text, byte for byte, mostly without
 * building the record: {@link attributesCut} copies the text with its `attributes` members cut out when it
 * can show the result is exactly what the round trip would print, and the round trip runs otherwise.
 * Malformed text throws {@link JsonStreamError}.
 */
export function recordJsonLine(text: string): string {
  const cut = attributesCut(text);
  if (cut !== undefined) return cut;
  return JSON.stringify(withoutAttributes(parseRecord(text)));
}

/** `JSON.parse` of one record's text; malformed text throws {@link JsonStreamError}. */
export function parseRecord(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JsonStreamError(`malformed JSON in the query page: ${(err as Error).message} in ${JSON.stringify(text.slice(0, 80))}`);
  }
}

// State of attributesCut (module-level: one call at a time, no allocation per call).
let S = '';
let P = 0;
/** Output so far and where the next uncopied stretch of S starts. */
let OUT = '';
let FROM = 0;
/** Inside an `attributes` value being dropped (nested `attributes` members go with it). */
let DROPPING = 0;
/** Keys of the objects open on the path to P (hash, start, end), for the duplicate-key check. */
const KEY_CAPACITY = 1024;
const KEY_HASH = new Int32Array(KEY_CAPACITY);
const KEY_START = new Int32Array(KEY_CAPACITY);
const KEY_END = new Int32Array(KEY_CAPACITY);
let KEYS = 0;
/** Deeper values go the round-trip way. */
const MAX_DEPTH = 64;

/**
 * The record text with every object's `attributes` member (and its comma) cut out, or undefined when the cut
 * text could differ from `JSON.stringify` of the parsed record without them — or the text is not valid JSON
 * (the caller then parses it, which reports the error). The text passes only if it is exactly what
 * `JSON.stringify` prints for its own value, which is what Salesforce (and the emulator) send:
 * - no whitespace between tokens (JSON.stringify prints none);
 * - strings: only the escapes JSON.stringify writes (`\"`, `\\`, `\b \f \n \r \t`, lowercase `\u00XX` for the
 *   other control characters and a `\ud…` escape (high or low half) for lone surrogates), no raw control characters (invalid JSON), no
 *   raw lone surrogates; `\/`, `\u00e9` or an escaped surrogate pair print differently after a round trip;
 * - numbers: in the form `Number.prototype.toString` gives (`1.0`, `1e5`, `-0` and integers past 2^53 change);
 * - keys: no duplicates (JSON.parse keeps the last value at the first one's place), none starting with a
 *   digit (JSON.parse puts integer-like keys first), no `__proto__` (it is not copied as an own member).
 * Within those rules a value has a single JSON text, so the copy is exact.
 */
export function attributesCut(text: string): string | undefined {
  const end = exactRecordAt(text, 0, true);
  return end === text.length ? exactLine : undefined;
}

/** The line {@link exactRecordAt} cut out last. */
export let exactLine = '';

/**
 * Checks and cuts the value starting at `start` in `buf` as {@link attributesCut} does, stopping where the
 * value ends: returns that index (the cut text is then in {@link exactLine}), or -1 when the value is not
 * exact, not valid, or not complete in `buf` (the caller cuts it out and parses it). Only an object, unless
 * `any`.
 */
export function exactRecordAt(buf: string, start: number, any = false): number {
  S = buf;
  P = start;
  OUT = '';
  FROM = start;
  DROPPING = 0;
  KEYS = 0;
  if (BAD_TEXT !== buf || start < BAD_FROM || start > BAD_AT) {
    BAD_TEXT = buf;
    BAD_FROM = start;
    BAD_AT = nextBad(buf, start);
  }
  const ok = any ? exactValue(0) : S.charCodeAt(P) === OPEN_BRACE && exactObject(1);
  if (ok) exactLine = FROM === start ? (start === 0 && P === buf.length ? buf : buf.slice(start, P)) : OUT + buf.slice(FROM, P);
  S = '';
  OUT = '';
  return ok ? P : -1;
}

/**
 * Where the next character at or after `from` is that a string holding it must be checked character by
 * character (a backslash, a control character, a surrogate); past the end if none. Strings before it are
 * only searched for their closing quote.
 */
const BAD = /[\\\u0000-\u001f\ud800-\udfff]/g;
let BAD_TEXT = '';
/** BAD_TEXT holds none of those characters from BAD_FROM up to BAD_AT. */
let BAD_FROM = 0;
let BAD_AT = 0;
function nextBad(text: string, from: number): number {
  BAD.lastIndex = from;
  const m = BAD.exec(text);
  return m ? m.index : text.length;
}

function exactValue(depth: number): boolean {
  const c = S.charCodeAt(P);
  if (c === QUOTE) return exactString();
  if (c === OPEN_BRACE) return depth < MAX_DEPTH && exactObject(depth + 1);
  if (c === OPEN_BRACKET) return depth < MAX_DEPTH && exactArray(depth + 1);
  if (c === 0x74) return literal('true');
  if (c === 0x66) return literal('false');
  if (c === 0x6e) return literal('null');
  return exactNumber();
}

function literal(word: string): boolean {
  if (!S.startsWith(word, P)) return false;
  P += word.length;
  return true;
}

/** Short escapes JSON.stringify writes: `"` `\` b f n r t. */
const SHORT_ESCAPE = new Uint8Array(128);
for (const ch of '"\\bfnrt') SHORT_ESCAPE[ch.charCodeAt(0)] = 1;

function exactString(): boolean {
  const q = S.indexOf('"', P + 1);
  if (q < 0) return false;
  if (q < BAD_AT) {
    P = q + 1;
    return true;
  }
  if (!checkedString()) return false;
  if (BAD_AT < P) {
    BAD_FROM = P;
    BAD_AT = nextBad(S, P);
  }
  return true;
}

/** exactString for a string that may hold escapes, control characters or surrogates. */
function checkedString(): boolean {
  const s = S;
  const n = s.length;
  let i = P + 1;
  for (;;) {
    if (i >= n) return false;
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      P = i + 1;
      return true;
    }
    if (c < 0x20) return false;
    if (c === BACKSLASH) {
      const e = s.charCodeAt(i + 1);
      if (e < 128 && SHORT_ESCAPE[e] === 1) {
        i += 2;
        continue;
      }
      if (e === 0x75) {
        const v = lowerHex4(s, i + 2);
        // \u00XX only for control characters without a short form, as JSON.stringify writes them.
        if (v < 0x20 && v >= 0 && v !== 8 && v !== 9 && v !== 10 && v !== 12 && v !== 13) {
          i += 6;
          continue;
        }
        // A lone surrogate, which JSON.stringify writes as a `\ud…` escape: a high one not followed by a low one
        // (raw or escaped), or a low one (one after a high one was refused with that high one).
        if (v >= 0xdc00 && v <= 0xdfff) {
          i += 6;
          continue;
        }
        if (v >= 0xd800 && v <= 0xdbff) {
          const d = s.charCodeAt(i + 6);
          if (d >= 0xdc00 && d <= 0xdfff) return false;
          if (d === BACKSLASH && s.charCodeAt(i + 7) === 0x75) {
            const w = hex4(s, i + 8);
            if (w >= 0xdc00 && w <= 0xdfff) return false;
          }
          i += 6;
          continue;
        }
      }
      return false;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      // A surrogate pair is one character, written raw; a lone surrogate JSON.stringify writes as a `\ud…` escape.
      if (c >= 0xdc00) return false;
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i += 2;
      continue;
    }
    i++;
  }
}

/** The value of 4 lowercase hex digits at i (what JSON.stringify writes), else -1. */
export function lowerHex4(s: string, i: number): number {
  let v = 0;
  for (let j = i; j < i + 4; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x30 && c <= 0x39) v = v * 16 + c - 0x30;
    else if (c >= 0x61 && c <= 0x66) v = v * 16 + c - 0x57;
    else return -1;
  }
  return v;
}

/** The value of 4 hex digits at i in either case, else -1. */
export function hex4(s: string, i: number): number {
  let v = 0;
  for (let j = i; j < i + 4; j++) {
    const c = s.charCodeAt(j) | 0x20;
    if (c >= 0x30 && c <= 0x39) v = v * 16 + c - 0x30;
    else if (c >= 0x61 && c <= 0x66) v = v * 16 + c - 0x57;
    else return -1;
  }
  return v;
}

function exactNumber(): boolean {
  const s = S;
  const start = P;
  let i = P;
  if (s.charCodeAt(i) === 0x2d) i++;
  const digits = i;
  let c = s.charCodeAt(i);
  if (c === 0x30) i++;
  else if (c >= 0x31 && c <= 0x39) {
    do i++;
    while ((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39);
  } else return false;
  let integer = true;
  if (s.charCodeAt(i) === 0x2e) {
    integer = false;
    i++;
    if (!((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39)) return false;
    do i++;
    while ((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39);
  }
  c = s.charCodeAt(i);
  if (c === 0x65 || c === 0x45) {
    integer = false;
    i++;
    c = s.charCodeAt(i);
    if (c === 0x2b || c === 0x2d) i++;
    if (!((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39)) return false;
    do i++;
    while ((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39);
  }
  P = i;
  // Integers of up to 15 digits are exact doubles and print as written (except -0, which prints as 0).
  if (integer && i - digits <= 15 && !(digits > start && i - digits === 1 && s.charCodeAt(digits) === 0x30)) return true;
  const token = s.slice(start, i);
  return String(Number(token)) === token;
}

function exactArray(depth: number): boolean {
  P++;
  if (S.charCodeAt(P) === CLOSE_BRACKET) {
    P++;
    return true;
  }
  for (;;) {
    if (!exactValue(depth)) return false;
    const c = S.charCodeAt(P);
    P++;
    if (c === COMMA) continue;
    return c === CLOSE_BRACKET;
  }
}

function exactObject(depth: number): boolean {
  const s = S;
  P++;
  if (s.charCodeAt(P) === CLOSE_BRACE) {
    P++;
    return true;
  }
  const base = KEYS;
  let first = true;
  for (;;) {
    const keyStart = P;
    if (s.charCodeAt(P) !== QUOTE || !exactString()) return false;
    const keyEnd = P;
    const k = s.charCodeAt(keyStart + 1);
    if (k >= 0x30 && k <= 0x39) return false;
    if (keyEnd - keyStart === 11 && s.startsWith('"__proto__"', keyStart)) return false;
    // A cheap key summary (length, first and last character); equal summaries are compared in full.
    const h = ((keyEnd - keyStart) << 16) ^ (k << 8) ^ s.charCodeAt(keyEnd - 2);
    for (let j = base; j < KEYS; j++) if (KEY_HASH[j] === h && sameText(s, KEY_START[j], KEY_END[j], keyStart, keyEnd)) return false;
    if (KEYS === KEY_CAPACITY) return false;
    KEY_HASH[KEYS] = h;
    KEY_START[KEYS] = keyStart;
    KEY_END[KEYS] = keyEnd;
    KEYS++;
    if (s.charCodeAt(P) !== COLON) return false;
    P++;
    const drop = DROPPING === 0 && keyEnd - keyStart === 12 && s.startsWith('"attributes"', keyStart);
    if (drop) DROPPING++;
    if (!exactValue(depth)) return false;
    if (drop) {
      DROPPING--;
      if (first) {
        // The first member goes with the comma after it, a later one with the comma before it.
        OUT += s.slice(FROM, keyStart);
        FROM = s.charCodeAt(P) === COMMA ? P + 1 : P;
      } else {
        OUT += s.slice(FROM, keyStart - 1);
        FROM = P;
      }
    }
    first = false;
    const c = s.charCodeAt(P);
    P++;
    if (c === COMMA) continue;
    KEYS = base;
    return c === CLOSE_BRACE;
  }
}

function sameText(s: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (; a < aEnd; a++, b++) if (s.charCodeAt(a) !== s.charCodeAt(b)) return false;
  return true;
}
