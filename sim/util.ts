/**
 * Small deterministic helpers shared by the simulators: a seeded PRNG, id/uuid makers and
 * base64/sha helpers. Everything a sim invents derives from the seed so runs are repeatable.
 */
import { createHash } from 'node:crypto';

/** mulberry32: tiny, fast, good enough for simulation (not for real secrets). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) ^ 0x9e3779b9;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }
  chars(alphabet: string, n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
  uuid(): string {
    return formatUuid([this.u32(), this.u32(), this.u32(), this.u32()]);
  }
  private u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const HEX = '0123456789abcdef';

function formatUuid(w: [number, number, number, number]): string {
  // Set version 4 / RFC 4122 variant bits so the ids look like the real thing.
  w[1] = ((w[1] & 0xffff0fff) | 0x00004000) >>> 0;
  w[2] = ((w[2] & 0x3fffffff) | 0x80000000) >>> 0;
  const h = w.map((x) => x.toString(16).padStart(8, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** splitmix32-style integer hash: lets 50,000 endpoints have stable uuids without storing them. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Deterministic uuid for (seed, kind, index); computed on demand, never stored. */
export function hashUuid(seed: number, kind: number, index: number): string {
  const base = mix(seed ^ mix(kind * 0x27d4eb2d) ^ mix(index + 0x165667b1));
  return formatUuid([mix(base ^ 1), mix(base ^ 2), mix(base ^ 3), mix(base ^ 4)]);
}

export function sha1Hex(data: string | Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Strict base64 decode (whitespace allowed): Buffer.from silently skips junk, real APIs don't. */
export function b64Bytes(text: string): Buffer | undefined {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return undefined;
  return Buffer.from(clean, 'base64');
}

export function fromB64(text: string): string | undefined {
  return b64Bytes(text)?.toString('utf8');
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
