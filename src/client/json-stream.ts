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
