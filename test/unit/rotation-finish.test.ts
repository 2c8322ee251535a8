/**
 * Runbook step 7 of the planned rotation (rotation/finish.ts `revokeOldKey`) with in-memory
 * fakes behind RunbookDeps: after the window it validates again, and revokes the old key only
 * when validation still holds and the live-state guard lets it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { Journal } = await import('../../src/evidence/journal.js');
const { revokeOldKey } = await import('../../src/rotation/finish.js');
const { ReadValue } = await import('../../src/mdm/read-value.js');
const { exampleIntent, memoryFiles, RUN } = await import('./evidence-sample.js');
type Intent = import('../../src/intent/types.js').Intent;
type RunbookDeps = import('../../src/runbook/deps.js').RunbookDeps;
type ApiKey = import('../../src/clients/thoth.js').ApiKey;
type ThothEndpoint = import('../../src/clients/thoth.js').ThothEndpoint;

let intent: Intent;
beforeAll(async () => {
  intent = await exampleIntent();
  vi.stubEnv('GITHUB_REPOSITORY', 'acme/rotations');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

const REFRESHED = new Date('2026-12-01T14:00:00.000Z');
const NOW = new Date('2026-12-02T15:00:00.000Z');
const HOSTS = ['mbp-1', 'mbp-2', 'mbp-3'];

/**
 * A rotation awaiting revocation. `onNew`: how many of the three endpoints report the new key
 * since the refresh; `delivered`: the key the configuration delivers now.
 */
async function setup(o: { onNew: number; delivered: string }) {
  const journal = await Journal.open(memoryFiles(), 'main', intent, RUN, () => NOW);
  await journal.commit({
    base: Journal.genesis(intent),
    state: 'awaiting-revocation',
    set: {
      oldKey: { keyId: 'k-old' },
      newKey: { keyId: 'k-new' },
      refreshSentAt: REFRESHED.toISOString(),
      validatedAt: '2026-12-01T14:20:00.000Z',
    },
    events: [{ step: 'schedule-revocation', outcome: 'waiting', detail: '' }],
  });
  const keys: ApiKey[] = ['k-old', 'k-new'].map((keyId) => ({
    keyId,
    scopeLevel: 'fleet',
    scopeTargetId: intent.fleet.id,
    active: true,
  }));
  const endpoints: ThothEndpoint[] = HOSTS.map((hostname, i) => ({
    endpointId: `ep-${i}`,
    hostname,
    keyId: i < o.onNew ? 'k-new' : 'k-old',
    lastSeen: NOW.getTime() - 60_000,
  }));
  const d = {
    intent,
    journal,
    run: RUN,
    now: () => NOW,
    sleep: async () => undefined,
    log: { info: vi.fn(), warning: vi.fn() },
    thoth: {
      listKeys: async () => keys,
      listEndpoints: async () => endpoints,
      revokeKey: async (id: string) => {
        const k = keys.findIndex((x) => x.keyId === id);
        keys[k] = { ...keys[k]!, active: false };
        return 'revoked' as const;
      },
    },
    mdm: {
      members: async () => HOSTS.map((name, i) => ({ mdmId: `d${i}`, refreshId: `r${i}`, name })),
      observe: async () => [],
      readConfig: async () => ({ keyId: new ReadValue(o.delivered, 'THOTH_API_KEY_ID') }),
    },
  } as unknown as RunbookDeps;
  return { d, journal, keys };
}

describe('revokeOldKey', () => {
  it('validation still holds: the old key is revoked, confirmed inactive, the rotation completed', async () => {
    const { d, journal, keys } = await setup({ onNew: 3, delivered: 'k-new' });
    const out = await revokeOldKey(d);
    expect(out.status).toBe('completed');
    expect(keys.find((k) => k.keyId === 'k-old')?.active).toBe(false);
    expect(journal.record!.state).toBe('completed');
    expect(journal.record!.revokedKeys).toEqual([{ keyId: 'k-old' }]);
    expect(journal.record!.events.slice(-3).map((e) => e.step)).toEqual([
      'revalidate',
      'revoke-old-key',
      'confirm-revocation',
    ]);
  });

  it('validation no longer holds: the old key is kept and the run fails', async () => {
    const { d, journal, keys } = await setup({ onNew: 2, delivered: 'k-new' });
    const out = await revokeOldKey(d);
    expect(out.status).toBe('failed');
    expect(keys.every((k) => k.active)).toBe(true);
    expect(journal.record!.state).toBe('awaiting-revocation');
    expect(journal.record!.events.at(-1)).toMatchObject({ step: 'revalidate', outcome: 'failed' });
  });

  it('the configuration still delivers the old key: the guard refuses, nothing is revoked', async () => {
    const { d, journal, keys } = await setup({ onNew: 3, delivered: 'k-old' });
    const out = await revokeOldKey(d);
    expect(out.status).toBe('failed');
    expect(keys.every((k) => k.active)).toBe(true);
    expect(journal.record!.events.at(-1)).toMatchObject({ step: 'revoke-refused', outcome: 'failed' });
    expect(journal.record!.lease).toBeUndefined();
  });
});
