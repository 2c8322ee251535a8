/**
 * Sealing of the pre-change MDM configuration (spec action.md §3 `rollback-seal-key`, §6
 * `rollbackSeal`). The snapshot holds the *old* key in plaintext, so it may only enter the
 * evidence file encrypted: AES-256-GCM, a fresh random 96-bit IV per seal, and an AAD that
 * binds the blob to the rotation it belongs to (a blob copied into another record fails).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { registerSecret } from '../secrets.js';
import type { SealedBlob } from './schema.js';

export type { SealedBlob } from './schema.js';

/** Any failure to seal or unseal. Messages never include key, plaintext or ciphertext. */
export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

const ALG = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new SealError(`seal key must be ${KEY_BYTES} bytes (got ${Buffer.isBuffer(key) ? key.length : 'no buffer'})`);
  }
}

/**
 * Decodes the `rollback-seal-key` input (base64 of 32 random bytes) and masks it first,
 * so not even the error path below can print it.
 */
export function decodeSealKey(base64: string): Buffer {
  const text = base64.trim();
  registerSecret(text);
  if (text.length % 4 !== 0 || !B64.test(text)) {
    throw new SealError('rollback-seal-key is not base64 (generate one with: openssl rand -base64 32)');
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SealError(
      `rollback-seal-key decodes to ${key.length} bytes, expected ${KEY_BYTES} (generate one with: openssl rand -base64 32)`,
    );
  }
  return key;
}

/** Encrypts `plaintext` under `key` (32 bytes) with a random IV, authenticating `aad`. */
export function seal(plaintext: string, key: Buffer, aad: string): SealedBlob {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALG, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: 'AES-256-GCM',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    aad,
  };
}

/** Strict base64: Buffer.from silently skips junk, which would turn tampering into a vague failure. */
function b64(field: string, value: unknown, bytes?: number): Buffer {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !B64.test(value)) {
    throw new SealError(`sealed blob field ${field} is not base64`);
  }
  const buf = Buffer.from(value, 'base64');
  if (bytes !== undefined && buf.length !== bytes) {
    throw new SealError(`sealed blob field ${field} must be ${bytes} bytes`);
  }
  return buf;
}

/**
 * Decrypts a blob made by {@link seal}. Throws SealError when the algorithm is unknown, the
 * blob was sealed for another context (`expectedAad`), or the key is wrong / the blob was
 * modified (GCM cannot tell those two apart, and the message does not pretend to).
 */
export function unseal(blob: SealedBlob, key: Buffer, expectedAad: string): string {
  checkKey(key);
  if (blob === null || typeof blob !== 'object' || blob.alg !== 'AES-256-GCM') {
    throw new SealError('sealed blob: unsupported algorithm (expected AES-256-GCM)');
  }
  if (blob.aad !== expectedAad) {
    throw new SealError('sealed blob belongs to another rotation (additional authenticated data does not match)');
  }
  const iv = b64('iv', blob.iv, IV_BYTES);
  const tag = b64('tag', blob.tag, TAG_BYTES);
  const ciphertext = b64('ciphertext', blob.ciphertext);
  try {
    const decipher = createDecipheriv(ALG, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(expectedAad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    // Deliberately drop node's message: nothing about the data should reach a log.
    throw new SealError(
      'cannot unseal the rollback snapshot: wrong rollback-seal-key, or the sealed data was modified',
    );
  }
}
