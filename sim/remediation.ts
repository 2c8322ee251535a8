/**
 * The Intune Management Extension (IME) of the simulated Windows devices: when it fetches the
 * remediation (detection + remediation script) and what a run does. Its own channel, apart from
 * the MDM check-in that `syncDevice` causes. Source: memdocs intune/fundamentals/remediations.md.
 *
 * - "Client policy retrieval and client reporting": the client retrieves remediation policy
 *   after a restart of the device or of the IME, after a user signs in, and once every 8 hours
 *   ("fixed based on when the Intune management extension service starts"). Nothing there
 *   mentions a sync: `syncDevice` reaches the MDM channel only, so it fetches nothing here.
 *   Modelled as one schedule per device (`cycleMs`, default 8 h, the first retrieval between
 *   half a cycle and a cycle after the simulators start: far beyond any test's timeout), plus
 *   `fetchNow` for a restart or a sign-in.
 * - "Run a remediation script on-demand": the device action runs a script package now; the
 *   device must be online and reach Intune and WNS, else it "might not receive" the action.
 *   Modelled: online and stuck devices run it after `delayMs`; offline/inactive ones drop it.
 * - "Script requirements": "A remediation script only runs if the detection script uses exit
 *   code `exit 1`"; "The maximum allowed output size limit is 2048 characters".
 *
 * A run leaves the device's run state (beta deviceHealthScriptDeviceState,
 * api-reference/beta/resources/intune-devices-devicehealthscriptdevicestate.md): detection and
 * remediation state, the outputs before and after remediation, and `lastStateUpdateDateTime`
 * ("the last timestamp of when the device health script executed").
 */
import type { Fleet } from './fleet.js';
import { readDetectionScript, readRemediationScript } from './payloads.js';
import { DueQueue } from './schedule.js';
import type { Rng } from './util.js';

/** remediations.md, "Script requirements": "The maximum allowed output size limit is 2048 characters." */
export const OUTPUT_LIMIT = 2048;
const HOUR = 3_600_000;

export interface RunState {
  /** `lastStateUpdateDateTime` */
  at: number;
  /** `lastSyncDateTime`: "the last time that Intune Management Extension synced with Intune" */
  syncAt: number;
  /** runState of the first detection: `success` (no issue, exit 0) or `fail` (issue found, exit 1). */
  detectionState: 'success' | 'fail';
  remediationState: 'skipped' | 'success' | 'remediationFailed';
  pre: string | null;
  preError: string | null;
  post: string | null;
  postError: string | null;
}

/** The remediation as Intune serves it now, decoded. */
export interface RemediationPolicy {
  detection: string;
  remediation: string;
}

export interface ImeOptions {
  cycleMs: number;
  delayMs: [number, number];
  rng: Rng;
  policy(): RemediationPolicy;
  /** Devices the remediation is assigned to: they run it on their own cycle. */
  assigned(i: number): boolean;
}

const NO_PROXY =
  "thoth : The term 'thoth' is not recognized as the name of a cmdlet, function, script file, or operable program.";

export class ImeChannel {
  private readonly states = new Map<number, RunState>();
  /** Next policy retrieval of the 8-hour cycle, per device (0: not assigned). */
  private readonly cycleAt: Float64Array;
  /** A pending on-demand run, per device (0: none). */
  private readonly demandAt: Float64Array;
  private readonly runCount: Uint32Array;
  /** Text a device's detection script prints after the health (a verbose script, tests). */
  private readonly extraOutput = new Map<number, string>();
  private readonly queue = new DueQueue((i) => this.due(i));

  constructor(
    private readonly fleet: Fleet,
    private readonly o: ImeOptions,
  ) {
    this.cycleAt = new Float64Array(fleet.total);
    this.demandAt = new Float64Array(fleet.total);
    this.runCount = new Uint32Array(fleet.total);
    const now = Date.now();
    for (let i = 0; i < fleet.total; i++) {
      if (!o.assigned(i)) continue;
      // Devices ran the remediation before (it is assigned): their last report, with the key they hold.
      this.states.set(i, {
        at: fleet.remediationReportedAt(i),
        syncAt: fleet.remediationReportedAt(i),
        detectionState: 'success',
        remediationState: 'skipped',
        pre: cut(fleet.health(i)),
        preError: null,
        post: null,
        postError: null,
      });
      this.schedule(i, now + o.cycleMs * (0.5 + 0.5 * o.rng.next()));
    }
  }

  /** The device's last run, if it ever reported one. */
  state(i: number): RunState | undefined {
    const s = this.states.get(i);
    return s && { ...s };
  }
  /** Runs the device performed since the simulators started. */
  runs(i: number): number {
    return this.runCount[i] ?? 0;
  }

  /** The on-demand device action reached Intune: a reachable device runs the package soon. */
  onDemand(i: number): void {
    this.fleet.refreshRelayed(i);
    const b = this.fleet.behaviour(i);
    if (b === 'offline' || b === 'inactive') return; // no WNS push reaches it
    const [lo, hi] = this.o.delayMs;
    const at = Date.now() + this.o.rng.between(lo, hi);
    if (this.demandAt[i] && (this.demandAt[i] ?? 0) <= at) return; // one pending action at a time
    this.demandAt[i] = at;
    this.queue.add(at, i);
  }

  /** The device's detection script prints `text` after the health from now on (a verbose script; tests). */
  setExtraOutput(i: number, text: string | undefined): void {
    if (text === undefined) this.extraOutput.delete(i);
    else this.extraOutput.set(i, text);
  }

  /** A restart or a sign-in: the IME retrieves policy and runs the remediation now (tests). */
  fetchNow(i: number): boolean {
    return this.run(i);
  }

  stop(): void {
    this.queue.stop();
  }

  private schedule(i: number, at: number): void {
    this.cycleAt[i] = at;
    this.queue.add(at, i);
  }

  /** A queue entry fell due: the pending on-demand run, or the cycle (stale entries are skipped). */
  private due(i: number): void {
    const now = Date.now();
    const demand = this.demandAt[i] ?? 0;
    if (demand && demand <= now) {
      this.demandAt[i] = 0;
      this.run(i);
      return;
    }
    const cycle = this.cycleAt[i] ?? 0;
    if (cycle && cycle <= now) {
      this.schedule(i, now + this.o.cycleMs);
      this.run(i);
    }
  }

  /** Retrieve the policy and run it: detection, and the remediation only after an `exit 1`. */
  private run(i: number): boolean {
    const b = this.fleet.behaviour(i);
    if (b === 'offline' || b === 'inactive') return false;
    const policy = this.o.policy();
    const first = this.detect(i, policy.detection);
    const now = Date.now();
    const state: RunState = {
      at: now,
      syncAt: now,
      detectionState: first.exit === 1 ? 'fail' : 'success',
      remediationState: 'skipped',
      pre: cut(first.output),
      preError: first.output === null ? NO_PROXY : null,
      post: null,
      postError: null,
    };
    if (first.exit === 1) {
      this.fleet.runRemediation(i, readRemediationScript(policy.remediation));
      const second = this.detect(i, policy.detection);
      state.remediationState = second.exit === 0 ? 'success' : 'remediationFailed';
      state.post = cut(second.output);
      state.postError = second.output === null ? NO_PROXY : null;
    }
    this.states.set(i, state);
    this.runCount[i] = (this.runCount[i] ?? 0) + 1;
    return true;
  }

  /**
   * The detection script as the endpoint runs it: exit 1 when the installed key id or revoked
   * ids differ from the ones it was rendered with, or the health reports the key revoked or
   * expired; it prints the health. A script that assigns no expected key id cannot compare and
   * exits 0 (like a detection script that only prints `thoth health --json`).
   */
  private detect(i: number, script: string): { exit: 0 | 1; output: string | null } {
    const health = this.fleet.health(i); // as the endpoint prints it now
    const output = health === null ? null : health + (this.extraOutput.get(i) ?? '');
    const expected = readDetectionScript(script);
    if (!expected) return { exit: 0, output };
    const differs =
      this.fleet.keyId(i) !== expected.keyId ||
      JSON.stringify(this.fleet.revokedKnown(i)) !== JSON.stringify(expected.revoked);
    return { exit: differs || flagged(health) ? 1 : 0, output };
  }
}

/** What Intune keeps of a script's output. */
function cut(output: string | null): string | null {
  return output === null ? null : output.slice(0, OUTPUT_LIMIT);
}

/** The health says its key is revoked or expired. */
function flagged(output: string | null): boolean {
  try {
    const h = JSON.parse(output ?? '') as { api_key?: { revoked?: unknown; expired?: unknown } };
    return h.api_key?.revoked === true || h.api_key?.expired === true;
  } catch {
    return false;
  }
}

/** Default policy retrieval cycle (remediations.md: "Once every 8 hours"). */
export const IME_CYCLE_MS = 8 * HOUR;
