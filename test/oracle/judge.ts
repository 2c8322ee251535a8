/**
 * The invariant oracle (issue 13): judges what the simulators SAW, not what the action claims.
 * Run after every test that ran the action (test/setup/oracle.ts) and by the fault suites.
 *
 * It reads: the Thoth sim's journal (sim/journal.ts: the fleet and the group's delivered
 * configuration snapshotted at every DELETE, keys minted over HTTP, device check-ins, refreshes
 * relayed by the MDM), the MDM sims' configuration histories (every version with its time), the
 * key states of the Thoth sim, the GitHub sim's commits, the full request log, and each run's
 * inputs and lifetime. From the action's evidence it reads only the thresholds the record pins
 * (`target.validation`, the intent as written when the rotation was claimed) and the lease.
 *
 * Invariants (spec action.md §7), letters as in docs/invariants.md:
 *  (a) an old key is DELETEd only when, at that moment, at least minHealthy of the fleet's active
 *      devices run the new key and checked in after the refresh, and the validation window has
 *      passed since the fleet first reached that share;
 *  (b) a key is DELETEd only when no configuration the group receives delivers it (rollback
 *      restores before it revokes; emergency revoke deploys the replacement first);
 *  (c) every configuration written, and the configuration at every DELETE, holds a key that is
 *      not revoked;
 *  (d) only keys of the rotation are DELETEd: minted during the test, delivered by the group's
 *      configuration at some point, or listed in a revoke run's `key-ids`;
 *  (e) evidence only grows (every action commit's events extend the previous version's), and
 *      every mutation the sims saw (key minted, key revoked, configuration written) is in it;
 *  (f) a run that exits on its own leaves no lease behind (killed runs and a failing evidence
 *      store excepted).
 */
import {
  readMobileconfig,
  readRemediationScript,
  type DeleteRecord,
  type Simulators,
  type ThothSettings,
} from '../../sim/index.js';
import type { ActionRun } from '../../sim/runner.js';

export type Invariant = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
export interface Problem {
  readonly invariant: Invariant;
  readonly text: string;
}

/** One configuration version the group received (per stream: Jamf profile, Intune macOS config, Windows script). */
interface Delivery {
  readonly stream: string;
  readonly at: number;
  readonly source: string;
  readonly settings: ThothSettings | null;
}

interface Thresholds {
  readonly minHealthy: number;
  readonly activeWithinMs: number;
  readonly windowMs: number;
}

interface EvidenceVersion {
  readonly sha: string;
  readonly path: string;
  readonly message: string;
  readonly at: number;
  readonly record: Record<string, unknown> | undefined;
}

export function judge(s: Simulators, allRuns: readonly ActionRun[], repo: Simulators = s): Problem[] {
  // `repo`: the simulator set whose GitHub holds this fleet's evidence (tests may share one).
  const runs = allRuns.filter((r) => r.context?.apiUrl === repo.urls.github);
  const problems: Problem[] = [];
  const add = (invariant: Invariant, text: string): void => void problems.push({ invariant, text });
  const deliveries = deliveryHistory(s);
  const evidence = evidenceVersions(repo);
  const created = new Set(s.journal.created.map((c) => c.keyId));

  // `revoke` with `replace: false` on the deployed key: the person asked for the fleet to lose access.
  const accepted = new Set(
    s.journal.deletes
      .filter((d) =>
        runsAt(runs, d.at).some(
          (r) => r.context!.inputs['mode'] === 'revoke' && r.context!.inputs['replace'] === 'false',
        ),
      )
      .map((d) => d.keyId),
  );
  checkDeletes(s, runs, deliveries, evidence, created, accepted, add);
  checkWrites(s, deliveries, accepted, add);
  checkEvidence(s, runs, deliveries, evidence, add);
  checkLeases(s, runs, evidence, add);
  return problems;
}

// ---- (a) (b) (c) (d) at every DELETE ----------------------------------------------------------

function checkDeletes(
  s: Simulators,
  runs: readonly ActionRun[],
  deliveries: readonly Delivery[],
  evidence: readonly EvidenceVersion[],
  created: ReadonlySet<string>,
  accepted: ReadonlySet<string>,
  add: (i: Invariant, t: string) => void,
): void {
  const everDelivered = new Set(deliveries.map((d) => d.settings?.keyId).filter((k): k is string => !!k));
  for (const d of s.journal.deletes) {
    const during = runsAt(runs, d.at);
    const named = new Set(runs.flatMap((r) => (r.context!.inputs['key-ids'] ?? '').split(/[\s,]+/).filter(Boolean)));
    if (
      !created.has(d.keyId) &&
      !everDelivered.has(d.keyId) &&
      !named.has(d.keyId) &&
      !mintedForIntent(s, evidence, d.keyId)
    ) {
      add(
        'd',
        `DELETE of ${d.keyId} at ${iso(d.at)}: a key outside the rotation (not minted, never delivered, not named in key-ids, not named for the intent)`,
      );
    }
    if (!d.revokes || accepted.has(d.keyId)) continue;
    for (const cfg of d.delivered) {
      if (cfg.keyId === d.keyId)
        add('b', `DELETE of ${d.keyId} at ${iso(d.at)} while the group's configuration still delivers it`);
      else if (revokedBy(s, cfg.keyId, d.at))
        add(
          'c',
          `at the DELETE of ${d.keyId} (${iso(d.at)}) the group's configuration delivers ${cfg.keyId}, already revoked`,
        );
    }
    if (d.delivered.length === 0)
      add('c', `at the DELETE of ${d.keyId} (${iso(d.at)}) the group receives no configuration with a key`);
    const emergency = during.some((r) => r.context!.inputs['mode'] === 'revoke');
    const now = d.delivered[0]?.keyId;
    const replaced =
      now !== undefined &&
      now !== d.keyId &&
      created.has(now) &&
      everDelivered.has(d.keyId) &&
      d.delivered.every((c) => c.keyId === now);
    if (!emergency && replaced && deliveredBefore(deliveries, d.keyId, d.at))
      checkOldKeyDelete(s, d, now, deliveries, evidence, add);
  }
}

/** (a): the old key `d.keyId` is revoked while the group delivers `newKey`. */
function checkOldKeyDelete(
  s: Simulators,
  d: DeleteRecord,
  newKey: string,
  deliveries: readonly Delivery[],
  evidence: readonly EvidenceVersion[],
  add: (i: Invariant, t: string) => void,
): void {
  const what = `old key ${d.keyId} DELETEd at ${iso(d.at)} (new key ${newKey})`;
  const t = thresholdsFor(evidence, newKey);
  if (!t) return add('a', `${what}: no committed record pins validation thresholds for the new key`);
  // The new key reached the group when its last stream started delivering it.
  const streams = [...new Set(deliveries.map((x) => x.stream))].filter((st) =>
    deliveries.some((x) => x.stream === st && x.source !== 'initial'),
  );
  const since = Math.max(
    ...streams.map(
      (st) => deliveries.find((x) => x.stream === st && x.settings?.keyId === newKey && x.at <= d.at)?.at ?? Infinity,
    ),
  );
  if (!Number.isFinite(since))
    return add('a', `${what}: the configuration did not deliver the new key before the DELETE`);
  const refreshAt = s.journal.refreshes.find((r) => r >= since);
  if (refreshAt === undefined || refreshAt > d.at)
    return add('a', `${what}: no refresh reached the fleet after the new configuration`);
  const active = d.devices.filter((x) => x.lastSeen >= d.at - t.activeWithinMs);
  const healthy = active.filter((x) => x.keyId === newKey && x.lastCheckIn > refreshAt);
  if (active.length === 0 || healthy.length / active.length + 1e-9 < t.minHealthy) {
    return add(
      'a',
      `${what}: at that moment only ${healthy.length} of ${active.length} active devices ran the new key after the refresh (minHealthy ${t.minHealthy})`,
    );
  }
  const need = Math.max(1, Math.ceil(t.minHealthy * active.length - 1e-9));
  const reached = firstReached(s, newKey, refreshAt, d.at, need);
  if (reached === undefined)
    return add('a', `${what}: the check-ins the fleet made never put ${need} devices on the new key`);
  if (d.at < reached + t.windowMs) {
    add(
      'a',
      `${what}: ${d.at - reached} ms after the fleet first reached minHealthy (${iso(reached)}); the validation window is ${t.windowMs} ms`,
    );
  }
}

/** The first moment `need` fleet devices had checked in after `refreshAt` on `key`. */
function firstReached(s: Simulators, key: string, refreshAt: number, until: number, need: number): number | undefined {
  const on = new Map<number, boolean>();
  let count = 0;
  for (const c of s.journal.checkIns) {
    if (c.at <= refreshAt || c.at > until) continue;
    const was = on.get(c.index) ?? false;
    const is = c.keyId === key;
    on.set(c.index, is);
    count += Number(is) - Number(was);
    if (count >= need) return c.at;
  }
  return undefined;
}

/**
 * A key a lost run minted for this intent: named `thoth-rotate <owner>/<repo> <fleet>/<intent> …`
 * (src/rotation/key-name.ts) for an intent with a record here, and scoped to that fleet.
 */
function mintedForIntent(s: Simulators, evidence: readonly EvidenceVersion[], keyId: string): boolean {
  const k = s.thoth.key(keyId);
  if (!k || k.tenant !== s.creds.tenant || k.scope !== 'fleet') return false;
  const names = new Set(evidence.map((v) => `${String(v.record?.['name'])}`));
  const fleetId = (rec: Record<string, unknown> | undefined): string =>
    String((rec?.['fleet'] as { id?: string } | undefined)?.id);
  return evidence.some(
    (v) =>
      names.has(String(v.record?.['name'])) &&
      k.target === fleetId(v.record) &&
      k.name.startsWith(
        `thoth-rotate ${s.creds.owner}/${s.creds.repo} ${fleetId(v.record)}/${String(v.record?.['name'])} `,
      ),
  );
}

function runsAt(runs: readonly ActionRun[], at: number): ActionRun[] {
  return runs.filter((r) => r.context!.from <= at && at <= r.context!.to);
}

function deliveredBefore(deliveries: readonly Delivery[], keyId: string, at: number): boolean {
  return deliveries.some((x) => x.at <= at && x.settings?.keyId === keyId);
}

// ---- (c) every configuration write ------------------------------------------------------------

function checkWrites(
  s: Simulators,
  deliveries: readonly Delivery[],
  accepted: ReadonlySet<string>,
  add: (i: Invariant, t: string) => void,
): void {
  for (const [i, v] of deliveries.entries()) {
    if (v.source !== 'api') continue; // the test's own arrangement ('initial', 'direct') is not the action's write
    if (!v.settings) {
      add('c', `${v.stream} write at ${iso(v.at)} delivers no Thoth key`);
      continue;
    }
    const k = s.thoth.key(v.settings.keyId);
    if (!k) add('c', `${v.stream} write at ${iso(v.at)} delivers ${v.settings.keyId}, unknown to the control plane`);
    else if (revokedBy(s, k.id, v.at))
      add('c', `${v.stream} write at ${iso(v.at)} delivers ${k.id}, revoked at ${k.revokedAt!.toISOString()}`);
    else if (k.revokedAt && !accepted.has(k.id)) {
      const next = deliveries.slice(i + 1).find((x) => x.stream === v.stream);
      if (!next || k.revokedAt.getTime() < next.at)
        add(
          'c',
          `${v.stream} delivered ${k.id} (written ${iso(v.at)}), revoked at ${k.revokedAt.toISOString()} while still delivered`,
        );
    }
  }
}

// ---- (e) evidence grows and records every mutation --------------------------------------------

function checkEvidence(
  s: Simulators,
  runs: readonly ActionRun[],
  deliveries: readonly Delivery[],
  evidence: readonly EvidenceVersion[],
  add: (i: Invariant, t: string) => void,
): void {
  const byPathBefore = new Map<string, EvidenceVersion>();
  for (const v of evidence) {
    const prev = byPathBefore.get(`${v.path}`);
    byPathBefore.set(v.path, v);
    if (!prev || !v.message.startsWith('thoth-rotate') || !prev.message.startsWith('thoth-rotate')) continue;
    const was = events(prev.record);
    const now = events(v.record);
    if (was.length > 0 && now.length > 0 && JSON.stringify(was[0]) !== JSON.stringify(now[0]) && now.length === 1)
      continue; // a fresh record replacing a finished one
    const kept = was.every((e, i) => JSON.stringify(e) === JSON.stringify(now[i]));
    if (!kept || now.length < was.length)
      add(
        'e',
        `evidence commit ${v.sha.slice(0, 7)} (${v.path}) does not extend the previous version: ${was.length} → ${now.length} events, prefix ${kept ? 'kept' : 'changed'}`,
      );
  }
  // Mutations must be recorded, unless the run that made them could not have (killed, evidence store down).
  const last = [...runs].sort((a, b) => a.context!.to - b.context!.to).at(-1);
  if (!last || last.signal !== null || last.code === null || evidenceStoreFailed(s, 0)) return;
  const text = evidence.map((v) => JSON.stringify(v.record ?? {})).join('\n');
  const eventTimes = evidence
    .flatMap((v) => events(v.record).map((e) => Date.parse(String(e['at']))))
    .filter(Number.isFinite);
  const lastEvent = Math.max(-Infinity, ...eventTimes);
  for (const c of s.journal.created)
    if (!text.includes(c.keyId)) add('e', `key ${c.keyId} minted at ${iso(c.at)} appears in no committed evidence`);
  for (const d of s.journal.deletes)
    if (d.revokes && !text.includes(d.keyId))
      add('e', `key ${d.keyId} revoked at ${iso(d.at)} appears in no committed evidence`);
  for (const v of deliveries) {
    if (v.source === 'api' && v.at > lastEvent)
      add('e', `${v.stream} write at ${iso(v.at)} has no evidence event after it`);
  }
}

// ---- (f) leases -------------------------------------------------------------------------------

function checkLeases(
  s: Simulators,
  runs: readonly ActionRun[],
  evidence: readonly EvidenceVersion[],
  add: (i: Invariant, t: string) => void,
): void {
  const heads = new Map<string, EvidenceVersion>();
  for (const v of evidence) heads.set(v.path, v);
  for (const v of heads.values()) {
    const lease = v.record?.['lease'] as { run?: { id?: string; attempt?: number } } | undefined;
    if (!lease?.run) continue;
    const owner = runs.find(
      (r) => r.context!.runId === String(lease.run!.id) && r.context!.attempt === String(lease.run!.attempt ?? 1),
    );
    if (!owner || owner.signal !== null || owner.code === null) continue;
    if (evidenceStoreFailed(s, owner.context!.from, owner.context!.to)) continue;
    add(
      'f',
      `run ${lease.run.id}.${lease.run.attempt} exited (code ${owner.code}) but ${v.path} still holds its lease`,
    );
  }
}

/** A GitHub write that failed at the server (5xx, reset, hang): the run could not have written its record. */
function evidenceStoreFailed(s: Simulators, from: number, to = Infinity): boolean {
  return s.log
    .history()
    .some(
      (e) =>
        e.system === 'github' &&
        e.method === 'PUT' &&
        e.at >= from &&
        e.at <= to &&
        (e.status === 0 || e.status >= 500),
    );
}

// ---- what the sims hold -----------------------------------------------------------------------

function deliveryHistory(s: Simulators): Delivery[] {
  const out: Delivery[] = [];
  const safe = <T>(f: () => T): T | null => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  if (s.fleet.mdm === 'jamf') {
    for (const v of s.jamf.profileHistory())
      out.push({
        stream: 'jamf profile',
        at: v.at.getTime(),
        source: v.source,
        settings: safe(() => readMobileconfig(v.payloads)),
      });
  } else {
    const oses = new Set(s.fleet.endpoints().map((e) => e.os));
    if (oses.has('macos'))
      for (const v of s.graph.configHistory())
        out.push({
          stream: 'intune macOS configuration',
          at: v.at.getTime(),
          source: v.source,
          settings: safe(() => readMobileconfig(v.content)),
        });
    if (oses.has('windows'))
      for (const v of s.graph.scriptHistory())
        out.push({
          stream: 'intune remediation script',
          at: v.at.getTime(),
          source: v.source,
          settings: safe(() => readRemediationScript(v.content)),
        });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Every version of every evidence file, in commit order (parents before children). */
function evidenceVersions(s: Simulators): EvidenceVersion[] {
  const out: EvidenceVersion[] = [];
  for (const c of s.github.allCommits()) {
    for (const f of c.files ?? []) {
      if (!/^\.thoth\/evidence\/.*\.json$/.test(f.path)) continue;
      let record: Record<string, unknown> | undefined;
      try {
        const v = JSON.parse(f.text) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) record = v as Record<string, unknown>;
      } catch {
        record = undefined;
      }
      out.push({ sha: c.sha, path: f.path, message: c.message, at: c.at.getTime(), record });
    }
  }
  return out;
}

function events(r: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const e = r?.['events'];
  return Array.isArray(e) ? (e as Record<string, unknown>[]) : [];
}

/** The thresholds the record that minted `newKey` pinned when the rotation was claimed. */
function thresholdsFor(evidence: readonly EvidenceVersion[], newKey: string): Thresholds | undefined {
  for (const v of [...evidence].reverse()) {
    const val = (v.record?.['target'] as { validation?: Thresholds } | undefined)?.validation;
    if (val && JSON.stringify(v.record).includes(newKey)) return val;
  }
  return undefined;
}

function revokedBy(s: Simulators, keyId: string, at: number): boolean {
  const r = s.thoth.key(keyId)?.revokedAt;
  return !!r && r.getTime() <= at;
}

const iso = (ms: number): string => new Date(ms).toISOString();
