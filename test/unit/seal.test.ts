import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn() }));

const { decodeSealKey, seal, SealError, unseal } = await import('../../src/evidence/seal.js');

const KEY = randomBytes(32);
const AAD = 'thoth-rotate/rollback/v1\nacme\nflt-corpsec-macos\ncorpsec-macos-2026-12';
const SNAPSHOT = '<plist><dict><key>THOTH_API_KEY</key><string>thoth_live_OLD_secret</string></dict></plist>';

const flip = (b64: string, at = 0): string => {
  const buf = Buffer.from(b64, 'base64');
  buf[at] = buf[at]! ^ 0x01;
  return buf.toString('base64');
};

describe('seal / unseal', () => {
  it('round-trips and hides the plaintext', () => {
    const blob = seal(SNAPSHOT, KEY, AAD);
    expect(blob.alg).toBe('AES-256-GCM');
    expect(Buffer.from(blob.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(blob.tag, 'base64')).toHaveLength(16);
    expect(blob.aad).toBe(AAD);
    expect(JSON.stringify(blob)).not.toContain('thoth_live_OLD_secret');
    expect(unseal(blob, KEY, AAD)).toBe(SNAPSHOT);
  });

  it('uses a fresh IV each time', () => {
    const ivs = new Set(Array.from({ length: 50 }, () => seal('x', KEY, AAD).iv));
    expect(ivs.size).toBe(50);
  });

  it('round-trips empty and non-ASCII text', () => {
    expect(unseal(seal('', KEY, AAD), KEY, AAD)).toBe('');
    expect(unseal(seal('é😀\n\0', KEY, 'ä'), KEY, 'ä')).toBe('é😀\n\0');
  });

  const failures: { name: string; run: () => unknown; message: RegExp }[] = [
    {
      name: 'wrong key',
      run: () => unseal(seal(SNAPSHOT, KEY, AAD), randomBytes(32), AAD),
      message: /wrong rollback-seal-key, or the sealed data was modified/,
    },
    {
      name: 'tampered ciphertext',
      run: () => {
        const b = seal(SNAPSHOT, KEY, AAD);
        return unseal({ ...b, ciphertext: flip(b.ciphertext, 5) }, KEY, AAD);
      },
      message: /was modified/,
    },
    {
      name: 'tampered tag',
      run: () => {
        const b = seal(SNAPSHOT, KEY, AAD);
        return unseal({ ...b, tag: flip(b.tag) }, KEY, AAD);
      },
      message: /was modified/,
    },
    {
      name: 'tampered iv',
      run: () => {
        const b = seal(SNAPSHOT, KEY, AAD);
        return unseal({ ...b, iv: flip(b.iv) }, KEY, AAD);
      },
      message: /was modified/,
    },
    { name: 'aad mismatch', run: () => unseal(seal(SNAPSHOT, KEY, AAD), KEY, `${AAD}x`), message: /another rotation/ },
    {
      name: 'aad edited in the blob to match',
      run: () => unseal({ ...seal(SNAPSHOT, KEY, AAD), aad: 'other' }, KEY, 'other'),
      message: /was modified/,
    },
    {
      name: 'truncated tag',
      run: () => {
        const b = seal(SNAPSHOT, KEY, AAD);
        return unseal({ ...b, tag: Buffer.alloc(8).toString('base64') }, KEY, AAD);
      },
      message: /tag must be 16 bytes/,
    },
    {
      name: 'non-base64 ciphertext',
      run: () => unseal({ ...seal(SNAPSHOT, KEY, AAD), ciphertext: '!!!!' }, KEY, AAD),
      message: /ciphertext is not base64/,
    },
    {
      name: 'unknown algorithm',
      run: () => unseal({ ...seal(SNAPSHOT, KEY, AAD), alg: 'ROT13' as 'AES-256-GCM' }, KEY, AAD),
      message: /unsupported algorithm/,
    },
    { name: 'short key (seal)', run: () => seal(SNAPSHOT, randomBytes(16), AAD), message: /32 bytes/ },
    {
      name: 'short key (unseal)',
      run: () => unseal(seal(SNAPSHOT, KEY, AAD), randomBytes(31), AAD),
      message: /32 bytes/,
    },
  ];
  it.each(failures)('fails clearly: $name', ({ run, message }) => {
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SealError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('thoth_live');
    expect((err as Error).message).not.toContain(KEY.toString('base64'));
  });
});

describe('decodeSealKey', () => {
  it('decodes a 32-byte base64 key', () => {
    const b64 = KEY.toString('base64');
    expect(decodeSealKey(` ${b64}\n`).equals(KEY)).toBe(true);
  });
  it('rejects wrong lengths and non-base64 without echoing the input', () => {
    expect(() => decodeSealKey(randomBytes(16).toString('base64'))).toThrow(/16 bytes, expected 32/);
    expect(() => decodeSealKey('not base64 at all!')).toThrow(/not base64/);
    expect(() => decodeSealKey('not base64 at all!')).toThrow(/^(?!.*at all)/);
  });
});
