/**
 * The pure checks of verify mode (src/verify): each tampering a record or its history can
 * carry, named by the check that finds it. The bundle-level cases are in test/e2e/verify.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  appendEvent,
  serializeRecord,
  withMac,
  type EventStep,
  type EvidenceRecord,
} from '../../src/evidence/record.js';
import { checkHistory, extensionProblem, type ReadVersion } from '../../src/verify/history-check.js';
import {
  controlPlaneProblems,
  deliveredRevocationProblems,
  deliveringRecord,
  fingerprintProblem,
  keyIdsOf,
  unaccountedKeys,
} from '../../src/verify/live-check.js';
import { checkRecord, identityProblems } from '../../src/verify/record-check.js';
import { recordPaths } from '../../src/verify/sources.js';
import { illegalTransitions, legalTransition } from '../../src/verify/transitions.js';
import { exampleIntent, RUN, withEvents } from './evidence-sample.js';

const PATH = '.thoth/evidence/flt-corpsec-macos/corpsec-macos-2026-12.json';
const KEY = Buffer.alloc(32, 7);
const FP = `sha256:${'c'.repeat(64)}`;

const step = (r: EvidenceRecord, change: Partial<EvidenceRecord>, name: EventStep, at: string): EvidenceRecord =>
  appendEvent({ ...r, ...change }, { at, step: name, outcome: 'ok', detail: name, run: RUN });

function completed(): EvidenceRecord {
  const r = step(
    withEvents(),
    {
      state: 'awaiting-revocation',
      oldKey: { keyId: 'key_old' },
      newKey: { keyId: 'key_new', fingerprint: FP },
    },
    'validate',
    '2026-12-01T15:00:00.000Z',
  );
  return step(r, { state: 'completed' }, 'revoke-old-key', '2026-12-02T15:00:00.000Z');
}

describe('checkRecord', () => {
  it('a record as the action writes it has no problems', () => {
    expect(checkRecord(serializeRecord(completed()), PATH, undefined)).toMatchObject({
      state: 'completed',
      problems: [],
    });
  });
  it('names an edited event, an edited field and a broken shape', () => {
    const edited = completed();
    edited.events[1]!.detail = 'edited';
    expect(checkRecord(serializeRecord(edited), PATH, undefined).problems).toEqual([
      expect.stringMatching(/^chain: evidence chain broken at events\[1\]: chain.hash does not match/),
    ]);
    const state = { ...completed(), state: 'failed' as const };
    expect(checkRecord(serializeRecord(state), PATH, undefined)).toMatchObject({
      state: 'failed',
      problems: [expect.stringMatching(/^chain: .*chain.record of the newest event/)],
    });
    expect(checkRecord('{"schema": 3}', PATH, undefined)).toMatchObject({
      state: 'unknown',
      problems: [expect.stringMatching(/^schema: not a thoth-rotate\/evidence\/v2 evidence record/)],
    });
    expect(checkRecord('not json', PATH, undefined).problems).toEqual([
      expect.stringMatching(/^schema: not valid JSON/),
    ]);
  });
  it('with evidence-hmac-key: a missing or foreign MAC is a violation; without it, a MAC is only noted', () => {
    const sealed = serializeRecord(withMac(completed(), KEY));
    expect(checkRecord(sealed, PATH, KEY).problems).toEqual([]);
    expect(checkRecord(sealed, PATH, Buffer.alloc(32, 8)).problems).toEqual([
      expect.stringMatching(/^mac: the mac does not match/),
    ]);
    expect(checkRecord(serializeRecord(completed()), PATH, KEY).problems).toEqual([
      expect.stringMatching(/^mac: the record carries no mac/),
    ]);
    expect(checkRecord(sealed, PATH, undefined)).toMatchObject({
      problems: [],
      notes: [expect.stringMatching(/not checked/)],
    });
  });
  it('timestamps go forward in event order', () => {
    const r = step(completed(), {}, 'validate', '2026-11-30T00:00:00.000Z');
    expect(checkRecord(serializeRecord(r), PATH, undefined).problems).toEqual([
      expect.stringMatching(/^timestamps: events\[8\] \(validate\) at 2026-11-30T00:00:00.000Z is before events\[7\]/),
    ]);
  });
  it('a completed record must name its new key; a revoked one its revoked keys', () => {
    const { newKey: _n, ...rest } = completed();
    const r = step(rest as EvidenceRecord, {}, 'refresh', '2026-12-03T00:00:00.000Z');
    expect(checkRecord(serializeRecord(r), PATH, undefined).problems).toEqual([
      'transitions: the record is completed but names no new key',
    ]);
  });
});

describe('identityProblems', () => {
  it('a record lives at its own path, a cycle in its policy folder, a moved-aside record next to it', () => {
    const r = completed();
    expect(identityProblems(r, PATH, undefined)).toEqual([]);
    expect(
      identityProblems(r, '.thoth/evidence/flt-corpsec-macos/corpsec-macos-2026-12/20261201T140000Z.json', undefined),
    ).toEqual([]);
    expect(identityProblems(r, '.thoth/evidence/flt-corpsec-macos/corpsec-macos-2026-12.v1.json', undefined)).toEqual(
      [],
    );
    expect(identityProblems(r, '.thoth/evidence/flt-corpsec-macos/other-rotation.json', undefined)).toEqual([
      'identity: the record is of flt-corpsec-macos/corpsec-macos-2026-12, which does not live at this path (copied from another rotation?)',
    ]);
  });
  it('and is the evidence of the intent that owns the path', async () => {
    const intent = await exampleIntent();
    const r = { ...completed(), intent: { path: intent.path, sha256: 'b'.repeat(64) }, tenant: intent.tenant };
    expect(identityProblems(r, intent.evidencePath, intent)).toEqual([]);
    expect(identityProblems({ ...r, tenant: 'globex' }, intent.evidencePath, intent)).toEqual([
      expect.stringMatching(/^identity: tenant "globex" \(the intent has "acme"\)/),
    ]);
  });
});

describe('transitions', () => {
  it('forward on the path, back to pending only before deployment, off the path from any rotation in flight', () => {
    expect(legalTransition('pending', 'deployed')).toBe(true);
    expect(legalTransition('authorized', 'pending')).toBe(true);
    expect(legalTransition('deployed', 'pending')).toBe(false);
    expect(legalTransition('refreshed', 'rolled-back')).toBe(true);
    expect(legalTransition('completed', 'revoked')).toBe(true);
    expect(legalTransition('completed', 'awaiting-revocation')).toBe(false);
    expect(legalTransition('rolled-back', 'completed')).toBe(false);
    expect(legalTransition('validated', 'refreshed')).toBe(false);
  });
  it('names the commit of each illegal step', () => {
    expect(
      illegalTransitions([
        { state: 'pending', commit: 'a'.repeat(40) },
        { state: 'completed', commit: 'b'.repeat(40) },
        { state: 'deployed', commit: 'c'.repeat(40) },
      ]),
    ).toEqual([
      `completed → deployed (commit ${'c'.repeat(12)} after ${'b'.repeat(12)}) is not a transition a rotation makes`,
    ]);
  });
});

describe('checkHistory', () => {
  const versions = (...rs: (EvidenceRecord | 'deleted' | 'broken')[]): ReadVersion[] =>
    rs.map((r, i) => {
      const commit = String(i).repeat(40);
      if (r === 'deleted') return { commit, deleted: true };
      if (r === 'broken') return { commit, deleted: false, invalid: 'chain broken' };
      return { commit, deleted: false, record: r };
    });
  const v3 = withEvents(3);
  const v6 = withEvents(6);

  it('versions that only append verify, and give the states in order', () => {
    const h = checkHistory(versions(withEvents(1), v3, v6, v6));
    expect(h.problems).toEqual([]);
    expect(h.states.map((s) => s.state)).toEqual(['pending', 'authorized', 'refreshed', 'refreshed']);
  });
  it('events dropped: the file was put back to an earlier state', () => {
    expect(checkHistory(versions(v3, v6, v3)).problems).toEqual([
      expect.stringMatching(
        /^history: the version committed at 2{12} does not extend the one at 1{12}: 3 event\(s\) removed, the newest being refresh/,
      ),
    ]);
  });
  it('an event changed in an earlier version (a rewritten history)', () => {
    const forged = appendEvent(withEvents(2), {
      at: '2026-12-01T14:02:00.000Z',
      step: 'authorize',
      outcome: 'ok',
      detail: 'other',
      run: RUN,
    });
    expect(extensionProblem(forged, v6)).toMatch(
      /^events\[2\] \(authorize at 2026-12-01T14:02:00.000Z\) was changed or replaced/,
    );
  });
  it('a broken version later repaired from history, and a deletion that starts a new record, are notes', () => {
    const h = checkHistory(versions(v3, 'broken', v6, 'deleted', withEvents(1)));
    expect(h.problems).toEqual([]);
    expect(h.notes).toEqual([
      expect.stringMatching(/did not verify \(chain broken\)/),
      expect.stringMatching(/deleted at commit 3{12}; what follows is a new record/),
    ]);
    expect(h.states.map((s) => s.state)).toEqual(['pending']);
  });
});

describe('live state', () => {
  const active = (id: string, extra = {}) => ({ keyId: id, active: true, ...extra });
  it('completed: old key revoked, new key active unless a later record replaced it', () => {
    const r = completed();
    expect(controlPlaneProblems(r, [active('key_new')], () => false)).toEqual([]);
    expect(controlPlaneProblems(r, [active('key_new'), active('key_old')], () => false)).toEqual([
      'live: the rotation is completed but its old key key_old is still active',
    ]);
    expect(controlPlaneProblems(r, [{ keyId: 'key_new', active: false }], () => false)).toEqual([
      'live: its new key key_new is not active, and no later record replaced it',
    ]);
    expect(controlPlaneProblems(r, [], (id) => id === 'key_new')).toEqual([]);
  });
  it('revoked: ids revoked in the control plane and listed by the MDM', () => {
    const r = step(
      completed(),
      { state: 'revoked', revokedKeys: [{ keyId: 'key_leak' }] },
      'revoke-key',
      '2026-12-03T00:00:00.000Z',
    );
    expect(controlPlaneProblems(r, [active('key_new'), active('key_leak')], () => false)).toEqual([
      'live: revoked key key_leak is still active',
    ]);
    expect(deliveredRevocationProblems(r, { fingerprint: FP, listsRevoked: () => false })).toEqual([
      'live: revoked key key_leak is not in the revoked-ids list the MDM configuration delivers',
    ]);
    expect(deliveredRevocationProblems(r, { fingerprint: FP, listsRevoked: (id) => id === 'key_leak' })).toEqual([]);
  });
  it('the delivered key is compared with the newest finished rotation, not while one is in flight', () => {
    const done = { path: 'a.json', record: completed() };
    const flying = { path: 'b.json', record: step(withEvents(), {}, 'window-check', '2026-12-09T00:00:00.000Z') };
    expect(deliveringRecord([done])).toBe(done);
    expect(deliveringRecord([done, flying])).toEqual({ skipped: 'the newest rotation (b.json) is refreshed' });
    expect(fingerprintProblem(done.record, { fingerprint: FP, listsRevoked: () => false })).toBeUndefined();
    expect(
      fingerprintProblem(done.record, { fingerprint: `sha256:${'d'.repeat(64)}`, listsRevoked: () => false }),
    ).toMatch(/^live: the key the MDM configuration delivers does not have the fingerprint of new key key_new/);
    expect(fingerprintProblem(done.record, { fingerprint: undefined, listsRevoked: () => false })).toMatch(
      /delivers no key/,
    );
  });
  it('hygiene: active keys of managed fleets and endpoints that no record names', () => {
    const keys = [
      active('key_old'),
      active('key_stray', { scopeLevel: 'fleet', scopeTargetId: 'flt-a', name: 'by hand' }),
      active('key_ep', { scopeLevel: 'endpoint', scopeTargetId: 'ep-1' }),
      active('key_other_fleet', { scopeLevel: 'fleet', scopeTargetId: 'flt-b' }),
      { keyId: 'key_dead', active: false, scopeLevel: 'fleet', scopeTargetId: 'flt-a' },
      active('key_org', { scopeLevel: 'organization', scopeTargetId: '' }),
    ].map((k) => ({ scopeLevel: 'fleet', scopeTargetId: 'flt-a', ...k }));
    const found = unaccountedKeys(
      keys,
      { fleets: new Set(['flt-a']), endpoints: new Set(['ep-1']) },
      new Set(keyIdsOf(completed())),
    );
    expect(found.map((k) => k.keyId)).toEqual(['key_stray', 'key_ep']);
    expect(found[0]).toEqual({ keyId: 'key_stray', name: 'by hand', scope: 'fleet', target: 'flt-a', createdAt: null });
  });
});

describe('recordPaths', () => {
  it('records and recurring cycles, nothing deeper, nothing but JSON', () => {
    expect(
      recordPaths('.thoth/evidence/', [
        '.thoth/evidence/flt-a/one.json',
        '.thoth/evidence/flt-a/policy/20261201T140000Z.json',
        '.thoth/evidence/flt-a/policy/x/deep.json',
        '.thoth/evidence/flt-a/notes.md',
        '.thoth/evidence/top.json',
        '.thoth/evidence-other/flt-a/x.json',
      ]),
    ).toEqual(['.thoth/evidence/flt-a/one.json', '.thoth/evidence/flt-a/policy/20261201T140000Z.json']);
  });
});
