/**
 * Journal: a record is loaded only when it verifies and is this intent's; every commit adds
 * an event that commits to the record's fields, and is sealed with evidence-hmac-key.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { Journal } = await import('../../src/evidence/journal.js');
const { appendEvent, EvidenceError, parseRecord, serializeRecord, verifyChain } = await import(
  '../../src/evidence/record.js'
);
const { pinTarget } = await import('../../src/evidence/pinning.js');
const { registerSecret } = await import('../../src/secrets.js');
const { exampleIntent, memoryFiles, RUN, v1Record } = await import('./evidence-sample.js');
type Intent = import('../../src/intent/types.js').Intent;
type RepoFiles = import('../../src/clients/github-contents.js').RepoFiles;

let intent: Intent;
beforeAll(async () => {
  intent = await exampleIntent();
});

const now = (): Date => new Date('2026-12-01T14:00:00.000Z');
const open = (files: RepoFiles, opts: { macKey?: Buffer; readOnly?: boolean } = {}, i: Intent = intent) =>
  Journal.open(files, 'main', i, RUN, now, opts);
const claim = async (files: RepoFiles, opts: { macKey?: Buffer } = {}) => {
  const j = await open(files, opts);
  await j.commit({
    base: Journal.genesis(intent),
    state: 'pending',
    lease: { run: RUN, until: '2026-12-01T15:00:00.000Z' },
    events: [{ step: 'claim', outcome: 'ok', detail: 'claimed' }],
  });
  return j;
};
const stored = (files: ReturnType<typeof memoryFiles>) =>
  parseRecord(files.files.get(intent.evidencePath)!.text, intent.evidencePath);
const put = (files: ReturnType<typeof memoryFiles>, text: string) =>
  files.files.set(intent.evidencePath, { text, sha: 'forged' });

describe('Journal.commit', () => {
  it('creates a v2 record that pins the target and verifies', async () => {
    const files = memoryFiles();
    await claim(files);
    const r = stored(files);
    expect(r.schema).toBe('thoth-rotate/evidence/v2');
    expect(r.target).toEqual(pinTarget(intent));
    expect(r.target?.mdm.jamf).toEqual({
      url: 'https://acme.jamfcloud.com',
      profileId: 123,
      groupId: 45,
      healthAttribute: 'Thoth Health',
    });
    expect(r.target?.validation).toEqual({ minHealthy: 0.95, activeWithinMs: 7 * 86_400_000, windowMs: 86_400_000 });
    expect(r.lease?.run.id).toBe(RUN.id);
    expect(verifyChain(r)).toEqual({ ok: true });
  });

  it('refuses a commit without an event (a lease-only change would be outside the chain)', async () => {
    const files = memoryFiles();
    const j = await claim(files);
    await expect(j.commit({ lease: null, events: [] })).rejects.toThrow(/at least one event/);
    expect(files.writes).toBe(1);
  });

  it('scrubs secrets from top-level fields before the chain commits to them', async () => {
    registerSecret('thoth_live_TOPLEVEL_leak_456');
    const files = memoryFiles();
    const j = await claim(files);
    await j.commit({
      set: { reason: 'rotated thoth_live_TOPLEVEL_leak_456' },
      events: [{ step: 'reconcile', outcome: 'info', detail: '' }],
    });
    const text = files.files.get(intent.evidencePath)!.text;
    expect(text).not.toContain('thoth_live_TOPLEVEL_leak_456');
    expect(parseRecord(text, 'e.json').reason).toBe('rotated ***');
  });

  it('seals every commit with evidence-hmac-key', async () => {
    const key = randomBytes(32);
    const files = memoryFiles();
    const j = await claim(files, { macKey: key });
    await j.commit({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: '' }] });
    expect(() => parseRecord(files.files.get(intent.evidencePath)!.text, 'e.json', { macKey: key })).not.toThrow();
    expect((await open(files, { macKey: key })).record?.state).toBe('created');
  });

  it('refuses to extend a v1 record', async () => {
    const files = memoryFiles();
    put(files, serializeRecord({ ...v1Record('completed'), intent: { path: intent.path, sha256: 'x' } }));
    const j = await open(files);
    expect(j.record?.state).toBe('completed');
    await expect(
      j.commit({ state: 'revoked', events: [{ step: 'revoke-request', outcome: 'info', detail: '' }] }),
    ).rejects.toThrow(
      /thoth-rotate\/evidence\/v1 record, which this version reads but does not extend; nothing was changed\. Move it aside/,
    );
    expect(files.writes).toBe(0);
  });
});

describe('Journal.stage: fewer commits, same chain', () => {
  it('a staged change is written by the next commit, in one write, with its own events and times', async () => {
    const files = memoryFiles();
    const j = await claim(files);
    j.stage({
      state: 'created',
      set: { newKey: { keyId: 'key_new', fingerprint: `sha256:${'0'.repeat(64)}` } },
      events: [{ step: 'create-key', outcome: 'ok', detail: 'created' }],
    });
    expect(j.hasStaged).toBe(true);
    expect(j.record?.state).toBe('created');
    expect(stored(files).state).toBe('pending');
    expect(files.writes).toBe(1);
    await j.commit({ state: 'authorized', events: [{ step: 'authorize', outcome: 'ok', detail: 'ok' }] });
    expect(files.writes).toBe(2);
    expect(j.hasStaged).toBe(false);
    const r = stored(files);
    expect(r.state).toBe('authorized');
    expect(r.newKey?.keyId).toBe('key_new');
    expect(r.events.map((e) => e.step)).toEqual(['claim', 'create-key', 'authorize']);
    expect(verifyChain(r)).toEqual({ ok: true });
  });

  it('the commit message names every step it carries; a commit may carry only staged events', async () => {
    const files = memoryFiles();
    const messages: string[] = [];
    const write = files.write.bind(files);
    files.write = async (p) => (messages.push(p.message), write(p));
    const j = await claim(files);
    j.stage({ state: 'deployed', events: [{ step: 'mdm-update', outcome: 'ok', detail: '' }] });
    await j.commit({ events: [] });
    expect(messages.at(-1)).toMatch(/deployed \(mdm-update\)$/);
    await expect(j.commit({ events: [] })).rejects.toThrow(/at least one event/);
  });

  it('discard goes back to what was written; reload drops what was staged', async () => {
    const files = memoryFiles();
    const j = await claim(files);
    j.stage({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: '' }] });
    j.discard();
    expect(j.hasStaged).toBe(false);
    expect(j.record?.state).toBe('pending');
    j.stage({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: '' }] });
    await j.reload();
    expect(j.hasStaged).toBe(false);
    expect(j.record?.events.map((e) => e.step)).toEqual(['claim']);
  });
});

describe("Journal.open refuses what is not this intent's verified record", () => {
  it('a hand-edited field (state, oldKey) without re-chaining', async () => {
    const files = memoryFiles();
    await claim(files);
    const forged = {
      ...stored(files),
      state: 'awaiting-revocation',
      oldKey: { keyId: 'key_of_another_fleet' },
      validatedAt: '2020-01-01T00:00:00.000Z',
    };
    put(files, JSON.stringify(forged));
    await expect(open(files)).rejects.toThrow(EvidenceError);
    await expect(open(files)).rejects.toThrow(
      new RegExp(
        `^${intent.evidencePath.replace(/[./]/g, '\\$&')}: evidence chain broken at events\\[0\\]: chain\\.record of the newest event`,
      ),
    );
  });

  it('a record of another fleet, name or intent file at this path', async () => {
    const files = memoryFiles();
    const other: Intent = {
      ...intent,
      name: 'other-rotation',
      path: '.thoth/rotations/other.yaml',
      fleet: { ...intent.fleet, id: 'flt-other' },
      evidencePath: intent.evidencePath,
    };
    await open(files, {}, other).then((j) =>
      j.commit({ base: Journal.genesis(other), events: [{ step: 'claim', outcome: 'ok', detail: '' }] }),
    );
    const err = await open(files).catch((e: Error) => e);
    expect(err).toBeInstanceOf(EvidenceError);
    expect((err as Error).message).toMatch(
      /is not the evidence of intent \.thoth\/rotations\/corpsec-macos-2026-12\.yaml/,
    );
    expect((err as Error).message).toContain('fleet.id "flt-other" (the intent has "flt-corpsec-macos")');
    expect((err as Error).message).toContain('name "other-rotation"');
    expect((err as Error).message).toContain('intent.path ".thoth/rotations/other.yaml"');
    expect((err as Error).message).not.toContain('tenant');
  });

  it('a target change while the rotation is in flight, naming the fields', async () => {
    const files = memoryFiles();
    await claim(files);
    const moved: Intent = {
      ...intent,
      mdm: { ...intent.mdm, jamf: { ...intent.mdm.jamf!, groupId: 46 } },
      validation: { ...intent.validation, minHealthy: 0.5 },
    };
    const err = (await open(files, {}, moved).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(EvidenceError);
    expect(err.message).toMatch(
      /the rotation is in flight \(state pending\) and \.thoth\/rotations\/corpsec-macos-2026-12\.yaml changed what it targets: mdm\.jamf\.groupId \(was 45, now 46\), validation\.minHealthy \(was 0\.95, now 0\.5\)/,
    );
    expect(err.message).toMatch(/Restore those fields.*new intent name/);
    // plan refuses it too: apply would.
    await expect(open(files, { readOnly: true }, moved)).rejects.toThrow(/changed what it targets/);
  });

  it('a target change after the rotation finished is allowed', async () => {
    const files = memoryFiles();
    const j = await claim(files);
    await j.commit({
      state: 'completed',
      lease: null,
      events: [{ step: 'revoke-old-key', outcome: 'ok', detail: '' }],
    });
    const moved: Intent = { ...intent, mdm: { ...intent.mdm, jamf: { ...intent.mdm.jamf!, groupId: 46 } } };
    expect((await open(files, {}, moved)).record?.state).toBe('completed');
  });

  it('timeouts and poll intervals are not pinned', async () => {
    const files = memoryFiles();
    await claim(files);
    const slower: Intent = { ...intent, validation: { ...intent.validation, timeoutMs: 1, pollIntervalMs: 1 } };
    expect((await open(files, {}, slower)).record?.state).toBe('pending');
  });

  describe('MAC', () => {
    it('with the key: a record without a MAC, or re-chained without the key, is refused', async () => {
      const key = randomBytes(32);
      const files = memoryFiles();
      await claim(files);
      await expect(open(files, { macKey: key })).rejects.toThrow(/carries no mac, but evidence-hmac-key is set/);
      const sealed = memoryFiles();
      await claim(sealed, { macKey: key });
      // A forger without the key re-chains an edit with the project's own functions: the MAC no longer matches.
      const r = stored(sealed);
      expect(r.mac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      const forged = appendEvent(
        { ...r, state: 'awaiting-revocation', oldKey: { keyId: 'key_foreign' } },
        { at: '2026-12-01T14:01:00.000Z', step: 'validate', outcome: 'ok', detail: '', run: RUN },
      );
      put(sealed, serializeRecord(forged));
      expect(verifyChain(forged)).toEqual({ ok: true });
      await expect(open(sealed, { macKey: key })).rejects.toThrow(/mac does not match the chain head/);
    });

    it('without the key: plan reads a sealed record with a warning, a writing run refuses it', async () => {
      const files = memoryFiles();
      await claim(files, { macKey: randomBytes(32) });
      const plan = await open(files, { readOnly: true });
      expect(plan.warnings).toEqual([
        expect.stringMatching(/carries a mac, but evidence-hmac-key is not set, so only its hash chain was checked/),
      ]);
      await expect(open(files)).rejects.toThrow(/a run that changes the record needs the key: pass evidence-hmac-key/);
    });
  });
});
