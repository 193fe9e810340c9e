/**
 * Stores for commands that read or manage them: the service store (`connections`, `tokens`), and the
 * mirror a sync writes (`runs`, `conflicts`), which is opened only when it exists.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_STORE_URL, readConfigFile } from '../engine/config.ts';
import { openStore, parseStoreUrl, type Store } from '../store/index.ts';
import { CliError, UsageError } from './args.ts';
import { configFileOf } from './connect.ts';

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

/**
 * The mirror store a sync writes to, for commands that read what it recorded: `--store`/`--to`,
 * `SFBRIDGE_STORE`, the config file's `to:`/`store:`, or the default. A SQLite file that does not exist is
 * refused rather than created.
 */
export async function openSyncedStore(values: { store?: string; to?: string; config?: string }, env: NodeJS.ProcessEnv): Promise<{ store: Store; url: string }> {
  let url = values.store ?? values.to ?? env.SFBRIDGE_STORE;
  if (!url) {
    const file = configFileOf(values, env);
    const raw = file ? await readConfigFile(file, env).catch((err: Error) => { throw new UsageError(`config: ${err.message}`, { code: 'CONFIG_ERROR' }); }) : {};
    url = (raw.to as string | undefined) ?? (raw.store as string | undefined) ?? DEFAULT_STORE_URL;
  }
  return { store: await openExistingStore(url, '--store', 'run `sfbridge sync` first, or point --store at the store it writes to'), url };
}

/**
 * Opens a store that must already exist: opening SQLite creates a missing file, and an empty new database
 * would only hide the real problem (a typo, the wrong folder). `flag` names the option in messages, `fix`
 * what to do when there is no database.
 */
export async function openExistingStore(url: string, flag: string, fix: string): Promise<Store> {
  let target;
  try {
    target = parseStoreUrl(url);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
  if (target.kind === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)) throw new CliError('NO_STORE', `no database at ${target.path}`, { fix });
  return openStore(url);
}
