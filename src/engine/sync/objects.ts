/**
 * Which objects a run syncs: the configured standard objects plus custom objects (`*` = every queryable,
 * replicable custom object the org has, found with one describeGlobal).
 */
import type { SalesforceClient } from '../../client/index.ts';
import type { SyncConfig } from '../config.ts';

/** Resolves the configured object list, in a stable order (standard first, as configured). */
export async function resolveObjects(client: SalesforceClient, config: Pick<SyncConfig, 'standardObjects' | 'syncCustomObjects' | 'customObjects'>, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (name: string) => {
    if (seen.has(name.toLowerCase())) return;
    seen.add(name.toLowerCase());
    out.push(name);
  };
  for (const o of config.standardObjects) add(o);
  if (config.syncCustomObjects) {
    if (config.customObjects === '*') {
      const global = await client.describeGlobal(signal);
      for (const s of global.sobjects) {
        if (s.custom && s.name.endsWith('__c') && s.queryable && s.replicateable !== false) add(s.name);
      }
    } else {
      for (const o of config.customObjects) add(o);
    }
  }
  return out;
}
