/**
 * sweepLostKeys with fakes: which keys an interrupted run's successor revokes. Only active keys
 * this intent minted (by exact name) that the configuration does not deliver, sparing the old key
 * and superseded keys; a name-matching key of another scope stops the run with nothing revoked.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { sweepLostKeys, supersededKeys } = await import('../../src/runbook/lost-keys.js');
const { RevocationRefused } = await import('../../src/revocation/guard.js');
const { ReadValue } = await import('../../src/mdm/read-value.js');
const { mintedKeyName } = await import('../../src/runbook/key-name.js');
type ApiKey = import('../../src/clients/thoth.js').ApiKey;
type RunbookDeps = import('../../src/runbook/deps.js').RunbookDeps;
type EvidenceRecord = import('../../src/evidence/record.js').EvidenceRecord;

const FLEET = 'flt-a';
const OWNER = { repository: 'acme/rotations', fleetId: FLEET, intentName: 'corpsec' };
const minted = (run: string): string => mintedKeyName(OWNER, 'rotation', { id: run, attempt: 1 });
const row = (keyId: string, name: string | undefined, p: Partial<ApiKey> = {}): ApiKey => ({
  keyId,
  name,
  scopeLevel: 'fleet',
  scopeTargetId: FLEET,
  active: true,
  ...p,
});

beforeAll(() => {
  vi.stubEnv('GITHUB_REPOSITORY', OWNER.repository);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

function deps(keys: ApiKey[], record: Partial<EvidenceRecord> = {}) {
  const revoked: string[] = [];
  const commits: { events: { step: string; outcome: string; detail: string }[] }[] = [];
  const d = {
    intent: {
      name: 'corpsec',
      fleet: { id: FLEET, region: 'us-east-1' },
      key: { scope: 'fleet', permissions: ['execute'] },
    },
    thoth: {
      listKeys: vi.fn(async () => keys),
      revokeKey: vi.fn(async (id: string) => (revoked.push(id), 'revoked' as const)),
      listEndpoints: vi.fn(async () => []),
    },
    mdm: {
      readConfig: vi.fn(async () => {
        throw new Error('the sweep passes the configuration it read; no second read');
      }),
    },
    journal: {
      record: { state: 'pending', events: [], ...record },
      commit: vi.fn(async (c: (typeof commits)[number]) => void commits.push(c)),
    },
    log: { info: vi.fn(), warning: vi.fn() },
  } as unknown as RunbookDeps;
  return { d, revoked, commits };
}

const delivered = (id: string) => new ReadValue(id, 'THOTH_API_KEY_ID');

describe('sweepLostKeys', () => {
  const cases: [string, ApiKey[], Partial<EvidenceRecord>, string | undefined, string[]][] = [
    // [name, key list, record fields, delivered key id, revoked]
    ['a key this intent minted, not delivered → revoked', [row('k-lost', minted('1'))], {}, 'k-old', ['k-lost']],
    ['the delivered key is never swept', [row('k-new', minted('1'))], {}, 'k-new', []],
    ['an inactive key costs no request', [row('k-lost', minted('1'), { active: false })], {}, 'k-old', []],
    [
      "another intent's key (name differs) is not ours",
      [row('k-x', mintedKeyName({ ...OWNER, intentName: 'corpsec-2' }, 'rotation', { id: '1', attempt: 1 }))],
      {},
      'k-old',
      [],
    ],
    ['a hand-made key is not ours', [row('k-x', 'laptop key')], {}, 'k-old', []],
    ['a nameless key is not ours', [row('k-x', undefined)], {}, 'k-old', []],
    [
      'the old key is spared even when its name matches',
      [row('k-old', minted('0'))],
      { oldKey: { keyId: 'k-old' } },
      undefined,
      [],
    ],
    [
      'superseded keys are spared (they may be on devices)',
      [row('k-sup', minted('2')), row('k-lost', minted('3'))],
      { supersededKeys: [{ keyId: 'k-sup' }] },
      'k-new',
      ['k-lost'],
    ],
    [
      'no delivered key: every lost key goes',
      [row('k1', minted('1')), row('k2', minted('2'))],
      {},
      undefined,
      ['k1', 'k2'],
    ],
  ];
  it.each(cases)('%s', async (_n, keys, record, deliveredId, want) => {
    const { d, revoked, commits } = deps(keys, record);
    const got = await sweepLostKeys(d, deliveredId === undefined ? undefined : delivered(deliveredId));
    expect(got).toEqual(want);
    expect(revoked).toEqual(want);
    if (want.length) {
      expect(commits).toHaveLength(1);
      expect(commits[0]!.events.map((e) => [e.step, e.outcome])).toEqual(want.map(() => ['revoke-lost-key', 'ok']));
      want.forEach((id, i) => expect(commits[0]!.events[i]!.detail).toContain(id));
    } else {
      expect(commits).toEqual([]);
    }
  });

  it('a name-matching key of another fleet is refused: recorded, nothing revoked, the run stops', async () => {
    const { d, revoked, commits } = deps([
      row('k-lost', minted('1')),
      row('k-foreign', minted('2'), { scopeTargetId: 'flt-other' }),
    ]);
    await expect(sweepLostKeys(d, delivered('k-old'))).rejects.toBeInstanceOf(RevocationRefused);
    expect(revoked).toEqual([]);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.events).toEqual([
      expect.objectContaining({
        step: 'revoke-refused',
        outcome: 'failed',
        detail: expect.stringContaining('k-foreign not revoked'),
      }),
    ]);
  });
});

describe('supersededKeys', () => {
  it('none without a record or a list', () => {
    expect(supersededKeys(undefined)).toEqual([]);
    expect(supersededKeys({ state: 'pending' } as EvidenceRecord)).toEqual([]);
  });
  it("the record's list", () =>
    expect(supersededKeys({ supersededKeys: [{ keyId: 'k' }] } as EvidenceRecord)).toEqual([{ keyId: 'k' }]));
});
