/**
 * Email and rich-text cleaning: what the sender wrote in this message, its signature, and the messages it
 * forwards, from a Salesforce `TextBody`/`HtmlBody` (or a Chatter/comment body).
 *
 * Each step uses a library made for it, chosen by measurement on the corpus in test/fixtures/emails
 * (bench/comments.ts prints the figures, docs/BENCHMARKS.md records them):
 * - HTML → text: `html-to-text` (block structure kept, `<blockquote>` as `> ` lines so quoted replies stay
 *   recognisable, link targets and images dropped);
 * - forwarded chains: `email-forward-parser` (Gmail, Outlook, Apple Mail and localized forward headers),
 *   applied again to each forwarded body for nested forwards;
 * - quoted replies and reply headers: `email-reply-parser` (localized "On … wrote:" headers, Outlook
 *   header blocks, `>` quotes); `planer` was measured as the alternative (see {@link QuoteEngine});
 * - signatures: `email-reply-parser` marks delimiter, device and some valediction lines; the sign-off rules
 *   it lacks (valedictions in the languages the corpus covers, a bare name closing the message) are the
 *   small hand-written part here, because none of the libraries measured handles them.
 * What remains hand-written is text normalisation (line endings, no-break and zero-width spaces, NFC,
 * mis-decoded UTF-8) and Salesforce's own Email-to-Case thread references, which no library knows.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { EmailForwardMailbox } from 'email-forward-parser';
import type { HtmlToTextOptions } from 'html-to-text';
import type { CommentMessage } from './shape.ts';

/**
 * The four libraries, loaded on first use: every command that reads a config file imports this module (the
 * comments config validates its sources), and loading them costs ~20 MB. Loaded synchronously, by the file
 * `import` would resolve to, so an ES module is the same instance an `import` elsewhere gets.
 */
const requireHere = createRequire(import.meta.url);
const load = <T>(name: string): T => requireHere(fileURLToPath(import.meta.resolve(name))) as T;
let libs: {
  EmailForwardParser: typeof import('email-forward-parser').default;
  EmailReplyParser: typeof import('email-reply-parser').default;
  compile: typeof import('html-to-text').compile;
  planer: typeof import('planer').default;
} | undefined;
function lib(): NonNullable<typeof libs> {
  return (libs ??= {
    EmailForwardParser: load<typeof import('email-forward-parser')>('email-forward-parser').default,
    EmailReplyParser: load<typeof import('email-reply-parser')>('email-reply-parser').default,
    compile: load<typeof import('html-to-text')>('html-to-text').compile,
    planer: load<typeof import('planer').default>('planer'),
  });
}

/** Which library removes quoted replies. */
export type QuoteEngine = 'email-reply-parser' | 'planer';

/** The engine used unless a caller asks for another (the measured winner; see bench/comments.ts). */
export const DEFAULT_QUOTE_ENGINE: QuoteEngine = 'email-reply-parser';

/** What to clean. HTML wins over text when both are given: its quote markup is more reliable. */
export interface CleanInput {
  text?: string | null;
  html?: string | null;
  /** The message subject (forward detection reads `Fwd:`/`FW:`/`WG:`/`TR:`). */
  subject?: string | null;
}

/** A message found forwarded inside another: a comment message without a signature of its own. */
export type ForwardedMessage = Omit<CommentMessage, 'signature'>;

/** The result of cleaning one message. */
export interface CleanResult {
  /** What the sender wrote in this message. */
  body: string;
  signature?: string;
  /** Forwarded messages, outermost first. */
  forwarded: ForwardedMessage[];
  /** The normalised full text before quotes, signature and forwards were cut (for previews). */
  text: string;
  /** Which input was cleaned. */
  source: 'html' | 'text' | 'empty';
}

/** Options of {@link cleanEmail}. */
export interface CleanOptions {
  quotes?: QuoteEngine;
  /** Split the signature off the body (default true). Off, the signature stays in `body`. */
  signatures?: boolean;
  /** Split forwarded chains (default true). Off, a forward is treated as quoted history. */
  forwards?: boolean;
  /**
   * The rules added to the libraries (extra reply headers, attribution lines, headers below a signature,
   * valedictions, a closing name). Default true; off measures the libraries alone (bench/comments.ts).
   */
  rules?: boolean;
}

/** The part of html-to-text's block builder the formatters below use. */
interface Builder {
  openBlock(o: object): void;
  closeBlock(o: object): void;
  addInline(text: string): void;
}

/** html-to-text settings for email bodies: no wrapping, link text only, lists as `- item`, headings as written. */
const HTML_TO_TEXT = {
  wordwrap: false as const,
  formatters: {
    paragraphBreak: (_elem: unknown, _walk: unknown, builder: Builder) => {
      builder.openBlock({ leadingLineBreaks: 2 });
      builder.closeBlock({ trailingLineBreaks: 2 });
    },
    // A nested paragraph's own (single) line break would replace the box's blank line, so the blank line is
    // an empty line of its own: a word joiner, which normalisation removes.
    replyHeader: (elem: { children: unknown[] }, walk: (nodes: unknown[], builder: Builder) => void, builder: Builder) => {
      builder.openBlock({ leadingLineBreaks: 2 });
      builder.addInline('\u2060');
      builder.closeBlock({ trailingLineBreaks: 1 });
      walk(elem.children, builder);
    },
  } as unknown as HtmlToTextOptions['formatters'],
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    // Outlook puts its reply header right after an <hr>: a paragraph break keeps it on a line of its own.
    { selector: 'hr', format: 'paragraphBreak' },
    // Outlook's paragraphs have no margins (blank lines are empty paragraphs of their own).
    { selector: 'p.MsoNormal', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    // Outlook's reply header box (desktop: a top border; web: #divRplyFwdMsg) starts a paragraph, which is
    // what lets the reply parser see it as a header.
    { selector: 'div[style*="border-top"]', format: 'replyHeader' },
    { selector: 'div#divRplyFwdMsg', format: 'replyHeader' },
    { selector: 'style', format: 'skip' },
    { selector: 'head', format: 'skip' },
    { selector: 'ul', options: { itemPrefix: '- ' } },
    { selector: 'ol', options: { itemPrefix: '- ' } },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => ({ selector: h, options: { uppercase: false } })),
    { selector: 'table', format: 'block' },
    { selector: 'tr', format: 'block' },
    { selector: 'td', format: 'block' },
    { selector: 'th', format: 'block' },
    { selector: 'table.gmail_quote', format: 'blockquote' },
  ],
};

/** HTML (rich text, an HtmlBody) as text, with the corpus's conventions. */
export function htmlToPlainText(html: string): string {
  return (toText ??= lib().compile(HTML_TO_TEXT))(html);
}

/** The compiled converter (compiling the selectors once saves most of a conversion's time). */
let toText: ((html: string) => string) | undefined;

/** Characters that are spaces to a reader: no-break, narrow no-break, figure space. */
const SPACES = /[\u00a0\u202f\u2007]/g;
/** Characters that are nothing to a reader: zero-width space/joiners, word joiner, byte order mark, soft hyphen. */
const INVISIBLE = /[\u200b-\u200d\u2060\ufeff\u00ad]/g;
/** Typical pairs of UTF-8 bytes read as Latin-1/Windows-1252 (Ã©, Ã¨, Ã¼, â€™…). */
const MOJIBAKE = /[ÃÂâ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]/g;

/**
 * Text as a reader sees it: `\n` line ends, NFC, visible spaces, no trailing spaces, single spaces between
 * words, at most one blank line, nothing at either end; UTF-8 that was decoded as Latin-1 is repaired.
 */
export function normalizeText(text: string): string {
  let s = repairMojibake(text).normalize('NFC').replace(/\r\n?/g, '\n').replace(SPACES, ' ').replace(INVISIBLE, '');
  s = s
    .split('\n')
    .map((line) => {
      const indent = /^[ \t]*/.exec(line)![0];
      return indent + line.slice(indent.length).replace(/[ \t]+/g, ' ').trimEnd();
    })
    .join('\n');
  return s.replace(/\n{3,}/g, '\n\n').trim();
}

/**
 * Repairs text whose UTF-8 bytes were decoded as Latin-1 or Windows-1252 ("RÃ©clamation"): re-encoding
 * such text as those bytes and decoding it as UTF-8 gives the original. Applied only when it removes every
 * telltale pair and yields valid UTF-8, so real text with an "Ã" is left alone.
 */
export function repairMojibake(text: string): string {
  const hits = text.match(MOJIBAKE);
  if (!hits) return text;
  const bytes: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x100) bytes.push(code);
    else {
      const cp1252 = CP1252_BYTES.get(ch);
      if (cp1252 === undefined) return text;
      bytes.push(cp1252);
    }
  }
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
  if (decoded.includes('\ufffd') || MOJIBAKE.test(decoded)) return text;
  return decoded;
}

/** Windows-1252 characters in 0x80–0x9F and their bytes (what a mis-decoded UTF-8 continuation byte becomes). */
const CP1252_BYTES = new Map<string, number>(
  Object.entries({ '€': 0x80, '‚': 0x82, ƒ: 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, ˆ: 0x88, '‰': 0x89, Š: 0x8a, '‹': 0x8b, Œ: 0x8c, Ž: 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, š: 0x9a, '›': 0x9b, œ: 0x9c, ž: 0x9e, Ÿ: 0x9f }),
);

/**
 * Email-to-Case thread references: the classic `ref:_00D…._500…:ref` token and the Lightning threading
 * token `thread::…::`, with the brackets Salesforce puts around them in subjects.
 */
const CASE_REF = /\[?\s*(?:ref:_?[A-Za-z0-9]{5,}\._?[A-Za-z0-9]{5,}:ref|thread::[A-Za-z0-9_-]{6,}::)\s*\]?/g;

const CASE_REF_ANY = new RegExp(CASE_REF.source);

/** Text without Email-to-Case thread references (lines holding only a reference disappear). */
export function stripCaseReferences(text: string): string {
  return text
    .split('\n')
    .filter((line) => !(CASE_REF_ANY.test(line) && line.replace(CASE_REF, '').replace(/^[>\s]+/, '').trim() === ''))
    .map((line) => line.replace(CASE_REF, '').trimEnd())
    .join('\n');
}

/** The Email-to-Case thread id of a subject or body (`ref:_00D…._500…:ref` or `thread::…::`), if any. */
export function caseReference(text: string | null | undefined): string | null {
  if (!text) return null;
  const m = /ref:_?[A-Za-z0-9]{5,}\._?[A-Za-z0-9]{5,}:ref|thread::[A-Za-z0-9_-]{6,}::/.exec(text);
  return m ? m[0] : null;
}

const mailbox = (m: EmailForwardMailbox | null | undefined): string | null => {
  if (!m || (!m.address && !m.name)) return null;
  return m.name && m.address ? `${m.name} <${m.address}>` : (m.address ?? m.name);
};
const mailboxes = (m: EmailForwardMailbox | EmailForwardMailbox[] | null | undefined): string[] => (Array.isArray(m) ? m : m ? [m] : []).map(mailbox).filter((x): x is string => x !== null);

/** Cleans one message. Pure and synchronous; never throws for odd input (an empty body is `''`). */
export function cleanEmail(input: CleanInput, opts: CleanOptions = {}): CleanResult {
  const html = input.html?.trim() ? input.html : null;
  const source: CleanResult['source'] = html ? 'html' : input.text?.trim() ? 'text' : 'empty';
  const raw = html ? htmlToPlainText(html) : (input.text ?? '');
  const text = normalizeText(stripCaseReferences(normalizeText(raw)));
  if (!text) return { body: '', forwarded: [], text, source };

  let top = text;
  const forwarded: ForwardedMessage[] = [];
  if (opts.forwards !== false) {
    let subject = input.subject ?? null;
    let rest = text;
    for (let depth = 0; depth < 20; depth++) {
      const found = new (lib().EmailForwardParser)().read(rest, subject ? stripCaseReferences(subject) : subject);
      if (!found.forwarded) break;
      if (depth === 0) top = normalizeText(found.message ?? '');
      else forwarded[forwarded.length - 1].body = withoutQuotes(normalizeText(found.message ?? ''), opts.quotes, opts.rules);
      const e = found.email;
      rest = normalizeText(e.body ?? '');
      subject = e.subject ?? null;
      forwarded.push({ from: mailbox(e.from), to: mailboxes(e.to), cc: mailboxes(e.cc), sent_at: e.date ?? null, subject: e.subject ?? null, body: withoutQuotes(rest, opts.quotes, opts.rules) });
    }
  }
  const visible = withoutQuotes(top, opts.quotes, opts.rules);
  if (opts.signatures === false) return { body: visible, forwarded, text, source };
  const { body, signature } = opts.rules === false ? librarySignature(visible) : splitSignature(visible, opts.quotes);
  return signature ? { body, signature, forwarded, text, source } : { body, forwarded, text, source };
}

/**
 * Reply headers email-reply-parser does not know: Salesforce's own "--- Original Message ---" with more
 * dashes than the library allows, and the Japanese attribution line ("2025年3月28日(金) 10:12 Name <a@b>:").
 */
const EXTRA_REPLY_HEADERS: readonly RegExp[] = [/^-{2,}\s*Original Message\s*-{2,}$/i, /^\d{4}年\d{1,2}月\d{1,2}日.*[<＜][^>＞]+[>＞][:：]?$/];

/** A line introducing quoted text in any language: ends with a colon and names an address or a date. */
const attributionLine = (line: string): boolean => /[:：]$/.test(line.trim()) && /@|\d/.test(line);

/** The text above the first quoted reply or reply header. */
function withoutQuotes(text: string, engine: QuoteEngine = DEFAULT_QUOTE_ENGINE, rules = true): string {
  if (!text) return '';
  if (rules) {
    const lines = text.split('\n');
    const extra = lines.findIndex((l) => EXTRA_REPLY_HEADERS.some((re) => re.test(l.trim())));
    if (extra >= 0) text = lines.slice(0, extra).join('\n');
  }
  if (engine === 'planer') return normalizeText(lib().planer.extractFrom(text, 'text/plain'));
  if (!rules) {
    const fragments = new (lib().EmailReplyParser)().read(text).getFragments();
    const end = fragments.findIndex((f) => f.isQuoted());
    return normalizeText((end < 0 ? fragments : fragments.slice(0, end)).map((f) => f.getContent()).join('\n'));
  }
  return normalizeText(replyParserVisible(text));
}

/** The signature as email-reply-parser alone marks it (the first signature fragment on), for measurement. */
function librarySignature(text: string): { body: string; signature?: string } {
  const fragments = new (lib().EmailReplyParser)().read(text).getFragments();
  const first = fragments.findIndex((f) => f.isSignature());
  if (first <= 0) return { body: text };
  const signature = normalizeText(fragments.slice(first).map((f) => f.getContent()).join('\n'));
  return { body: normalizeText(fragments.slice(0, first).map((f) => f.getContent()).join('\n')), ...(signature ? { signature } : {}) };
}

const PLACEHOLDER = '\u2063';
const PLACEHOLDER_LINE = /^\u2063\n*/;

/**
 * email-reply-parser's text above the first quoted fragment. Once it has marked a signature it no longer
 * looks for reply headers below it (an Outlook `From:` block after "Regards,"), so a signature fragment is
 * searched again, without its first line, and cut where a quote starts inside it.
 */
function replyParserVisible(text: string, depth = 0): string {
  const fragments = new (lib().EmailReplyParser)().read(text).getFragments();
  const out: string[] = [];
  for (const f of fragments) {
    // Everything from the first quoted fragment on is history, including text interleaved after it.
    if (f.isQuoted()) {
      // The attribution line above a `>` quote ("… <a@b>:") belongs to the quote.
      const last = out.length ? out[out.length - 1].trimEnd().split('\n') : [];
      if (last.length && attributionLine(last[last.length - 1])) out[out.length - 1] = last.slice(0, -1).join('\n');
      break;
    }
    const content = f.getContent();
    if (f.isSignature() && depth < 3) {
      const [first, ...rest] = content.split('\n');
      const inner = rest.join('\n');
      // The parser never takes a header on the first line for a quote: a placeholder line goes above it.
      const visible = inner.trim() ? replyParserVisible(`${PLACEHOLDER}\n\n${inner}`, depth + 1).replace(PLACEHOLDER_LINE, '') : inner;
      if (normalizeText(visible) !== normalizeText(inner)) {
        // A bare separator line above the quote (Outlook's underscores) goes with it.
        if (visible.trim() || !DELIMITER.test(first.trim())) out.push([first, visible].join('\n'));
        break;
      }
    }
    out.push(content);
  }
  return out.join('\n');
}

/* --------------------------------------------------------------------------------------------------
 * Signatures
 * ------------------------------------------------------------------------------------------------ */

/** Most lines a signature may have after its first line (a contact block with a disclaimer fits). */
export const MAX_SIGNATURE_LINES = 15;

/** Valedictions (lower case, without trailing punctuation) in the corpus's languages. */
export const VALEDICTIONS: ReadonlySet<string> = new Set([
  // en
  'thanks', 'thank you', 'thanks again', 'many thanks', 'thanks in advance', 'thanks so much', 'thank you very much', 'thx', 'ty', 'cheers', 'best', 'all the best', 'best regards', 'kind regards', 'warm regards', 'warmest regards', 'regards', 'best wishes', 'sincerely', 'yours sincerely', 'yours truly', 'respectfully', 'take care', 'see you there', 'see you soon', 'talk soon',
  // de
  'mit freundlichen grüßen', 'mit freundlichen grüssen', 'freundliche grüße', 'freundliche grüsse', 'viele grüße', 'viele grüsse', 'beste grüße', 'liebe grüße', 'herzliche grüße', 'gruß', 'grüße', 'lg', 'vg', 'danke', 'vielen dank',
  // fr
  'cordialement', 'bien cordialement', 'très cordialement', 'merci', 'merci beaucoup', 'bien à vous', 'salutations', 'bonne journée', 'à bientôt',
  // es
  'saludos', 'un saludo', 'saludos cordiales', 'atentamente', 'gracias', 'muchas gracias', 'un abrazo',
  // nl
  'met vriendelijke groet', 'met vriendelijke groeten', 'vriendelijke groet', 'groeten', 'groet', 'bedankt', 'mvg',
  // pt
  'obrigado', 'obrigada', 'atenciosamente', 'abraços', 'cumprimentos', 'att',
  // it
  'cordiali saluti', 'distinti saluti', 'saluti', 'grazie', 'grazie mille', 'un saluto',
  // ja
  'よろしくお願いいたします', 'よろしくお願いします', 'よろしくお願い致します', '以上',
]);

/** Lines phone and desktop clients append ("Sent from my iPhone", "Get Outlook for iOS", …). */
const DEVICE_LINE = /^(sent from|sent via|get outlook for|envoyé de|envoyé depuis|enviado desde|enviado do|von meinem|gesendet von|verzonden vanaf|verstuurd vanaf|inviato da|inviato dal)\b/i;
/** A signature delimiter line: `-- ` (RFC 3676), `--`, or underscores. */
const DELIMITER = /^(-- ?|—|_{2,})$/;

const valediction = (line: string): boolean => VALEDICTIONS.has(line.trim().toLowerCase().replace(/[\s,.!;:。！、]+$/u, ''));
/** 1–4 capitalised words, no digits or sentence punctuation: a name ("Nina Schultz", "Acme Support"). */
const nameLike = (line: string): boolean => /^\p{Lu}[\p{L}'’-]*(?:[ .-]\p{Lu}[\p{L}'’.-]*){0,3}$/u.test(line.trim());

/**
 * Splits the signature off a message's own text: from a valediction line ("Thanks,", "Mit freundlichen
 * Grüßen"), else a delimiter (`-- `; the delimiter line itself is dropped), else a device line, else a
 * closing paragraph that is only a name. What email-reply-parser marks as a signature starts one too.
 */
export function splitSignature(text: string, engine: QuoteEngine = DEFAULT_QUOTE_ENGINE): { body: string; signature?: string } {
  const lines = text.split('\n');
  const n = lines.length;
  const inTail = (i: number) => n - 1 - i <= MAX_SIGNATURE_LINES;
  let start = -1;
  let dropFirst = false;
  for (let i = 0; i < n; i++) {
    if (!inTail(i)) continue;
    const line = lines[i].trim();
    if (valediction(line)) {
      start = i;
      break;
    }
    if (DELIMITER.test(lines[i]) && i > 0) {
      // A valediction right above the delimiter starts the signature there instead.
      start = i;
      dropFirst = true;
      break;
    }
    if (DEVICE_LINE.test(line)) {
      start = i;
      break;
    }
  }
  if (start < 0 && engine === 'email-reply-parser') {
    // The library's signature markers (localized device lines, "Regards"-style closings).
    const fragments = new (lib().EmailReplyParser)().read(text).getFragments();
    const first = fragments.findIndex((f) => f.isSignature());
    if (first > 0) {
      const before = normalizeText(fragments.slice(0, first).map((f) => f.getContent()).join('\n'));
      const sig = normalizeText(fragments.slice(first).map((f) => f.getContent()).join('\n'));
      if (before && sig) return { body: before, signature: sig.split('\n').filter((l, i) => !(i === 0 && DELIMITER.test(l))).join('\n').trim() || undefined };
    }
  }
  if (start < 0) {
    // A closing paragraph of a name (and up to two more short lines), after the message's own paragraphs.
    const lastBlank = lines.lastIndexOf('');
    if (lastBlank > 0 && n - lastBlank - 1 >= 1 && n - lastBlank - 1 <= 3 && nameLike(lines[lastBlank + 1]) && lines.slice(lastBlank + 1).every((l) => l.length <= 60)) start = lastBlank + 1;
  }
  if (start <= 0) return { body: text };
  const body = normalizeText(lines.slice(0, start).join('\n'));
  const signature = normalizeText(lines.slice(dropFirst ? start + 1 : start).join('\n'));
  if (!body) return { body: text };
  return signature ? { body, signature } : { body };
}
