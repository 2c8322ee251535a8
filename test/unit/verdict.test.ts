import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideValidation,
  DRIFT_LIMIT,
  HostJoin,
  hostKey,
  NO_ACTIVE_REASON,
  type Verdict,
  type VerdictInput,
} from '../../src/rotation/verdict.js';
import { parseHealth, type HealthReport, type MdmDeviceObs, type ThothEndpointObs } from '../../src/observations.js';

const REFRESH = new Date('2026-12-01T14:00:00Z');
const NOW = new Date('2026-12-01T14:30:00Z');
const DAY = 86_400_000;
/** Observation times are epoch ms (verdict.ts EpochMs). */
const after = (min: number): number => REFRESH.getTime() + min * 60_000;
const daysBefore = (d: number): number => REFRESH.getTime() - d * DAY;
const NEW = 'key_new456';
const OLD = 'key_old123';

/** A device that checked in after the refresh and whose Thoth endpoint runs `key`. */
function fleet(n: number, key = NEW, prefix = 'mac'): { thoth: ThothEndpointObs[]; mdm: MdmDeviceObs[] } {
  const thoth: ThothEndpointObs[] = [];
  const mdm: MdmDeviceObs[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${String(i).padStart(3, '0')}`;
    mdm.push({ mdmId: String(1000 + i), name, lastContact: after(5) });
    thoth.push({ endpointId: `ep-${prefix}-${i}`, hostname: `${name}.local`, keyId: key, lastSeen: after(6) });
  }
  return { thoth, mdm };
}

const input = (p: Partial<VerdictInput>): VerdictInput => ({
  thoth: [],
  mdm: [],
  newKeyId: NEW,
  oldKeyId: OLD,
  refreshSentAt: REFRESH,
  now: NOW,
  activeWithinMs: 7 * DAY,
  minHealthy: 0.95,
  ...p,
});

/** Fleet of 20 with the given edits applied to devices / endpoints by index. */
function twenty(edit: (f: ReturnType<typeof fleet>) => void): Pick<VerdictInput, 'thoth' | 'mdm'> {
  const f = fleet(20);
  edit(f);
  return f;
}

type Case = {
  name: string;
  input: VerdictInput;
  expected: Partial<Verdict> & { stragglerReasons?: string[]; driftMatch?: RegExp[] };
};

const cases: Case[] = [
  {
    name: 'all healthy',
    input: input(fleet(20)),
    expected: {
      pass: true,
      total: 20,
      active: 20,
      healthy: 20,
      inactive: 0,
      onOldKey: 0,
      notCheckedIn: 0,
      healthyShare: 1,
      stragglers: [],
      drift: [],
    },
  },
  {
    name: 'exactly at threshold (19/20 = 95%)',
    input: input(twenty((f) => (f.thoth[7]!.keyId = OLD))),
    expected: {
      pass: true,
      active: 20,
      healthy: 19,
      onOldKey: 1,
      healthyShare: 0.95,
      stragglerReasons: ['still on old key'],
    },
  },
  {
    name: 'one below threshold (18/20)',
    input: input(
      twenty((f) => {
        f.thoth[7]!.keyId = OLD;
        f.thoth[8]!.keyId = OLD;
      }),
    ),
    expected: { pass: false, healthy: 18, onOldKey: 2, healthyShare: 0.9 },
  },
  {
    name: 'threshold with float error (minHealthy 0.7 = 7/10 computed as 0.1*7)',
    input: input({
      ...(() => {
        const f = fleet(10);
        for (const i of [0, 1, 2]) f.thoth[i]!.keyId = OLD;
        return f;
      })(),
      minHealthy: 0.1 * 7,
    }),
    expected: { pass: true, healthy: 7, active: 10 },
  },
  {
    name: 'inactive devices are listed, not counted',
    input: input(
      twenty((f) => {
        for (const i of [0, 1, 2]) {
          f.mdm[i]!.lastContact = daysBefore(30);
          f.thoth[i]!.lastSeen = daysBefore(20);
          f.thoth[i]!.keyId = OLD;
        }
      }),
    ),
    expected: {
      pass: true,
      total: 20,
      active: 17,
      inactive: 3,
      healthy: 17,
      onOldKey: 0,
      healthyShare: 1,
      inactiveList: [
        { id: '1000', name: 'mac-000' },
        { id: '1001', name: 'mac-001' },
        { id: '1002', name: 'mac-002' },
      ],
    },
  },
  {
    name: 'active if either source saw it within the window (Thoth heartbeat only)',
    input: input(
      twenty((f) => {
        f.mdm[0]!.lastContact = daysBefore(30);
        f.thoth[0]!.lastSeen = daysBefore(1);
      }),
    ),
    expected: { active: 20, notCheckedIn: 1, healthy: 19, stragglerReasons: ['not checked in since refresh'] },
  },
  {
    name: 'exactly at the activity boundary counts as active',
    input: input(
      twenty((f) => {
        f.mdm[0]!.lastContact = daysBefore(7);
        delete f.thoth[0]!.lastSeen;
      }),
    ),
    expected: { active: 20, notCheckedIn: 1 },
  },
  {
    name: 'stuck on old key',
    input: input(
      twenty((f) => {
        for (let i = 0; i < 10; i++) f.thoth[i]!.keyId = OLD;
      }),
    ),
    expected: {
      pass: false,
      healthy: 10,
      onOldKey: 10,
      healthyShare: 0.5,
      stragglerReasons: Array(10).fill('still on old key'),
    },
  },
  {
    name: 'not checked in since refresh (contact exactly at refresh does not count)',
    input: input(
      twenty((f) => {
        f.mdm[3]!.lastContact = REFRESH.getTime();
        f.thoth[3]!.lastSeen = daysBefore(1);
        f.thoth[3]!.keyId = OLD;
      }),
    ),
    expected: { notCheckedIn: 1, onOldKey: 1, healthy: 19, stragglerReasons: ['not checked in since refresh'] },
  },
  {
    name: 'revoked flag from health',
    input: input(
      twenty((f) => {
        f.mdm[4]!.health = { status: 'ok', keyId: NEW, revoked: true };
        f.mdm[4]!.healthAt = after(7);
      }),
    ),
    expected: { healthy: 19, stragglerReasons: ['reports key revoked'] },
  },
  {
    name: 'expired flag from health',
    input: input(
      twenty((f) => {
        f.mdm[4]!.health = { status: 'ok', expired: true };
        f.mdm[4]!.healthAt = after(7);
      }),
    ),
    expected: { healthy: 19, stragglerReasons: ['reports key expired'] },
  },
  {
    name: 'a health report from before the check-in naming the old key is not drift (Thoth shows the new key)',
    input: input(
      twenty((f) => {
        f.mdm[4]!.lastContact = daysBefore(1);
        f.mdm[4]!.health = { status: 'ok', keyId: OLD };
      }),
    ),
    expected: { healthy: 20, drift: [] },
  },
  {
    name: 'flags of a fresh health report about another key are ignored; the later report wins (Thoth shows the new key)',
    input: input(
      twenty((f) => {
        f.mdm[4]!.health = { status: 'ok', keyId: OLD, revoked: true };
        f.mdm[4]!.healthAt = after(2);
      }),
    ),
    expected: { healthy: 20, drift: [] },
  },
  {
    name: 'a device that reported the new key and then another is drift: the later report decides',
    input: input(
      twenty((f) => {
        f.mdm[4]!.health = { status: 'ok', keyId: OLD };
        f.mdm[4]!.healthAt = after(9);
      }),
    ),
    expected: {
      healthy: 19,
      onOldKey: 1,
      stragglerReasons: ['still on old key'],
      driftMatch: [/"mac-004": Thoth reported key "key_new456", then health reported "key_old123" \(using the later\)/],
    },
  },
  {
    name: 'zero active: fail, never revoke on no evidence',
    input: input(
      twenty((f) => {
        for (const d of f.mdm) d.lastContact = daysBefore(30);
        for (const e of f.thoth) e.lastSeen = daysBefore(30);
      }),
    ),
    expected: { pass: false, reason: NO_ACTIVE_REASON, active: 0, inactive: 20, healthyShare: 0 },
  },
  {
    name: 'empty group: fail',
    input: input({ minHealthy: 0 }),
    expected: { pass: false, reason: NO_ACTIVE_REASON, total: 0 },
  },
  {
    name: 'minHealthy 0 still needs an active device, but passes with one',
    input: input({ ...fleet(1, OLD), minHealthy: 0 }),
    expected: { pass: true, healthy: 0, active: 1 },
  },
  {
    name: 'unknown key',
    input: input(twenty((f) => (f.thoth[5]!.keyId = 'key_rogue'))),
    expected: { healthy: 19, onOldKey: 0, stragglerReasons: ['on unknown key key_rogue'] },
  },
  {
    name: 'no Thoth match: health decides (new key)',
    input: input(
      twenty((f) => {
        f.thoth.splice(0, 1);
        f.mdm[0]!.health = { status: 'ok', keyId: NEW };
        f.mdm[0]!.healthAt = after(7);
      }),
    ),
    expected: { healthy: 20, driftMatch: [/MDM device "mac-000" \("1000"\) has no Thoth endpoint/] },
  },
  {
    name: 'no Thoth match, health output invalid',
    input: input(
      twenty((f) => {
        f.thoth.splice(0, 1);
        f.mdm[0]!.health = { status: 'invalid' };
        f.mdm[0]!.healthAt = after(7);
      }),
    ),
    expected: { healthy: 19, stragglerReasons: ['health output invalid'] },
  },
  {
    name: 'no Thoth match, no health',
    input: input(twenty((f) => f.thoth.splice(0, 1))),
    expected: { healthy: 19, stragglerReasons: ['checked in, but no key signal since refresh'] },
  },
  {
    name: 'Thoth match without a key id falls back to health',
    input: input(
      twenty((f) => {
        delete f.thoth[0]!.keyId;
        f.mdm[0]!.health = { status: 'ok', keyId: OLD };
        f.mdm[0]!.healthAt = after(7);
      }),
    ),
    expected: { healthy: 19, onOldKey: 1, stragglerReasons: ['still on old key'] },
  },
  {
    name: 'health non-JSON but Thoth shows the new key: healthy',
    input: input(twenty((f) => (f.mdm[0]!.health = parseHealth(['thoth: command not found'])))),
    expected: { healthy: 20 },
  },
  {
    name: 'drift: Thoth endpoint with no device in the group',
    input: input({
      ...fleet(20),
      thoth: [...fleet(20).thoth, { endpointId: 'ep-stray', hostname: 'stray-host', keyId: OLD }],
    }),
    expected: {
      healthy: 20,
      onOldKey: 0,
      driftMatch: [/Thoth endpoint "stray-host" \("ep-stray"\) has no device in the group/],
    },
  },
  {
    name: 'drift: two MDM devices with one name are not joined (stale twin stays inactive)',
    input: input(twenty((f) => f.mdm.push({ mdmId: '9999', name: 'MAC-000', lastContact: daysBefore(60) }))),
    expected: {
      total: 21,
      active: 20,
      inactive: 1,
      healthy: 19,
      stragglerReasons: ['checked in, but no key signal since refresh'],
      inactiveList: [{ id: '9999', name: 'MAC-000' }],
      driftMatch: [/2 MDM devices are named "mac-000"|2 MDM devices are named "MAC-000"/],
    },
  },
  {
    name: 'drift: duplicate Thoth hostnames join the most recently seen',
    input: input(
      twenty((f) =>
        f.thoth.unshift({
          endpointId: 'ep-old-reg',
          hostname: 'MAC-000.corp.acme.com',
          keyId: OLD,
          lastSeen: daysBefore(40),
        }),
      ),
    ),
    expected: {
      healthy: 20,
      driftMatch: [/2 Thoth endpoints share hostname .*using the most recently seen, "ep-mac-0"/],
    },
  },
  {
    name: 'join ignores case, .local and domain suffixes, and macOS name mangling',
    input: input({
      mdm: [
        { mdmId: '1', name: "Naomi's MacBook Pro", lastContact: after(1) },
        { mdmId: '2', name: 'WIN-AMOS-01', lastContact: after(1) },
      ],
      thoth: [
        { endpointId: 'e1', hostname: 'Naomis-MacBook-Pro.local', keyId: NEW, lastSeen: after(2) },
        { endpointId: 'e2', hostname: 'win-amos-01.corp.acme.com', keyId: NEW, lastSeen: after(2) },
      ],
    }),
    expected: { pass: true, healthy: 2, drift: [] },
  },
  // ---- fresh key signals (issue 12: separate channels) ----------------------------------
  {
    name: 'stale health naming the new key (reported before the refresh) does not count',
    input: input(
      twenty((f) => {
        f.thoth.splice(0, 1);
        f.mdm[0]!.health = { status: 'ok', keyId: NEW };
        f.mdm[0]!.healthAt = after(-5);
      }),
    ),
    expected: { healthy: 19, notCheckedIn: 0, stragglerReasons: ['checked in, but no key signal since refresh'] },
  },
  {
    name: 'health reported exactly at the refresh is not fresh',
    input: input(
      twenty((f) => {
        delete f.thoth[0]!.keyId;
        f.mdm[0]!.health = { status: 'ok', keyId: NEW };
        f.mdm[0]!.healthAt = REFRESH.getTime();
      }),
    ),
    expected: { healthy: 19, stragglerReasons: ['checked in, but no key signal since refresh'] },
  },
  {
    name: 'health reported after the refresh naming the new key counts (no runtime key id on the row)',
    input: input(
      twenty((f) => {
        delete f.thoth[0]!.keyId;
        f.mdm[0]!.health = { status: 'ok', keyId: NEW };
        f.mdm[0]!.healthAt = after(1);
      }),
    ),
    expected: { healthy: 20, stragglers: [] },
  },
  {
    name: 'null runtime key ids and fresh health: every device judged on its health report',
    input: input(
      twenty((f) => {
        for (let i = 0; i < 20; i++) {
          delete f.thoth[i]!.keyId;
          f.mdm[i]!.health = { status: 'ok', keyId: i < 19 ? NEW : OLD };
          f.mdm[i]!.healthAt = after(10 + i);
        }
      }),
    ),
    expected: { pass: true, healthy: 19, onOldKey: 1, stragglerReasons: ['still on old key'] },
  },
  {
    name: 'null runtime key ids and no health: nobody is healthy, validation fails',
    input: input(
      twenty((f) => {
        for (const e of f.thoth) delete e.keyId;
      }),
    ),
    expected: {
      pass: false,
      active: 20,
      healthy: 0,
      notCheckedIn: 0,
      stragglerReasons: Array(20).fill('checked in, but no key signal since refresh'),
    },
  },
  {
    name: 'checked in (MDM contact and heartbeat after the refresh) but no key signal: not healthy',
    input: input({
      mdm: [
        {
          mdmId: '1',
          name: 'mac-1',
          lastContact: after(1),
          health: { status: 'ok', keyId: OLD },
          healthAt: after(-60),
        },
      ],
      thoth: [{ endpointId: 'e1', hostname: 'mac-1', lastSeen: after(2) }],
      minHealthy: 0.5,
    }),
    expected: {
      pass: false,
      active: 1,
      healthy: 0,
      notCheckedIn: 0,
      onOldKey: 1,
      stragglerReasons: ['checked in, but no key signal since refresh'],
    },
  },
  {
    name: 'a control-plane row on the new key last seen before the refresh does not count',
    input: input(
      twenty((f) => {
        f.thoth[0]!.lastSeen = after(-1);
      }),
    ),
    expected: { healthy: 19, stragglerReasons: ['checked in, but no key signal since refresh'] },
  },
  {
    name: 'fresh health names the new key after a heartbeat still on the old one: the later report wins, no drift',
    input: input(
      twenty((f) => {
        f.thoth[0]!.keyId = OLD;
        f.thoth[0]!.lastSeen = after(1);
        f.mdm[0]!.health = { status: 'ok', keyId: NEW };
        f.mdm[0]!.healthAt = after(3);
      }),
    ),
    expected: { healthy: 20, onOldKey: 0, drift: [] },
  },
  {
    name: 'a fresh health report alone makes a device active and checked in',
    input: input({
      mdm: [
        {
          mdmId: '1',
          name: 'mac-1',
          lastContact: daysBefore(30),
          health: { status: 'ok', keyId: NEW },
          healthAt: after(2),
        },
      ],
      minHealthy: 1,
    }),
    expected: { pass: true, active: 1, healthy: 1, notCheckedIn: 0 },
  },
];

describe('decideValidation', () => {
  it.each(cases)('$name', ({ input: i, expected }) => {
    const v = decideValidation(i);
    // A poller's reused join gives the same verdict; one built from other names is not trusted.
    expect(decideValidation({ ...i, join: new HostJoin(i.mdm) })).toEqual(v);
    expect(decideValidation({ ...i, join: new HostJoin([...i.mdm].reverse()) })).toEqual(v);
    expect(decideValidation({ ...i, join: new HostJoin([{ name: 'other' }]) })).toEqual(v);
    const { stragglerReasons, driftMatch, ...exact } = expected;
    expect(v).toMatchObject(exact);
    if (stragglerReasons) expect(v.stragglers.map((s) => s.reason)).toEqual(stragglerReasons);
    for (const re of driftMatch ?? [])
      expect(
        v.drift.some((d) => re.test(d)),
        `${re} in ${JSON.stringify(v.drift)}`,
      ).toBe(true);
    // Invariants that hold for every input.
    expect(v.active + v.inactive).toBe(v.total);
    expect(v.healthy).toBeLessThanOrEqual(v.active);
    expect(v.stragglers.length + v.stragglersOmitted).toBe(v.active - v.healthy);
    if (v.active === 0) expect(v.pass).toBe(false);
  });

  it('sorts stragglers by name and bounds the list', () => {
    const f = fleet(80, OLD);
    f.mdm.reverse();
    const v = decideValidation(input({ ...f, stragglerLimit: 10 }));
    expect(v.stragglers).toHaveLength(10);
    expect(v.stragglersOmitted).toBe(70);
    expect(v.stragglers.map((s) => s.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `mac-${String(i).padStart(3, '0')}`),
    );
    expect(decideValidation(input(f)).stragglers).toHaveLength(50);
  });

  it('bounds the inactive list to 50', () => {
    const f = fleet(120);
    for (const d of f.mdm) d.lastContact = daysBefore(30);
    const v = decideValidation(input({ mdm: f.mdm }));
    expect(v.inactive).toBe(120);
    expect(v.inactiveList).toHaveLength(50);
  });

  it('bounds the drift list and counts the rest by kind', () => {
    const f = fleet(200);
    const v = decideValidation(input({ mdm: f.mdm, thoth: fleet(30, NEW, 'other').thoth }));
    expect(v.drift).toHaveLength(DRIFT_LIMIT + 1);
    expect(v.drift.at(-1)).toBe('… and 180 more identity-drift warnings (no Thoth endpoint: 150, no MDM device: 30)');
  });

  it('reports pass/fail reasons with the numbers', () => {
    expect(decideValidation(input(fleet(20))).reason).toBe('20/20 active endpoints healthy (100.0%) ≥ 95.0% required');
    const v = decideValidation(
      input(
        twenty((f) => {
          f.thoth[0]!.keyId = OLD;
          f.thoth[1]!.keyId = OLD;
        }),
      ),
    );
    expect(v.reason).toBe('18/20 active endpoints healthy (90.0%) < 95.0% required');
  });

  it('keeps API text in drift warnings on one bounded line', () => {
    const v = decideValidation(
      input({ mdm: [{ mdmId: '1', name: `evil\n| ${'x'.repeat(500)}`, lastContact: after(1) }] }),
    );
    expect(v.drift[0]).not.toContain('\n');
    expect(v.drift[0]!.length).toBeLessThan(300);
  });

  it('lists the first stragglers and inactive devices in name order, whatever the order they come in (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z]{1,3}$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.boolean()), { maxLength: 40 }),
        fc.integer({ min: 0, max: 8 }),
        (devices, limit) => {
          const mdm: MdmDeviceObs[] = devices.map(([n, active], i) => ({
            mdmId: `d${i}`,
            name: n,
            lastContact: active ? daysBefore(1) : daysBefore(30),
          }));
          const v = decideValidation(input({ thoth: [], mdm, stragglerLimit: limit }));
          const order = (a: { id: string; name: string }, b: { id: string; name: string }) =>
            a.name.toLowerCase() !== b.name.toLowerCase()
              ? a.name.toLowerCase() < b.name.toLowerCase()
                ? -1
                : 1
              : a.name !== b.name
                ? a.name < b.name
                  ? -1
                  : 1
                : a.id < b.id
                  ? -1
                  : 1;
          const sorted = (list: MdmDeviceObs[]) => list.map((d) => ({ id: d.mdmId, name: d.name })).sort(order);
          const active = mdm.filter((d) => d.lastContact! > daysBefore(2));
          expect(v.stragglers.map(({ id, name }) => ({ id, name }))).toEqual(sorted(active).slice(0, limit));
          expect(v.stragglersOmitted).toBe(Math.max(0, active.length - limit));
          expect(v.inactiveList).toEqual(sorted(mdm.filter((d) => !active.includes(d))).slice(0, 50));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('places a listing once: the same listing asked again gets the same placement', () => {
    const f = fleet(3);
    const join = new HostJoin(f.mdm);
    const placed = join.place(f.thoth);
    expect(join.place(f.thoth)).toBe(placed);
    expect(placed.byDevice).toEqual(f.thoth);
    expect(join.place([...f.thoth])).not.toBe(placed);
  });

  it('counts 50,000 devices correctly', () => {
    const n = 50_000;
    const thoth: ThothEndpointObs[] = [];
    const mdm: MdmDeviceObs[] = [];
    for (let i = 0; i < n; i++) {
      const name = `host-${i}`;
      // i%10: 0 → inactive, 1 → not checked in (old key), 2 → old key, 3 → MDM only with health on new key, else healthy.
      const bucket = i % 10;
      mdm.push({
        mdmId: String(i),
        name: bucket === 3 ? name : name.toUpperCase(),
        lastContact: bucket === 0 ? daysBefore(30) : bucket === 1 ? daysBefore(1) : after(3),
        ...(bucket === 3 ? { health: { status: 'ok', keyId: NEW } as HealthReport, healthAt: after(3) } : {}),
      });
      if (bucket !== 3) {
        thoth.push({
          endpointId: `ep-${i}`,
          hostname: `${name}.local`,
          keyId: bucket === 1 || bucket === 2 ? OLD : NEW,
          lastSeen: bucket === 0 ? daysBefore(30) : bucket === 1 ? daysBefore(1) : after(4),
        });
      }
    }
    const v = decideValidation(input({ thoth, mdm, minHealthy: 0.75 }));
    expect(v.total).toBe(n);
    expect(v.inactive).toBe(n / 10);
    expect(v.active).toBe((n * 9) / 10);
    expect(v.notCheckedIn).toBe(n / 10);
    expect(v.onOldKey).toBe((n * 2) / 10);
    expect(v.healthy).toBe((n * 7) / 10);
    expect(v.healthyShare).toBeCloseTo(7 / 9);
    expect(v.pass).toBe(true);
    expect(v.stragglers).toHaveLength(50);
    expect(v.stragglersOmitted).toBe((n * 2) / 10 - 50);
    expect(v.drift.at(-1)).toMatch(/^… and 4950 more identity-drift warnings \(no Thoth endpoint: 4950\)$/);
    // Its cost per poll is measured by `npm run bench` (docs/benchmarks.md), not timed here.
  });
});

describe('hostKey', () => {
  const cases: [string, string][] = [
    ['Mac-01.local', 'mac-01'],
    ['mac-01.corp.acme.com.', 'mac-01'],
    ["Naomi's MacBook Pro", 'naomis-macbook-pro'],
    ['  DESKTOP-7F3K2  ', 'desktop-7f3k2'],
    ['a -- b', 'a-b'],
  ];
  it.each(cases)('%s → %s', (input, expected) => expect(hostKey(input)).toBe(expected));
});

describe('parseHealth', () => {
  const full = JSON.stringify({
    registration_ok: true,
    api_key: { key_id: NEW, expired: false, rotation_required: false, revoked: false },
    proxy_version: '0.3.4',
  });
  const cases: { name: string; values: readonly string[] | undefined | null; expected: HealthReport }[] = [
    {
      name: 'full report',
      values: [full],
      expected: {
        status: 'ok',
        keyId: NEW,
        expired: false,
        rotationRequired: false,
        revoked: false,
        registrationOk: true,
      },
    },
    { name: 'only key id', values: ['{"api_key":{"key_id":"key_a"}}'], expected: { status: 'ok', keyId: 'key_a' } },
    { name: 'empty object', values: ['{}'], expected: { status: 'ok' } },
    {
      name: 'revoked as string',
      values: ['{"api_key":{"key_id":"k1","revoked":"true"}}'],
      expected: { status: 'ok', keyId: 'k1', revoked: true },
    },
    {
      name: 'wrapped in <result>',
      values: [`<result>${full}</result>`],
      expected: {
        status: 'ok',
        keyId: NEW,
        expired: false,
        rotationRequired: false,
        revoked: false,
        registrationOk: true,
      },
    },
    {
      name: 'PowerShell banner before JSON',
      values: [`Thoth health:\r\n${full}\r\n`],
      expected: expect.objectContaining({ status: 'ok', keyId: NEW }) as HealthReport,
    },
    {
      name: 'first non-blank value of a multi-value EA',
      values: ['', '  ', '{"api_key":{"key_id":"k2"}}'],
      expected: { status: 'ok', keyId: 'k2' },
    },
    { name: 'non-JSON', values: ['thoth: command not found'], expected: { status: 'invalid' } },
    { name: 'JSON that is not an object', values: ['[1,2]'], expected: { status: 'invalid' } },
    { name: 'JSON string', values: ['"ok"'], expected: { status: 'invalid' } },
    { name: 'truncated JSON', values: ['{"api_key":{"key_id":"k'], expected: { status: 'invalid' } },
    {
      name: 'key id of the wrong type / charset is dropped',
      values: ['{"api_key":{"key_id":42,"revoked":1}}', ''],
      expected: { status: 'ok', revoked: true },
    },
    {
      name: 'key id with markup is dropped',
      values: ['{"api_key":{"key_id":"<img src=x>"}}'],
      expected: { status: 'ok' },
    },
    { name: 'empty array', values: [], expected: { status: 'missing' } },
    { name: 'blank value', values: ['   '], expected: { status: 'missing' } },
    { name: 'undefined', values: undefined, expected: { status: 'missing' } },
    { name: 'null', values: null, expected: { status: 'missing' } },
    { name: 'huge value', values: [`{"pad":"${'x'.repeat(100_000)}"}`], expected: { status: 'invalid' } },
    {
      name: 'non-string entries',
      values: [42 as unknown as string, '{"api_key":{"key_id":"k3"}}'],
      expected: { status: 'ok', keyId: 'k3' },
    },
  ];
  it.each(cases)('$name', ({ values, expected }) => expect(parseHealth(values)).toEqual(expected));

  it('never throws', () => {
    const evil = {
      find: () => {
        throw new Error('boom');
      },
    } as unknown as string[];
    expect(parseHealth(evil)).toEqual({ status: 'missing' });
    expect(parseHealth(['{"__proto__":{"api_key":1}}'])).toEqual({ status: 'ok' });
  });
});

describe('health reported before the refresh (healthAt)', () => {
  const ok = (keyId: string, extra: Partial<HealthReport> = {}): HealthReport => ({
    status: 'ok',
    keyId,
    revoked: false,
    expired: false,
    ...extra,
  });
  // Judged on MDM data alone (no Thoth endpoint), as a device whose control-plane key id is null would be.
  const device = (health: HealthReport, healthAt: number | undefined): MdmDeviceObs => ({
    mdmId: '1',
    name: 'win-001',
    lastContact: after(5),
    health,
    ...(healthAt ? { healthAt } : {}),
  });
  const reason = (d: MdmDeviceObs): string | undefined =>
    decideValidation(input({ mdm: [d], minHealthy: 1 })).stragglers[0]?.reason;

  it('a report from after the refresh counts', () => {
    expect(decideValidation(input({ mdm: [device(ok(NEW), after(4))], minHealthy: 1 })).healthy).toBe(1);
  });
  it('a report from before (or at) the refresh is not used, whatever it says', () => {
    expect(reason(device(ok(NEW), after(-1)))).toBe('checked in, but no key signal since refresh');
    expect(reason(device(ok(NEW), REFRESH.getTime()))).toBe('checked in, but no key signal since refresh');
    // A stale "revoked" does not describe the key in use now either.
    const thoth = [{ endpointId: 'ep-1', hostname: 'win-001', keyId: NEW, lastSeen: after(6) }];
    expect(
      decideValidation(input({ thoth, mdm: [device(ok(NEW, { revoked: true }), after(-1))], minHealthy: 1 })).healthy,
    ).toBe(1);
  });
  // Channels' freshness rule (spec mdm.md "What is real…"): a report nobody can date may be the
  // one from before the refresh, so it is never the evidence a revocation rests on.
  it('without healthAt the report is not a key signal (it cannot be shown to be fresh)', () => {
    expect(decideValidation(input({ mdm: [device(ok(NEW), undefined)], minHealthy: 1 })).healthy).toBe(0);
    expect(reason(device(ok(NEW), undefined))).toBe('checked in, but no key signal since refresh');
  });
});
