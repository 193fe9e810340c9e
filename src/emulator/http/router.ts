/**
 * A small fetch-style router: handlers take a `Request` and return a `Response`, so the whole emulator can be
 * driven in-process (`app.request()`) or behind node:http. Patterns are path segments with `:param` captures
 * and a trailing `*` wildcard; sObject and field names are matched case-insensitively by the handlers, not here.
 */
export type Params = Record<string, string>;
export type Handler<C> = (ctx: C, params: Params) => Response | Promise<Response>;

interface Route<C> {
  method: string;
  segments: string[];
  handler: Handler<C>;
}

export class Router<C> {
  readonly #routes: Route<C>[] = [];

  on(methods: string | string[], pattern: string, handler: Handler<C>): this {
    for (const method of Array.isArray(methods) ? methods : [methods]) {
      this.#routes.push({ method, segments: split(pattern), handler });
    }
    return this;
  }

  /** Finds the route for a method and path. `methodMismatch` tells a 405 from a 404. */
  match(method: string, path: string): { handler: Handler<C>; params: Params } | { methodMismatch: boolean } {
    const parts = split(path);
    let methodMismatch = false;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method !== method && route.method !== '*') {
        methodMismatch = true;
        continue;
      }
      return { handler: route.handler, params };
    }
    return { methodMismatch };
  }

  /** Every registered route, in match order (the route-walk tests enumerate these). */
  routes(): { method: string; pattern: string }[] {
    return this.#routes.map((r) => ({ method: r.method, pattern: `/${r.segments.join('/')}` }));
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Params | null {
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '*') {
      params['*'] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(part);
    else if (p !== part) return null;
  }
  return parts.length === pattern.length ? params : null;
}
