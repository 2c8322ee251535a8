/**
 * JamfProvider.writeConfig / restoreConfig are done only when Jamf serves what was written: a
 * profile that reads back with another key id (a PUT that did not take, a lagging node) or
 * without the revoked ids throws, so the rotation never records `deployed` on a write it has
 * not seen. A fake JamfApi whose GET can be made to lag behind its PUT.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { JamfProvider } = await import('../../src/mdm/jamf-provider.js');
const { SecretValue } = await import('../../src/secret-value.js');
const { writeManagedSettings } = await import('../../src/mdm/mobileconfig.js');
type JamfApi = import('../../src/clients/jamf.js').JamfApi;

const FIXTURE = readFileSync(new URL('../fixtures/mobileconfig/thoth.mobileconfig', import.meta.url), 'utf8');
const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};

/** A profile store; `lag` makes GET serve the profile as it was before the last PUT. */
function fakeJamf(opts: { lag?: boolean; dropRevoked?: boolean } = {}) {
  let current = FIXTURE;
  let previous = FIXTURE;
  const calls: string[] = [];
  const api = {
    getProfile: vi.fn(
      async (id: number) => (calls.push('GET'), { id, name: 'Thoth', payloads: opts.lag ? previous : current }),
    ),
    putProfilePayloads: vi.fn(async (_id: number, payloads: string) => {
      calls.push('PUT');
      previous = current;
      // dropRevoked: Jamf keeps the key but loses the revoked list (a partial write).
      current = opts.dropRevoked
        ? writeManagedSettings(payloads, NAMES, {
            apiKey: 'thoth_live_READBACK_new_0001',
            keyId: 'key_new456',
            revokedKeyIds: [],
          })
        : payloads;
    }),
  } as unknown as JamfApi;
  return { api, calls };
}

const target = { url: 'https://jamf.example', profileId: 7, groupId: 9 };
const values = {
  apiKey: new SecretValue('thoth_live_READBACK_new_0001'),
  keyId: 'key_new456',
  revokedKeyIds: ['key_old123'],
};

describe('JamfProvider read-back', () => {
  it('a write that reads back as written: PUT then GET, no error', async () => {
    const { api, calls } = fakeJamf();
    const p = new JamfProvider(api, target, NAMES);
    const before = await p.readConfig();
    await p.writeConfig(before, values);
    expect(calls).toEqual(['GET', 'PUT', 'GET']);
    expect((await p.readConfig()).keyId?.is('key_new456')).toBe(true);
  });

  it('a GET that still serves the old profile fails the write, naming the missing key id', async () => {
    const { api, calls } = fakeJamf({ lag: true });
    const p = new JamfProvider(api, target, NAMES);
    const before = await p.readConfig();
    await expect(p.writeConfig(before, values)).rejects.toThrow(
      /profile 7 did not read back as written \(key id key_new456 not delivered/,
    );
    expect(calls).toEqual(['GET', 'PUT', 'GET']);
  });

  it('a profile that lost the revoked ids fails the write', async () => {
    const { api } = fakeJamf({ dropRevoked: true });
    const p = new JamfProvider(api, target, NAMES);
    const before = await p.readConfig();
    await expect(p.writeConfig(before, values)).rejects.toThrow(/revoked ids missing: key_old123/);
  });

  it('restoreConfig reads back too', async () => {
    const { api, calls } = fakeJamf({ lag: true });
    const p = new JamfProvider(api, target, NAMES);
    const before = await p.readConfig();
    // First PUT (the new key) is not visible yet; the restore's PUT then lags behind it as well.
    await p.writeConfig(before, values).catch(() => undefined);
    await expect(p.restoreConfig(before)).rejects.toThrow(/did not read back as written/);
    expect(calls.slice(-2)).toEqual(['PUT', 'GET']);
  });
});
