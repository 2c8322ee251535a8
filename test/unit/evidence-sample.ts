/** Records for the evidence unit tests, built with the project's own functions. */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { RepoFiles } from '../../src/clients/github-contents.js';
import {
  appendEvent,
  canonicalJson,
  EVIDENCE_SCHEMA,
  EVIDENCE_SCHEMA_V1,
  type EventStep,
  type EvidenceRecord,
  type PinnedTarget,
  type RotationState,
} from '../../src/evidence/record.js';

/** The example macOS intent (examples/.thoth/rotations), loaded as the action loads it. */
export async function exampleIntent(): Promise<import('../../src/intent/types.js').Intent> {
  const { loadIntents } = await import('../../src/intent/load.js');
  const root = path.resolve(import.meta.dirname, '../..');
  return (
    await loadIntents(path.join(root, 'examples/.thoth/rotations/corpsec-macos-2026-12.yaml'), {
      workspace: path.join(root, 'examples'),
    })
  )[0]!;
}

export const RUN = { id: '9876543210', attempt: 1, actor: 'octocat', sha: 'a'.repeat(40) };

export const TARGET: PinnedTarget = {
  controlPlaneUrl: 'https://grid.acme.atensecurity.com',
  fleet: { id: 'flt-corpsec-macos', region: 'us-east-1' },
  key: { scope: 'fleet', permissions: ['execute', 'read'] },
  mdm: {
    provider: 'jamf',
    jamf: { url: 'https://acme.jamfcloud.com', profileId: 123, groupId: 45, healthAttribute: 'Thoth Health' },
    settings: {
      domain: 'com.atensecurity.thoth',
      apiKey: 'THOTH_API_KEY',
      keyId: 'THOTH_API_KEY_ID',
      revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
    },
  },
  validation: { minHealthy: 0.95, activeWithinMs: 604_800_000, windowMs: 86_400_000 },
  rollback: { onValidationFailure: 'restore' },
};

/** A record with no events yet: what Journal.genesis returns, never a valid file by itself. */
export const genesis = (): EvidenceRecord => ({
  schema: EVIDENCE_SCHEMA,
  name: 'corpsec-macos-2026-12',
  ticket: 'SEC-1234',
  tenant: 'acme',
  fleet: { id: 'flt-corpsec-macos', region: 'us-east-1' },
  intent: { path: '.thoth/rotations/corpsec.yaml', sha256: 'b'.repeat(64) },
  target: structuredClone(TARGET) as PinnedTarget,
  state: 'pending',
  events: [],
});

export const STEPS: EventStep[] = ['window-check', 'create-key', 'authorize', 'mdm-snapshot', 'mdm-update', 'refresh'];

/** One event per step, as separate commits that each move the state on (like Journal.commit). */
export function withEvents(n = STEPS.length, from: EvidenceRecord = genesis()): EvidenceRecord {
  const states: RotationState[] = ['pending', 'created', 'authorized', 'authorized', 'deployed', 'refreshed'];
  return STEPS.slice(0, n).reduce(
    (r, step, i) =>
      appendEvent(
        { ...r, state: states[i]! },
        { at: `2026-12-01T14:0${i}:00.000Z`, step, outcome: 'ok', detail: `step ${i}`, run: RUN },
      ),
    from,
  );
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** A v1 record as the previous release wrote it: the chain covers the events only. */
export function v1Record(state: RotationState, steps = 3): EvidenceRecord {
  const r: EvidenceRecord = { ...genesis(), schema: EVIDENCE_SCHEMA_V1, state, oldKey: { keyId: 'key_old123' } };
  delete r.target;
  let prev = sha256(`${r.schema}\n${r.tenant}\n${r.fleet.id}\n${r.name}`);
  for (let i = 0; i < steps; i++) {
    const body = {
      at: `2026-12-01T14:0${i}:00.000Z`,
      step: STEPS[i]!,
      outcome: 'ok' as const,
      detail: `step ${i}`,
      run: RUN,
    };
    const hash = sha256(`${prev}\n${canonicalJson(body)}`);
    r.events.push({ ...body, chain: { prev, hash } });
    prev = hash;
  }
  return r;
}

/** An in-memory evidence branch. */
export function memoryFiles(): RepoFiles & { files: Map<string, { text: string; sha: string }>; writes: number } {
  const files = new Map<string, { text: string; sha: string }>();
  let n = 0;
  return {
    files,
    writes: 0,
    defaultBranch: async () => 'main',
    read: async (p) => files.get(p),
    async write(p) {
      this.writes++;
      const sha = `sha${++n}`;
      files.set(p.path, { text: p.text, sha });
      return { sha, commit: `c${n}` };
    },
  };
}
