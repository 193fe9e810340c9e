/**
 * Where rotated refresh tokens are kept. When a connected app rotates refresh tokens, the old one dies the
 * moment a new one is issued; losing the new one (as jsforce does) locks the integration out. The default
 * store writes them to disk encrypted with AES-256-GCM.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from './errors.ts';
import { loadOrCreateKey, seal, SECRET_KEY_BYTES, unseal, type SealedBox } from './secret-key.ts';

/** What is stored per connection. */
export interface StoredToken {
  refreshToken: string;
  /** SHA-256 of the refresh token the user configured; a different configured token means the user replaced it. */
  seed: string;
  instanceUrl?: string;
  updatedAt: string;
}

/** Persists refresh tokens by connection key. */
export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  set(key: string, value: StoredToken): Promise<void>;
}

/** Keeps tokens in memory (tests, short-lived processes). */
export class MemoryTokenStore implements TokenStore {
  readonly tokens = new Map<string, StoredToken>();
  async get(key: string): Promise<StoredToken | undefined> {
    return this.tokens.get(key);
  }
  async set(key: string, value: StoredToken): Promise<void> {
    this.tokens.set(key, value);
  }
}

/** Env variable holding the 32-byte token-store key (base64 or hex). */
export const TOKEN_KEY_ENV = 'SFBRIDGE_TOKEN_KEY';

/** Default directory for sfbridge state: `$SFBRIDGE_HOME` or `~/.sfbridge`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SFBRIDGE_HOME || join(homedir(), '.sfbridge');
}

/** Env variable naming the token-store key file (when `SFBRIDGE_TOKEN_KEY` holds no key). */
export const TOKEN_KEY_FILE_ENV = 'SFBRIDGE_TOKEN_KEY_FILE';

/**
 * Where the token-store key file goes by default: outside the token directory, so a copy or backup of that
 * directory (or a leak of it) does not carry the key that decrypts it. `$SFBRIDGE_TOKEN_KEY_FILE`; else,
 * with `$SFBRIDGE_HOME` set, `<that directory>.keys/token.key` beside it; else
 * `$XDG_CONFIG_HOME/sfbridge/token.key` (`~/.config/sfbridge/token.key`). A key file an older version created
 * inside the token directory is still used when it exists and the new one does not, so stored tokens stay
 * readable.
 */
export function defaultTokenKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env[TOKEN_KEY_FILE_ENV]) return env[TOKEN_KEY_FILE_ENV]!;
  const fresh = env.SFBRIDGE_HOME
    ? join(dirname(env.SFBRIDGE_HOME), `${basename(env.SFBRIDGE_HOME)}.keys`, 'token.key')
    : join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'sfbridge', 'token.key');
  const legacy = join(defaultStateDir(env), 'token.key');
  return !existsSync(fresh) && existsSync(legacy) ? legacy : fresh;
}

const FILE_MODE = 0o600;
const KEY_BYTES = SECRET_KEY_BYTES;

export interface FileTokenStoreOptions {
  /** Encrypted token file; default `<state dir>/tokens.enc`. */
  path?: string;
  /** Explicit 32-byte key; otherwise `SFBRIDGE_TOKEN_KEY`, otherwise a generated key file. */
  key?: Uint8Array;
  /** Key file created (0600, in a 0700 directory) when no key is given; default {@link defaultTokenKeyPath}. */
  keyPath?: string;
  env?: NodeJS.ProcessEnv;
}

/** File-backed, AES-256-GCM encrypted token store. Writes are atomic (temp file + rename) and 0600. */
export class FileTokenStore implements TokenStore {
  readonly path: string;
  readonly keyPath: string;
  readonly #env: NodeJS.ProcessEnv;
  #key: Uint8Array | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: FileTokenStoreOptions = {}) {
    this.#env = opts.env ?? process.env;
    const dir = defaultStateDir(this.#env);
    this.path = opts.path ?? join(dir, 'tokens.enc');
    this.keyPath = opts.keyPath ?? defaultTokenKeyPath(this.#env);
    this.#key = opts.key;
    if (this.#key && this.#key.length !== KEY_BYTES) throw new ConfigError(`token store key must be ${KEY_BYTES} bytes, got ${this.#key.length}`);
  }

  async get(key: string): Promise<StoredToken | undefined> {
    return (await this.#readAll())[key];
  }

  set(key: string, value: StoredToken): Promise<void> {
    // Serialise read-modify-write cycles so two rotations in flight cannot drop one another.
    const next = this.#queue.then(async () => {
      const all = await this.#readAll();
      all[key] = value;
      await this.#writeAll(all);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #readAll(): Promise<Record<string, StoredToken>> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const file = JSON.parse(raw) as SealedBox;
    const key = await this.#getKey();
    try {
      return JSON.parse(unseal(key, file).toString('utf8')) as Record<string, StoredToken>;
    } catch (err) {
      throw new ConfigError(`cannot decrypt ${this.path}: the key changed (${TOKEN_KEY_ENV} or ${this.keyPath}); restore the old key or delete the file and log in again (${(err as Error).message})`);
    }
  }

  async #writeAll(all: Record<string, StoredToken>): Promise<void> {
    const body = JSON.stringify(seal(await this.#getKey(), JSON.stringify(all)));
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, body, { mode: FILE_MODE });
    await rename(tmp, this.path);
  }

  async #getKey(): Promise<Uint8Array> {
    this.#key ??= await loadOrCreateKey({ envVar: TOKEN_KEY_ENV, path: this.keyPath, env: this.#env });
    return this.#key;
  }
}

/** SHA-256 hex of a token, used as {@link StoredToken.seed} so the token itself is not a lookup key. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
