/**
 * REST query resources: `GET /query?q=`, `GET /queryAll?q=` and the next-page locators
 * `GET /query/{locator}-{offset}` (also accepted under `/queryAll/`).
 */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { queryMore, runQuery } from '../soql/index.ts';

const V = '/services/data/:version';

/** `Sforce-Query-Options: batchSize=500` → 500; absent or unreadable → undefined (the default applies). */
function batchSize(ctx: Ctx): number | undefined {
  const header = ctx.req.headers.get('sforce-query-options');
  const m = header ? /batchSize\s*=\s*(\d+)/i.exec(header) : null;
  return m ? Number(m[1]) : undefined;
}

function soqlParam(ctx: Ctx): string {
  const soql = ctx.url.searchParams.get('q');
  if (soql === null || soql.trim() === '') {
    throw new SfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  }
  return soql;
}

export function registerQueryRoutes(router: Router<Ctx>): void {
  for (const resource of ['query', 'queryAll']) {
    router.on('GET', `${V}/${resource}`, (ctx) =>
      json(runQuery(ctx.org, soqlParam(ctx), { queryAll: resource === 'queryAll', batchSize: batchSize(ctx), version: ctx.version })),
    );
    router.on('GET', `${V}/${resource}/:locator`, (ctx, params) =>
      json(queryMore(ctx.org, params.locator, { batchSize: batchSize(ctx), version: ctx.version })),
    );
  }
}
