/**
 * The oracle checks itself: each invariant check must report a violation when the simulators see
 * one (a green suite means nothing if the judge cannot see the unsafe sequence). Violations are
 * made over the simulators' own HTTP APIs after a real `apply`, as a faulty action would make them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { jamfIntent, oracleLedger } from '../../sim/runner.js';
import { apply, evidence, sleep, startCase, WINDOW_MS, type Case } from '../faults/lib.js';
import { expectViolation } from '../setup/oracle.js';
import { judge, type Invariant } from './judge.js';

let c: Case | undefined;
afterEach(async () => {
  await c?.sims.close();
  c = undefined;
});

/** A validated rotation: the fleet runs the new key, the old key awaits the window. */
async function validated(validation?: string): Promise<Case> {
  c = await startCase();
  if (validation) c.ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(c.sims, { validation }));
  const r = await apply(c);
  expect(r.outputs['status'], r.stdout).toBe('in-progress');
  expect(evidence(c.sims)?.state).toBe('awaiting-revocation');
  return c;
}

async function thothDelete(k: Case, keyId: string): Promise<number> {
  const s = k.sims;
  const res = await fetch(`${s.urls.thoth}/${s.creds.tenant}/thoth/api-keys/${keyId}`, {
    method: 'DELETE',
    headers: { 'x-api-key': s.creds.orgApiKey },
  });
  return res.status;
}

function problems(k: Case, ...expected: Invariant[]): string[] {
  expectViolation(k.sims, ...expected);
  return judge(k.sims, oracleLedger.runs).map((p) => `(${p.invariant}) ${p.text}`);
}

const newKeyOf = (k: Case): string => evidence(k.sims)!.newKey!.keyId;

describe('the invariant oracle sees each violation', () => {
  it('a clean validated rotation has none', async () => {
    const k = await validated();
    expect(problems(k)).toEqual([]);
  });

  it('(a) the old key DELETEd inside the validation window', async () => {
    // A window far longer than the time between the fleet reaching minHealthy and the action
    // seeing it (heartbeats, polls), so the DELETE right after validation is inside it.
    const k = await validated(
      'validation:\n  window: 60s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms',
    );
    expect(await thothDelete(k, k.sims.ids.oldKeyId)).toBe(200);
    expect(problems(k, 'a').join('\n')).toMatch(/\(a\) old key .* ms after the fleet first reached minHealthy/);
  });

  it('(a) the old key DELETEd after the window while the fleet has regressed to the old key', async () => {
    const k = await validated();
    await sleep(WINDOW_MS + 100);
    for (const i of [0, 1, 2]) k.sims.fleet.setKey(i, k.sims.ids.oldKeyId);
    expect(await thothDelete(k, k.sims.ids.oldKeyId)).toBe(200);
    expect(problems(k, 'a').join('\n')).toMatch(/\(a\) old key .* only 2 of 5 active devices ran the new key/);
  });

  it('(b) the new key DELETEd while the configuration still delivers it', async () => {
    const k = await validated();
    const fresh = newKeyOf(k);
    expect(await thothDelete(k, fresh)).toBe(200);
    const p = problems(k, 'b', 'c').join('\n');
    expect(p).toMatch(new RegExp(`\\(b\\) DELETE of ${fresh} .* while the group's configuration still delivers it`));
    expect(p).toMatch(/\(c\) jamf profile delivered .* while still delivered/);
  });

  it('(c) a configuration written with a key that was already revoked', async () => {
    const k = await validated();
    const s = k.sims;
    s.thoth.revokeKey(s.ids.undeployedKeyId);
    // The action's writes are the 'api' versions: make one over Jamf's API with the revoked key.
    const cur = s.jamf.currentPayloads();
    const fresh = newKeyOf(k);
    s.jamf.setPayloads(
      cur
        .replace(s.thoth.plaintextOf(fresh)!, s.thoth.plaintextOf(s.ids.undeployedKeyId)!)
        .split(fresh)
        .join(s.ids.undeployedKeyId),
    );
    // setPayloads records a 'direct' (test) version, which the oracle does not judge as the
    // action's write: relabel it as written over the API, as a faulty action would have.
    (s.jamf as unknown as { versions: { source: string }[] }).versions.at(-1)!.source = 'api';
    expect(problems(k, 'c', 'e').join('\n')).toMatch(/\(c\) jamf profile write at .* delivers key_\w+, revoked at/);
  });

  it('(c) at a DELETE the configuration delivers a key that is already revoked', async () => {
    const k = await validated();
    await sleep(WINDOW_MS + 100);
    k.sims.thoth.revokeKey(newKeyOf(k));
    expect(await thothDelete(k, k.sims.ids.oldKeyId)).toBe(200);
    expect(problems(k, 'a', 'c').join('\n')).toMatch(
      /\(c\) at the DELETE of key_\w+ .* delivers key_\w+, already revoked/,
    );
  });

  it('(d) a key outside the rotation DELETEd', async () => {
    const k = await validated();
    expect(await thothDelete(k, k.sims.ids.undeployedKeyId)).toBe(200);
    expect(problems(k, 'd', 'e').join('\n')).toMatch(
      new RegExp(`\\(d\\) DELETE of ${k.sims.ids.undeployedKeyId} .* outside the rotation`),
    );
  });

  it('(e) an action commit that drops events, and a minted key the evidence never mentions', async () => {
    const k = await validated();
    const s = k.sims;
    const path = `.thoth/evidence/${s.ids.fleetId}/corpsec-macos-2026-12.json`;
    const rec = JSON.parse(s.github.file(path)!) as { events: unknown[] };
    rec.events.pop();
    s.github.putFile(path, JSON.stringify(rec), {
      message: 'thoth-rotate: corpsec-macos-2026-12 awaiting-revocation (rewritten)',
    });
    const res = await fetch(`${s.urls.thoth}/${s.creds.tenant}/thoth/api-keys`, {
      method: 'POST',
      headers: { 'x-api-key': s.creds.orgApiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ scope_level: 'fleet', scope_target_id: s.ids.fleetId, permissions: ['read'] }),
    });
    const minted = ((await res.json()) as { key_id: string }).key_id;
    const p = problems(k, 'e').join('\n');
    expect(p).toMatch(/\(e\) evidence commit \w+ .* does not extend the previous version/);
    expect(p).toMatch(new RegExp(`\\(e\\) key ${minted} minted at .* appears in no committed evidence`));
  });

  it('(f) a run that exited but whose lease is still in the record', async () => {
    const k = await validated();
    const s = k.sims;
    const run = k.runs.at(-1)!;
    const path = `.thoth/evidence/${s.ids.fleetId}/corpsec-macos-2026-12.json`;
    const rec = JSON.parse(s.github.file(path)!) as Record<string, unknown>;
    rec['lease'] = { run: { id: run.context!.runId, attempt: 1 }, until: new Date(Date.now() + 60_000).toISOString() };
    s.github.putFile(path, JSON.stringify(rec), {
      message: 'thoth-rotate: corpsec-macos-2026-12 awaiting-revocation (lease kept)',
    });
    expect(problems(k, 'f').join('\n')).toMatch(
      new RegExp(`\\(f\\) run ${run.context!.runId}\\.1 exited \\(code 0\\) but .* still holds its lease`),
    );
  });
});
