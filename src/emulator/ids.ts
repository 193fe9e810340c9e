/**
 * Salesforce record IDs: 15-char case-sensitive base plus the 3-char case-insensitivity suffix.
 * The emulator must compute the suffix so IDs survive clients that validate or normalise them.
 */

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Returns the 18-char form of a 15- or 18-char ID (an 18-char ID is recomputed from its first 15 chars). */
export function toId18(id: string): string {
  const base = id.slice(0, 15);
  if (base.length !== 15) throw new Error(`not a Salesforce ID: ${JSON.stringify(id)}`);
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = base.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return base + suffix;
}

/** True when `s` has the shape of a 15- or 18-char ID (and, for 18, a correct suffix). */
export function isValidId(s: string): boolean {
  if (!/^[a-zA-Z0-9]{15}$|^[a-zA-Z0-9]{18}$/.test(s)) return false;
  return s.length === 15 || toId18(s).toLowerCase() === s.toLowerCase();
}

/** Normalises a 15- or 18-char ID (any suffix case) to the canonical 18-char form. */
export function normaliseId(s: string): string {
  return toId18(s);
}

/**
 * Builds an ID from a key prefix, a 3-char pod/instance segment and a sequence number.
 * Real IDs carry a pod identifier after the prefix; we keep a fixed one so IDs look alike across runs.
 */
export function makeId(keyPrefix: string, seq: number, pod = '8d0'): string {
  let n = seq;
  let body = '';
  for (let i = 0; i < 9; i++) {
    body = BASE62[n % 62] + body;
    n = Math.floor(n / 62);
  }
  if (n > 0) throw new RangeError(`ID sequence ${seq} overflows 9 base-62 digits`);
  return toId18(keyPrefix + pod + body);
}

/**
 * A fresh org Id: `00D`, then 12 random base-62 characters, in the 18-char form. Each emulated org gets its
 * own, so services that key their state by org tell emulators apart.
 */
export function randomOrgId(random: () => number = Math.random): string {
  let body = '';
  for (let i = 0; i < 12; i++) body += BASE62[Math.floor(random() * 62) % 62];
  return toId18('00D' + body);
}

/**
 * Checks an org Id given by hand: 15 or 18 characters, `00D` first, letters and digits only, and for 18
 * characters the case-safe suffix of the first 15. Returns the 18-char form; throws naming the problem.
 */
export function parseOrgId(s: string): string {
  const v = s.trim();
  if (!/^[a-zA-Z0-9]{15}$|^[a-zA-Z0-9]{18}$/.test(v)) throw new Error(`org Id "${s}" must be 15 or 18 letters and digits (e.g. 00D5g000004ABCDEAY)`);
  if (!v.startsWith('00D')) throw new Error(`org Id "${s}" must start with 00D, the key prefix of Organization`);
  if (v.length === 18 && toId18(v) !== v.slice(0, 15) + v.slice(15).toUpperCase()) throw new Error(`org Id "${s}" has a wrong 18-char suffix: the suffix of ${v.slice(0, 15)} is ${toId18(v).slice(15)}; give the 15-char form or ${toId18(v)}`);
  return toId18(v);
}
