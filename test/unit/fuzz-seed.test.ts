import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_FUZZ_SEED, fuzzSeed } from './fuzz-seed.js';

describe('fuzzSeed', () => {
  it('is fixed by default, so the suite tests the same inputs every run', () => {
    expect(fuzzSeed({})).toBe(DEFAULT_FUZZ_SEED);
    expect(fuzzSeed({ FUZZ_SEED: '' })).toBe(DEFAULT_FUZZ_SEED);
  });
  it('FUZZ_SEED replays a seed', () => expect(fuzzSeed({ FUZZ_SEED: '12345' })).toBe(12345));
  it('FUZZ_SEED=random draws one and prints it', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const seed = fuzzSeed({ FUZZ_SEED: 'random' });
    expect(Number.isSafeInteger(seed)).toBe(true);
    expect(log).toHaveBeenCalledWith(expect.stringContaining(`FUZZ_SEED=${seed}`));
    log.mockRestore();
  });
  it('anything else is refused rather than silently ignored', () =>
    expect(() => fuzzSeed({ FUZZ_SEED: 'abc' })).toThrow(/integer or "random"/));
});
