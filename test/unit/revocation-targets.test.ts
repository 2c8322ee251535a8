/**
 * Which keys an emergency revocation may touch (assignKeys, fleetOfKey, endpointFleetMap), how
 * the revoked-ids setting is merged (mergeRevoked), and when a revocation holds (checkRevocation).
 * All pure: tables.
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { assignKeys, endpointFleetMap, fleetOfKey } = await import('../../src/revocation/targets.js');
const { mergeRevoked } = await import('../../src/runbook/deploy.js');
const { checkRevocation } = await import('../../src/revocation/verify.js');
const { ReadValue, mdmText } = await import('../../src/mdm/read-value.js');
type Intent = import('../../src/intent/types.js').Intent;
type ApiKey = import('../../src/clients/thoth.js').ApiKey;
type TenantView = import('../../src/revocation/targets.js').TenantView;

const intent = (name: string, fleet: string, tenant = 'acme'): Intent =>
  ({ name, tenant, fleet: { id: fleet, region: 'us-east-1' } }) as unknown as Intent;
const key = (
  keyId: string,
  scopeLevel: string | undefined,
  scopeTargetId: string | undefined,
  active = true,
): ApiKey => ({
  keyId,
  scopeLevel,
  scopeTargetId,
  active,
});

describe('fleetOfKey', () => {
  const endpoints = new Map([['ep-1', 'flt-a']]);
  it.each([
    ['fleet key', key('k', 'fleet', 'flt-a'), 'flt-a'],
    ['endpoint key of a listed endpoint', key('k', 'endpoint', 'ep-1'), 'flt-a'],
    ['endpoint key of an unlisted endpoint', key('k', 'endpoint', 'ep-9'), undefined],
    ['organization key', key('k', 'organization', 'acme'), undefined],
    ['agent key', key('k', 'agent', 'ag-1'), undefined],
    ['fleet key without a target', key('k', 'fleet', undefined), undefined],
    ['no scope at all', key('k', undefined, undefined), undefined],
  ] as const)('%s → %s', (_n, row, fleet) => expect(fleetOfKey(row, endpoints)).toBe(fleet));
});

describe('endpointFleetMap', () => {
  it('a row without fleet_id belongs to the listed fleet; one with it keeps its own', () => {
    expect([...endpointFleetMap([{ endpointId: 'e1' }, { endpointId: 'e2', fleetId: 'flt-b' }], 'flt-a')]).toEqual([
      ['e1', 'flt-a'],
      ['e2', 'flt-b'],
    ]);
  });
});

describe('assignKeys', () => {
  const a = intent('a', 'flt-a');
  const b = intent('b', 'flt-b');
  const views = new Map<Intent, TenantView>([
    [
      a,
      {
        keys: [
          key('k-a', 'fleet', 'flt-a'),
          key('k-ep', 'endpoint', 'ep-1'),
          key('k-org', 'organization', 'acme'),
          key('k-b', 'fleet', 'flt-b'),
        ],
        endpointFleet: new Map([['ep-1', 'flt-a']]),
      },
    ],
    [
      b,
      {
        keys: [key('k-a', 'fleet', 'flt-a'), key('k-b', 'fleet', 'flt-b'), key('k-b2', 'fleet', 'flt-b')],
        endpointFleet: new Map(),
      },
    ],
  ]);
  const viewOf = (i: Intent) => views.get(i)!;
  const cases: [string, string[], Intent[], { targets: [string, string[]][]; problems: RegExp[] }][] = [
    ['one fleet key', ['k-a'], [a], { targets: [['a', ['k-a']]], problems: [] }],
    ['an endpoint key of the fleet', ['k-ep'], [a], { targets: [['a', ['k-ep']]], problems: [] }],
    [
      'keys of two intents, each to its own',
      ['k-a', 'k-b2'],
      [a, b],
      {
        targets: [
          ['a', ['k-a']],
          ['b', ['k-b2']],
        ],
        problems: [],
      },
    ],
    [
      'keys keep their input order within an intent',
      ['k-ep', 'k-a'],
      [a],
      { targets: [['a', ['k-ep', 'k-a']]], problems: [] },
    ],
    [
      'an unknown id: nothing is revoked',
      ['k-a', 'k-typo'],
      [a],
      { targets: [], problems: [/k-typo is not in the key list of tenant acme/] },
    ],
    [
      'an organization key: nothing is revoked',
      ['k-a', 'k-org'],
      [a],
      { targets: [], problems: [/k-org does not belong to the fleet of any intent \(flt-a\)/] },
    ],
    [
      "another fleet's key without its intent: nothing is revoked",
      ['k-b'],
      [a],
      { targets: [], problems: [/k-b does not belong to the fleet of any intent/] },
    ],
    [
      'two problems, one line each',
      ['k-x', 'k-org'],
      [a],
      { targets: [], problems: [/k-x is not/, /k-org does not belong/] },
    ],
    ['no ids', [], [a], { targets: [], problems: [] }],
  ];
  it.each(cases)('%s', (_n, ids, intents, want) => {
    const got = assignKeys(ids, intents, viewOf);
    expect(got.targets.map((t) => [t.intent.name, [...t.keyIds]])).toEqual(want.targets);
    expect(got.problems).toHaveLength(want.problems.length);
    want.problems.forEach((re, i) => expect(got.problems[i]).toMatch(re));
  });
});

describe('mergeRevoked', () => {
  const read = (t: string) => new ReadValue(t, 'THOTH_REVOKED_API_KEY_IDS');
  it.each([
    ['empty + one', [], ['k1'], ['k1']],
    ['existing kept first, new appended', ['k0'], ['k1', 'k2'], ['k0', 'k1', 'k2']],
    ['no duplicates among the added', [], ['k1', 'k1'], ['k1']],
    ['an added id already listed is not repeated', ['k1'], ['k1', 'k2'], ['k1', 'k2']],
  ] as const)('%s', (_n, existing, added, want) => expect(mergeRevoked(existing, added).map(mdmText)).toEqual(want));
  it('read values stay opaque and are matched by their text', () => {
    const merged = mergeRevoked([read('k1'), read('weird value')], ['k1', 'k2']);
    expect(merged.map(mdmText)).toEqual(['k1', 'weird value', 'k2']);
    expect(merged[0]).toBeInstanceOf(ReadValue);
    expect(merged[1]).toBeInstanceOf(ReadValue);
    expect(typeof merged[2]).toBe('string');
  });
});

describe('checkRevocation', () => {
  const REFRESH = new Date('2026-12-01T14:00:00Z');
  const later = REFRESH.getTime() + 60_000;
  const earlier = REFRESH.getTime() - 60_000;
  const longAgo = REFRESH.getTime() - 30 * 86_400_000;
  const base = {
    revoked: new Set(['k-old']),
    keys: [key('k-old', 'fleet', 'f', false), key('k-new', 'fleet', 'f')],
    endpoints: [],
    devices: [],
    refreshSentAt: REFRESH,
    activeWithinMs: 7 * 86_400_000,
  };
  it('holds when the key is inactive and nobody checked in on it', () => {
    expect(
      checkRevocation({ ...base, endpoints: [{ endpointId: 'e', hostname: 'h', keyId: 'k-new', lastSeen: later }] }),
    ).toEqual({ stillActive: [], offenders: [], notCheckedIn: [], active: 1, checkedIn: 1 });
  });
  it('a revoked key still listed active is named', () => {
    expect(checkRevocation({ ...base, keys: [key('k-old', 'fleet', 'f', true)] }).stillActive).toEqual(['k-old']);
  });
  it('an endpoint that checked in since the refresh on the revoked key is an offender; one that did not is listed', () => {
    const r = checkRevocation({
      ...base,
      endpoints: [
        { endpointId: 'e1', hostname: 'h1', keyId: 'k-old', lastSeen: later },
        { endpointId: 'e2', hostname: 'h2', keyId: 'k-old', lastSeen: earlier },
      ],
    });
    expect(r.offenders).toEqual([{ id: 'e1', name: 'h1', keyId: 'k-old' }]);
    expect(r.notCheckedIn).toEqual([{ id: 'e2', name: 'h2' }]);
    expect([r.active, r.checkedIn]).toEqual([2, 1]);
  });
  it('an endpoint last seen before activeWithin is not counted at all', () => {
    const r = checkRevocation({
      ...base,
      endpoints: [{ endpointId: 'e', hostname: 'h', keyId: 'k-old', lastSeen: longAgo }],
    });
    expect([r.active, r.offenders.length, r.notCheckedIn.length]).toEqual([0, 0, 0]);
  });
  it('a device whose fresh health report names the revoked key is an offender unless it reports it revoked', () => {
    const dev = (id: string, revoked: boolean, at: number) => ({
      mdmId: id,
      name: id,
      lastContact: at,
      healthAt: at,
      health: { status: 'ok' as const, keyId: 'k-old', revoked },
    });
    const r = checkRevocation({
      ...base,
      devices: [dev('d1', false, later), dev('d2', true, later), dev('d3', false, earlier)],
    });
    expect(r.offenders).toEqual([{ id: 'd1', name: 'd1', keyId: 'k-old' }]);
  });
});
