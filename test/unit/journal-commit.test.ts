/**
 * Journal.commit against an in-memory RepoFiles that behaves like the contents API's sha guard:
 * a write with a stale sha is refused (StaleWriteError), a lost answer to our own write is
 * adopted, the lease is set and released, evidence only grows, details are redacted.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { Journal, StaleWriteError } = await import('../../src/evidence/journal.js');
const { parseRecord, verifyChain } = await import('../../src/evidence/record.js');
const { registerSecret } = await import('../../src/secrets.js');
const { exampleIntent, RUN } = await import('./evidence-sample.js');
type Intent = import('../../src/intent/types.js').Intent;
type RepoFiles = import('../../src/clients/github-contents.js').RepoFiles;

let intent: Intent;
beforeAll(async () => {
  intent = await exampleIntent();
});

/** An evidence branch with the contents API's optimistic lock; `loseNextAnswer` applies a write and then throws. */
function shaGuardedFiles() {
  const files = new Map<string, { text: string; sha: string }>();
  const messages: string[] = [];
  let n = 0;
  let loseNext = false;
  const api: RepoFiles & { files: typeof files; messages: string[]; loseNextAnswer(): void } = {
    files,
    messages,
    loseNextAnswer: () => void (loseNext = true),
    defaultBranch: async () => 'main',
    read: async (p) => files.get(p),
    async write(p) {
      const cur = files.get(p.path);
      if (cur?.sha !== p.sha) throw new StaleWriteError(p.path);
      const sha = `sha${++n}`;
      files.set(p.path, { text: p.text, sha });
      messages.push(p.message);
      if (loseNext) {
        loseNext = false;
        // The write happened; the retry inside the client then meets its own sha as stale.
        throw new StaleWriteError(p.path);
      }
      return { sha, commit: `commit${n}` };
    },
  };
  return api;
}

const now = (): Date => new Date('2026-12-01T14:00:00.000Z');
const LEASE = { run: RUN, until: '2026-12-01T15:00:00.000Z' };
const open = (files: RepoFiles, run = RUN) => Journal.open(files, 'main', intent, run, now);
async function claimed(files: ReturnType<typeof shaGuardedFiles>) {
  const j = await open(files);
  await j.commit({
    base: Journal.genesis(intent),
    state: 'pending',
    lease: LEASE,
    events: [{ step: 'claim', outcome: 'ok', detail: 'claimed' }],
  });
  return j;
}
const stored = (files: ReturnType<typeof shaGuardedFiles>) =>
  parseRecord(files.files.get(intent.evidencePath)!.text, intent.evidencePath);

describe('Journal.commit with a sha-guarded store', () => {
  it('each commit appends its events, keeps the earlier ones, and the chain verifies', async () => {
    const files = shaGuardedFiles();
    const j = await claimed(files);
    await j.commit({
      state: 'created',
      set: { newKey: { keyId: 'k-new' } },
      events: [{ step: 'create-key', outcome: 'ok', detail: 'created k-new' }],
    });
    await j.commit({
      state: 'authorized',
      events: [
        { step: 'authorize', outcome: 'ok', detail: 'a' },
        { step: 'mdm-snapshot', outcome: 'ok', detail: 'b' },
      ],
    });
    const r = stored(files);
    expect(r.events.map((e) => e.step)).toEqual(['claim', 'create-key', 'authorize', 'mdm-snapshot']);
    expect(r.state).toBe('authorized');
    expect(r.newKey).toEqual({ keyId: 'k-new' });
    expect(verifyChain(r)).toEqual({ ok: true });
    expect(files.messages).toEqual([
      `thoth-rotate: ${intent.name} pending (claim)`,
      `thoth-rotate: ${intent.name} created (create-key)`,
      `thoth-rotate: ${intent.name} authorized (authorize, mdm-snapshot)`,
    ]);
    expect(j.lastCommit).toBe('commit3');
  });

  it('sets the lease, keeps it across commits that do not mention it, and releases it with null', async () => {
    const files = shaGuardedFiles();
    const j = await claimed(files);
    expect(stored(files).lease).toEqual(LEASE);
    await j.commit({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: '' }] });
    expect(stored(files).lease).toEqual(LEASE);
    await j.commit({ lease: null, events: [{ step: 'reconcile', outcome: 'info', detail: '' }] });
    expect(stored(files)).not.toHaveProperty('lease');
    expect(j.record).not.toHaveProperty('lease');
  });

  it("another run's write in between: StaleWriteError, and the in-memory record is not advanced", async () => {
    const files = shaGuardedFiles();
    const mine = await claimed(files);
    const other = await open(files, { ...RUN, id: '555' });
    await other.commit({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: 'the other run' }] });
    await expect(
      mine.commit({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: 'mine' }] }),
    ).rejects.toBeInstanceOf(StaleWriteError);
    expect(mine.record!.state).toBe('pending');
    expect(stored(files).events.at(-1)!.detail).toBe('the other run');
  });

  it('our own write whose answer was lost is adopted (the file holds exactly what we wrote), and the next commit builds on it', async () => {
    const files = shaGuardedFiles();
    const j = await claimed(files);
    files.loseNextAnswer();
    await j.commit({ state: 'created', events: [{ step: 'create-key', outcome: 'ok', detail: 'k' }] });
    expect(j.record!.state).toBe('created');
    await j.commit({ state: 'authorized', events: [{ step: 'authorize', outcome: 'ok', detail: '' }] });
    expect(stored(files).events.map((e) => e.step)).toEqual(['claim', 'create-key', 'authorize']);
  });

  it('redacts registered secrets from event details before they are chained and logged', async () => {
    registerSecret('thoth_live_JOURNAL_detail_789');
    const files = shaGuardedFiles();
    const j = await claimed(files);
    await j.commit({
      events: [{ step: 'reconcile', outcome: 'info', detail: 'server said thoth_live_JOURNAL_detail_789' }],
    });
    const text = files.files.get(intent.evidencePath)!.text;
    expect(text).not.toContain('thoth_live_JOURNAL_detail_789');
    expect(stored(files).events.at(-1)!.detail).toBe('server said ***');
  });

  it('stamps each event with this run and the clock', async () => {
    const files = shaGuardedFiles();
    await claimed(files);
    expect(stored(files).events[0]).toMatchObject({ at: '2026-12-01T14:00:00.000Z', run: RUN });
  });
});
