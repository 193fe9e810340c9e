/**
 * Bulk API 2.0 (`/services/data/vXX.X/jobs/...`): the one registration point for ingest and query jobs.
 */
import type { Ctx } from '../app.ts';
import type { Router } from '../http/router.ts';
import { registerIngestRoutes } from './ingest-routes.ts';
import { registerQueryRoutes } from './query-routes.ts';

/** Registers every Bulk API 2.0 route. */
export function registerBulkRoutes(router: Router<Ctx>): void {
  registerIngestRoutes(router);
  registerQueryRoutes(router);
}
