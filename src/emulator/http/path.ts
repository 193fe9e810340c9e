/**
 * Request path normalisation, done once before version handling, authentication and routing, so the
 * authentication decision is made on exactly the path the router routes.
 *
 * Clients send untidy paths: the Salesforce CLI keeps instance URLs with a trailing slash and so asks for
 * `//services/data/...`; proxies and hand-built URLs add `/./`, encoded slashes or a trailing slash. Each of
 * these must reach the same resource, with the same authentication, as the tidy path.
 */

/** Dot segments, literal or percent-encoded (WHATWG URL treats `%2e` as `.`). */
const DOT = new Set(['.', '%2e']);
const DOT_DOT = new Set(['..', '.%2e', '%2e.', '%2e%2e']);

/**
 * The canonical form of a URL path: encoded slashes (`%2F`) become path separators, empty segments collapse
 * (`//` → `/`), `.` and `..` segments are resolved (never above the root), and a trailing slash is dropped.
 * Other percent-escapes are kept as sent; the router decodes parameters once.
 *
 * Encoded slashes are treated as separators rather than passed through inside a segment because a value with
 * a slash cannot address anything on Salesforce either, and a segment that means one thing to the
 * authentication check and another to the router is how an authentication bypass starts.
 */
export function normalizePath(pathname: string): string {
  const out: string[] = [];
  for (const segment of pathname.replace(/%2f/gi, '/').split('/')) {
    if (segment === '') continue;
    const lower = segment.toLowerCase();
    if (DOT.has(lower)) continue;
    if (DOT_DOT.has(lower)) {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** The request URL with its path normalised (the same object when it already was). */
export function normalizeUrl(url: URL): URL {
  const path = normalizePath(url.pathname);
  if (path === url.pathname) return url;
  const out = new URL(url.href);
  out.pathname = path;
  return out;
}
