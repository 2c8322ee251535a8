/**
 * Evidence is a claim (spec action.md §9), end to end through the bundle: a record that does
 * not verify, is sealed with no or the wrong MAC, belongs to another rotation, or whose intent
 * moved its target mid-flight stops that intent before anything is mutated. Judged from what
 * the simulators saw: no write to the control plane or Jamf, no evidence commit, the foreign
 * key still active.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { appendEvent, parseRecord, serializeRecord, withMac, type EvidenceRecord } from '../../src/evidence/record.js';
import { evidencePath, expectNoLeaks, readEvidence } from './evidence.js';
import {
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type JamfIntentOptions,
  type Workspace,
  closeAfterAll,
} from './harness.js';

/** Validation passes within a second; the old key is due 60 s later, so a first apply leaves the rotation in flight. */
const IN_FLIGHT =
  'validation:\n  window: 60s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms';
const LATER = 'window:\n  start: 2030-01-01T00:00:00Z\n  end: 2030-01-01T04:00:00Z';

// The cases run concurrently, each on its own simulators; every set is closed when the file is done.
const track = closeAfterAll();

interface Setup {
  s: Simulators;
  ws: Workspace;
  file: string;
  writeIntent(o?: JamfIntentOptions): void;
  run(mode: 'apply' | 'plan', inputs?: Record<string, string>): Promise<ActionRun>;
}

async function setup(): Promise<Setup> {
  const sims = track(await startSimulators({ fleet: { size: 5 } }));
  const s = sims;
  const ws = makeWorkspace();
  const writeIntent = (o: JamfIntentOptions = {}): void =>
    void ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s, { validation: IN_FLIGHT, ...o }));
  writeIntent();
  // A second intent in the same run, outside its window: it must still be processed (and wait).
  ws.write('.thoth/rotations/later.yaml', jamfIntent(s, { name: 'later-rotation', window: LATER }));
  const run = (mode: 'apply' | 'plan', inputs: Record<string, string> = {}) =>
    runAction({ workspace: ws, inputs: simInputs(s, { mode, ...inputs }), env: simEnv(s) });
  return { s, ws, file: evidencePath(s), writeIntent, run };
}

/** Requests that would change the control plane or Jamf (the token request included: nothing may even start). */
function writesToThothOrJamf(s: Simulators): string[] {
  return s.log
    .entries()
    .filter(
      (e) => (e.system === 'thoth' || e.system === 'jamf') && ['DELETE', 'POST', 'PUT', 'PATCH'].includes(e.method),
    )
    .map((e) => `${e.system} ${e.method} ${e.path}`);
}

/** Nothing was mutated for the refused intent, the other intent was still looked at, and the error names the file. */
function expectRefused(c: Setup, run: ActionRun, commitsBefore: number, message: RegExp): void {
  expect(run.code, run.stdout).toBe(1);
  expect(writesToThothOrJamf(c.s)).toEqual([]);
  expect(c.s.log.mutations()).toEqual([]);
  expect(c.s.github.commits('main')).toHaveLength(commitsBefore);
  expect(c.s.thoth.keys().find((k) => k.id === c.s.ids.undeployedKeyId)!.active).toBe(true);
  expect(c.s.thoth.keys().find((k) => k.id === c.s.ids.oldKeyId)!.active).toBe(true);
  expect(run.stdout).toContain(c.file);
  expect(run.stdout).toMatch(message);
  expect(run.summary).toContain(c.file);
  const rotations = JSON.parse(run.outputs['rotations']!) as { name: string }[];
  expect(rotations.map((r) => r.name).sort()).toEqual(['corpsec-macos-2026-12', 'later-rotation']);
  expect(run.summary).toMatch(/later-rotation[\s\S]*waiting for window/);
}

/** Re-chain every event of `r` (as the action would have written it) after editing its fields. */
function rechained(r: EvidenceRecord): EvidenceRecord {
  return r.events.reduce<EvidenceRecord>(
    (acc, e) => {
      const { chain: _chain, ...body } = e;
      return appendEvent(acc, body);
    },
    { ...r, events: [] },
  );
}

describe.concurrent('evidence is a claim: a record that does not hold stops its intent, nothing mutated', () => {
  it('(a) a hand-edited record (state awaiting-revocation, oldKey = a live key the control plane lists) is refused; plan says so too', async () => {
    const c = await setup();
    const first = await c.run('apply');
    expect(first.code, first.stdout).toBe(0);
    expect(readEvidence(c.s)!.state).toBe('awaiting-revocation');
    // The attack of issue 11: edit the fields, keep the chain, and make the revocation due now.
    const forged = {
      ...JSON.parse(c.s.github.file(c.file, 'main')!),
      state: 'awaiting-revocation',
      oldKey: { keyId: c.s.ids.undeployedKeyId },
      validatedAt: '2020-01-01T00:00:00.000Z',
    };
    c.s.github.putFile(c.file, `${JSON.stringify(forged, null, 2)}\n`, { branch: 'main', message: 'forged' });
    const commits = c.s.github.commits('main').length;

    c.s.log.clear();
    const run = await c.run('apply');
    expectRefused(
      c,
      run,
      commits,
      /evidence chain broken at events\[\d+\]: chain\.record of the newest event does not match the record's top-level fields/,
    );

    c.s.log.clear();
    const plan = await c.run('plan');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/chain broken/);
    expect(c.s.log.mutations()).toEqual([]);
    expectNoLeaks(c.s, [first, run, plan]);
  });

  it('(a) a hand-made record with no events is refused', async () => {
    const c = await setup();
    const first = await c.run('apply');
    expect(first.code, first.stdout).toBe(0);
    const made = {
      ...JSON.parse(c.s.github.file(c.file, 'main')!),
      oldKey: { keyId: c.s.ids.undeployedKeyId },
      validatedAt: '2020-01-01T00:00:00.000Z',
      events: [],
    };
    c.s.github.putFile(c.file, `${JSON.stringify(made, null, 2)}\n`, { branch: 'main', message: 'hand-made' });
    const commits = c.s.github.commits('main').length;
    c.s.log.clear();
    const run = await c.run('apply');
    expectRefused(c, run, commits, /the record has no events/);
  });

  it("(b) with evidence-hmac-key: a rotation runs sealed; a forgery re-chained with the project's own functions but without the key is refused", async () => {
    const c = await setup();
    const key = randomBytes(32);
    const keyInput = { 'evidence-hmac-key': key.toString('base64') };
    const first = await c.run('apply', keyInput);
    expect(first.code, first.stdout).toBe(0);
    const genuine = readEvidence(c.s, undefined, key)!;
    expect(genuine.state).toBe('awaiting-revocation');
    expect(genuine.mac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(first.stdout).toContain(`::add-mask::${keyInput['evidence-hmac-key']}`);

    // The forger's record verifies as a chain (anyone can recompute it) but carries a stale MAC …
    const forged = appendEvent(
      { ...genuine, oldKey: { keyId: c.s.ids.undeployedKeyId }, validatedAt: '2020-01-01T00:00:00.000Z' },
      {
        at: new Date().toISOString(),
        step: 'validate',
        outcome: 'ok',
        detail: 'forged',
        run: genuine.events.at(-1)!.run,
      },
    );
    expect(parseRecord(serializeRecord(forged), c.file).oldKey?.keyId).toBe(c.s.ids.undeployedKeyId);
    expect(forged.mac).toBe(genuine.mac);
    c.s.github.putFile(c.file, serializeRecord(forged), { branch: 'main', message: 'forged, re-chained' });
    let commits = c.s.github.commits('main').length;
    c.s.log.clear();
    const stale = await c.run('apply', keyInput);
    expectRefused(c, stale, commits, /mac does not match the chain head under evidence-hmac-key/);

    // … or none at all.
    c.s.github.putFile(c.file, serializeRecord(withMac(forged, undefined)), {
      branch: 'main',
      message: 'forged, unsealed',
    });
    commits = c.s.github.commits('main').length;
    c.s.log.clear();
    const unsealed = await c.run('apply', keyInput);
    expectRefused(c, unsealed, commits, /carries no mac, but evidence-hmac-key is set/);

    // Without the key, a run that would write refuses a sealed record rather than drop its seal.
    c.s.github.putFile(c.file, serializeRecord(genuine), { branch: 'main', message: 'restored' });
    commits = c.s.github.commits('main').length;
    c.s.log.clear();
    const keyless = await c.run('apply');
    expectRefused(c, keyless, commits, /carries a mac, but evidence-hmac-key is not set.*pass evidence-hmac-key/);
    // plan reads it with a warning.
    const plan = await c.run('plan');
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).toMatch(
      /::warning::.*carries a mac, but evidence-hmac-key is not set, so only its hash chain was checked/,
    );
    expectNoLeaks(c.s, [first, stale, unsealed, keyless, plan]);
  });

  it("(c) a valid record of another fleet placed at this intent's path is refused, naming what differs", async () => {
    const c = await setup();
    const first = await c.run('apply');
    expect(first.code, first.stdout).toBe(0);
    const own = readEvidence(c.s)!;
    const other = rechained({
      ...own,
      fleet: { ...own.fleet, id: 'flt-other-fleet' },
      intent: { ...own.intent, path: '.thoth/rotations/other.yaml' },
      oldKey: { keyId: c.s.ids.undeployedKeyId },
      validatedAt: '2020-01-01T00:00:00.000Z',
    });
    c.s.github.putFile(c.file, serializeRecord(other), { branch: 'main', message: "another fleet's record" });
    expect(parseRecord(c.s.github.file(c.file, 'main')!, c.file).fleet.id).toBe('flt-other-fleet');
    const commits = c.s.github.commits('main').length;
    c.s.log.clear();
    const run = await c.run('apply');
    expectRefused(
      c,
      run,
      commits,
      /is not the evidence of intent \.thoth\/rotations\/corpsec\.yaml: fleet\.id \\?"flt-other-fleet\\?" \(the intent has \\?"flt-corpsec-macos\\?"\); intent\.path/,
    );
  });

  it('(d) a target change mid-flight (group id, minHealthy) is refused, naming the fields; restoring the intent lets the rotation go on', async () => {
    const c = await setup();
    const first = await c.run('apply');
    expect(first.code, first.stdout).toBe(0);
    expect(readEvidence(c.s)!.state).toBe('awaiting-revocation');
    const groupId = Number(c.s.ids.jamfGroupId);
    const moved = jamfIntent(c.s, { validation: IN_FLIGHT.replace('80%', '50%') }).replace(
      `groupId: ${c.s.ids.jamfGroupId}`,
      `groupId: ${groupId + 1}`,
    );
    c.ws.write('.thoth/rotations/corpsec.yaml', moved);
    const commits = c.s.github.commits('main').length;

    c.s.log.clear();
    const run = await c.run('apply');
    expectRefused(
      c,
      run,
      commits,
      new RegExp(
        `the rotation is in flight \\(state awaiting-revocation\\) and \\.thoth/rotations/corpsec\\.yaml changed what it targets: mdm\\.jamf\\.groupId \\(was ${groupId}, now ${groupId + 1}\\), validation\\.minHealthy \\(was 0\\.8, now 0\\.5\\)`,
      ),
    );
    expect(run.stdout).toMatch(/Restore those fields .* new intent name/);
    expect(readEvidence(c.s)!.state).toBe('awaiting-revocation');

    // A pull request's plan shows the refusal before it is merged.
    const plan = await c.run('plan');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/changed what it targets: mdm\.jamf\.groupId/);

    c.writeIntent();
    c.s.log.clear();
    const back = await c.run('apply');
    expect(back.code, back.stdout).toBe(0);
    expect(back.summary).toMatch(/old key revocation due at/);
    expect(c.s.log.mutations()).toEqual([]);
    expectNoLeaks(c.s, [first, run, plan, back]);
  });
});
