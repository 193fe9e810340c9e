/**
 * Request logging with secrets redacted. The logger is pino-compatible (`info(obj, msg)`), so any pino
 * instance works, and so does a plain object in tests.
 */

/** The subset of pino's interface the client uses. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Query-string and form keys whose values never reach a log. */
export const SECRET_KEYS: readonly string[] = [
  'access_token', 'refresh_token', 'client_secret', 'password', 'assertion', 'oauth_token', 'token', 'code',
  'code_verifier', 'subject_token', 'sessionid', 'sid',
];

/** Headers whose values never reach a log. */
export const SECRET_HEADERS: readonly string[] = ['authorization', 'cookie', 'set-cookie', 'x-sfdc-session', 'proxy-authorization'];

const REDACTED = '[REDACTED]';
const secretKeySet = new Set(SECRET_KEYS);
// Salesforce access tokens look like `00D…!AQ…`; catch them even where no key names them (paths, bodies).
const ACCESS_TOKEN_SHAPE = /\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}/g;
// Refresh tokens usually start `5Aep861`.
const REFRESH_TOKEN_SHAPE = /\b5Aep861[A-Za-z0-9._-]{20,}/g;

/** Redacts secret query parameters (and token-shaped strings) in a URL or path; keeps everything else. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  let out = url;
  if (q >= 0) {
    const params = new URLSearchParams(url.slice(q + 1));
    let changed = false;
    for (const key of [...params.keys()]) {
      if (secretKeySet.has(key.toLowerCase())) {
        params.set(key, REDACTED);
        changed = true;
      }
    }
    if (changed) out = `${url.slice(0, q)}?${params.toString()}`;
  }
  return redactText(out);
}

/** Replaces token-shaped substrings in free text. */
export function redactText(text: string): string {
  return text.replace(ACCESS_TOKEN_SHAPE, REDACTED).replace(REFRESH_TOKEN_SHAPE, REDACTED);
}

/** Copies headers into a plain object with secret values replaced. */
export function redactHeaders(headers: Headers | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [k, v] of entries) out[k.toLowerCase()] = SECRET_HEADERS.includes(k.toLowerCase()) ? REDACTED : redactText(v);
  return out;
}

/** Deep-copies a JSON-ish value with secret keys replaced (token responses, form bodies). */
export function redactObject(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactObject);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = secretKeySet.has(k.toLowerCase()) ? REDACTED : redactObject(v);
    return out;
  }
  return typeof value === 'string' ? redactText(value) : value;
}
