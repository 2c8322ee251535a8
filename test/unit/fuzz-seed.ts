/**
 * The seed of the property tests: fixed by default, so two runs of the suite test the same
 * inputs and a red run is reproducible. `FUZZ_SEED=<n>` replays a seed, `FUZZ_SEED=random`
 * draws a new one (printed, so its failure can be replayed). fast-check itself prints the seed
 * and the counterexample's path when a property fails.
 */
export const DEFAULT_FUZZ_SEED = 20_261_207;

export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['FUZZ_SEED']?.trim();
  if (!v) return DEFAULT_FUZZ_SEED;
  if (v === 'random') {
    const seed = Math.floor(Math.random() * 2 ** 31);
    console.log(`FUZZ_SEED=${seed} (drawn; set it to replay this run)`);
    return seed;
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer or "random", not ${JSON.stringify(v)}`);
  return n;
}
