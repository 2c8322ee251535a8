/**
 * What one Windows device's remediation run state (beta `deviceHealthScriptDeviceState`,
 * api-reference/beta/resources/intune-devices-devicehealthscriptdevicestate.md) says about it:
 * when the scripts last ran and the health the detection script printed.
 */
import type { RunState } from '../clients/graph.js';
import { parseHealth, type HealthReport } from '../observations.js';

/**
 * Intune keeps at most this many characters of a script's output (memdocs
 * intune/fundamentals/remediations.md, "Script requirements": "The maximum allowed output size
 * limit is 2048 characters").
 */
export const DETECTION_OUTPUT_LIMIT = 2048;

export interface RunReport {
  /** `lastStateUpdateDateTime`: "the last timestamp of when the device health script executed". */
  readonly at?: Date;
  /** The health of the latest detection output; `invalid` when that output may have been cut. */
  readonly health: HealthReport;
  /** The output reached Intune's limit: what follows it is lost, so nothing in it is used. */
  readonly cut: boolean;
  /** The detection script exited 0 on its first run, so the remediation script did not run. */
  readonly detectionPassed: boolean;
}

/**
 * The health a run state reports. Which output is the latest: when the detection script found
 * nothing (`detectionState: success`, `remediationState: skipped`) the remediation and the
 * second detection did not run, so the pre-remediation output is the one of this run (a
 * post-remediation output would be an older run's); otherwise the post-remediation output,
 * when there is one.
 *
 * An output of {@link DETECTION_OUTPUT_LIMIT} characters or more may have been cut, and a cut
 * can turn a report into a different one (a later `"revoked": true` lost, an object that still
 * parses once its tail is gone): its health counts as `invalid`, never read for a key id.
 */
export function runReport(s: RunState): RunReport {
  const at = s.lastStateUpdateDateTime ? new Date(s.lastStateUpdateDateTime) : undefined;
  const detectionPassed = s.detectionState === 'success' || s.remediationState === 'skipped';
  const post = s.postRemediationDetectionScriptOutput;
  const output =
    !detectionPassed && typeof post === 'string' && post.trim() !== '' ? post : s.preRemediationDetectionScriptOutput;
  const cut = typeof output === 'string' && output.length >= DETECTION_OUTPUT_LIMIT;
  return {
    ...(at && !Number.isNaN(at.getTime()) ? { at } : {}),
    health: cut ? { status: 'invalid' } : parseHealth(typeof output === 'string' ? [output] : undefined),
    cut,
    detectionPassed,
  };
}
