/**
 * The one cipher and key-file helper for secrets sfbridge keeps at rest: rotated refresh tokens (the token
 * store) and connection secrets in the service's store. AES-256-GCM with a fresh 12-byte IV per message; the
 * 32-byte key comes from an environment variable or from a key file created once with mode 0600.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from './errors.ts';

export const SECRET_KEY_BYTES = 32;
const IV_BYTES = 12;
const FILE_MODE = 0o600;

/** A sealed message: what is written to disk or a database column (all base64). */
export interface SealedBox {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

/** Encrypts `plain` with `key` (AES-256-GCM). */
export function seal(key: Uint8Array, plain: string | Uint8Array): SealedBox {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), cipher.final()]);
  return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Decrypts a {@link SealedBox}; throws when the key is wrong or the box was altered. */
export function unseal(key: Uint8Array, box: SealedBox): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(box.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(box.data, 'base64')), decipher.final()]);
}

/** Decodes a key given as 64 hex digits or base64; `source` names where it came from in the error. */
export function decodeKey(text: string, source: string): Uint8Array {
  const hex = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : undefined;
  const key = hex ?? Buffer.from(text, 'base64');
  if (key.length !== SECRET_KEY_BYTES) throw new ConfigError(`${source} must hold a 32-byte key as base64 or hex (generate one with: openssl rand -base64 32)`);
  return key;
}

export interface KeySource {
  /** Environment variable that may hold the key (checked first). */
  envVar: string;
  /** Key file used (and created, 0600, in a 0700 directory) when the variable is unset. */
  path: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The key from `envVar`, else from the key file, else a new random key written to the key file. Two
 * processes starting at once agree on one key: the file is created exclusively and the loser reads it.
 */
export async function loadOrCreateKey(source: KeySource): Promise<Uint8Array> {
  const env = source.env ?? process.env;
  const fromEnv = env[source.envVar];
  if (fromEnv) return decodeKey(fromEnv.trim(), source.envVar);
  try {
    return decodeKey((await readFile(source.path, 'utf8')).trim(), source.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(SECRET_KEY_BYTES);
  await mkdir(dirname(source.path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(source.path, key.toString('base64'), { mode: FILE_MODE, flag: 'wx' });
    await chmod(source.path, FILE_MODE);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return decodeKey((await readFile(source.path, 'utf8')).trim(), source.path);
  }
}
