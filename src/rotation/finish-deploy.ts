import { StaleWriteError } from '../clients/github-contents.js';
import { errorMessage } from '../errors.js';
import { fingerprint, type EvidenceRecord } from '../evidence/record.js';
import type { ConfigSnapshot, ConfigSplitError, DocumentRead } from '../mdm/provider.js';
import { uniqueKeyIds, type ReadValue } from '../mdm/read-value.js';
import type { SecretValue } from '../secret-value.js';
import type { RunbookDeps } from '../runbook/deps.js';
import { leaseUntil } from '../runbook/record.js';
import type { RotationOutcome } from './context.js';
import { outcome } from './outcome.js';
import { refreshAndValidate } from './validate-phase.js';

/** A deployment that stopped between two documents, and what finishing it takes. */
export interface UnfinishedDeployment {
  /** The documents that already carry the new key. */
  readonly carrying: readonly DocumentRead[];
  /** The documents that still carry the old key: the ones to write. */
  readonly remaining: readonly DocumentRead[];
  /** The new key as the carrying documents hold it (its fingerprint is the record's). */
  readonly apiKey: SecretValue;
  readonly revokedKeyIds: readonly ReadValue[];
}

const names = (reads: readonly DocumentRead[]): string => reads.map((r) => `${r.item.kind} ${r.item.id}`).join(', ');

/**
 * Reads the split between documents against the record (pure). `undefined`: no document carries
 * the record's new key, so this split is not a deployment of this rotation. A string: some
 * document carries the new key but the rest is not "the old key everywhere else", or the key
 * text is not the key this rotation minted; the run must stop. Values are compared through
 * {@link ReadValue.is} only, never read out, and the message quotes only the record's ids.
 */
export function unfinishedDeployment(
  reads: readonly DocumentRead[],
  newKey: { readonly keyId: string; readonly fingerprint?: string | undefined },
  oldKeyId: string | undefined,
): UnfinishedDeployment | string | undefined {
  const carrying = reads.filter((r) => r.keyId?.is(newKey.keyId) === true);
  if (carrying.length === 0) return undefined;
  const remaining = reads.filter((r) => !carrying.includes(r));
  const split = `MDM configurations disagree on the deployed key id: ${names(carrying)} carr${carrying.length === 1 ? 'ies' : 'y'} this rotation's new key ${newKey.keyId}`;
  const unknown = remaining.filter((r) => oldKeyId === undefined || r.keyId?.is(oldKeyId) !== true);
  if (unknown.length > 0) {
    return `${split}, but ${names(unknown)} carr${unknown.length === 1 ? 'ies' : 'y'} neither it nor the old key ${oldKeyId ?? '(none recorded)'}; not finishing a deployment over a key this rotation does not know: make them carry the same key, then run again`;
  }
  const apiKey = carrying[0]?.apiKey;
  const same = (k: SecretValue | undefined): boolean =>
    k !== undefined && newKey.fingerprint !== undefined && fingerprint(k.reveal()) === newKey.fingerprint;
  if (!apiKey || !carrying.every((r) => same(r.apiKey))) {
    return `${split}, but not the api key minted as ${newKey.keyId} (its fingerprint is not the one in the evidence record); not deploying it further: make them carry the same key, then run again`;
  }
  return { carrying, remaining, apiKey, revokedKeyIds: uniqueKeyIds(reads.flatMap((r) => r.revokedKeyIds)) };
}

/**
 * A run stopped after writing the new key into some of the documents and before the others
 * (its read-back failed, its process died): the fleet is split between two valid keys. Going
 * back would need the old plaintext the other documents hold; going on needs only the new
 * key, which the carrying documents hold and the record's fingerprint identifies. So the run
 * that takes over writes the remaining documents and validates as after any deployment. This
 * finishes a write the window already allowed, so it does not wait for the window, and it
 * creates no key and revokes none: on any failure both keys stay valid and the next run tries
 * again.
 */
export async function finishSplitDeployment(
  d: RunbookDeps,
  record: EvidenceRecord,
  split: ConfigSplitError,
): Promise<RotationOutcome> {
  const newKey = record.newKey;
  const oldKeyId = record.oldKey?.keyId;
  const plan = newKey ? unfinishedDeployment(split.reads, newKey, oldKeyId) : undefined;
  if (plan === undefined || !newKey) throw split;
  if (typeof plan === 'string') throw new Error(plan);
  // Never spread a key the control plane no longer accepts (an emergency revocation meanwhile).
  const listed = (await d.thoth.listKeys()).find((k) => k.keyId === newKey.keyId);
  if (!listed?.active) {
    throw new Error(
      `${names(plan.carrying)} carr${plan.carrying.length === 1 ? 'ies' : 'y'} new key ${newKey.keyId}, which the control plane no longer lists as active, and ${names(plan.remaining)} the old key ${oldKeyId}; not deploying a revoked key further: put the documents back on one valid key`,
    );
  }
  const done = names(plan.carrying);
  const todo = names(plan.remaining);
  // Take the rotation first: the commit is guarded by the blob sha, so of racing runs one writes.
  try {
    await d.journal.commit({
      lease: { run: d.run, until: leaseUntil(d.intent, d.now()) },
      events: [
        {
          step: 'reconcile',
          outcome: 'info',
          detail: `run ${d.run.id}.${d.run.attempt} took over the rotation interrupted at ${record.state}: ${done} already deliver new key ${newKey.keyId}, ${todo} still deliver old key ${oldKeyId}; finishing the deployment`,
        },
      ],
    });
  } catch (e) {
    if (e instanceof StaleWriteError)
      return outcome(d, d.journal.record, 'busy', 'another run took over this rotation first; not touching it');
    throw e;
  }
  const first = plan.remaining[0];
  const base: ConfigSnapshot = {
    items: plan.remaining.map((r) => r.item),
    keyId: first?.keyId,
    apiKey: first?.apiKey,
    revokedKeyIds: plan.revokedKeyIds,
  };
  try {
    await d.mdm.writeConfig(base, { apiKey: plan.apiKey, keyId: newKey.keyId, revokedKeyIds: plan.revokedKeyIds });
  } catch (e) {
    await d.journal.commit({
      lease: null,
      events: [
        {
          step: 'mdm-update',
          outcome: 'failed',
          detail: `could not finish the deployment of ${newKey.keyId} into ${todo} (${errorMessage(e)}); both keys left valid, the next run tries again`,
        },
      ],
    });
    return outcome(
      d,
      d.journal.record,
      'failed',
      `could not finish the interrupted deployment (${errorMessage(e)}); ${done} on ${newKey.keyId}, ${todo} on ${oldKeyId}, both valid; the next run tries again`,
    );
  }
  d.journal.stage({
    state: 'deployed',
    events: [
      {
        step: 'mdm-update',
        outcome: 'ok',
        detail: `${todo} now deliver key ${newKey.keyId} (finishing the interrupted deployment; ${done} already did); read back confirmed`,
      },
    ],
  });
  return refreshAndValidate(d, undefined);
}
