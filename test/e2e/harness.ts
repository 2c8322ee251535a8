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
