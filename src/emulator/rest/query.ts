/**
 * REST query resources: `GET /query?q=`, `GET /queryAll?q=` and the next-page locators
 * `GET /query/{locator}-{offset}` (also accepted under `/queryAll/`); `columns=true` answers the query's column
 * metadata (`query-columns.ts`) and `?explain=` its query plans (`query-explain.ts`).
 */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { queryMore, runQuery } from '../soql/index.ts';
import { queryColumns } from './query-columns.ts';
import { explainQuery } from './query-explain.ts';
import { externalQueryMore, externalTarget, isExternalLocator, runExternalQuery } from '../external/query.ts';

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
    router.on('GET', `${V}/${resource}`, async (ctx) => {
      const explain = ctx.url.searchParams.get('explain');
      if (explain !== null && !ctx.url.searchParams.has('q')) return json(explainQuery(ctx, explain));
      const soql = soqlParam(ctx);
      // The column metadata the Salesforce CLI reads after each query: the query is compiled, not run.
      if (ctx.url.searchParams.get('columns') === 'true') return json(queryColumns(ctx.org, soql, resource === 'queryAll'));
      const opts = { queryAll: resource === 'queryAll', batchSize: batchSize(ctx), version: ctx.version };
      // External objects (`__x`) are answered by a live OData callout, everything else from the org's tables.
      const external = externalTarget(ctx.org, soql);
      return json(external ? await runExternalQuery(ctx.org, external, soql, opts) : runQuery(ctx.org, soql, opts));
    });
    router.on('GET', `${V}/${resource}/:locator`, async (ctx, params) => {
      const opts = { batchSize: batchSize(ctx), version: ctx.version };
      return json(isExternalLocator(ctx.org, params.locator) ? await externalQueryMore(ctx.org, params.locator, opts) : queryMore(ctx.org, params.locator, opts));
    });
  }
}
