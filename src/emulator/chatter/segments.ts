/**
 * Chatter message segments ↔ FeedItem.Body: a post made of Text, Mention, Link and markup segments is stored
 * as the FeedItem's Body (plain text, or HTML with IsRichText when it has markup), and a stored Body is read
 * back as segments, so posts made through the sObject API and through Chatter REST are the same records.
 */
import { SfError } from '../errors.ts';

export interface Segment {
  type: string;
  text?: string;
  id?: string;
  url?: string;
  markupType?: string;
  htmlTag?: string;
  altText?: string;
}

/** Chatter's markup segment types and the HTML tags they stand for. */
const MARKUP: Record<string, string> = { Paragraph: 'p', Bold: 'b', Italic: 'i', Underline: 'u', Strikethrough: 's', UnorderedList: 'ul', OrderedList: 'ol', ListItem: 'li', Code: 'code' };
const TAG_TO_MARKUP = Object.fromEntries(Object.entries(MARKUP).map(([k, v]) => [v, k]));
TAG_TO_MARKUP.strong = 'Bold';
TAG_TO_MARKUP.em = 'Italic';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unesc = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&');

/** Input segments → the Body to store and whether it is rich text. `mentionName` resolves @mentions. */
export function bodyFromSegments(segments: unknown, mentionName: (id: string) => string): { body: string; rich: boolean } {
  if (!Array.isArray(segments) || segments.length === 0) {
    throw new SfError(400, 'INVALID_API_INPUT', 'The body needs messageSegments: e.g. {"body":{"messageSegments":[{"type":"Text","text":"Hello"}]}}');
  }
  const rich = segments.some((s) => s && (s as Segment).type === 'MarkupBegin');
  let out = '';
  for (const raw of segments as Segment[]) {
    switch (raw?.type) {
      case 'Text': out += rich ? esc(String(raw.text ?? '')) : String(raw.text ?? ''); break;
      case 'Mention': {
        if (!raw.id) throw new SfError(400, 'INVALID_API_INPUT', 'A Mention segment needs the id of the user it mentions');
        out += `@${mentionName(raw.id)}`;
        break;
      }
      case 'Link': out += rich ? `<a href="${esc(String(raw.url ?? ''))}">${esc(String(raw.url ?? ''))}</a>` : String(raw.url ?? ''); break;
      case 'MarkupBegin':
      case 'MarkupEnd': {
        const tag = MARKUP[String(raw.markupType)];
        if (!tag) throw new SfError(400, 'INVALID_API_INPUT', `Unknown markupType: ${String(raw.markupType)}; use one of ${Object.keys(MARKUP).join(', ')}`);
        out += raw.type === 'MarkupBegin' ? `<${tag}>` : `</${tag}>`;
        break;
      }
      default:
        throw new SfError(400, 'INVALID_API_INPUT', `Unsupported message segment type: ${String(raw?.type)}; use Text, Mention, Link, MarkupBegin or MarkupEnd`);
    }
  }
  return { body: out, rich };
}

/** A stored Body (plain or HTML) → the body representation: `{isRichText, messageSegments, text}`. */
export function bodyRepresentation(body: string | null, rich: boolean) {
  const text = body ?? '';
  if (!rich) return { isRichText: false, messageSegments: text ? [{ text, type: 'Text' }] : [], text };
  const segments: Segment[] = [];
  let plain = '';
  for (const m of text.matchAll(/<(\/?)([a-z]+)[^>]*>|([^<]+)/gi)) {
    if (m[3] !== undefined) {
      const t = unesc(m[3]);
      segments.push({ text: t, type: 'Text' });
      plain += t;
      continue;
    }
    const markupType = TAG_TO_MARKUP[m[2].toLowerCase()];
    if (!markupType) continue;
    segments.push(m[1] ? { htmlTag: m[2].toLowerCase(), markupType, text: '', type: 'MarkupEnd' } : { altText: '', htmlTag: m[2].toLowerCase(), markupType, text: '', type: 'MarkupBegin' });
    if (m[1] && (markupType === 'Paragraph' || markupType === 'ListItem')) plain += '\n';
  }
  return { isRichText: true, messageSegments: segments, text: plain.replace(/\n+$/, '') };
}
