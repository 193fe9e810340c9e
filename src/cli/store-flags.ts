/**
 * The service store for commands that manage it (`connections`, `tokens`): `--store`, `SFBRIDGE_STORE`, or
 * the default store.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_STORE_URL } from '../engine/config.ts';
import { openStore, parseStoreUrl, type Store } from '../store/index.ts';
import { UsageError } from './args.ts';

export async function openServiceStore(flag: string | undefined, env: NodeJS.ProcessEnv): Promise<{ store: Store; url: string }> {
  const url = flag ?? env.SFBRIDGE_STORE ?? DEFAULT_STORE_URL;
  let target;
  try {
    target = parseStoreUrl(url);
  } catch (err) {
    throw new UsageError(`--store: ${(err as Error).message}`);
  }
  if (target.kind === 'sqlite' && target.path !== ':memory:') await mkdir(dirname(target.path), { recursive: true });
  return { store: await openStore(url), url };
}

/** A store URL without its password, for messages. */
export const redactUrl = (url: string): string => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
