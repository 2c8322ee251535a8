/**
 * Sources of key evidence (verdict.ts): which devices an MDM health report can speak for, the
 * plan warning when some or all devices have no source at all, and the revocation check's use
 * of fresh reports only.
 */
import { describe, expect, it } from 'vitest';
import type { ThothEndpoint } from '../../src/clients/thoth.js';
import type { Intent } from '../../src/intent/types.js';
import { checkRevocation } from '../../src/revocation/verify.js';
import { keyEvidenceWarning, mdmHealthSource } from '../../src/rotation/preflight.js';

const jamf = (healthAttribute?: string) =>
  ({
    fleet: { id: 'flt-1' },
    mdm: {
      provider: 'jamf',
      jamf: { url: 'https://j', profileId: 1, groupId: 2, ...(healthAttribute ? { healthAttribute } : {}) },
    },
  }) as unknown as Intent;
const intune = (p: { macos?: boolean; windows?: boolean }) =>
  ({
    fleet: { id: 'flt-1' },
    mdm: {
      provider: 'intune',
      intune: {
        groupId: 'g',
        ...(p.macos ? { macos: { configurationId: 'c' } } : {}),
        ...(p.windows ? { windows: { remediationId: 'r' } } : {}),
      },
    },
  }) as unknown as Intent;
const rows = (n: number, withKey: number): ThothEndpoint[] =>
  Array.from({ length: n }, (_, i) => ({
    endpointId: `e${i}`,
    hostname: `h${i}`,
    ...(i < withKey ? { keyId: 'key_a' } : {}),
  }));

describe('sources of key evidence', () => {
  it('MDM health covers Jamf with a health attribute and Intune Windows; not Jamf without one, nor Intune macOS', () => {
    expect(mdmHealthSource(jamf('Thoth Health')).lacking).toBeUndefined();
    expect(mdmHealthSource(intune({ windows: true })).lacking).toBeUndefined();
    expect(mdmHealthSource(jamf()).lacking).toMatch(/no mdm\.jamf\.healthAttribute/);
    expect(mdmHealthSource(intune({ macos: true })).lacking).toMatch(/no health for macOS/);
    expect(mdmHealthSource(intune({ macos: true, windows: true })).lacking).toMatch(/macOS devices report no health/);
  });

  it('warns when no device has a source: no health and no row with managed_runtime_key_id', () => {
    const i = jamf();
    const w = keyEvidenceWarning(i, mdmHealthSource(i), rows(5, 0));
    expect(w).toMatch(
      /^no source of key evidence: .* none of the 5 endpoint\(s\) .* reports managed_runtime_key_id; no device can count as healthy, so validation cannot pass and the old key will not be revoked\. Fix: set mdm\.jamf\.healthAttribute/,
    );
    expect(keyEvidenceWarning(i, mdmHealthSource(i), [])).toMatch(/the control plane lists no endpoint of fleet flt-1/);
  });

  it('warns about the share without a source, and says nothing when every row reports a key or health covers all', () => {
    const i = intune({ macos: true });
    expect(keyEvidenceWarning(i, mdmHealthSource(i), rows(10, 7))).toMatch(
      /^3 of 10 endpoint\(s\) of fleet flt-1 report no managed_runtime_key_id/,
    );
    expect(keyEvidenceWarning(i, mdmHealthSource(i), rows(10, 10))).toBeUndefined();
    const withHealth = jamf('Thoth Health');
    expect(keyEvidenceWarning(withHealth, mdmHealthSource(withHealth), rows(10, 0))).toBeUndefined();
    const mixed = intune({ macos: true, windows: true });
    expect(keyEvidenceWarning(mixed, mdmHealthSource(mixed), rows(4, 0))).toMatch(
      /no macOS device can count as healthy\./,
    );
  });
});

describe('checkRevocation reads only fresh health', () => {
  const REFRESH = new Date('2026-12-01T14:00:00Z');
  const at = (min: number) => REFRESH.getTime() + min * 60_000;
  const base = {
    revoked: new Set(['key_old']),
    keys: [],
    endpoints: [],
    refreshSentAt: REFRESH,
    activeWithinMs: 86_400_000,
  };

  it('a health report from before the refresh naming the revoked key is no offender, even after a check-in', () => {
    const device = {
      mdmId: '1',
      name: 'mac-1',
      lastContact: at(5),
      health: { status: 'ok' as const, keyId: 'key_old' },
    };
    expect(checkRevocation({ ...base, devices: [{ ...device, healthAt: at(-30) }] }).offenders).toEqual([]);
    expect(checkRevocation({ ...base, devices: [{ ...device, healthAt: at(3) }] }).offenders).toEqual([
      { id: '1', name: 'mac-1', keyId: 'key_old' },
    ]);
  });
});
