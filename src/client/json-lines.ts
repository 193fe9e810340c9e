/**
 * A query page turned into JSON lines without leaving bytes: the page body's UTF-8 chunks go in, and each
 * record comes out as `JSON.stringify` of the record without its `attributes` members (at any depth) plus a
 * newline, byte for byte, copied from the page's own bytes wherever that is exact. Nothing is decoded to a
 * string, built as an object or encoded again, which is where the time of a JSON-lines export went: a record
 * is checked and cut in the one pass that finds its end, and written as the byte ranges it keeps.
 *
 * A record's bytes are exact when they are what `JSON.stringify` prints for its own value — what Salesforce
 * (and the emulator) send — under the rules of json-stream.ts `attributesCut`, plus one for bytes: a record
 * holding non-ASCII bytes must be valid UTF-8 (a decoder would replace the rest). Any other record (other
 * escapes or number forms, whitespace, duplicate keys, invalid UTF-8) is decoded, parsed and serialised again,
 * so the output is the round trip's in every case; malformed JSON throws {@link JsonStreamError}.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { hex4, JsonStreamError, lowerHex4, parseRecord, withoutAttributes } from './json-stream.ts';

// Structural states (outside a record or member being cut).
const BEFORE_OBJECT = 0;
const EXPECT_FIRST_KEY = 1;
const EXPECT_KEY = 2;
const EXPECT_COLON = 3;
const EXPECT_VALUE = 4;
const AFTER_VALUE = 5;
const EXPECT_FIRST_ELEMENT = 6;
const EXPECT_ELEMENT = 7;
const AFTER_ELEMENT = 8;
const FINISHED = 9;

// The bytes of JSON's structure (as in json-stream.ts, kept here as this module's own constants: the
// checking loop below reads them for every byte, and an imported binding is not a constant to the compiler).
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NEWLINE = 0x0a;

const EMPTY = Buffer.alloc(0);

/**
 * Where lines are written: a buffer and how far it is used. By default scanners share one slab, each batch a
 * view of its own stretch that is never written over: one allocation per megabyte of output instead of one per
 * network chunk (each a fresh backing store that lives until the next GC). A consumer that is done with each
 * batch before it asks for the next (the CLI writes them synchronously) can have one slab reused from its
 * start for every batch, so an export allocates nothing for its output at all ({@link LineSlab.reuse}).
 */
export class LineSlab {
  buf: Buffer = EMPTY;
  at = 0;
  /** Each batch overwrites the one before: its bytes are valid only until the next chunk is written. */
  readonly reuse: boolean;
  constructor(opts: { reuse?: boolean } = {}) {
    this.reuse = opts.reuse ?? false;
  }
  /** Room for `bytes` more from `at` (a new buffer when there is not; views of the old one stay valid). */
  reserve(bytes: number): void {
    if (this.buf.length - this.at >= bytes) return;
    this.buf = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
    this.at = 0;
  }
}
const SLAB_BYTES = 1 << 20;
/** How much of a chunk is joined with the bytes carried from the one before (see write). */
const JOIN_BYTES = 8 * 1024;
const SHARED_SLAB = new LineSlab();
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** A batch of JSON lines: newline-terminated UTF-8, and how many records it holds. */
export interface JsonLinesBatch {
  bytes: Buffer;
  records: number;
}

/**
 * Push parser for one query page that hands out its records as JSON lines (see the module comment). Feed it
 * the body's chunks with {@link write}; {@link take} returns the lines completed so far.
 */
export class JsonLinesPageScanner {
  /** Top-level members other than `records` (`totalSize`, `done`, `nextRecordsUrl`, …), parsed. */
  readonly fields: Record<string, unknown> = {};
  /** Records to leave out before the first one handed out (a page read again after a dropped connection). */
  skip = 0;
  #state = BEFORE_OBJECT;
  #key = '';
  #recordsSeen = false;
  /** Bytes not yet consumed: the token or record that did not end in the chunks so far. */
  #pending: Buffer | undefined;
  /** Don't scan again until #pending holds this many bytes (a large record is not rescanned per chunk). */
  #waitFor = 0;
  #first = true;
  /** Lines completed since the last take: earlier stretches, and the last one (extended while contiguous). */
  #out: Buffer[] = [];
  #runBuf: Buffer = EMPTY;
  #runStart = 0;
  #runEnd = 0;
  #outRecords = 0;
  readonly #slab: LineSlab;

  /** `slab`: where the lines go (see {@link LineSlab}); by default the shared one. */
  constructor(opts: { slab?: LineSlab } = {}) {
    this.#slab = opts.slab ?? SHARED_SLAB;
  }

  /** True once the `records` array has begun (members before it are known) or the page has ended. */
  get recordsStarted(): boolean {
    return this.#recordsSeen || this.#state === FINISHED;
  }

  /** Feeds the next chunk of the body. */
  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // The batches taken so far are done with (see LineSlab.reuse).
    if (this.#slab.reuse && this.#outRecords === 0) this.#slab.at = 0;
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let from = 0;
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending.length + buf.length < this.#waitFor) {
        this.#pending = Buffer.concat([pending, buf]);
        return;
      }
      // The record cut by the chunk's start usually ends within its first bytes: join the carried bytes with
      // those only and go on in the chunk itself, instead of copying every chunk whole.
      const head = this.#first || buf.length <= JOIN_BYTES ? undefined : Buffer.concat([pending, buf.subarray(0, JOIN_BYTES)]);
      const stop = head ? this.#scan(head, 0) : 0;
      if (stop >= pending.length) from = stop - pending.length;
      // What was scanned is done (the carried bytes may hold whole records, gathered while waiting).
      else buf = Buffer.concat([pending.subarray(stop), buf]);
    }
    if (this.#first) {
      // A byte order mark, which a text decoder drops too.
      if (buf.length < 3 && buf[0] === 0xef) {
        this.#pending = buf;
        return;
      }
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) from = 3;
      this.#first = false;
    }
    const stop = this.#scan(buf, from);
    if (stop < buf.length) {
      this.#pending = buf.subarray(stop);
      this.#waitFor = this.#pending.length * 2;
    }
  }

  /** Call at the end of the body: throws unless exactly one complete page object was read. */
  end(): void {
    if (this.#pending && this.#state !== FINISHED) {
      const pending = this.#pending;
      this.#pending = undefined;
      this.#waitFor = 0;
      const stop = this.#scan(pending, 0);
      if (stop < pending.length) this.#pending = pending.subarray(stop);
    }
    if (this.#state !== FINISHED) throw new JsonStreamError('the response body ended before the query page was complete (truncated JSON)');
    if (this.#pending && this.#pending.some((c) => !isSpace(c))) throw new JsonStreamError(`malformed query page: expected the end of the body but found ${JSON.stringify(this.#pending.toString('utf8', 0, 20))}`);
    if (!this.#recordsSeen) throw new JsonStreamError('the query page has no "records" array');
  }

  /** The JSON lines completed since the last call (empty when none). */
  take(): JsonLinesBatch[] {
    if (this.#outRecords === 0) return [];
    const last = this.#runBuf.subarray(this.#runStart, this.#runEnd);
    const bytes = this.#out.length === 0 ? last : Buffer.concat([...this.#out, last]);
    const batch = { bytes, records: this.#outRecords };
    this.#out = [];
    this.#runBuf = EMPTY;
    this.#outRecords = 0;
    return [batch];
  }

  /** Scans from `i`; returns where it stopped (the start of what did not end in `buf`, or its length). */
  #scan(buf: Buffer, i: number): number {
    const n = buf.length;
    // Room for every record of this buffer: an exact line is never longer than its record and the byte after it.
    const slab = this.#slab;
    slab.reserve(n - i + 1);
    this.#line = slab.buf;
    this.#from = slab.at;
    this.#at = slab.at;
    this.#lines = 0;
    try {
      while (i < n) {
        const c = buf[i];
        if (isSpace(c)) {
          i++;
          continue;
        }
        switch (this.#state) {
          case EXPECT_FIRST_ELEMENT:
          case EXPECT_ELEMENT: {
            if (c === CLOSE_BRACKET && this.#state === EXPECT_FIRST_ELEMENT) {
              this.#state = AFTER_VALUE;
              i++;
              break;
            }
            if (c === OPEN_BRACE) {
              const keep = this.skip === 0;
              const end = exactRecord(buf, i, keep ? this.#line : undefined, this.#at);
              if (end >= 0) {
                if (keep) {
                  this.#line[exactLineEnd] = NEWLINE;
                  this.#at = exactLineEnd + 1;
                  this.#lines++;
                } else this.skip--;
                i = end;
                this.#state = AFTER_ELEMENT;
                break;
              }
            }
            // Not exact, or not complete in this buffer: cut it out whole, then the round trip decides.
            const end = valueEnd(buf, i);
            if (end < 0 || end === n) return i;
            this.#roundTrip(buf.toString('utf8', i, end));
            i = end;
            this.#state = AFTER_ELEMENT;
            break;
          }
          case AFTER_ELEMENT:
            if (c === COMMA) this.#state = EXPECT_ELEMENT;
            else if (c === CLOSE_BRACKET) this.#state = AFTER_VALUE;
            else throw unexpected(buf, i, '"," or "]" in records');
            i++;
            break;
          case BEFORE_OBJECT:
            if (c !== OPEN_BRACE) throw unexpected(buf, i, 'a JSON object');
            this.#state = EXPECT_FIRST_KEY;
            i++;
            break;
          case EXPECT_FIRST_KEY:
          case EXPECT_KEY: {
            if (c === CLOSE_BRACE && this.#state === EXPECT_FIRST_KEY) {
              this.#state = FINISHED;
              i++;
              break;
            }
            if (c !== QUOTE) throw unexpected(buf, i, 'a member name');
            const end = valueEnd(buf, i);
            if (end < 0) return i;
            this.#key = parseMember(buf, i, end) as string;
            this.#state = EXPECT_COLON;
            i = end;
            break;
          }
          case EXPECT_COLON:
            if (c !== COLON) throw unexpected(buf, i, '":"');
            this.#state = EXPECT_VALUE;
            i++;
            break;
          case EXPECT_VALUE: {
            if (this.#key === 'records' && c === OPEN_BRACKET) {
              if (this.#recordsSeen) throw new JsonStreamError('the query page has "records" twice');
              this.#recordsSeen = true;
              this.#state = EXPECT_FIRST_ELEMENT;
              i++;
              break;
            }
            const end = valueEnd(buf, i);
            // A number at the very end of the buffer may go on in the next chunk.
            if (end < 0 || end === n) return i;
            this.fields[this.#key] = parseMember(buf, i, end);
            this.#state = AFTER_VALUE;
            i = end;
            break;
          }
          case AFTER_VALUE:
            if (c === COMMA) this.#state = EXPECT_KEY;
            else if (c === CLOSE_BRACE) this.#state = FINISHED;
            else throw unexpected(buf, i, '"," or "}"');
            i++;
            break;
          default:
            throw unexpected(buf, i, 'the end of the body');
        }
      }
      return i;
    } finally {
      if (this.#lines > 0) {
        if (this.#runBuf === this.#line && this.#runEnd === this.#from) this.#runEnd = this.#at;
        else {
          if (this.#runBuf !== EMPTY) this.#out.push(this.#runBuf.subarray(this.#runStart, this.#runEnd));
          this.#runBuf = this.#line;
          this.#runStart = this.#from;
          this.#runEnd = this.#at;
        }
        this.#outRecords += this.#lines;
        if (this.#line === this.#slab.buf) this.#slab.at = this.#at;
      }
      this.#line = EMPTY;
    }
  }

  /** Where the lines of the buffer being scanned go (a slab, from #from), how far they are written, and how many there are. */
  #line: Buffer = EMPTY;
  #from = 0;
  #at = 0;
  #lines = 0;

  /** Appends the line of a record that is not exact: parsed and serialised again (or left out, when skipped). */
  #roundTrip(text: string): void {
    const line = Buffer.from(JSON.stringify(withoutAttributes(parseRecord(text))));
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    if (this.#at + line.length + 1 > this.#line.length) {
      // Longer than its record (`1e21` prints as `1e+21`, an invalid byte as U+FFFD): grow the buffer.
      const written = this.#at - this.#from;
      const bigger = Buffer.allocUnsafe(Math.max(this.#line.length * 2, written + line.length + 1));
      this.#line.copy(bigger, 0, this.#from, this.#at);
      this.#line = bigger;
      this.#from = 0;
      this.#at = written;
    }
    line.copy(this.#line, this.#at);
    this.#at += line.length;
    this.#line[this.#at++] = NEWLINE;
    this.#lines++;
  }
}

function parseMember(buf: Buffer, start: number, end: number): unknown {
  const text = buf.toString('utf8', start, end);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JsonStreamError(`malformed JSON in the query page: ${(err as Error).message} in ${JSON.stringify(text.slice(0, 80))}`);
  }
}

function unexpected(buf: Buffer, i: number, wanted: string): JsonStreamError {
  return new JsonStreamError(`malformed query page: expected ${wanted} but found ${JSON.stringify(buf.toString('utf8', i, Math.min(buf.length, i + 20)))}`);
}

/**
 * Where the JSON value starting at `i` ends (the index past it), by balancing brackets outside strings; -1
 * when `buf` ends first. A number, true, false or null ends at the first byte that cannot continue it (or
 * the end of `buf`: the caller decides whether more may follow).
 */
export function valueEnd(buf: Buffer, i: number): number {
  const n = buf.length;
  const c = buf[i];
  if (c !== QUOTE && c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    while (i < n) {
      const d = buf[i];
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) return i;
      i++;
    }
    return n;
  }
  let depth = 0;
  for (; i < n; i++) {
    const d = buf[i];
    if (d === QUOTE) {
      for (i++; ; i++) {
        if (i >= n) return -1;
        const e = buf[i];
        if (e === QUOTE) break;
        if (e === BACKSLASH) i++;
      }
      if (depth === 0) return i + 1;
    } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
    else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Where the last exact line written by {@link exactRecord} ends in its output buffer. */
export let exactLineEnd = 0;

// The open containers of the record being checked: kind, where their keys start in the key table, and
// whether a member was seen. Module-level so a check allocates nothing; one check runs at a time.
const MAX_DEPTH = 64;
const IS_OBJECT = new Uint8Array(MAX_DEPTH + 1);
const KEY_BASE = new Int32Array(MAX_DEPTH + 1);
const MEMBERS = new Int32Array(MAX_DEPTH + 1);
/** Keys of the objects open on the path (a summary, start and end of each), for the duplicate-key check. */
const KEY_CAPACITY = 1024;
const KEY_HASH = new Int32Array(KEY_CAPACITY);
const KEY_START = new Int32Array(KEY_CAPACITY);
const KEY_END = new Int32Array(KEY_CAPACITY);

/** Short escapes JSON.stringify writes: `"` `\` b f n r t. */
const SHORT_ESCAPE = new Uint8Array(256);
for (const ch of '"\\bfnrt') SHORT_ESCAPE[ch.charCodeAt(0)] = 1;

// What the loop expects next.
const KEY = 0;
const VALUE = 1;
const AFTER = 2;

/**
 * Checks the record (an object) starting at `start` and, when its bytes are exact, copies it without its
 * `attributes` members into `out` at `at` (the line then ends at {@link exactLineEnd}); returns the index past
 * the record, or -1 when it is not exact, not valid or not complete in `buf` (what was written to `out` is
 * then to be overwritten). With no `out`, only checks. One flat loop with its state in locals: this runs for
 * every record of an export, and calls per value cost more than the bytes themselves.
 */
export function exactRecord(b: Buffer, start: number, out: Buffer | undefined, at: number): number {
  const n = b.length;
  const isObject = IS_OBJECT;
  const keyBase = KEY_BASE;
  const members = MEMBERS;
  const keyHash = KEY_HASH;
  const keyStart = KEY_START;
  const keyEnd = KEY_END;
  let keys = 0;
  let depth = 0;
  STRING_BITS[0] = 0;
  /** The next byte of the record not yet copied to `out`. */
  let from = start;
  /** The `attributes` member being dropped: its depth (0: none), key start and whether it was the first member. */
  let dropDepth = 0;
  let dropKey = 0;
  let dropFirst = false;
  let i = start;
  let state = VALUE;
  for (;;) {
    if (i >= n) return -1;
    let c = b[i];
    if (state === AFTER) {
      if (dropDepth === depth && dropDepth !== 0) {
        // The `attributes` value just ended: the first member goes with the comma after it, a later one with the comma before it.
        if (dropFirst) {
          if (out && dropKey > from) b.copy(out, at, from, dropKey);
          at += dropKey - from;
          from = c === COMMA ? i + 1 : i;
        } else {
          if (out && dropKey - 1 > from) b.copy(out, at, from, dropKey - 1);
          at += dropKey - 1 - from;
          from = i;
        }
        dropDepth = 0;
      }
      if (c === COMMA) {
        i++;
        state = isObject[depth] === 1 ? KEY : VALUE;
        continue;
      }
      if (c === (isObject[depth] === 1 ? CLOSE_BRACE : CLOSE_BRACKET)) {
        keys = keyBase[depth];
        depth--;
        i++;
        if (depth === 0) break;
        continue;
      }
      return -1;
    }
    if (state === KEY) {
      if (c !== QUOTE) return -1;
      const k0 = i;
      i = stringEnd(b, i, n);
      if (i < 0) return -1;
      const length = i - k0;
      const first = b[k0 + 1];
      // JSON.parse puts integer-like keys first; `__proto__` is not copied as an own member.
      if (first >= 0x30 && first <= 0x39) return -1;
      if (length === 11 && isProto(b, k0)) return -1;
      const h = (length << 16) ^ (first << 8) ^ b[i - 2];
      const base = keyBase[depth];
      for (let j = base; j < keys; j++) if (keyHash[j] === h && b.compare(b, keyStart[j], keyEnd[j], k0, i) === 0) return -1;
      if (keys === KEY_CAPACITY) return -1;
      keyHash[keys] = h;
      keyStart[keys] = k0;
      keyEnd[keys] = i;
      keys++;
      if (b[i] !== COLON) return -1;
      i++;
      if (dropDepth === 0 && length === 12 && isAttributes(b, k0)) {
        dropDepth = depth;
        dropKey = k0;
        dropFirst = members[depth] === 0;
      }
      members[depth]++;
      state = VALUE;
      continue;
    }
    // VALUE
    if (c === QUOTE) {
      i = stringEnd(b, i, n);
      if (i < 0) return -1;
      state = AFTER;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === MAX_DEPTH) return -1;
      depth++;
      isObject[depth] = c === OPEN_BRACE ? 1 : 0;
      keyBase[depth] = keys;
      members[depth] = 0;
      i++;
      if (b[i] === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
        depth--;
        i++;
        if (depth === 0) break;
        state = AFTER;
      } else state = c === OPEN_BRACE ? KEY : VALUE;
      continue;
    }
    if (depth === 0) return -1;
    if (c === 0x6e) {
      if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return -1;
      i += 4;
    } else if (c === 0x74) {
      if (b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return -1;
      i += 4;
    } else if (c === 0x66) {
      if (b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return -1;
      i += 5;
    } else {
      i = numberEnd(b, i);
      if (i < 0) return -1;
    }
    state = AFTER;
  }
  // A record with non-ASCII bytes copies exactly only if they are valid UTF-8 (a decoder replaces the rest).
  if (STRING_BITS[0] >= 0x80 && !isUtf8(b.subarray(start, i))) return -1;
  if (out && i > from) b.copy(out, at, from, i);
  exactLineEnd = at + i - from;
  return i;
}

/** The OR of every byte of the strings of the record being checked: bit 7 set means UTF-8 to validate. */
const STRING_BITS = new Uint8Array(1);

/**
 * The index past the string whose opening quote is at `i`, when it holds only what JSON.stringify writes (no
 * raw control characters, only its own escapes), else -1 (also when `b` ends first). Its bytes are ORed into
 * {@link STRING_BITS}.
 */
function stringEnd(b: Buffer, i: number, n: number): number {
  let high = 0;
  for (i++; ; i++) {
    if (i >= n) return -1;
    const c = b[i];
    if (c === QUOTE) break;
    if (c < 0x20 || c === BACKSLASH) {
      if (c !== BACKSLASH) return -1;
      i = escapeEnd(b, i);
      if (i < 0) return -1;
      i--;
      continue;
    }
    high |= c;
  }
  STRING_BITS[0] |= high;
  return i + 1;
}

/**
 * The index past the escape at `i` (a backslash) when it is one JSON.stringify writes, else -1: `\"`, `\\`,
 * `\b \f \n \r \t`, lowercase `\u00XX` for the other control characters, and a lowercase `\ud…` escape for a
 * lone surrogate (a low one, or a high one not followed by an escaped low one: valid UTF-8 holds no raw
 * surrogate to follow it). `\/`, `\u00e9` or an escaped surrogate pair print differently after a round trip.
 */
function escapeEnd(b: Buffer, i: number): number {
  const e = b[i + 1];
  if (SHORT_ESCAPE[e] === 1) return i + 2;
  if (e !== 0x75) return -1;
  // Escapes are rare: their digits are read as text.
  const v = lowerHex4(b.toString('latin1', i + 2, i + 6), 0);
  if (v < 0x20 && v >= 0 && v !== 8 && v !== 9 && v !== 10 && v !== 12 && v !== 13) return i + 6;
  if (v >= 0xdc00 && v <= 0xdfff) return i + 6;
  if (v >= 0xd800 && v <= 0xdbff) {
    if (b[i + 6] === BACKSLASH && b[i + 7] === 0x75) {
      const w = hex4(b.toString('latin1', i + 8, i + 12), 0);
      if (w >= 0xdc00 && w <= 0xdfff) return -1;
      // Not known yet whether a low surrogate follows: the caller sees the end of its buffer.
      if (w < 0) return -1;
    } else if (i + 6 >= b.length) return -1;
    return i + 6;
  }
  return -1;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * The index past the number at `i` when it is in the form `Number.prototype.toString` gives (what
 * JSON.stringify prints: `1.0`, `1e5`, `-0` and integers past 2^53 change), else -1; also -1 when the
 * buffer ends right after it (it might go on).
 */
function numberEnd(b: Buffer, start: number): number {
  let i = start;
  if (b[i] === 0x2d) i++;
  const digits = i;
  let c = b[i];
  if (c === 0x30) i++;
  else if (c >= 0x31 && c <= 0x39) {
    do i++;
    while (isDigit(b[i]));
  } else return -1;
  let integer = true;
  if (b[i] === 0x2e) {
    integer = false;
    i++;
    if (!isDigit(b[i])) return -1;
    do i++;
    while (isDigit(b[i]));
  }
  c = b[i];
  if (c === 0x65 || c === 0x45) {
    integer = false;
    i++;
    c = b[i];
    if (c === 0x2b || c === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    do i++;
    while (isDigit(b[i]));
  }
  if (i >= b.length) return -1;
  // Integers of up to 15 digits are exact doubles and print as written (except -0, which prints as 0).
  if (integer && i - digits <= 15 && !(digits > start && i - digits === 1 && b[digits] === 0x30)) return i;
  const token = b.toString('latin1', start, i);
  return String(Number(token)) === token ? i : -1;
}

/** `"attributes"` at i (12 bytes, the quotes included). */
function isAttributes(b: Buffer, i: number): boolean {
  return b[i + 1] === 0x61 && b[i + 2] === 0x74 && b[i + 3] === 0x74 && b[i + 4] === 0x72 && b[i + 5] === 0x69 && b[i + 6] === 0x62 && b[i + 7] === 0x75 && b[i + 8] === 0x74 && b[i + 9] === 0x65 && b[i + 10] === 0x73;
}

/** `"__proto__"` at i (11 bytes, the quotes included). */
function isProto(b: Buffer, i: number): boolean {
  return b[i + 1] === 0x5f && b[i + 2] === 0x5f && b[i + 3] === 0x70 && b[i + 4] === 0x72 && b[i + 5] === 0x6f && b[i + 6] === 0x74 && b[i + 7] === 0x6f && b[i + 8] === 0x5f && b[i + 9] === 0x5f;
}
