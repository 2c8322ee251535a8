/**
 * Each signal on its own schedule (spec mdm.md "What is real…", issue 12 items 3 and 4),
 * through the bundled action: a blank push makes devices check in with the MDM, but the
 * extension attribute changes only with an inventory submission; the control plane may carry
 * no managed_runtime_key_id; a health value counts only when reported after the refresh.
 * Judged from what the simulators saw.
 */
import { describe, expect, it } from 'vitest';
import { startSimulators, type SimOptions, type Simulators } from '../../sim/index.js';
import { finishRotation, mintedKeys, readEvidence } from './evidence.js';
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

// The cases run concurrently, each on its own simulators (their validation windows overlap
// instead of adding up); every set is closed when the file is done.
const track = closeAfterAll();

async function setup(
  opts: SimOptions,
  intent: JamfIntentOptions & { healthAttribute?: boolean } = {},
): Promise<{ s: Simulators; ws: Workspace; run: (mode?: string, env?: Record<string, string>) => Promise<ActionRun> }> {
  const s = await startSimulators(opts);
  track(s);
  const ws = makeWorkspace();
  let text = jamfIntent(s, intent);
  if (intent.healthAttribute === false) text = text.replace('    healthAttribute: Thoth Health\n', '');
  ws.write('.thoth/rotations/corpsec.yaml', text);
  const run = (mode = 'apply', env: Record<string, string> = {}) =>
    runAction({ workspace: ws, inputs: simInputs(s, { mode }), env: simEnv(s, env), timeoutMs: 90_000 });
  return { s, ws, run };
}

const deletesOf = (s: Simulators, keyId: string) =>
  s.log.entries().filter((e) => e.system === 'thoth' && e.method === 'DELETE' && e.path.endsWith(`/api-keys/${keyId}`));
const inventoryReads = (s: Simulators) =>
  s.log.entries().filter((e) => e.system === 'jamf' && e.method === 'GET' && e.path === '/api/v4/computers-inventory');
const fleetIdx = (s: Simulators) => s.fleet.indices({ inFleet: true });

describe.concurrent('real channels: the action under separate MDM, inventory and heartbeat schedules', () => {
  it('Jamf: the blank push brings MDM check-ins, inventory comes later on its own schedule; validation waits for it, then passes and the rotation completes', async () => {
    // No key id on control-plane rows: the extension attribute is the only source of key evidence.
    const { s, run } = await setup(
      { fleet: { size: 10, channels: { inventoryMs: 6000 } }, thoth: { runtimeKeyId: 'null' } },
      {
        validation:
          'validation:\n  window: 12s\n  minHealthy: 90%\n  activeWithin: 7d\n  timeout: 30s\n  pollInterval: 300ms',
      },
    );
    s.jamf.trackInventory();
    const first = await run();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.outputs['status']).toBe('in-progress');
    const rec = readEvidence(s)!;
    expect(rec.state).toBe('awaiting-revocation');
    expect(rec.validation!.healthy).toBeGreaterThanOrEqual(9);
    const refreshAt = Date.parse(rec.refreshSentAt!);
    // Polls ask Jamf for inventory only where it can be news: a device's old inventory comes
    // back at most once after it contacted Jamf since the refresh (that contact is the news),
    // never again while the poller knows it checked in and until it reports inventory. "Old"
    // is older than the polls' time filter, read from what the simulator was asked: the filters
    // count from the group's read (a second early, in whole seconds), which under load can be
    // seconds before the simulator served that read, and no later than the refresh.
    const filters = inventoryReads(s).flatMap((e) => {
      const m = /;general\.(?:lastContact|reportDate)>=(\S+Z)/.exec(decodeURIComponent(e.query));
      return m ? [Date.parse(m[1]!)] : [];
    });
    const since = Math.min(...filters);
    expect(new Set(filters)).toEqual(new Set([since])); // one anchor for every poll and both filters
    const groupReadAt = s.jamf.inventoryServed()[0]!.at;
    expect(since).toBeLessThanOrEqual(refreshAt);
    expect(since).toBeGreaterThan(groupReadAt - 10_000);
    const stale = new Map<number, number>();
    for (const x of s.jamf.inventoryServed())
      if (x.at > refreshAt && x.lastContact > refreshAt && x.reportDate < since)
        stale.set(x.i, (stale.get(x.i) ?? 0) + 1);
    expect(stale.size).toBeGreaterThan(0);
    expect([...stale.values()].filter((n) => n > 1)).toEqual([]);
    const validatedAt = Date.parse(rec.validatedAt!);
    const newKey = mintedKeys(s)[0]!.id;

    // Every device checked in with the MDM right after the push (one check-in each)...
    for (const i of fleetIdx(s)) {
      expect(s.fleet.checkIns(i)).toBe(1);
      expect(s.fleet.lastMdmCheckIn(i)).toBeGreaterThan(refreshAt);
    }
    const lastMdm = Math.max(...fleetIdx(s).map((i) => s.fleet.lastMdmCheckIn(i)));
    // ...but a device's extension attribute named the new key only from its first inventory after that.
    const firstReport = fleetIdx(s)
      .map((i) => s.fleet.nextInventory(i, s.fleet.lastMdmCheckIn(i)))
      .sort((a, b) => a - b);
    const ninth = firstReport[8]!;
    expect(ninth).toBeGreaterThan(lastMdm);
    expect(validatedAt).toBeGreaterThanOrEqual(ninth);
    // The action polled Jamf while devices had checked in without fresh inventory, and did not pass then.
    expect(
      inventoryReads(s).filter((e) => e.at > refreshAt && e.at + e.durationMs < ninth).length,
    ).toBeGreaterThanOrEqual(1);
    const eaOnNew = fleetIdx(s).filter(
      (i) => (JSON.parse(s.fleet.inventoryHealth(i)!) as { api_key: { key_id: string } }).api_key.key_id === newKey,
    );
    expect(eaOnNew.length).toBeGreaterThanOrEqual(9);

    // Re-validation after the window reads reports made after the refresh; then the old key goes.
    await finishRotation(s, rec.validatedAt!, () => run());
    expect(
      readEvidence(s)!
        .events.filter((e) => e.step === 'revalidate')
        .map((e) => e.outcome),
    ).toEqual(['ok']);
  });

  it('no source of key evidence (null managed_runtime_key_id, no health attribute): plan warns; apply never validates and never revokes the old key', async () => {
    const { s, run } = await setup(
      { fleet: { size: 8 }, thoth: { runtimeKeyId: 'null' } },
      {
        healthAttribute: false,
        validation:
          'validation:\n  window: 1h\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 3s\n  pollInterval: 300ms',
      },
    );
    const plan = await run('plan');
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.outputs['status']).toBe('planned');
    expect(plan.summary).toMatch(
      /no source of key evidence: the intent reads no health \(no mdm\.jamf\.healthAttribute\) and none of the 8 endpoint\(s\) the control plane lists for fleet flt-corpsec-macos reports managed_runtime_key_id/,
    );
    expect(s.log.mutations()).toEqual([]);

    const apply = await run();
    expect(apply.code).toBe(1);
    expect(apply.outputs['status']).toBe('rolled-back');
    expect(apply.stdout).toContain('no source of key evidence');
    const rec = readEvidence(s)!;
    expect(rec.events.some((e) => e.step === 'validate' && e.outcome === 'ok')).toBe(false);
    expect(rec.validation).toMatchObject({ total: 8, active: 8, healthy: 0, notCheckedIn: 0 });
    expect(rec.validation!.stragglers.every((x) => x.reason === 'checked in, but no key signal since refresh')).toBe(
      true,
    );
    // Every device did check in after the push: checked in alone was not taken for health.
    for (const i of fleetIdx(s)) expect(s.fleet.lastMdmCheckIn(i)).toBeGreaterThan(Date.parse(rec.refreshSentAt!));
    // The devices did run the new key (the control plane saw it used); without a signal saying so, nothing is revoked.
    expect(s.thoth.key(mintedKeys(s)[0]!.id)!.lastUsedAt).not.toBeNull();
    expect(deletesOf(s, s.ids.oldKeyId)).toEqual([]);
    expect(s.thoth.key(s.ids.oldKeyId)!.active).toBe(true);
  });

  it('a device the control plane cannot vouch for (its MDM name drifted from its hostname) is still read for its MDM contact: the evidence says it checked in, without a key signal', async () => {
    const { s, run } = await setup(
      { fleet: { size: 10, drift: 1 } },
      {
        validation:
          'validation:\n  window: 1h\n  minHealthy: 100%\n  activeWithin: 7d\n  timeout: 3s\n  pollInterval: 300ms',
      },
    );
    const r = await run();
    expect(r.code).toBe(1); // 9 of 10: short of 100%
    const rec = readEvidence(s)!;
    const refreshAt = Date.parse(rec.refreshSentAt!);
    const [drifted, ...more] = fleetIdx(s).filter((i) => s.fleet.mdmName(i) !== s.fleet.hostname(i));
    expect(more).toEqual([]);
    // Simulator truth: it checked in with Jamf after the push, and its extension attribute is older.
    expect(s.fleet.lastMdmCheckIn(drifted!)).toBeGreaterThan(refreshAt);
    expect(s.fleet.reportDate(drifted!)).toBeLessThan(refreshAt);
    expect(rec.validation).toMatchObject({ healthy: 9, notCheckedIn: 0 });
    expect(rec.validation!.stragglers).toEqual([
      {
        id: String(s.fleet.jamfId(drifted!)),
        name: s.fleet.mdmName(drifted!),
        reason: 'checked in, but no key signal since refresh',
      },
    ]);
  });

  it('health naming the new key but reported before the refresh does not count; the same report made after it does', async () => {
    const { s, run } = await setup(
      { fleet: { size: 6 }, thoth: { runtimeKeyId: 'null' } },
      {
        validation:
          'validation:\n  window: 1h\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 3s\n  pollInterval: 300ms',
      },
    );
    // Run 1 deploys the new key, then cannot send the blank push: it stops at `deployed`.
    s.faults.add({
      system: 'jamf',
      method: 'POST',
      path: '/api/v2/mdm/blank-push',
      times: Infinity,
      respond: { status: 503, body: '{"httpStatus":503,"errors":[]}' },
    });
    const env = { GITHUB_RUN_ID: '9191' };
    const first = await run('apply', env);
    expect(first.code).toBe(1);
    expect(readEvidence(s)!.state).toBe('deployed');
    s.faults.clear();
    const newKey = mintedKeys(s)[0]!.id;

    // Meanwhile the devices install the profile and submit inventory: the EA names the new key.
    for (const i of fleetIdx(s)) {
      s.fleet.checkInNow(i);
      s.fleet.reconNow(i);
    }
    const staleAt = Math.max(...fleetIdx(s).map((i) => s.fleet.reportDate(i)));
    for (const i of fleetIdx(s))
      expect(JSON.parse(s.fleet.inventoryHealth(i)!)).toMatchObject({ api_key: { key_id: newKey } });
    await new Promise((r) => setTimeout(r, 50));

    // Run 2 refreshes: devices check in again, no inventory follows. The reports predate the refresh.
    const second = await run('apply', { ...env, GITHUB_RUN_ATTEMPT: '2' });
    expect(second.code).toBe(1);
    expect(second.outputs['status']).toBe('failed'); // no snapshot in this run: both keys held
    const held = readEvidence(s)!;
    expect(held.state).toBe('refreshed');
    expect(Date.parse(held.refreshSentAt!)).toBeGreaterThan(staleAt);
    expect(held.validation).toMatchObject({ total: 6, active: 6, healthy: 0 });
    expect(s.log.entries().filter((e) => e.method === 'DELETE')).toEqual([]);
    expect(s.thoth.key(s.ids.oldKeyId)!.active).toBe(true);

    // The same health submitted after the refresh counts: validation passes on the next apply.
    for (const i of fleetIdx(s)) s.fleet.reconNow(i);
    const third = await run('apply', { GITHUB_RUN_ID: '9292' });
    expect(third.code, third.stdout).toBe(0);
    expect(readEvidence(s)!.state).toBe('awaiting-revocation');
    expect(readEvidence(s)!.validation).toMatchObject({ active: 6, healthy: 6 });
    expect(deletesOf(s, s.ids.oldKeyId)).toEqual([]);
  });
});
