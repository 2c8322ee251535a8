import { describe, expect, it } from 'vitest';
import type { ApiKey, ThothApi, ThothEndpoint } from '../../src/clients/thoth.js';
import type { Intent } from '../../src/intent/types.js';
import type { ConfigSnapshot, MdmProvider } from '../../src/mdm/provider.js';
import {
  decideRevocation,
  readLiveKeyState,
  revokeChecked,
  RevocationRefused,
  type GuardScope,
  type LiveKeyState,
} from '../../src/revocation/guard.js';
import { ReadValue } from '../../src/mdm/read-value.js';

const FLEET = 'flt-corpsec-macos';
const NAME = 'thoth-rotate acme-corp/thoth-rotations flt-corpsec-macos/corpsec run 1.1';
const row = (keyId: string, scopeLevel: string, scopeTargetId: string, extra: Partial<ApiKey> = {}): ApiKey => ({
  keyId,
  name: NAME,
  scopeLevel,
  scopeTargetId,
  active: true,
  ...extra,
});

const KEYS: ApiKey[] = [
  row('key_fleet', 'fleet', FLEET),
  row('key_delivered', 'fleet', FLEET),
  row('key_other_fleet', 'fleet', 'flt-globex-windows'),
  row('key_prefix_fleet', 'fleet', `${FLEET}-2`),
  row('key_own_endpoint', 'endpoint', 'mbp-naomi-01'),
  row('key_fleet_endpoint', 'endpoint', 'mbp-amos-02'),
  row('key_foreign_endpoint', 'endpoint', 'win-globex-07'),
  row('key_unlisted_endpoint', 'endpoint', 'mbp-unknown-09'),
  row('key_org', 'organization', ''),
  row('key_agent', 'agent', 'agent-7'),
  row('key_noscope', '', '', { scopeLevel: undefined, scopeTargetId: undefined }),
  row('key_inactive_foreign', 'fleet', 'flt-globex-windows', { active: false }),
  row('key_expired', 'fleet', FLEET, { active: false }),
];
const ENDPOINTS = new Map([
  ['mbp-naomi-01', FLEET],
  ['mbp-amos-02', FLEET],
  ['win-globex-07', 'flt-globex-windows'],
]);
const LIVE: LiveKeyState = { keys: KEYS, deliveredKeyId: 'key_delivered', endpointFleet: ENDPOINTS };
const FLEET_INTENT: GuardScope = { fleetId: FLEET };
const ENDPOINT_INTENT: GuardScope = { fleetId: FLEET, endpointId: 'mbp-naomi-01' };

describe('decideRevocation (pure)', () => {
  const cases: {
    name: string;
    key: string;
    scope?: GuardScope;
    live?: LiveKeyState;
    kind: 'revoke' | 'gone' | 'refuse';
    why?: RegExp;
  }[] = [
    { name: "a fleet key of the intent's fleet, not delivered", key: 'key_fleet', kind: 'revoke' },
    { name: 'the delivered key', key: 'key_delivered', kind: 'refuse', why: /MDM configuration delivers it now/ },
    {
      name: 'the delivered key, allowed for an emergency revocation without replacement',
      key: 'key_delivered',
      scope: { ...FLEET_INTENT, deliveredAllowed: 'key_delivered' },
      kind: 'revoke',
    },
    {
      name: 'the allowance names one key only',
      key: 'key_delivered',
      scope: { ...FLEET_INTENT, deliveredAllowed: 'key_fleet' },
      kind: 'refuse',
      why: /delivers it now/,
    },
    {
      name: "another fleet's key",
      key: 'key_other_fleet',
      kind: 'refuse',
      why: /scoped to fleet flt-globex-windows, not to this intent's fleet flt-corpsec-macos/,
    },
    {
      name: 'a fleet whose id starts with this one',
      key: 'key_prefix_fleet',
      kind: 'refuse',
      why: /scoped to fleet flt-corpsec-macos-2,/,
    },
    {
      name: "another fleet's key that the configuration delivers: both reasons",
      key: 'key_other_fleet',
      live: { ...LIVE, deliveredKeyId: 'key_other_fleet' },
      kind: 'refuse',
      why: /flt-globex-windows.*; and the MDM configuration delivers it/,
    },
    {
      name: "the endpoint intent's own endpoint key, without a listing",
      key: 'key_own_endpoint',
      scope: ENDPOINT_INTENT,
      live: { ...LIVE, endpointFleet: undefined },
      kind: 'revoke',
    },
    {
      name: 'an endpoint key whose endpoint the listing places in the fleet',
      key: 'key_fleet_endpoint',
      kind: 'revoke',
    },
    {
      name: 'an endpoint key of an endpoint in another fleet',
      key: 'key_foreign_endpoint',
      kind: 'refuse',
      why: /endpoint win-globex-07, which belongs to fleet flt-globex-windows/,
    },
    {
      name: 'an endpoint key of an endpoint no listing places',
      key: 'key_unlisted_endpoint',
      kind: 'refuse',
      why: /endpoint mbp-unknown-09, which the endpoint listing does not place in flt-corpsec-macos/,
    },
    {
      name: 'an endpoint key when no listing was read',
      key: 'key_fleet_endpoint',
      live: { ...LIVE, endpointFleet: undefined },
      kind: 'refuse',
      why: /does not place/,
    },
    {
      name: "an endpoint key of the fleet for a fleet intent (revoke mode's rule)",
      key: 'key_own_endpoint',
      kind: 'revoke',
    },
    {
      name: 'an organization key with the same name',
      key: 'key_org',
      kind: 'refuse',
      why: /organization-scoped, not as a key of this intent's fleet/,
    },
    { name: 'an agent key', key: 'key_agent', kind: 'refuse', why: /agent-scoped \(agent-7\)/ },
    { name: 'a key listed without scope', key: 'key_noscope', kind: 'refuse', why: /having no scope/ },
    { name: 'a key not listed (already revoked, or not of this tenant)', key: 'key_missing', kind: 'gone' },
    { name: "an inactive key, even another fleet's", key: 'key_inactive_foreign', kind: 'gone' },
    { name: 'an expired key of the fleet', key: 'key_expired', kind: 'gone' },
  ];
  it.each(cases)('$name → $kind', ({ key, scope, live, kind, why }) => {
    const d = decideRevocation(key, scope ?? FLEET_INTENT, live ?? LIVE);
    expect(d.kind).toBe(kind);
    if (why) expect(d.kind === 'refuse' ? d.why : '').toMatch(why);
  });
});

/** A control plane and an MDM that count what they are asked. */
function fakes(keys: ApiKey[], delivered: string | undefined, endpoints: ThothEndpoint[] = []) {
  const calls = { listKeys: 0, readConfig: 0, listEndpoints: 0, revoked: [] as string[] };
  const thoth = {
    listKeys: async () => (calls.listKeys++, keys),
    listEndpoints: async () => (calls.listEndpoints++, endpoints),
    revokeKey: async (id: string) => (calls.revoked.push(id), 'revoked' as const),
  } as unknown as ThothApi;
  const mdm = {
    readConfig: async () => (
      calls.readConfig++,
      {
        items: [],
        keyId: delivered === undefined ? undefined : new ReadValue(delivered, 'THOTH_API_KEY_ID'),
        apiKey: undefined,
        revokedKeyIds: [],
      } satisfies ConfigSnapshot
    ),
  } as unknown as MdmProvider;
  const intent = (endpointId?: string) =>
    ({
      fleet: { id: FLEET, region: 'us-east-1' },
      key: { scope: endpointId ? 'endpoint' : 'fleet', permissions: ['read'], ...(endpointId ? { endpointId } : {}) },
    }) as unknown as Intent;
  return { calls, deps: (endpointId?: string) => ({ intent: intent(endpointId), thoth, mdm }) };
}

describe('revokeChecked: the reads and the DELETEs', () => {
  it('one key list and one configuration read per batch, then a DELETE per key that passes', async () => {
    const f = fakes(KEYS, 'key_delivered');
    const done = await revokeChecked(f.deps(), ['key_fleet', 'key_expired', 'key_missing']);
    expect(done).toEqual([
      { keyId: 'key_fleet', result: 'revoked' },
      { keyId: 'key_expired', result: 'already-gone' },
      { keyId: 'key_missing', result: 'already-gone' },
    ]);
    expect(f.calls).toEqual({ listKeys: 1, readConfig: 1, listEndpoints: 0, revoked: ['key_fleet'] });
  });

  it('any refusal: no DELETE at all, and the error names each refused key and why', async () => {
    const f = fakes(KEYS, 'key_delivered');
    const e = await revokeChecked(f.deps(), ['key_fleet', 'key_other_fleet', 'key_delivered']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RevocationRefused);
    expect(f.calls.revoked).toEqual([]);
    const refused = e as RevocationRefused;
    expect(refused.refusals.map((r) => r.keyId)).toEqual(['key_other_fleet', 'key_delivered']);
    expect(refused.message).toMatch(
      /^not revoked: key_other_fleet: .*flt-globex-windows.*; key_delivered: the MDM configuration delivers it now/,
    );
    expect(refused.events()).toEqual([
      { step: 'revoke-refused', outcome: 'failed', detail: expect.stringMatching(/^key_other_fleet not revoked: /) },
      { step: 'revoke-refused', outcome: 'failed', detail: expect.stringMatching(/^key_delivered not revoked: /) },
    ]);
  });

  it('reads this step already made are reused, not repeated', async () => {
    const f = fakes(KEYS, 'key_fleet');
    await revokeChecked(f.deps(), ['key_fleet'], { known: { keys: KEYS, delivered: { keyId: 'key_delivered' } } });
    expect(f.calls).toEqual({ listKeys: 0, readConfig: 0, listEndpoints: 0, revoked: ['key_fleet'] });
  });

  it('a known "no key delivered" is used as such (not read again)', async () => {
    const f = fakes(KEYS, 'key_fleet');
    await revokeChecked(f.deps(), ['key_fleet'], { known: { delivered: { keyId: undefined } } });
    expect(f.calls).toMatchObject({ listKeys: 1, readConfig: 0, revoked: ['key_fleet'] });
  });

  it("the endpoint listing is read only for an endpoint key other than the intent's own", async () => {
    const endpoints: ThothEndpoint[] = [
      { endpointId: 'mbp-amos-02', hostname: 'mbp-amos-02' },
      { endpointId: 'win-globex-07', hostname: 'w', fleetId: 'flt-globex-windows' },
    ];
    const own = fakes(KEYS, 'key_delivered', endpoints);
    await revokeChecked(own.deps('mbp-naomi-01'), ['key_own_endpoint', 'key_fleet']);
    expect(own.calls.listEndpoints).toBe(0);

    const other = fakes(KEYS, 'key_delivered', endpoints);
    await revokeChecked(other.deps('mbp-naomi-01'), ['key_fleet_endpoint']);
    expect(other.calls).toMatchObject({ listEndpoints: 1, revoked: ['key_fleet_endpoint'] });

    const foreign = fakes(KEYS, 'key_delivered', endpoints);
    await expect(revokeChecked(foreign.deps(), ['key_foreign_endpoint'])).rejects.toThrow(
      /belongs to fleet flt-globex-windows/,
    );
    expect(foreign.calls.revoked).toEqual([]);
  });

  it('an empty batch reads nothing', async () => {
    const f = fakes(KEYS, 'key_delivered');
    expect(await revokeChecked(f.deps(), [])).toEqual([]);
    expect(f.calls).toEqual({ listKeys: 0, readConfig: 0, listEndpoints: 0, revoked: [] });
  });

  it('readLiveKeyState reads the two sources in parallel', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = async <T>(v: T): Promise<T> => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return v;
    };
    const d = {
      intent: { fleet: { id: FLEET }, key: {} } as unknown as Intent,
      thoth: { listKeys: () => slow(KEYS) } as unknown as ThothApi,
      mdm: {
        readConfig: () => slow({ items: [], keyId: 'key_delivered', apiKey: undefined, revokedKeyIds: [] }),
      } as unknown as MdmProvider,
    };
    expect((await readLiveKeyState(d, ['key_fleet'])).deliveredKeyId).toBe('key_delivered');
    expect(peak).toBe(2);
  });
});
