import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { appendEvent, parseRecord, serializeRecord, type EvidenceRecord } from '../../src/evidence/record.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { amendEvidence, evidencePath, readEvidence } from './evidence.js';
import { expectViolation } from '../setup/oracle.js';
import {
  intuneWorkspace,
  jamfIntent,
  makeWorkspace,
  maskedView,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
} from './harness.js';

/**
 * verify mode through the bundle: real records from real apply runs, then tampered the ways a
 * pusher to the evidence branch (or an admin outside the action) could. Each tampering must be
 * caught and named; verify itself must only read.
 */

const INTENT = '.thoth/rotations/corpsec.yaml';

function intentWorkspace(s: Simulators, ws: Workspace = makeWorkspace()): Workspace {
  ws.write(INTENT, jamfIntent(s));
  return ws;
}

async function apply(s: Simulators, ws: Workspace): Promise<ActionRun> {
  const run = await runAction({ workspace: ws, inputs: simInputs(s, { mode: 'apply' }), env: simEnv(s) });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return run;
}

/** A rotation taken to `completed`: apply, wait out the 2 s validation window, apply again. */
async function completedRotation(s: Simulators): Promise<void> {
  const ws = intentWorkspace(s);
  await apply(s, ws);
  const validatedAt = Date.parse(readEvidence(s)!.validatedAt!);
  await new Promise((r) => setTimeout(r, Math.max(0, validatedAt + 2_200 - Date.now())));
  const second = await apply(s, ws);
  expect(second.outputs['status']).toBe('completed');
}

/**
 * A checkout of the simulated evidence branch, as actions/checkout leaves it: every commit of
 * the branch replayed into a git repository, cloned with `fetch-depth: 0` (complete) or 1 (shallow).
 */
function checkout(s: Simulators, depth: 'full' | 'shallow'): Workspace {
  const origin = mkdtempSync(path.join(tmpdir(), 'thoth-rotate-origin-'));
  const git = (cwd: string, args: string[], input?: Buffer) =>
    execFileSync('git', args, {
      cwd,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: origin },
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();
  git(origin, ['init', '-q', '-b', 'main']);
  // One `git fast-import` writes every commit (two git processes a commit cost a second of CPU a test).
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const stream = s.github.commits('main').map((c) => {
    const who = `sim <sim@example.com> ${Math.floor(c.at.getTime() / 1000)} +0000`;
    // An unquoted fast-import path runs to the end of its line: evidence paths hold no quote or newline.
    for (const f of c.files) expect(f.path).toMatch(/^[^"\n][^\n]*$/);
    const files = c.files.map((f) => `M 100644 inline ${f.path}\n${data(f.text)}`).join('');
    // `git commit -m` ends a message with a newline; nothing reads the messages, but the history matches.
    return `commit refs/heads/main\nauthor ${who}\ncommitter ${who}\n${data(`${c.message.trimEnd()}\n`)}${files}\n`;
  });
  git(origin, ['fast-import', '--quiet'], Buffer.from(stream.join('')));
  const ws = makeWorkspace();
  git(ws.dir, ['clone', '-q', ...(depth === 'shallow' ? ['--depth', '1'] : []), `file://${origin}`, '.']);
  return intentWorkspace(s, ws);
}

async function verify(
  s: Simulators,
  ws: Workspace,
  extra: Record<string, string> = {},
): Promise<{ run: ActionRun; report: VerifyReport }> {
  s.log.clear();
  const run = await runAction({ workspace: ws, inputs: simInputs(s, { mode: 'verify', ...extra }), env: simEnv(s) });
  expect(run.outputs['report'], run.stdout + run.stderr).toBeTruthy();
  const report = JSON.parse(readFileSync(run.outputs['report']!, 'utf8')) as VerifyReport;
  expectOnlyReads(s);
  return { run, report };
}

/** Verify changes nothing: every request the simulators saw is a GET, but for OAuth token requests. */
function expectOnlyReads(s: Simulators): void {
  const writes = s.log
    .entries()
    .filter((e) => e.method !== 'GET' && !/\/(oauth\/token|auth\/invalidate-token|oauth2\/v2\.0\/token)$/.test(e.path));
  expect(writes.map((e) => `${e.system} ${e.method} ${e.path}`)).toEqual([]);
  expect(s.log.mutations()).toEqual([]);
}

const problemsOf = (report: VerifyReport) => report.records.flatMap((r) => r.problems);
const restCalls = (s: Simulators) =>
  s.log.entries().filter((e) => e.system === 'github' && e.path.endsWith('/commits'));

/** Commits the record's text as `text` (what anyone who can push could do). */
function push(s: Simulators, text: string, message = 'edit evidence'): void {
  s.github.putFile(evidencePath(s), text, { branch: 'main', message });
}

describe('verify on a completed rotation (one history, tampered and restored per case)', () => {
  let s: Simulators;
  let genuineHead: string;
  const record = () => evidencePath(s);

  beforeAll(async () => {
    s = await startSimulators({ fleet: { size: 8 } });
    await completedRotation(s);
    genuineHead = s.github.commits('main').at(-1)!.sha;
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });
  /** Put the branch back to the genuine history (the simulator's force-push). */
  const restore = () => s.github.resetBranch('main', genuineHead);

  it('a clean history verifies, from the complete clone’s git history, with reads only', async () => {
    const { run, report } = await verify(s, checkout(s, 'full'));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['status']).toBe('verified');
    expect(report.status).toBe('verified');
    expect(report.source.history).toBe('git');
    expect(report.records).toEqual([
      expect.objectContaining({ path: record(), state: 'completed', ok: true, problems: [] }),
    ]);
    // The git history was used: no list-commits request reached GitHub.
    expect(restCalls(s)).toEqual([]);
    expect(run.summary).toContain('verify: verified');
    expect(run.summary).toContain('corpsec-macos-2026-12.json');
  });

  it('the same history verifies through the REST API when the workspace is not a checkout', async () => {
    const { run, report } = await verify(s, intentWorkspace(s));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(report.source.history).toBe('rest');
    expect(report.records.map((r) => r.ok)).toEqual([true]);
    expect(restCalls(s).length).toBeGreaterThan(0);
  });

  it('an edited event is caught by the chain, and named', async () => {
    const r = JSON.parse(s.github.file(record(), 'main')!) as EvidenceRecord;
    r.events[2]!.detail = `${r.events[2]!.detail} (edited)`;
    push(s, `${JSON.stringify(r, null, 2)}\n`);
    try {
      const { run, report } = await verify(s, intentWorkspace(s));
      expect(run.code).toBe(1);
      expect(run.outputs['status']).toBe('violations');
      expect(report.records[0]!.ok).toBe(false);
      expect(report.records[0]!.problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/^chain: .*events\[2\].*edited/)]),
      );
      expect(run.summary).toContain('❌');
    } finally {
      restore();
    }
  });

  it('an edited state field is caught by the chain, and named', async () => {
    const r = JSON.parse(s.github.file(record(), 'main')!) as EvidenceRecord;
    r.state = 'awaiting-revocation';
    push(s, `${JSON.stringify(r, null, 2)}\n`);
    try {
      const { run, report } = await verify(s, intentWorkspace(s));
      expect(run.code).toBe(1);
      expect(report.records[0]!.state).toBe('awaiting-revocation');
      expect(report.records[0]!.problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/^chain: .*top-level fields/)]),
      );
    } finally {
      restore();
    }
  });

  it('a dropped newest event verifies on its own, but the history shows it', async () => {
    // The version before the last commit: a valid record in itself (chain and fields agree).
    const versions = s.github.commits('main').filter((c) => c.path === record());
    push(s, versions.at(-2)!.files[0]!.text, 'evidence: back to awaiting-revocation');
    // The put-back version still holds the lease of the run that wrote it: the oracle sees that too.
    expectViolation(s, 'f');
    try {
      const { run, report } = await verify(s, intentWorkspace(s));
      expect(run.code).toBe(1);
      // The record verifies on its own; its history and the state it went back to do not.
      expect(report.records[0]!.problems).toEqual([
        expect.stringMatching(
          /^history: the version committed at \w+ does not extend the one at \w+: \d+ event\(s\) removed, the newest being confirm-revocation/,
        ),
        expect.stringMatching(/^transitions: completed → awaiting-revocation/),
      ]);
    } finally {
      restore();
    }
  });

  it('a rewritten history (force-push over an earlier version) is caught from the git history', async () => {
    // Rebase-style rewrite: the branch is reset to before version k, a different version k is
    // committed (its newest event re-chained with other text, so it verifies on its own), and
    // the later versions are replayed unchanged. The file at the head is the genuine one.
    const commits = s.github.commits('main');
    const versions = commits.filter((c) => c.path === record());
    const k = versions.length - 2;
    const parent = commits[commits.findIndex((c) => c.sha === versions[k]!.sha) - 1]!;
    s.github.resetBranch('main', parent.sha);
    const genuine = parseRecord(versions[k]!.files[0]!.text, record());
    const { chain: _c, ...newest } = genuine.events.at(-1)!;
    const forged = appendEvent(
      { ...genuine, events: genuine.events.slice(0, -1) },
      { ...newest, detail: 'nothing to see' },
    );
    push(s, serializeRecord(forged), 'evidence (rewritten)');
    for (const v of versions.slice(k + 1)) push(s, v.files[0]!.text, v.message);
    try {
      const { run, report } = await verify(s, checkout(s, 'full'));
      expect(report.source.history).toBe('git');
      expect(run.code).toBe(1);
      expect(report.records[0]!.problems).toEqual([
        expect.stringMatching(
          /^history: the version committed at \w+ does not extend the one at \w+: events\[\d+\] .*changed or replaced/,
        ),
      ]);
    } finally {
      restore();
    }
  });

  it('a delivered key that does not have the recorded fingerprint is caught (MDM read with its credentials)', async () => {
    const before = s.jamf.currentPayloads();
    const newKey = readEvidence(s)!.newKey!.keyId;
    const other = s.thoth.createKeyDirect({ scopeLevel: 'fleet', scopeTargetId: s.ids.fleetId, permissions: ['read'] });
    s.jamf.setPayloads(before.replace(s.thoth.plaintextOf(newKey)!, other.apiKey));
    try {
      const { run, report } = await verify(s, intentWorkspace(s));
      expect(run.code).toBe(1);
      expect(report.records[0]!.problems).toEqual([
        expect.stringMatching(
          new RegExp(
            `^live: the key the MDM configuration delivers does not have the fingerprint of new key ${newKey}`,
          ),
        ),
      ]);
      // Compared opaquely: neither key's plaintext appears anywhere.
      const shown = maskedView(run);
      for (const text of [shown.stdout, shown.stderr, run.summary, readFileSync(run.outputs['report']!, 'utf8')])
        expect(text).not.toContain(other.apiKey);
    } finally {
      s.jamf.setPayloads(before);
      s.thoth.revokeKey(other.keyId);
    }
  });

  it('without MDM credentials the delivered key is not compared, and the report says so', async () => {
    const { run, report } = await verify(s, intentWorkspace(s), { 'jamf-client-id': '', 'jamf-client-secret': '' });
    expect(run.code, run.stdout).toBe(0);
    expect(report.records[0]!.notes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^live: the MDM was not read \(no jamf credentials\)/)]),
    );
    expect(s.log.entries().filter((e) => e.system === 'jamf')).toEqual([]);
  });

  it('a record whose intent was deleted is still found and checked against the control plane', async () => {
    const ws = makeWorkspace();
    ws.write(INTENT, jamfIntent(s, { name: 'corpsec-macos-2027-03' }));
    const { run, report } = await verify(s, ws);
    expect(run.code, run.stdout).toBe(0);
    expect(report.records).toEqual([
      expect.objectContaining({
        path: record(),
        state: 'completed',
        ok: true,
        notes: expect.arrayContaining(['no current intent names this record (its intent was deleted or renamed)']),
      }),
    ]);
    // Live state was read for it: the tenant's key list.
    expect(s.log.entries().some((e) => e.system === 'thoth' && e.path.endsWith('/api-keys'))).toBe(true);
  });

  it('with evidence-hmac-key, records without a MAC are violations', async () => {
    const { run, report } = await verify(s, intentWorkspace(s), {
      'evidence-hmac-key': Buffer.alloc(32, 9).toString('base64'),
    });
    expect(run.code).toBe(1);
    expect(report.records[0]!.problems).toEqual([expect.stringMatching(/^mac: the record carries no mac/)]);
  });

  it('an active key of the managed fleet that no record names is reported, not a violation', async () => {
    const stray = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read', 'write'],
      name: 'made-by-hand <img src=x>',
    });
    try {
      const { run, report } = await verify(s, intentWorkspace(s));
      expect(run.code, run.stdout).toBe(0);
      expect(report.status).toBe('verified');
      expect(report.unaccountedKeys).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ keyId: stray.keyId, scope: 'fleet', target: s.ids.fleetId }),
        ]),
      );
      // Keys the record names (old and new) are accounted for.
      const rec = readEvidence(s)!;
      const named = report.unaccountedKeys.map((k) => k.keyId);
      expect(named).not.toContain(rec.oldKey!.keyId);
      expect(named).not.toContain(rec.newKey!.keyId);
      expect(run.summary).toContain(stray.keyId);
      expect(run.summary).not.toContain('<img');
    } finally {
      s.thoth.revokeKey(stray.keyId);
    }
  });
});

describe('verify during a rotation', () => {
  let s: Simulators | undefined;
  afterAll(async () => {
    await s?.close();
  });

  it('a shallow clone falls back to the REST API; a record claiming completed whose old key is still active is caught', async () => {
    s = await startSimulators({ fleet: { size: 6 } });
    await apply(s, intentWorkspace(s));
    expect(readEvidence(s)!.state).toBe('awaiting-revocation');

    const clean = await verify(s, checkout(s, 'shallow'));
    expect(clean.run.code, clean.run.stdout).toBe(0);
    expect(clean.report.source.history).toBe('rest');
    expect(restCalls(s).length).toBeGreaterThan(0);
    expect(clean.run.stdout).toContain('the checkout is shallow');

    // A legal-looking event that claims the rotation is done, chained like the action does.
    amendEvidence(s, evidencePath(s), (r) => ({ ...r, state: 'completed' }), { step: 'revoke-old-key' });
    const { run, report } = await verify(s, intentWorkspace(s));
    expect(run.code).toBe(1);
    expect(problemsOf(report)).toEqual([
      `live: the rotation is completed but its old key ${s.ids.oldKeyId} is still active`,
    ]);
  });
});

describe('verify after an emergency revocation', () => {
  let s: Simulators | undefined;
  afterAll(async () => {
    await s?.close();
  });

  it('a revoked record verifies while its ids are revoked and delivered in the revoked list, and not once the list lacks one', async () => {
    s = await startSimulators({ fleet: { size: 4 } });
    const ws = intentWorkspace(s);
    const revoked = await runAction({
      workspace: ws,
      inputs: simInputs(s, { mode: 'revoke', 'key-ids': s.ids.undeployedKeyId, reason: 'INC-7: test' }),
      env: simEnv(s, { GITHUB_EVENT_NAME: 'workflow_dispatch' }),
    });
    expect(revoked.code, revoked.stdout).toBe(0);
    const clean = await verify(s, ws);
    expect(clean.run.code, clean.run.stdout).toBe(0);
    expect(clean.report.records).toEqual([expect.objectContaining({ state: 'revoked', ok: true })]);

    const before = s.jamf.currentPayloads();
    s.jamf.setPayloads(before.split(s.ids.undeployedKeyId).join('key_aaaaaaaaaaaaaaaaaaaa'));
    const { run, report } = await verify(s, ws);
    expect(run.code).toBe(1);
    expect(problemsOf(report)).toEqual([
      `live: revoked key ${s.ids.undeployedKeyId} is not in the revoked-ids list the MDM configuration delivers`,
    ]);
    s.jamf.setPayloads(before);
  });
});

describe('verify through Intune', () => {
  let s: Simulators | undefined;
  afterAll(async () => {
    await s?.close();
  });

  it('reads the macOS configuration and the Windows remediation with GETs only, and verifies a rotation in flight', async () => {
    s = await startSimulators({ fleet: { size: 6, mdm: 'intune' } });
    const ws = intuneWorkspace(s, { macos: true, windows: true });
    const azure = {
      'jamf-client-id': '',
      'jamf-client-secret': '',
      'azure-tenant-id': s.creds.azureTenantId,
      'azure-client-id': s.creds.azureClientId,
      'azure-client-secret': s.creds.azureClientSecret,
    };
    const first = await runAction({ workspace: ws, inputs: simInputs(s, { mode: 'apply', ...azure }), env: simEnv(s) });
    expect(first.code, first.stdout).toBe(0);
    const { run, report } = await verify(s, ws, azure);
    expect(run.code, run.stdout).toBe(0);
    expect(report.records).toEqual([expect.objectContaining({ ok: true, state: readEvidence(s)!.state })]);
    // The delivered configuration was read (and compared only once a rotation is finished).
    expect(s.log.entries().some((e) => e.system === 'graph' && e.method === 'GET')).toBe(true);
    expect(report.records[0]!.notes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^live: delivered key not compared: the newest rotation .* is /)]),
    );
  });
});
