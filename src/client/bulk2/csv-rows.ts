/**
 * A small RFC 4180 reader for Bulk result files: quoted fields (with `""` escapes, delimiters and line breaks
 * inside), CRLF or LF line endings, a leading BOM, any one-character delimiter. It reads a 100,000-row result
 * file in a fraction of csv-parse's time (the join of an upsert's results is CPU-bound at the end of a load,
 * after the last job has ended) and yields the rows of each input chunk as one batch, so there is one promise
 * per chunk rather than per row.
 */
import { BULK_ERROR_CODES, BulkError } from './common.ts';

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Rows of `source` (bytes of UTF-8 CSV), in batches. Blank lines are skipped; rows may differ in width. A
 * quoted field still open at the end of the input (an unterminated quote, or a body cut mid-field) throws a
 * {@link BulkError} naming the row it starts in, instead of silently dropping everything after it.
 */
export async function* csvRowBatches(source: AsyncIterable<Uint8Array | string>, delimiter = ','): AsyncGenerator<string[][]> {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: false });
  const d = delimiter.charCodeAt(0);
  let rest = '';
  let seen = 0;
  // Line breaks before `rest`, so an unterminated quote is reported by the line an editor shows.
  let lines = 0;
  // Set when `rest` is long and holds a quote that is still open: a chunk with no quote in it cannot close it,
  // so it is appended without parsing again (re-reading a growing row per chunk would be quadratic).
  let open = false;
  const unterminated = (text: string) => {
    const snippet = text.slice(0, 40);
    return new BulkError(BULK_ERROR_CODES.invalidInput, `CSV row ${seen + 1} (counting the header row, on line ${lines + 1}) opens a quoted field that is never closed (${JSON.stringify(snippet)}…): close the quote, and write a quote inside a quoted field as ""`);
  };
  for await (const chunk of source) {
    const piece = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (open && !piece.includes('"')) {
      rest += piece;
      if (rest.length > MAX_PENDING_ROW) throw unterminated(rest);
      continue;
    }
    const text = rest + piece;
    const { rows, consumed } = parseRows(text, d, false);
    lines += countLf(text, consumed);
    rest = consumed === 0 ? text : text.slice(consumed);
    seen += rows.length;
    if (rows.length > 0) yield rows;
    open = rest.length > OPEN_CHECK_AT && oddQuotes(rest);
    if (rest.length > MAX_PENDING_ROW) throw unterminated(rest);
  }
  const text = rest + decoder.decode();
  if (text.length > 0) {
    const { rows, consumed } = parseRows(text, d, true);
    seen += rows.length;
    if (rows.length > 0) yield rows;
    if (consumed < text.length) {
      lines += countLf(text, consumed);
      throw unterminated(text.slice(consumed));
    }
  }
}

/** Pending text after which an open quote is tracked (below it, parsing again is cheap). */
const OPEN_CHECK_AT = 1 << 16;

/**
 * The longest row that may be pending: far above any real row (a long text area holds at most 131,072
 * characters), so a row this long means a quote that never closes, reported without holding the whole file.
 */
const MAX_PENDING_ROW = 64 * 1024 * 1024;

/** An odd number of quotes: one is still open. */
function oddQuotes(text: string): boolean {
  let n = 0;
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i + 1)) n++;
  return n % 2 === 1;
}

/** Line feeds in `text` before `end`. */
function countLf(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Reads a whole CSV file through {@link csvRowBatches} before anything is sent: an unterminated quote (named
 * by its line) or a data row wider or narrower than the header fails here, so a load never sends the first
 * rows of a file it will refuse later. Returns the header and the data-row count. About 0.3 s per 100 MB.
 */
export async function checkCsvRows(source: AsyncIterable<Uint8Array | string>, name: string, delimiter = ','): Promise<{ header: string[]; rows: number }> {
  let header: string[] | null = null;
  let rows = 0;
  for await (const batch of csvRowBatches(source, delimiter)) {
    for (const cells of batch) {
      if (header === null) {
        header = cells;
        continue;
      }
      rows++;
      if (cells.length !== header.length) throw new BulkError(BULK_ERROR_CODES.invalidInput, `${name}: data row ${rows} has ${cells.length} fields but the header has ${header.length}; quote fields that contain commas, quotes or line breaks`);
    }
  }
  return { header: header ?? [], rows };
}

/**
 * Parses the complete rows at the start of `buf`; returns them and how many characters they took. Unless
 * `final`, a row that the buffer ends inside (or right after, where a line ending or an escaped quote may
 * continue in the next chunk) is left for the next call.
 */
export function parseRows(buf: string, d: number, final: boolean): { rows: string[][]; consumed: number } {
  const rows: string[][] = [];
  const len = buf.length;
  let i = 0;
  rows: while (i < len) {
    const row: string[] = [];
    let pos = i;
    for (;;) {
      if (pos < len && buf.charCodeAt(pos) === QUOTE) {
        let seg = pos + 1;
        let value = '';
        for (;;) {
          const q = buf.indexOf('"', seg);
          // Unterminated: wait for more input, or (final) leave the rest unconsumed for the caller to report.
          if (q < 0 || (q + 1 >= len && !final)) break rows;
          if (buf.charCodeAt(q + 1) === QUOTE) {
            value += buf.slice(seg, q + 1);
            seg = q + 2;
            continue;
          }
          value += buf.slice(seg, q);
          pos = q + 1;
          break;
        }
        // Anything between a closing quote and the next delimiter is kept (lenient, as Salesforce never sends it).
        let j = pos;
        while (j < len) {
          const c = buf.charCodeAt(j);
          if (c === d || c === LF || c === CR) break;
          j++;
        }
        if (j > pos) value += buf.slice(pos, j);
        pos = j;
        row.push(value);
      } else {
        let j = pos;
        while (j < len) {
          const c = buf.charCodeAt(j);
          if (c === d || c === LF || c === CR) break;
          j++;
        }
        if (j >= len && !final) break rows;
        row.push(buf.slice(pos, j));
        pos = j;
      }
      if (pos >= len) {
        if (!final) break rows;
        break;
      }
      const c = buf.charCodeAt(pos);
      if (c === d) {
        pos++;
        if (pos >= len) {
          if (!final) break rows;
          row.push('');
          break;
        }
        continue;
      }
      if (c === CR) {
        if (pos + 1 >= len && !final) break rows;
        pos += buf.charCodeAt(pos + 1) === LF ? 2 : 1;
        break;
      }
      pos++; // LF
      break;
    }
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    i = pos;
  }
  return { rows, consumed: i };
}
