import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/evidence/record.js';
import { ConfigSplitError, mergeReadValues, type DocumentRead } from '../../src/mdm/provider.js';
import { ReadValue } from '../../src/mdm/read-value.js';
import { unfinishedDeployment } from '../../src/rotation/finish-deploy.js';
import { SecretValue } from '../../src/secret-value.js';

const NEW_KEY = 'thoth_live_NEWplaintextKeyMaterial000000001';
const NEW = { keyId: 'key_new', fingerprint: fingerprint(NEW_KEY) };
const OLD = 'key_old';

function doc(kind: 'intune-macos' | 'intune-windows', keyId: string | undefined, apiKey?: string): DocumentRead {
  return {
    item: { kind, id: `${kind}-1`, raw: '' },
    keyId: keyId === undefined ? undefined : new ReadValue(keyId, 'THOTH_API_KEY_ID'),
    ...(apiKey ? { apiKey: new SecretValue(apiKey) } : {}),
    revokedKeyIds: [new ReadValue(`key_revoked_${kind}`, 'THOTH_REVOKED_API_KEY_IDS')],
  };
}

describe('unfinishedDeployment: a split between documents read against the record', () => {
  it('one document on the new key (its text the minted key), the rest on the old key: finish writing the rest', () => {
    const mac = doc('intune-macos', 'key_new', NEW_KEY);
    const win = doc('intune-windows', OLD, 'thoth_live_OLD');
    const plan = unfinishedDeployment([mac, win], NEW, OLD);
    expect(typeof plan).toBe('object');
    if (typeof plan !== 'object') return;
    expect(plan.carrying).toEqual([mac]);
    expect(plan.remaining).toEqual([win]);
    expect(plan.apiKey.reveal()).toBe(NEW_KEY);
    // Both documents' revoked lists are kept.
    expect(plan.revokedKeyIds.map((r) => r.toMdm())).toEqual([
      'key_revoked_intune-macos',
      'key_revoked_intune-windows',
    ]);
  });

  it('no document on the new key: not this rotation’s deployment (the caller keeps the split error)', () => {
    expect(
      unfinishedDeployment([doc('intune-macos', OLD, 'x'), doc('intune-windows', 'key_other', 'y')], NEW, OLD),
    ).toBeUndefined();
  });

  it('the other document holds a key neither old nor new (or none): stop, naming documents and recorded ids only', () => {
    for (const other of ['thoth_live_SOMEONE_ELSES_VALUE', undefined]) {
      const problem = unfinishedDeployment(
        [doc('intune-macos', 'key_new', NEW_KEY), doc('intune-windows', other, 'thoth_live_Z')],
        NEW,
        OLD,
      );
      expect(problem).toMatch(
        /MDM configurations disagree on the deployed key id: intune-macos intune-macos-1 carries this rotation's new key key_new, but intune-windows intune-windows-1 carries neither it nor the old key key_old/,
      );
      expect(problem).not.toContain('SOMEONE_ELSES');
    }
    // No old key recorded: nothing can be called "the old key".
    expect(
      unfinishedDeployment([doc('intune-macos', 'key_new', NEW_KEY), doc('intune-windows', OLD, 'x')], NEW, undefined),
    ).toMatch(/neither it nor the old key \(none recorded\)/);
  });

  it('the key text next to the new key id is not the minted key (fingerprint differs, or none recorded): stop', () => {
    const reads = [doc('intune-macos', 'key_new', 'thoth_live_NOT_THE_MINTED_KEY'), doc('intune-windows', OLD, 'x')];
    const problem = unfinishedDeployment(reads, NEW, OLD);
    expect(problem).toMatch(/not the api key minted as key_new/);
    expect(problem).not.toContain('NOT_THE_MINTED');
    expect(unfinishedDeployment([doc('intune-macos', 'key_new'), doc('intune-windows', OLD, 'x')], NEW, OLD)).toMatch(
      /not the api key minted as key_new/,
    );
    expect(
      unfinishedDeployment(
        [doc('intune-macos', 'key_new', NEW_KEY), doc('intune-windows', OLD)],
        { keyId: 'key_new' },
        OLD,
      ),
    ).toMatch(/not the api key minted as key_new/);
  });

  it('mergeReadValues throws the split with every read, for the run that takes over', () => {
    const reads = [doc('intune-macos', 'key_new', NEW_KEY), doc('intune-windows', OLD, 'x')];
    let err: unknown;
    try {
      mergeReadValues(reads);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigSplitError);
    expect((err as ConfigSplitError).reads).toEqual(reads);
  });
});
