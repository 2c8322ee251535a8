import { describe, expect, it } from 'vitest';
import { findLeaks, secretVariants } from '../leak-scan.js';

const SECRET = 'thoth_live_Ab/+c=d"e\\f&g h';

describe('#findLeaks', () => {
  const cases: { name: string; text: string; secret?: string }[] = [
    { name: 'raw', text: `key is ${SECRET}.` },
    { name: 'base64', text: Buffer.from(SECRET).toString('base64') },
    { name: 'base64 without padding', text: `x${Buffer.from(SECRET).toString('base64').replace(/=+$/, '')}y` },
    { name: 'base64url', text: Buffer.from(SECRET).toString('base64url') },
    { name: 'URL-encoded', text: `?k=${encodeURIComponent(SECRET)}` },
    { name: 'form-urlencoded (space as +)', text: `client_secret=${new URLSearchParams([['', SECRET]]).toString().slice(1)}&x=1` },
    { name: 'form-urlencoded (~ as %7E)', text: new URLSearchParams({ s: 'abc8Q~def_ghi' }).toString(), secret: 'abc8Q~def_ghi' },
    { name: 'JSON-escaped', text: JSON.stringify({ k: SECRET }) },
  ];
  for (const c of cases) {
    it(`finds the ${c.name} form`, () => {
      expect(findLeaks({ out: c.text }, [c.secret ?? SECRET]).length).toBeGreaterThan(0);
    });
  }
  it('ignores ::add-mask:: lines, the one place a secret is meant to be', () => {
    expect(findLeaks({ out: `::add-mask::${SECRET}\nclean line` }, [SECRET])).toEqual([]);
  });
  it('has one variant per encoding, de-duplicated', () => {
    expect(secretVariants('abcdefgh')).toContain('YWJjZGVmZ2g');
    expect(new Set(secretVariants('abcdefgh')).size).toBe(secretVariants('abcdefgh').length);
  });
});
