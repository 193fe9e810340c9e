/**
 * The one entry point the engine uses: `openStore(url)` picks the backend from the URL.
 *
 * Accepted URLs:
 * - `sqlite::memory:` — private in-memory database (tests, dry runs);
 * - `sqlite:./path.db`, `sqlite:/abs/path.db` — SQLite file, created if missing;
 * - `postgres://user:pass@host:5432/db` or `postgresql://…` — Postgres; `?schema=name` selects the schema
 *   (default `public`; `options.schema` wins); `?views=lowercase` adds a lower-case view over each mirror table.
 */
import type { OpenStoreOptions, Store } from './types.ts';

export type * from './types.ts';
export type * from './service-types.ts';
export { StoreClosedError, StoreValueError } from './types.ts';
export { newPlaceholderId } from './query.ts';

const ACCEPTED = 'sqlite::memory:, sqlite:./path.db, postgres://user@host:5432/db or postgresql://… (optionally ?schema=name)';

/** Hides a password before a URL appears in an error message. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** What a store URL points at. */
export type StoreTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; connectionString: string; schema: string | undefined; lowercaseViews?: boolean };

/** Parses a store URL; throws an error naming the accepted forms when it is not one. */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url === 'string') {
    if (url === 'sqlite::memory:') return { kind: 'sqlite', path: ':memory:' };
    if (url.startsWith('sqlite:')) {
      const path = url.slice('sqlite:'.length);
      // `sqlite://host/…` is not a path; refuse rather than create a file named `//host`.
      if (path !== '' && !path.startsWith('//')) return { kind: 'sqlite', path };
    }
    if (/^postgres(ql)?:\/\//.test(url)) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (parsed && parsed.pathname.length > 1) {
        const schema = parsed.searchParams.get('schema') ?? undefined;
        parsed.searchParams.delete('schema');
        const views = parsed.searchParams.get('views');
        parsed.searchParams.delete('views');
        if (views !== null && views !== 'lowercase') throw new TypeError(`Unsupported store URL option views=${JSON.stringify(views)}: the one value is views=lowercase (a lower-case view over every mirror table)`);
        return { kind: 'postgres', connectionString: parsed.toString(), schema, ...(views ? { lowercaseViews: true } : {}) };
      }
    }
  }
  throw new TypeError(`Unsupported store URL ${JSON.stringify(typeof url === 'string' ? redact(url) : String(url))}: expected ${ACCEPTED}`);
}

/** Opens the store a URL names. Backends are loaded on demand, so SQLite users never load `pg`. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseStoreUrl(url);
  if (target.kind === 'sqlite') {
    const { openSqliteStore } = await import('./sqlite/index.ts');
    return openSqliteStore(target.path, options);
  }
  const { openPostgresStore } = await import('./postgres/index.ts');
  return openPostgresStore(target.connectionString, { ...options, schema: options.schema ?? target.schema, lowercaseViews: options.lowercaseViews ?? target.lowercaseViews });
}
