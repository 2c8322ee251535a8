import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/leak-guard.ts', 'test/setup/oracle.ts'],
    // End-to-end tests spawn the bundle against loopback simulators; give them room.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // 2 cores: keep e2e files from starving each other's simulated check-ins.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
