import { defineConfig } from 'vitest/config';
import LongestFirst from './test/setup/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/leak-guard.ts', 'test/setup/oracle.ts'],
    // End-to-end tests spawn the bundle against loopback simulators; give them room.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Most of the suite's wall time is waiting on the simulated fleet (validation windows, check-ins,
    // Retry-After, timeouts), not CPU: on a 2-core machine 4 workers overlap those waits (measured
    // under the same load: 2 workers 253 s, 3 workers 177 s, 4 workers 147 s, the same ~205 s of CPU).
    // The tests wait on events, not sleeps, so a busier machine makes them slower, not red.
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
    reporters: ['default'],
  },
});
