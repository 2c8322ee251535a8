/**
 * The edges of the validation verdict, where one comparison decides whether the old key may be
 * revoked: exactly at minHealthy, one below, zero active, the activeWithin boundary to the
 * millisecond, a check-in exactly at the refresh, and drift (identity mismatch) not counting.
 */
import { describe, expect, it } from 'vitest';
import { decideValidation, NO_ACTIVE_REASON, type VerdictInput } from '../../src/rotation/verdict.js';
import type { MdmDeviceObs, ThothEndpointObs } from '../../src/observations.js';

const REFRESH = new Date('2026-12-01T14:00:00Z');
const ACTIVE_WITHIN = 7 * 86_400_000;
const NEW = 'key_new';
const OLD = 'key_old';
const after = REFRESH.getTime() + 60_000;

/** n devices, each joined to a Thoth endpoint; the first `onNew` on the new key, the rest on the old. */
function fleet(n: number, onNew: number): { thoth: ThothEndpointObs[]; mdm: MdmDeviceObs[] } {
  const thoth: ThothEndpointObs[] = [];
  const mdm: MdmDeviceObs[] = [];
  for (let i = 0; i < n; i++) {
    const name = `mac-${i}`;
    mdm.push({ mdmId: `d${i}`, name, lastContact: after });
    thoth.push({ endpointId: `e${i}`, hostname: name, keyId: i < onNew ? NEW : OLD, lastSeen: after });
  }
  return { thoth, mdm };
}
const verdict = (p: Partial<VerdictInput>) =>
  decideValidation({
    thoth: [],
    mdm: [],
    newKeyId: NEW,
    oldKeyId: OLD,
    refreshSentAt: REFRESH,
    now: new Date(after),
    activeWithinMs: ACTIVE_WITHIN,
    minHealthy: 0.95,
    ...p,
  });

describe('minHealthy: the share must reach it, not exceed it', () => {
  it.each([
    // [devices, on new key, minHealthy, pass]
    [20, 19, 0.95, true], // exactly 95 %
    [20, 18, 0.95, false], // 90 %
    [100, 94, 0.95, false], // one below
    [100, 95, 0.95, true],
    [3, 2, 2 / 3, true], // a share with float error in it
    [10, 7, 0.7, true], // 0.7 is not exact in binary
    [10, 10, 1, true],
    [10, 9, 1, false],
    [10, 0, 0, true], // minHealthy 0 passes with active devices …
  ] as const)('%i devices, %i on the new key, minHealthy %d → pass %s', (n, onNew, minHealthy, pass) => {
    const v = verdict({ ...fleet(n, onNew), minHealthy });
    expect(v.pass).toBe(pass);
    expect([v.active, v.healthy]).toEqual([n, onNew]);
  });
  it('… but nothing passes with no active device, not even minHealthy 0', () => {
    const v = verdict({ minHealthy: 0 });
    expect(v.pass).toBe(false);
    expect(v.reason).toBe(NO_ACTIVE_REASON);
  });
});

describe('zero active devices fails', () => {
  it('an empty group', () => expect(verdict({}).pass).toBe(false));
  it('a group whose every device is inactive', () => {
    const f = fleet(5, 5);
    const old = REFRESH.getTime() - ACTIVE_WITHIN - 1;
    for (const d of f.mdm) d.lastContact = old;
    for (const e of f.thoth) e.lastSeen = old;
    const v = verdict({ ...f, minHealthy: 0.5 });
    expect(v).toMatchObject({ pass: false, reason: NO_ACTIVE_REASON, active: 0, inactive: 5, healthy: 0 });
  });
});

describe('activeWithin: last seen at refresh − activeWithin is active, 1 ms before is not', () => {
  it.each([
    ['exactly at the boundary', 0, 1],
    ['1 ms inside', 1, 1],
    ['1 ms before', -1, 0],
  ] as const)('%s', (_n, offset, active) => {
    const f = fleet(2, 2);
    // Device 1 is active and healthy; device 0 was last seen around the boundary (and never since).
    const seen = REFRESH.getTime() - ACTIVE_WITHIN + offset;
    f.mdm[0]!.lastContact = seen;
    f.thoth[0]!.lastSeen = seen;
    const v = verdict({ ...f, minHealthy: 1 });
    expect(v.active).toBe(1 + active);
    expect(v.inactive).toBe(1 - active);
    // An active device that has not checked in since the refresh is a straggler: it fails minHealthy 1.
    expect(v.pass).toBe(active === 0);
  });
});

describe('checked in means after the refresh, not at it', () => {
  it('a device last seen exactly at the refresh time has not checked in', () => {
    const f = fleet(1, 1);
    f.mdm[0]!.lastContact = REFRESH.getTime();
    f.thoth[0]!.lastSeen = REFRESH.getTime();
    const v = verdict({ ...f, minHealthy: 1 });
    expect(v).toMatchObject({ pass: false, notCheckedIn: 1, healthy: 0 });
    expect(v.stragglers[0]?.reason).toBe('not checked in since refresh');
  });
});

describe('health flags and keys', () => {
  it.each([
    ['reports the new key revoked', { status: 'ok', keyId: NEW, revoked: true }, 'reports key revoked'],
    ['reports the new key expired', { status: 'ok', keyId: NEW, expired: true }, 'reports key expired'],
  ] as const)('%s → straggler', (_n, health, reason) => {
    const f = fleet(1, 1);
    f.mdm[0]!.health = { ...health };
    f.mdm[0]!.healthAt = after;
    const v = verdict({ ...f, minHealthy: 1 });
    expect(v.pass).toBe(false);
    expect(v.stragglers).toEqual([{ id: 'd0', name: 'mac-0', reason }]);
  });
  it('a device on an unknown key is a straggler and not counted on the old key', () => {
    const f = fleet(1, 1);
    f.thoth[0]!.keyId = 'key_other';
    const v = verdict({ ...f, minHealthy: 1 });
    expect(v).toMatchObject({ pass: false, onOldKey: 0 });
    expect(v.stragglers[0]?.reason).toBe('on unknown key key_other');
  });
});

describe('drift', () => {
  it("two fresh reports naming different keys: the later one is the device's key, a tie goes to the control plane", () => {
    const f = fleet(1, 1);
    f.mdm[0]!.health = { status: 'ok', keyId: OLD };
    f.mdm[0]!.healthAt = after;
    expect(verdict({ ...f, minHealthy: 1 }).pass).toBe(true);
    f.mdm[0]!.healthAt = after + 1;
    expect(verdict({ ...f, minHealthy: 1 })).toMatchObject({ pass: false, healthy: 0, onOldKey: 1 });
  });
  it('a Thoth endpoint without a device is drift and not counted', () => {
    const f = fleet(2, 2);
    f.thoth.push({ endpointId: 'e-x', hostname: 'stray', keyId: OLD, lastSeen: after });
    const v = verdict({ ...f, minHealthy: 1 });
    expect(v).toMatchObject({ pass: true, active: 2, total: 2 });
    expect(v.drift).toEqual(['Thoth endpoint "stray" ("e-x") has no device in the group']);
  });
  it('a device without a Thoth endpoint is judged on its health report, with a drift line', () => {
    const f = fleet(1, 1);
    f.thoth.length = 0;
    f.mdm[0]!.health = { status: 'ok', keyId: NEW };
    f.mdm[0]!.healthAt = after;
    const v = verdict({ ...f, minHealthy: 1 });
    expect(v.pass).toBe(true);
    expect(v.drift).toEqual(['MDM device "mac-0" ("d0") has no Thoth endpoint in the fleet']);
  });
});
