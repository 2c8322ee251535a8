/**
 * `abandon` (rotation/rotate.ts) with in-memory fakes behind RunbookDeps: a run that ends on an
 * error revokes a key it minted itself (`newKey.mintedBy`, not a search of event text) unless
 * the configuration delivers it, and always releases its lease.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { Journal } = await import('../../src/evidence/journal.js');
const { abandon } = await import('../../src/rotation/rotate.js');
const { ReadValue } = await import('../../src/mdm/read-value.js');
const { exampleIntent, memoryFiles, RUN } = await import('./evidence-sample.js');
type Intent = import('../../src/intent/types.js').Intent;
type RunbookDeps = import('../../src/runbook/deps.js').RunbookDeps;
type ApiKey = import('../../src/clients/thoth.js').ApiKey;
type RunInfo = import('../../src/evidence/record.js').RunInfo;

let intent: Intent;
beforeAll(async () => {
  intent = await exampleIntent();
  vi.stubEnv('GITHUB_REPOSITORY', 'acme/rotations');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

const now = (): Date => new Date('2026-12-01T14:00:00.000Z');
const OTHER: RunInfo = { ...RUN, id: String(Number(RUN.id) + 1) };

/** A run holding the rotation at `authorized`, its new key minted by `minter`, the MDM delivering `delivered`. */
async function setup(minter: RunInfo | undefined, delivered: string) {
  const journal = await Journal.open(memoryFiles(), 'main', intent, RUN, now);
  await journal.commit({
    base: Journal.genesis(intent),
    state: 'authorized',
    set: {
      oldKey: { keyId: 'k-old' },
      newKey: { keyId: 'k-new', ...(minter ? { mintedBy: { id: minter.id, attempt: minter.attempt } } : {}) },
    },
    lease: { run: RUN, until: '2026-12-01T15:00:00.000Z' },
    events: [{ step: 'claim', outcome: 'ok', detail: 'claimed' }],
  });
  const keys: ApiKey[] = ['k-old', 'k-new'].map((keyId) => ({
    keyId,
    scopeLevel: 'fleet',
    scopeTargetId: intent.fleet.id,
    active: true,
  }));
  const revoked: string[] = [];
  const d = {
    intent,
    journal,
    run: RUN,
    now,
    sleep: async () => undefined,
    log: { info: vi.fn(), warning: vi.fn() },
    thoth: {
      listKeys: async () => keys,
      listEndpoints: async () => [],
      revokeKey: async (id: string) => (revoked.push(id), 'revoked' as const),
    },
    mdm: { readConfig: async () => ({ keyId: new ReadValue(delivered, 'THOTH_API_KEY_ID') }) },
  } as unknown as RunbookDeps;
  return { d, journal, revoked };
}

describe('abandon', () => {
  it('revokes the key this run minted that never reached the MDM, and starts the rotation over', async () => {
    const { d, journal, revoked } = await setup(RUN, 'k-old');
    await abandon(d, new Error('boom'));
    expect(revoked).toEqual(['k-new']);
    const r = journal.record!;
    expect([r.state, r.newKey, r.lease]).toEqual(['pending', undefined, undefined]);
    expect(r.events.slice(-2).map((e) => [e.step, e.outcome])).toEqual([
      ['error', 'failed'],
      ['revoke-new-key', 'ok'],
    ]);
  });

  it('leaves a key another run minted (it may be on devices) and only releases the lease', async () => {
    for (const minter of [OTHER, { ...RUN, attempt: RUN.attempt + 1 }, undefined]) {
      const { d, journal, revoked } = await setup(minter, 'k-old');
      await abandon(d, new Error('boom'));
      expect(revoked).toEqual([]);
      expect([journal.record!.state, journal.record!.newKey?.keyId, journal.record!.lease]).toEqual([
        'authorized',
        'k-new',
        undefined,
      ]);
    }
  });

  it('never revokes the key the configuration delivers', async () => {
    const { d, journal, revoked } = await setup(RUN, 'k-new');
    await abandon(d, new Error('boom'));
    expect(revoked).toEqual([]);
    expect(journal.record!.lease).toBeUndefined();
    expect(journal.record!.events.at(-1)?.step).toBe('error');
  });
});
