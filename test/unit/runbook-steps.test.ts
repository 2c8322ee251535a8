/**
 * The runbook steps (src/runbook/) behind their small interfaces, with in-memory fakes: what
 * each step asks of the control plane and the MDM, and what it decides. The rotation and the
 * emergency revocation are built from these; the end-to-end suite covers them together.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { authorizationDetail, authorizeKey, createKey, deniedPermissions, keyResource, storedKey } = await import(
  '../../src/runbook/mint.js'
);
const { findLostKeys } = await import('../../src/runbook/lost-keys.js');
const { pollUntil } = await import('../../src/runbook/validate.js');
const { refreshDetail, refreshGroup } = await import('../../src/runbook/refresh.js');
const { desiredValues, describeItems, snapshotDetail } = await import('../../src/runbook/deploy.js');
const { event, eventsIf, lease, takeOver } = await import('../../src/runbook/record.js');
const { newKeyRevocationEvents, tryRevoke, RevocationRefused } = await import('../../src/runbook/revoke.js');
const { StaleWriteError } = await import('../../src/clients/github-contents.js');
const { mintedKeyName } = await import('../../src/runbook/key-name.js');
const { ReadValue } = await import('../../src/mdm/read-value.js');
const { SecretValue } = await import('../../src/secret-value.js');
const { RUN } = await import('./evidence-sample.js');
type ApiKey = import('../../src/clients/thoth.js').ApiKey;
type AuthorizeParams = import('../../src/clients/thoth.js').AuthorizeParams;
type CreateKeyParams = import('../../src/clients/thoth.js').CreateKeyParams;
type CreatedKey = import('../../src/clients/thoth.js').CreatedKey;
type Intent = import('../../src/intent/types.js').Intent;
type ConfigSnapshot = import('../../src/mdm/provider.js').ConfigSnapshot;
type MdmDevice = import('../../src/mdm/provider.js').MdmDevice;
type Journal = import('../../src/evidence/journal.js').Journal;

const REPO = 'acme/rotations';
const OWNER = { repository: REPO, fleetId: 'flt-a', intentName: 'corpsec' };
const intent = (p: Partial<Intent['key']> = {}, ticket?: string): Intent =>
  ({
    name: 'corpsec',
    ...(ticket ? { ticket } : {}),
    fleet: { id: 'flt-a', region: 'us-east-1' },
    key: { scope: 'fleet', permissions: ['read', 'execute'], ...p },
    validation: { timeoutMs: 600_000 },
  }) as unknown as Intent;

beforeAll(() => {
  vi.stubEnv('GITHUB_REPOSITORY', REPO);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

/** A control plane that mints one key and answers authorize from a table of allowed permissions. */
function fakeThoth(allowed: readonly string[]) {
  const created: CreateKeyParams[] = [];
  const asked: AuthorizeParams[] = [];
  const key: CreatedKey = {
    keyId: 'k-new',
    apiKey: new SecretValue('thoth_live_STEPS_key_0001'),
    prefix: 'thoth_live_ST',
  };
  return {
    created,
    asked,
    thoth: {
      createKey: async (p: CreateKeyParams) => (created.push(p), key),
      authorize: async (p: AuthorizeParams) => {
        asked.push(p);
        const ok = allowed.includes(p.permission);
        return { valid: true, permission_allowed: ok, scope_allowed: true, expired: false, authorized: ok };
      },
    },
  };
}

describe('mint: create, store, authorize', () => {
  it('creates one key named for this repository, intent and run, with the intent scope and TTL', async () => {
    const f = fakeThoth([]);
    await createKey({ intent: intent({ ttlMs: 90_000_000 }, 'SEC-1'), thoth: f.thoth, run: RUN }, 'rotation');
    expect(f.created).toEqual([
      {
        scopeLevel: 'fleet',
        scopeTargetId: 'flt-a',
        permissions: ['read', 'execute'],
        name: mintedKeyName(OWNER, 'rotation', RUN),
        ttlSeconds: 90_000,
        jitReason: 'SEC-1 (thoth-rotate corpsec)',
      },
    ]);
  });

  it('an emergency replacement says so in its name and reason', async () => {
    const f = fakeThoth([]);
    await createKey({ intent: intent(), thoth: f.thoth, run: RUN }, 'emergency');
    expect(f.created[0]).toMatchObject({
      name: mintedKeyName(OWNER, 'emergency', RUN),
      jitReason: 'emergency replacement (thoth-rotate corpsec)',
    });
    expect(f.created[0]).not.toHaveProperty('ttlSeconds');
  });

  it('stores the key in the record as id, fingerprint and minter: never the key', async () => {
    const f = fakeThoth([]);
    const created = await createKey({ intent: intent(), thoth: f.thoth, run: RUN }, 'rotation');
    const ref = storedKey(created, RUN);
    expect(ref).toEqual({
      keyId: 'k-new',
      prefix: 'thoth_live_ST',
      fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      mintedBy: { id: RUN.id, attempt: RUN.attempt },
    });
    expect(JSON.stringify(ref)).not.toContain('thoth_live_STEPS_key_0001');
  });

  it('authorizes every permission on the intent target, and names the denied ones', async () => {
    const f = fakeThoth(['read']);
    const i = intent({ scope: 'endpoint', endpointId: 'ep-7' } as Partial<Intent['key']>);
    const created = await createKey({ intent: i, thoth: f.thoth, run: RUN }, 'rotation');
    const auths = await authorizeKey({ intent: i, thoth: f.thoth, run: RUN }, created);
    expect(f.asked.map((a) => [a.permission, a.resourceType, a.resourceId])).toEqual([
      ['read', 'endpoint', 'ep-7'],
      ['execute', 'endpoint', 'ep-7'],
    ]);
    expect(deniedPermissions(auths)).toEqual(['execute']);
    expect(authorizationDetail(i, auths[1]!)).toBe(
      'execute on endpoint ep-7: valid=true permission_allowed=false scope_allowed=true expired=false',
    );
  });

  it('an endpoint intent without an endpoint id is authorized on its fleet', () => {
    expect(keyResource(intent({ scope: 'endpoint' }))).toEqual({ resourceType: 'fleet', resourceId: 'flt-a' });
  });
});

describe('findLostKeys: the one definition of a key whose plaintext was lost', () => {
  const row = (keyId: string, name: string, active = true): ApiKey => ({ keyId, name, active });
  const rotation = mintedKeyName(OWNER, 'rotation', { id: '1', attempt: 1 });
  const emergency = mintedKeyName(OWNER, 'emergency', { id: '2', attempt: 1 });
  const keys = [
    row('k-rot', rotation),
    row('k-emg', emergency),
    row('k-off', rotation, false),
    row('k-dlv', rotation),
    row('k-old', rotation),
    row('k-other', mintedKeyName({ ...OWNER, intentName: 'corpsec-2' }, 'rotation', { id: '1', attempt: 1 })),
    row('k-hand', 'made by hand'),
  ];
  const delivered = new ReadValue('k-dlv', 'THOTH_API_KEY_ID');
  const cases: [string, Parameters<typeof findLostKeys>[1], string[]][] = [
    ['any kind', { owner: OWNER, delivered, spared: new Set(['k-old']) }, ['k-rot', 'k-emg']],
    ['emergency only', { owner: OWNER, kind: 'emergency', delivered, spared: new Set() }, ['k-emg']],
    ['rotation only', { owner: OWNER, kind: 'rotation', delivered, spared: new Set() }, ['k-rot', 'k-old']],
    [
      'nothing delivered',
      { owner: OWNER, delivered: undefined, spared: new Set() },
      ['k-rot', 'k-emg', 'k-dlv', 'k-old'],
    ],
  ];
  it.each(cases)('%s', (_name, query, want) => expect(findLostKeys(keys, query).map((k) => k.keyId)).toEqual(want));
});

describe('validate: the one poll loop', () => {
  /** A clock that only moves when the loop sleeps, or when a poll takes time. */
  function clock(pollTakesMs = 0) {
    let t = 1_000_000;
    const sleeps: number[] = [];
    return {
      sleeps,
      advance: (ms: number) => void (t += ms),
      d: { now: () => new Date(t), sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)) },
      pollTakesMs,
    };
  }
  const schedule = (c: ReturnType<typeof clock>, timeoutMs: number) => ({
    from: c.d.now(),
    timeoutMs,
    intervalMs: 1_000,
  });

  it('polls until the observation settles, one interval apart', async () => {
    const c = clock();
    const r = await pollUntil(
      c.d,
      schedule(c, 60_000),
      async (n) => n,
      (n) => n === 3,
    );
    expect(r).toEqual({ last: 3, settled: true });
    expect(c.sleeps).toEqual([1_000, 1_000]);
  });

  it('a slow poll is followed at once, never overlapped', async () => {
    const c = clock();
    const r = await pollUntil(
      c.d,
      schedule(c, 60_000),
      async (n) => (c.advance(1_500), n),
      (n) => n === 2,
    );
    expect(r.settled).toBe(true);
    expect(c.sleeps).toEqual([0]);
  });

  it('gives up with the last observation when the next poll would start after the deadline', async () => {
    const c = clock();
    const r = await pollUntil(
      c.d,
      schedule(c, 2_500),
      async (n) => n,
      () => false,
    );
    expect(r).toEqual({ last: 3, settled: false });
  });

  it('polls once even when the deadline has passed (a resumed run)', async () => {
    const c = clock();
    const s = { from: new Date(0), timeoutMs: 1, intervalMs: 1_000 };
    const observe = vi.fn(async () => 'x');
    expect(await pollUntil(c.d, s, observe, () => false)).toEqual({ last: 'x', settled: false });
    expect(observe).toHaveBeenCalledTimes(1);
  });
});

describe('refresh', () => {
  const device = (id: string): MdmDevice => ({ mdmId: id, refreshId: `r-${id}`, name: id }) as MdmDevice;
  it('lists the group unless the run already did, stamps the time, and reports refusals', async () => {
    const members = vi.fn(async () => [device('a'), device('b')]);
    const mdm = { members, refresh: async (ds: readonly MdmDevice[]) => ds.slice(1).map((x) => x.refreshId) };
    const now = () => new Date('2026-12-01T14:00:00.000Z');
    const r = await refreshGroup({ mdm, now });
    expect(r.sentAt).toEqual(now());
    expect(refreshDetail(r)).toBe('refresh sent to 1 of 2 device(s)');
    expect(refreshDetail(r, { listRefused: true })).toBe('refresh sent to 1 of 2 device(s); refused: r-b');
    expect(refreshDetail(r, { verb: 'check-in forced on' })).toBe('check-in forced on 1 of 2 device(s)');
    await refreshGroup({ mdm, now }, [device('c')]);
    expect(members).toHaveBeenCalledTimes(1);
  });
});

describe('deploy', () => {
  const snapshot = (withKey: boolean): ConfigSnapshot => ({
    items: [{ kind: 'jamf-profile', id: '12', raw: '' }],
    keyId: withKey ? new ReadValue('k-old', 'THOTH_API_KEY_ID') : undefined,
    apiKey: withKey ? new SecretValue('thoth_live_STEPS_old_0002') : undefined,
    revokedKeyIds: [],
  });
  it('delivers the minted key, or keeps the delivered one', () => {
    const key = { keyId: 'k-new', apiKey: new SecretValue('thoth_live_STEPS_new_0003') };
    expect(desiredValues(snapshot(true), key, ['k-x'])).toEqual({ ...key, revokedKeyIds: ['k-x'] });
    const kept = desiredValues(snapshot(true), undefined, []);
    expect((kept.keyId as InstanceType<typeof ReadValue>).is('k-old')).toBe(true);
  });
  it('refuses to write a revoked list into a configuration that carries no key to keep', () => {
    expect(() => desiredValues(snapshot(false), undefined, [])).toThrow(/carries no key to keep/);
  });
  it('names the documents and where the snapshot is kept', () => {
    expect(describeItems(snapshot(true))).toBe('jamf-profile 12');
    expect(snapshotDetail(snapshot(true), undefined)).toMatch(/in memory only; set rollback-seal-key/);
  });
});

describe('record', () => {
  it('a lease covers the validation timeout plus 15 minutes', () => {
    const now = new Date('2026-12-01T14:00:00.000Z');
    expect(lease({ intent: intent(), run: RUN }, now)).toEqual({ run: RUN, until: '2026-12-01T14:25:00.000Z' });
  });
  it('taking over: the run whose commit lands goes on, a lost race is false, other errors throw', async () => {
    const journal = (e?: Error) => ({ commit: async () => (e ? Promise.reject(e) : undefined) }) as unknown as Journal;
    const change = { events: [event('claim', 'ok', '')] };
    expect(await takeOver(journal(), change)).toBe(true);
    expect(await takeOver(journal(new StaleWriteError('moved')), change)).toBe(false);
    await expect(takeOver(journal(new Error('boom')), change)).rejects.toThrow('boom');
  });
  it('optional events', () => {
    expect(eventsIf(0, event('hold', 'info', 'x'))).toEqual([]);
    expect(eventsIf(2, event('hold', 'info', 'x'))).toEqual([{ step: 'hold', outcome: 'info', detail: 'x' }]);
  });
});

describe('revoke: through the live-state guard', () => {
  const deps = (keys: ApiKey[], delivered: string) => {
    const revoked: string[] = [];
    return {
      revoked,
      d: {
        intent: intent(),
        thoth: {
          listKeys: async () => keys,
          listEndpoints: async () => [],
          revokeKey: async (id: string) => (revoked.push(id), 'revoked' as const),
        },
        mdm: { readConfig: async () => ({ keyId: new ReadValue(delivered, 'THOTH_API_KEY_ID') }) },
      } as unknown as Parameters<typeof tryRevoke>[0],
    };
  };
  const row = (keyId: string): ApiKey => ({ keyId, scopeLevel: 'fleet', scopeTargetId: 'flt-a', active: true });
  it('revokes a key the configuration does not deliver', async () => {
    const f = deps([row('k-new')], 'k-old');
    expect(await tryRevoke(f.d, 'k-new')).toBeUndefined();
    expect(f.revoked).toEqual(['k-new']);
    expect(newKeyRevocationEvents(undefined, 'revoked k-new')).toEqual([
      { step: 'revoke-new-key', outcome: 'ok', detail: 'revoked k-new' },
    ]);
  });
  it('returns the refusal for the delivered key, and records it instead', async () => {
    const f = deps([row('k-new')], 'k-new');
    const refusal = await tryRevoke(f.d, 'k-new');
    expect(refusal).toBeInstanceOf(RevocationRefused);
    expect(f.revoked).toEqual([]);
    expect(newKeyRevocationEvents(refusal, 'unused')[0]).toMatchObject({ step: 'revoke-refused', outcome: 'failed' });
  });
});
