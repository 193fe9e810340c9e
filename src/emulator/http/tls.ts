/**
 * TLS material for serving the emulator over HTTPS: a certificate and key from files (`--tls-cert/--tls-key`),
 * or a self-signed certificate generated at start (`--tls`) for `localhost`, `127.0.0.1`, `::1` and the bound
 * host. Clients trust it by its PEM (Node: `NODE_EXTRA_CA_CERTS=cert.pem`) or its printed SHA-256 fingerprint.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  /** PEM certificate (chain) served to clients. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** SHA-256 fingerprint of the certificate, `AB:CD:…`, to compare with what a client sees. */
  fingerprint: string;
  /** When the certificate stops being valid. */
  validTo: string;
}

/** Error with a stable code for bad TLS input (unreadable file, not PEM, key not matching the certificate). */
export class TlsError extends Error {
  readonly code = 'TLS_INVALID';
}

/** Days a generated certificate is valid: long enough for a dev environment, short enough to stay a dev one. */
const GENERATED_VALID_DAYS = 365;

/** Reads and checks a certificate and its key: both PEM, and the key must be the certificate's. */
export async function loadTlsFiles(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const read = async (path: string, flag: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new TlsError(`${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a PEM file`);
    }
  };
  return checkTls(await read(certPath, '--tls-cert'), await read(keyPath, '--tls-key'), certPath, keyPath);
}

/** Validates PEM text and computes the fingerprint. */
export function checkTls(cert: string, key: string, certName = 'certificate', keyName = 'key'): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new TlsError(`--tls-cert ${certName} is not a PEM certificate (${(err as Error).message}); it should start with -----BEGIN CERTIFICATE-----`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsError(`--tls-key ${keyName} is not a PEM private key (${(err as Error).message}); it should start with -----BEGIN PRIVATE KEY-----`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new TlsError(`--tls-key ${keyName} does not belong to the certificate ${certName}; pass the key the certificate was issued for`);
  return { cert, key, fingerprint: x509.fingerprint256, validTo: x509.validTo };
}

/** A fresh self-signed certificate (RSA 2048, SHA-256) for localhost, the loopback addresses and `host`. */
export async function generateSelfSigned(host = '127.0.0.1'): Promise<TlsMaterial> {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  // A wildcard bind address names no host a client would connect to.
  if (host && host !== '0.0.0.0' && host !== '::') names.add(host);
  const altNames = [...names].map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + GENERATED_VALID_DAYS * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: host && !isIP(host) && host !== 'localhost' ? host : 'localhost' }, { name: 'organizationName', value: 'sfbridge emulator' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      // A CA flag lets clients trust this one certificate as its own anchor (NODE_EXTRA_CA_CERTS, a browser).
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return checkTls(pems.cert, pems.private, 'generated certificate', 'generated key');
}
