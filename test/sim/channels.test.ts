/**
 * The fleet's channels (sim/fleet.ts, sim/channels.ts): each report says what held when it was
 * made, recurring signals follow their own schedule, and a device turned off stops them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildDetectionScript, buildRemediationScript, startSimulators, type Simulators } from '../../sim/index.js';
import { graphToken, until, withSettings } from './helpers.js';

let s: Simulators | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const key = (sims: Simulators) =>
  sims.thoth.createKeyDirect({ scopeLevel: 'fleet', scopeTargetId: sims.ids.fleetId, permissions: ['read'] });

describe('fleet channels', () => {
  it('a heartbeat reports the key the proxy ran at that heartbeat, however many changes came between', async () => {
    s = await startSimulators({ fleet: { size: 1, channels: { heartbeatMs: 400 } } });
    const f = s.fleet;
    const b = key(s);
    const c = key(s);
    const withB = withSettings(s.jamf.currentPayloads(), b);
    const withC = withSettings(s.jamf.currentPayloads(), c);
    // Right after a heartbeat, two check-ins (two key changes) well before the next one.
    await until(() => Date.now() - f.lastSeen(0) < 20, 2000);
    const beat = f.lastSeen(0);
    s.jamf.setPayloads(withB);
    f.checkInNow(0);
    s.jamf.setPayloads(withC);
    f.checkInNow(0);
    const changedAt = Date.now();
    expect(f.keyId(0)).toBe(c.keyId);
    expect(f.lastSeen(0)).toBe(beat);
    expect(f.reportedKeyId(0)).toBe(s.ids.oldKeyId);
    await until(() => f.lastSeen(0) > changedAt, 2000);
    expect(f.reportedKeyId(0)).toBe(c.keyId);
    expect(f.nextHeartbeat(0, f.lastSeen(0))).toBe(f.lastSeen(0) + 400);
  });

  it('the extension attribute keeps what held at the last inventory submission, revocations after it included', async () => {
    s = await startSimulators({ fleet: { size: 1 } });
    const f = s.fleet;
    const b = key(s);
    s.jamf.setPayloads(withSettings(s.jamf.currentPayloads(), b));
    const t0 = Date.now();
    f.checkInNow(0);
    expect(f.lastContact(0)).toBeGreaterThanOrEqual(t0);
    expect(f.reportDate(0)).toBeLessThan(t0);
    expect(JSON.parse(f.inventoryHealth(0)!)).toMatchObject({ api_key: { key_id: s.ids.oldKeyId } });
    f.reconNow(0);
    expect(f.reportDate(0)).toBeGreaterThanOrEqual(t0);
    expect(JSON.parse(f.inventoryHealth(0)!)).toMatchObject({ api_key: { key_id: b.keyId, revoked: false } });
    await new Promise((r) => setTimeout(r, 5));
    s.thoth.revokeKey(b.keyId);
    expect(JSON.parse(f.inventoryHealth(0)!)).toMatchObject({ api_key: { key_id: b.keyId, revoked: false } });
    expect(JSON.parse(f.health(0)!)).toMatchObject({ api_key: { key_id: b.keyId, revoked: true } });
  });

  it('inventory on every agent check-in follows the agent schedule; a device turned off freezes its signals', async () => {
    s = await startSimulators({
      fleet: { size: 2, channels: { agentCheckInMs: 300, inventoryOnAgentCheckIn: true, heartbeatMs: 300 } },
    });
    const f = s.fleet;
    await new Promise((r) => setTimeout(r, 350));
    const now = Date.now();
    expect(f.reportDate(0)).toBeGreaterThan(now - 310);
    expect(f.lastCheckIn(0)).toBe(f.reportDate(0));
    f.setBehaviour(0, 'offline');
    const frozen = { seen: f.lastSeen(0), report: f.reportDate(0) };
    await new Promise((r) => setTimeout(r, 700));
    expect({ seen: f.lastSeen(0), report: f.reportDate(0) }).toEqual(frozen);
    expect(f.lastSeen(1)).toBeGreaterThan(frozen.seen);
    f.setBehaviour(0, 'online');
    await until(() => f.lastSeen(0) > frozen.seen, 1000);
  });

  it('Windows on Intune: only a remediation run (the IME, sim/remediation.ts) installs the key; it keeps the detection output before and after and moves no other signal', async () => {
    s = await startSimulators({ fleet: { size: 1, os: 'windows', mdm: 'intune' } });
    const f = s.fleet;
    const b = key(s);
    const url = `${s.urls.graph}/beta/deviceManagement/deviceHealthScripts/${s.ids.remediationId}`;
    const b64 = (t: string): string => Buffer.from(t).toString('base64');
    const body = {
      detectionScriptContent: b64(buildDetectionScript({ keyId: b.keyId, revoked: [] })),
      remediationScriptContent: b64(buildRemediationScript({ apiKey: b.apiKey, keyId: b.keyId, revoked: [] })),
    };
    const patched = await fetch(url, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${await graphToken(s)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(patched.status).toBe(204);
    f.checkInNow(0);
    expect(f.keyId(0)).toBe(s.ids.oldKeyId); // a sync does not run the remediation
    expect(s.graph.ime.runs(0)).toBe(0);
    expect(f.runRemediation(0, null)).toBe(false); // nothing readable in the script: nothing installed
    const synced = f.lastSync(0);
    const at = Date.now();
    expect(s.graph.ime.fetchNow(0)).toBe(true);
    expect(f.keyId(0)).toBe(b.keyId);
    const run = s.graph.runState(0)!;
    expect(run).toMatchObject({ detectionState: 'fail', remediationState: 'success' });
    expect(run.at).toBeGreaterThanOrEqual(at);
    expect(JSON.parse(run.pre!)).toMatchObject({ api_key: { key_id: s.ids.oldKeyId } });
    expect(JSON.parse(run.post!)).toMatchObject({ api_key: { key_id: b.keyId } });
    expect(f.lastSync(0)).toBe(synced); // a remediation run is not an Intune sync
  });
});
