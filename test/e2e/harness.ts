import { afterAll } from 'vitest';
import type { Simulators } from '../../sim/index.js';

export * from '../../sim/runner.js';

/**
 * Fleet options for tests that judge what the action does, not how long a real fleet takes: the
 * MDM check-in 20–150 ms after a refresh (default 50–300) and the proxy heartbeat every 250 ms
 * (default 1 s), so the control plane lists a device on its new key within a validation poll or
 * two instead of five or six. Each run then waits less and makes fewer requests; the windows,
 * thresholds and decisions under test are unchanged. Tests of the channels themselves
 * (real-channels, the oracle's self-test, sim/) keep the defaults.
 */
export const FAST_SIGNALS = {
  checkInDelayMs: [20, 150] as [number, number],
  channels: { heartbeatMs: 250 },
};

/**
 * For a file whose cases run concurrently, each on its own simulators: the returned `track`
 * registers a set, and every set is closed once the file is done (a per-test afterEach would
 * close a set another case is still running on). Call it at the file's top level.
 */
export function closeAfterAll(): (s: Simulators) => Simulators {
  const started: Simulators[] = [];
  afterAll(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });
  return (s) => {
    started.push(s);
    return s;
  };
}
