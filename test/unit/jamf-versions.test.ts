/**
 * The Jamf Pro version parser and the version → API table (src/clients/jamf-versions.ts):
 * each supported range picks the calls and field names its published schema has.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareJamfVersions,
  JAMF_API_SHAPES,
  JAMF_MIN_VERSION,
  JAMF_NEWEST_KNOWN,
  jamfShapeFor,
  JamfVersionError,
  parseJamfVersion,
  unreadableJamfVersion,
  type JamfVersion,
} from '../../src/clients/jamf-versions.js';
import { NEWEST_JAMF_VERSION, servedBy } from '../../sim/jamf-versions.js';

const v = (text: string): JamfVersion => {
  const parsed = parseJamfVersion(text);
  if (!parsed) throw new Error(`test: ${text} does not parse`);
  return parsed;
};
const shape = (text: string) => jamfShapeFor(v(text), 'https://acme.jamfcloud.com');

describe('parseJamfVersion', () => {
  it('reads what jamf-pro-version answers: major.minor.patch with a -t build, or without', () => {
    expect(parseJamfVersion('11.4.1-t1712345678')).toEqual({
      major: 11,
      minor: 4,
      patch: 1,
      text: '11.4.1-t1712345678',
    });
    expect(parseJamfVersion('11.30.1-t1784555528405')).toMatchObject({ major: 11, minor: 30, patch: 1 });
    expect(parseJamfVersion('10.49.0')).toMatchObject({ major: 10, minor: 49, patch: 0 });
    expect(parseJamfVersion('11.33')).toMatchObject({ major: 11, minor: 33, patch: 0, text: '11.33' });
    expect(parseJamfVersion(' 11.5.0 ')).toMatchObject({ text: '11.5.0' });
  });

  it('takes nothing else for a version', () => {
    for (const bad of [
      '',
      '11',
      'v11.4.1',
      '11.4.1.2',
      '11.4.1 beta',
      '11.4.1-',
      '11..1',
      'production',
      '11.4.1-t1\n::error::x',
      '١١.٤.١',
      '99999.1.1',
    ]) {
      expect(parseJamfVersion(bad), bad).toBeUndefined();
    }
    for (const notString of [undefined, null, 11.4, { version: '11.4.1' }, ['11.4.1']])
      expect(parseJamfVersion(notString)).toBeUndefined();
  });

  it('any string: undefined, or a version whose numbers are the text’s own', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\d{1,3}\.\d{1,3}(\.\d{1,3})?(-[a-z0-9.]{1,8})?$/)), (s) => {
        const r = parseJamfVersion(s);
        if (!r) return;
        expect(r.text).toBe(s.trim());
        const [major, minor, patch] = r.text.split('-')[0]!.split('.').map(Number);
        expect([r.major, r.minor, r.patch]).toEqual([major, minor, patch ?? 0]);
      }),
      { numRuns: 500 },
    );
  });

  it('orders by major, minor, patch; the build suffix does not count', () => {
    expect(compareJamfVersions(v('11.9.0'), v('11.10.0'))).toBeLessThan(0);
    expect(compareJamfVersions(v('11.30.1-t1'), v('11.30.1-t2'))).toBe(0);
    expect(compareJamfVersions(v('12.0.0'), v('11.99.9'))).toBeGreaterThan(0);
  });
});

describe('version → Jamf API shape', () => {
  it('11.0–11.22: v1 inventory with lastContactTime, Classic group membership, Classic BlankPush', () => {
    for (const t of ['11.0.0', '11.0.1-t1', '11.5.1-t1718634702', '11.9.2-t1726753918', '11.22.1']) {
      const s = shape(t);
      expect(s.inventoryPath, t).toBe('/api/v1/computers-inventory');
      expect(s.contactFields).toEqual(['lastContactTime']);
      expect(s.contactFilter).toBe('general.lastContactTime');
      expect(s.membership).toEqual({ kind: 'classic' });
      expect(s.blankPush).toBe('classic');
    }
  });

  it('11.23–11.27: v3 inventory (lastContactTime), v2 smart-group membership, /v2/mdm/blank-push', () => {
    for (const t of ['11.23.0', '11.23.2-t1767621885710', '11.25.2', '11.27.1-t1777388207638']) {
      const s = shape(t);
      expect(s.inventoryPath, t).toBe('/api/v3/computers-inventory');
      expect(s.contactFields).toEqual(['lastContactTime']);
      expect(s.membership).toEqual({ kind: 'jamf-pro', path: '/api/v2/computer-groups/smart-group-membership/' });
      expect(s.blankPush).toBe('jamf-pro');
    }
  });

  it('11.28–11.29: v3 inventory, v3 smart-group membership', () => {
    for (const t of ['11.28.0-t1778099559180', '11.29.1']) {
      const s = shape(t);
      expect(s.inventoryPath, t).toBe('/api/v3/computers-inventory');
      expect(s.contactFilter).toBe('general.lastContactTime');
      expect(s.membership).toEqual({ kind: 'jamf-pro', path: '/api/v3/computer-groups/smart-group-membership/' });
      expect(s.blankPush).toBe('jamf-pro');
    }
  });

  it('11.30 and later (unknown newer ones included): v4 inventory with lastContact, then lastCheckIn', () => {
    for (const t of ['11.30.0', '11.30.1-t1784555528405', JAMF_NEWEST_KNOWN, '11.40.0', '12.0.0', '13.2']) {
      const s = shape(t);
      expect(s.inventoryPath, t).toBe('/api/v4/computers-inventory');
      expect(s.contactFields).toEqual(['lastContact', 'lastCheckIn']);
      expect(s.contactFilter).toBe('general.lastContact');
      expect(s.membership).toEqual({ kind: 'jamf-pro', path: '/api/v3/computer-groups/smart-group-membership/' });
      expect(s.blankPush).toBe('jamf-pro');
    }
  });

  it('every row reads reportDate and managementId, asks GENERAL and EXTENSION_ATTRIBUTES, and cites its schema', () => {
    for (const r of JAMF_API_SHAPES) {
      expect(r.reportField).toBe('reportDate');
      expect(r.managementIdField).toBe('managementId');
      expect(r.sections).toEqual(['GENERAL', 'EXTENSION_ATTRIBUTES']);
      expect(r.source).toMatch(/openapi-specs\/11\.\d+\.\d+-t\d+/);
    }
    // Oldest first, contiguous from the minimum.
    expect(JAMF_API_SHAPES[0]!.from).toEqual(JAMF_MIN_VERSION);
    for (let i = 1; i < JAMF_API_SHAPES.length; i++)
      expect(compareJamfVersions(JAMF_API_SHAPES[i - 1]!.from, JAMF_API_SHAPES[i]!.from)).toBeLessThan(0);
  });

  it('each row asks only for paths the simulated server of that range serves (sim/jamf-versions.ts, read from the same schemas)', () => {
    expect(JAMF_NEWEST_KNOWN).toBe(NEWEST_JAMF_VERSION);
    for (const t of ['11.0.0', '11.22.0', '11.23.0', '11.27.1', '11.28.0', '11.29.1', '11.30.0', JAMF_NEWEST_KNOWN]) {
      const s = shape(t);
      const served = servedBy(t);
      expect(served.inventory.has(s.inventoryPath.split('/')[2] as 'v1'), t).toBe(true);
      if (s.membership.kind === 'jamf-pro')
        expect(served.membership.has(s.membership.path.split('/')[2] as 'v2'), t).toBe(true);
      expect(s.blankPush === 'classic' ? served.classicBlankPush : served.blankPush, t).toBe(true);
    }
  });

  it('older than 11.0 is refused, naming the version and what is supported', () => {
    for (const t of ['10.49.0-t1694607215', '10.0.0', '9.101.0']) {
      let err: unknown;
      try {
        shape(t);
      } catch (e) {
        err = e;
      }
      expect(err, t).toBeInstanceOf(JamfVersionError);
      expect((err as Error).message).toContain(`Jamf Pro ${t}`);
      expect((err as Error).message).toContain('supports Jamf Pro 11.0 and later');
      expect((err as Error).message).toContain('https://acme.jamfcloud.com');
    }
  });

  it('an unreadable version is named bounded and quoted, never whole', () => {
    const e = unreadableJamfVersion(`production-${'x'.repeat(500)}`, 'https://acme.jamfcloud.com');
    expect(e).toBeInstanceOf(JamfVersionError);
    expect(e.message).toContain('"production-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…');
    expect(e.message.length).toBeLessThan(400);
    expect(unreadableJamfVersion(undefined, 'x').message).toContain('reported version nothing');
    expect(unreadableJamfVersion(11.4, 'x').message).toContain('reported version a number');
  });
});
