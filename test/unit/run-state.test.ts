import { describe, expect, it } from 'vitest';
import type { RunState } from '../../src/clients/graph.js';
import { DETECTION_OUTPUT_LIMIT, runReport } from '../../src/mdm/run-state.js';

const health = (keyId: string): string =>
  JSON.stringify({ registration_ok: true, api_key: { key_id: keyId, revoked: false, expired: false } });
const state = (s: Partial<RunState>): RunState => ({
  id: 'script:device',
  lastStateUpdateDateTime: '2026-12-01T14:05:00Z',
  ...s,
});

describe('runReport: the health a Windows remediation run state reports', () => {
  it('detection found nothing (exit 0): the pre-remediation output, even if an older post-remediation one is there', () => {
    const r = runReport(
      state({
        detectionState: 'success',
        remediationState: 'skipped',
        preRemediationDetectionScriptOutput: health('key_now'),
        postRemediationDetectionScriptOutput: health('key_older_run'),
      }),
    );
    expect(r).toMatchObject({ detectionPassed: true, cut: false, health: { status: 'ok', keyId: 'key_now' } });
    expect(r.at).toEqual(new Date('2026-12-01T14:05:00Z'));
  });

  it('detection exited 1 and the remediation ran: the post-remediation output', () => {
    const r = runReport(
      state({
        detectionState: 'fail',
        remediationState: 'success',
        preRemediationDetectionScriptOutput: health('key_old'),
        postRemediationDetectionScriptOutput: health('key_new'),
      }),
    );
    expect(r).toMatchObject({ detectionPassed: false, health: { keyId: 'key_new' } });
  });

  it('remediation failed without a second output: the pre-remediation one', () => {
    const r = runReport(
      state({
        detectionState: 'fail',
        remediationState: 'scriptError',
        preRemediationDetectionScriptOutput: health('key_old'),
        postRemediationDetectionScriptOutput: null,
      }),
    );
    expect(r.health.keyId).toBe('key_old');
  });

  it('no output, no time: missing health, no date', () => {
    const r = runReport({ id: 'x', detectionState: 'scriptError', lastStateUpdateDateTime: 'not a date' });
    expect(r).toEqual({ health: { status: 'missing' }, cut: false, detectionPassed: false });
  });

  it('an output that reached 2,048 characters was cut by Intune: never read, even when a complete report survives in it', () => {
    const line = health('key_new');
    const at = (n: number): string => `${line}\n${'x'.repeat(n - line.length - 1)}`;
    expect(DETECTION_OUTPUT_LIMIT).toBe(2048);
    const below = runReport(
      state({ detectionState: 'fail', remediationState: 'success', postRemediationDetectionScriptOutput: at(2047) }),
    );
    expect(below).toMatchObject({ cut: false, health: { status: 'ok', keyId: 'key_new' } });
    for (const n of [2048, 5000]) {
      const cut = runReport(
        state({
          detectionState: 'fail',
          remediationState: 'success',
          postRemediationDetectionScriptOutput: at(n).slice(0, 2048),
        }),
      );
      expect(cut).toMatchObject({ cut: true, health: { status: 'invalid' } });
      expect(cut.health.keyId).toBeUndefined();
    }
  });
});
