/**
 * The REST API surface under `/services/data`. Each resource family registers its own routes; this file is
 * the one list of them.
 */
import { releaseLabel, SUPPORTED_VERSIONS, type Ctx } from '../app.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { registerAllCompositeRoutes } from '../composite/routes.ts';
import { registerReplicationRoutes } from './replication.ts';
import { registerSObjectRoutes } from './sobjects.ts';
import { registerBulkRoutes } from '../bulk/routes.ts';
import { registerQueryRoutes } from './query.ts';
import { registerLimitsRoutes } from './limits.ts';
import { registerBulk1Routes } from '../bulk1/routes.ts';
import { registerSearchRoutes } from '../sosl/routes.ts';
import { registerListViewRoutes } from './listviews.ts';
import { registerLayoutRoutes } from './layouts.ts';
import { registerQuickActionRoutes } from './quick-actions.ts';
import { registerUiRoutes } from './ui.ts';
import { registerChatterRoutes } from '../chatter/routes.ts';

export function registerRestRoutes(router: Router<Ctx>): void {
  router.on('GET', '/services/data', (ctx) => {
    const upTo = SUPPORTED_VERSIONS.filter((v) => Number(v) <= Number(ctx.org.apiVersion) || true);
    return json(upTo.map((v) => ({ label: releaseLabel(v), url: `/services/data/v${v}`, version: v })));
  });

  router.on('GET', '/services/data/:version', (ctx) => {
    const b = `/services/data/v${ctx.version}`;
    const names = ['tooling', 'metadata', 'eclair', 'folders', 'prechatForms', 'contact-tracing', 'chatter', 'tabs', 'appMenu', 'quickActions', 'queryAll', 'commerce', 'wave', 'iot', 'analytics', 'search', 'identity', 'composite', 'parameterizedSearch', 'fingerprint', 'theme', 'nouns', 'domino', 'event', 'serviceTemplates', 'recent', 'connect', 'licensing', 'limits', 'process', 'async-queries', 'query', 'match', 'emailConnect', 'compactLayouts', 'knowledgeManagement', 'sobjects', 'actions', 'support', 'jobs', 'ui-api', 'consent', 'dedupe', 'scheduling', 'jsonxform', 'localizedvalue', 'mobile', 'payments', 'smartdatadiscovery', 'tokenizer'];
    const out: Record<string, string> = {};
    for (const n of names) out[n] = n === 'identity' ? `${ctx.baseUrl}/id/${ctx.org.orgId}/${ctx.session!.userId}` : `${b}/${n}`;
    return json(out);
  });

  registerAllCompositeRoutes(router);
  // Before the sObject routes: `/sobjects/X/updated` would otherwise match `/sobjects/:object/:id`.
  registerReplicationRoutes(router);
  // Also before them: `/sobjects/X/listviews`, `/describe/layouts`, `/quickActions` are not record paths.
  registerListViewRoutes(router);
  registerLayoutRoutes(router);
  registerQuickActionRoutes(router);
  registerUiRoutes(router);
  registerSObjectRoutes(router);
  registerBulkRoutes(router);
  registerQueryRoutes(router);
  registerLimitsRoutes(router);
  registerBulk1Routes(router);
  registerSearchRoutes(router);
  registerChatterRoutes(router);
}
