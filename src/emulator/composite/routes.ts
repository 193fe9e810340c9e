/**
 * All composite resources: Composite, Composite Graph, Batch, sObject Collections and sObject Tree.
 * Registered ahead of the generic sObject routes so `/composite/...` paths never fall through to them.
 */
import type { Ctx } from '../app.ts';
import type { Router } from '../http/router.ts';
import { registerBatchRoutes } from './batch.ts';
import { registerCollectionRoutes } from './collections.ts';
import { registerCompositeRoutes } from './composite.ts';
import { registerTreeRoutes } from './tree.ts';

/** Registers every `/services/data/vXX.X/composite…` route. */
export function registerAllCompositeRoutes(router: Router<Ctx>): void {
  registerCompositeRoutes(router);
  registerBatchRoutes(router);
  registerCollectionRoutes(router);
  registerTreeRoutes(router);
}
