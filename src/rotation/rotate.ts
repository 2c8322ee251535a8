import type { CreatedKey } from '../clients/thoth.js';
import { errorMessage, HttpError } from '../errors.js';
import { type EventInput, Journal, StaleWriteError } from '../evidence/journal.js';
import { type EvidenceRecord, isTerminalState, isUndeployedState } from '../evidence/record.js';
import { seal } from '../evidence/seal.js';
import { windowStatus } from '../intent/window.js';
import { ConfigSplitError, type ConfigSnapshot } from '../mdm/provider.js';
import type { ReadValue } from '../mdm/read-value.js';
import { deploy, describeItems, desiredValues, snapshotDetail } from '../runbook/deploy.js';
import { findLostKeys, supersededKeys, sweepLostKeys } from '../runbook/lost-keys.js';
import { authorizationDetail, authorizeKey, createKey, deniedPermissions, storedKey } from '../runbook/mint.js';
import { event, lease, takeOver } from '../runbook/record.js';
import { newKeyRevocationEvents, revokeChecked, tryRevoke } from '../runbook/revoke.js';
import type { RunbookDeps } from '../runbook/deps.js';
import type { RotationOutcome } from './context.js';
import { revokeOldKey } from './finish.js';
import { finishSplitDeployment } from './finish-deploy.js';
import { keyOwner } from '../runbook/key-name.js';
import { nextStep } from './next-step.js';
import { outcome } from './outcome.js';
import { type Preflight, preflight } from './preflight.js';
import { refreshAndValidate, validateRefreshed } from './validate-phase.js';

/**
 * The planned rotation: one `apply` pass over one intent, the runbook of spec §1 resumed from
 * whatever state the evidence record holds (next-step.ts decides where):
 *
 *   claim → 1. create → 2. store → 3. authorize → 4. snapshot, deploy   (begin, below)
 *         → 5. refresh → 6. validate (validate-phase.ts) → 7. revoke the old key (finish.ts)
 *
 * and 8. record: every step commits its outcome to the evidence record as it goes. The steps
 * themselves, shared with the emergency revocation, are in src/runbook/.
 */
export async function rotate(d: RunbookDeps): Promise<RotationOutcome> {
  const record = d.journal.record;
  const win = d.intent.window ? windowStatus(d.intent.window, d.now()) : { open: false };
  const step = nextStep({
    record,
    run: d.run,
    now: d.now(),
    windowOpen: win.open,
    opensAt: win.opensAt,
    validationWindowMs: d.intent.validation.windowMs,
  });
  d.log.info(`next step: ${step.kind}`);
  switch (step.kind) {
    case 'done':
      return outcome(d, record, 'unchanged', `nothing to do: rotation is ${record?.state}`);
    case 'wait-window':
      return outcome(
        d,
        record,
        'waiting',
        `waiting for window${step.opensAt ? ` (opens ${step.opensAt.toISOString()})` : ' (no further opening)'}`,
      );
    case 'busy':
      return outcome(
        d,
        record,
        'busy',
        `run ${step.owner.id}.${step.owner.attempt} holds this rotation until ${step.until.toISOString()}; not touching it`,
      );
    case 'wait-revocation':
      return outcome(d, record, 'in-progress', `validated; old key revocation due at ${step.dueAt.toISOString()}`);
    case 'begin':
      return begin(d, Journal.genesis(d.intent), win.open);
    case 'recover-undeployed':
      return recoverUndeployed(d, record!, win.open);
    case 'refresh':
      return refreshAndValidate(d, undefined);
    case 'validate':
      return validateRefreshed(d, undefined);
    case 'revoke-old':
      return revokeOldKey(d);
  }
}

/**
 * A run stopped before recording `deployed`. The MDM is the truth: if it already
 * carries the recorded new key, the key was deployed and we continue; otherwise
 * every key minted for this rotation is unusable (its plaintext died with the run)
 * and is revoked before starting over. When only some documents carry it, the
 * deployment stopped between two of them: it is finished (finish-deploy.ts).
 *
 * One exception: a run that recorded `authorized` may have written its key into the
 * MDM just before it died, and a read from another Jamf Cloud node (this process has
 * no sticky session yet) can lag behind that write. So that key may already be on
 * devices even though we read the old configuration: revoking it now could leave
 * them without a valid key. It is kept valid as a *superseded* key and revoked with
 * the old key, once the next key is validated (finish.ts).
 */
async function recoverUndeployed(
  d: RunbookDeps,
  record: EvidenceRecord,
  windowOpen: boolean,
): Promise<RotationOutcome> {
  let snapshot: ConfigSnapshot;
  try {
    snapshot = await d.mdm.readConfig();
  } catch (e) {
    // Documents on different keys: a deployment stopped half-way is finished (finish-deploy.ts).
    if (e instanceof ConfigSplitError) return finishSplitDeployment(d, record, e);
    throw e;
  }
  const newKeyId = record.newKey?.keyId;
  const carries = newKeyId !== undefined && snapshot.keyId?.is(newKeyId) === true;
  const mayBeDelivered = !carries && record.state === 'authorized' && newKeyId ? [{ keyId: newKeyId }] : [];
  const known = supersededKeys(record);
  const superseded = [...known, ...mayBeDelivered.filter((k) => !known.some((s) => s.keyId === k.keyId))];
  if (!carries && !windowOpen && record.state === 'pending' && !newKeyId) {
    // Nothing was left half-done unless a key minted for this rotation is still active.
    const spared = new Set(superseded.map((k) => k.keyId));
    const lost = findLostKeys(await d.thoth.listKeys(), {
      owner: keyOwner(d.intent),
      delivered: snapshot.keyId,
      spared,
    });
    if (lost.length === 0)
      return outcome(d, record, 'waiting', 'interrupted rotation already cleaned up; waiting for window');
  }
  // Take the rotation before touching anything: the commit is guarded by the blob sha, so of
  // runs racing here exactly one goes on (the others get StaleWriteError and stop as busy),
  // and only that one may revoke keys below.
  try {
    await d.journal.commit({
      ...(carries ? { state: 'deployed' as const } : {}),
      ...(superseded.length ? { set: { supersededKeys: superseded } } : {}),
      lease: lease(d, d.now()),
      events: [
        carries
          ? {
              step: 'reconcile',
              outcome: 'info',
              detail: `MDM configuration already carries new key ${newKeyId}; continuing from deployed`,
            }
          : {
              step: 'reconcile',
              outcome: 'info',
              detail: `run ${d.run.id}.${d.run.attempt} took over the rotation interrupted at ${record.state}`,
            },
        ...(mayBeDelivered.length
          ? [
              {
                step: 'supersede-key' as const,
                outcome: 'info' as const,
                detail: `${newKeyId} may have reached the MDM before the previous run stopped; kept valid, revoked with the old key after the next validation`,
              },
            ]
          : []),
      ],
    });
  } catch (e) {
    if (e instanceof StaleWriteError)
      return outcome(d, d.journal.record, 'busy', 'another run took over this rotation first; not touching it');
    throw e;
  }
  if (carries) return refreshAndValidate(d, undefined);
  if (mayBeDelivered.length) {
    d.log.warning(
      `${newKeyId} may have reached the MDM before the previous run stopped; it stays valid until the next key is validated, then it is revoked with the old key`,
    );
  }
  await sweepLostKeys(d, snapshot.keyId);
  const { newKey: _dropped, ...rest } = d.journal.record!;
  const base = rest as EvidenceRecord;
  if (!windowOpen) {
    await d.journal.commit({
      base,
      state: 'pending',
      lease: null,
      events: [
        {
          step: 'reconcile',
          outcome: 'waiting',
          detail: 'interrupted run cleaned up; waiting for window to start again',
        },
      ],
    });
    return outcome(d, d.journal.record, 'waiting', 'interrupted rotation cleaned up; waiting for window');
  }
  return begin(d, base, true, snapshot);
}

/** A step that ends this pass: the outcome to report. */
type Stop = { readonly stop: RotationOutcome };

/** A fresh rotation (or one whose interrupted run was cleaned up): claim, then runbook steps 1–6. */
async function begin(
  d: RunbookDeps,
  base: EvidenceRecord,
  windowOpen: boolean,
  known?: ConfigSnapshot,
): Promise<RotationOutcome> {
  // Read everything first: a broken profile or a wrong region must not cost a key.
  const pre: Preflight = await preflight(d, known);
  if (pre.problems.length > 0) {
    const why = `preflight failed, nothing changed: ${pre.problems.join('; ')}`;
    return outcome(d, d.journal.record, 'failed', why, pre.warnings);
  }
  // Said before anything is minted, so a run without a source of key evidence says so at its top.
  for (const w of pre.warnings) d.log.warning(w);
  if (!(await claim(d, base, pre, windowOpen)))
    return outcome(d, d.journal.record, 'busy', 'another run claimed this rotation first; not touching it');
  await sweepLostKeys(d, pre.snapshot.keyId);

  const created = await createAndStore(d, pre.snapshot);
  if ('stop' in created) return created.stop;
  const denied = await authorize(d, created);
  if (denied) return denied.stop;
  await recordSnapshot(d, pre.snapshot, created);
  const undeployed = await deployNewKey(d, pre, created);
  if (undeployed) return undeployed.stop;
  const result = await refreshAndValidate(d, pre.snapshot, pre.members);
  return { ...result, apiKey: created.apiKey };
}

/** Take the rotation (lease) and record what the preflight found; false when another run took it first. */
function claim(d: RunbookDeps, base: EvidenceRecord, pre: Preflight, windowOpen: boolean): Promise<boolean> {
  const { intent } = d;
  return takeOver(d.journal, {
    base,
    state: 'pending',
    set: { oldKey: { keyId: pre.oldKeyId, ...(pre.oldPrefix ? { prefix: pre.oldPrefix } : {}) } },
    lease: lease(d, d.now()),
    events: [
      event('window-check', 'ok', windowOpen ? 'rotation window is open' : 'window not required'),
      event(
        'preflight',
        'ok',
        `fleet ${intent.fleet.id} in ${pre.region}; deployed key ${pre.oldKeyId}; ${pre.memberCount} device(s) in group`,
      ),
      event('claim', 'ok', `run ${d.run.id}.${d.run.attempt} claimed the rotation`),
    ],
  });
}

/**
 * Steps 1–2: create the key (never retried) and store it: masked inside the client before it
 * returns, and named in the record (staged) by id and fingerprint only.
 */
async function createAndStore(d: RunbookDeps, snapshot: ConfigSnapshot): Promise<CreatedKey | Stop> {
  const { intent, journal } = d;
  let created: CreatedKey;
  try {
    created = await createKey(d, 'rotation');
  } catch (e) {
    // An ambiguous failure may still have minted a key we can never use: find it by name and revoke it.
    const ambiguous = !(e instanceof HttpError) || e.status === 0 || e.status >= 500;
    const swept = ambiguous ? await sweepLostKeys(d, snapshot.keyId).catch(() => []) : [];
    const revoked = swept.length ? `; revoked ${swept.join(', ')} minted by the failed call` : '';
    await journal.commit({ lease: null, events: [event('create-key', 'failed', `${errorMessage(e)}${revoked}`)] });
    return { stop: outcome(d, journal.record, 'failed', `key creation failed: ${errorMessage(e)}`) };
  }
  // Recorded with the authorization below, in one commit before the key can reach the MDM: the
  // authorize calls change nothing, and a run that dies before that commit leaves a key only
  // this rotation's name matches, which the next run revokes (sweepLostKeys). A run that fails
  // in between records the staged key with its failure and revokes it (abandon).
  journal.stage({
    state: 'created',
    set: { newKey: storedKey(created, d.run) },
    events: [
      event(
        'create-key',
        'ok',
        `created ${intent.key.scope} key ${created.keyId} with ${intent.key.permissions.join(', ')}`,
      ),
    ],
  });
  return created;
}

/** Step 3: authorize every permission on the target before anything reaches a device; a denied key is revoked. */
async function authorize(d: RunbookDeps, created: CreatedKey): Promise<Stop | undefined> {
  const auths = await authorizeKey(d, created);
  const denied = deniedPermissions(auths);
  const authEvents = auths.map((a) =>
    event('authorize', a.result.authorized ? 'ok' : 'failed', authorizationDetail(d.intent, a)),
  );
  if (denied.length === 0) {
    d.journal.stage({ events: authEvents });
    return undefined;
  }
  const why = `not authorized for ${denied.join(', ')}`;
  const refusal = await tryRevoke(d, created.keyId);
  await d.journal.commit({
    state: 'failed',
    lease: null,
    events: [...authEvents, ...newKeyRevocationEvents(refusal, `revoked ${created.keyId}: ${why}`)],
  });
  const what = refusal ? refusal.message : 'it was revoked';
  return { stop: outcome(d, d.journal.record, 'failed', `new key ${why}; ${what} and nothing was deployed`) };
}

/**
 * Step 4a, snapshot: the new key id (and the sealed snapshot) must be in the repository before
 * the MDM is written: a later run has to know which key may be on devices, and how to restore.
 */
async function recordSnapshot(d: RunbookDeps, snapshot: ConfigSnapshot, created: CreatedKey): Promise<void> {
  const { intent } = d;
  const sealed = d.sealKey
    ? seal(JSON.stringify(snapshot.items), d.sealKey, `${intent.fleet.id}/${intent.name}`)
    : undefined;
  try {
    await d.journal.commit({
      state: 'authorized',
      ...(sealed ? { set: { rollbackSeal: sealed } } : {}),
      events: [event('mdm-snapshot', 'ok', snapshotDetail(snapshot, sealed))],
    });
  } catch (e) {
    // Unrecorded keys are never left behind (best effort: the next run's sweep finds it by name).
    d.journal.discard();
    await revokeChecked(d, [created.keyId]).catch(() => undefined);
    throw new Error(`could not record new key ${created.keyId} in evidence, so it was revoked: ${errorMessage(e)}`);
  }
}

/** Step 4b, deploy: rewrite only the three settings, then confirm by reading back. */
async function deployNewKey(d: RunbookDeps, pre: Preflight, created: CreatedKey): Promise<Stop | undefined> {
  const { snapshot } = pre;
  try {
    await deploy(d.mdm, snapshot, desiredValues(snapshot, created, snapshot.revokedKeyIds));
  } catch (e) {
    return { stop: await deployFailed(d, snapshot, created.keyId, e, pre.members) };
  }
  // Committed with the refresh (validate-phase.ts): the refresh changes nothing a later run must
  // know of, and a run that dies before that commit is reconciled from the MDM, which carries
  // the key (recoverUndeployed).
  const s = snapshot.items.length === 1 ? 's' : '';
  d.journal.stage({
    state: 'deployed',
    events: [
      event('mdm-update', 'ok', `${describeItems(snapshot)} now deliver${s} key ${created.keyId}; read back confirmed`),
    ],
  });
  return undefined;
}

/**
 * The write failed or could not be confirmed. Find out what the MDM serves now:
 * the old key (valid) → revoke the new one; the new key → carry on; unknown →
 * leave both keys alone and let the next run reconcile.
 */
async function deployFailed(
  d: RunbookDeps,
  snapshot: ConfigSnapshot,
  newKeyId: string,
  e: unknown,
  members: Preflight['members'],
): Promise<RotationOutcome> {
  let served: ReadValue | undefined;
  try {
    served = (await d.mdm.readConfig()).keyId;
  } catch (readErr) {
    await d.journal.commit({
      lease: null,
      events: [
        event(
          'mdm-update',
          'failed',
          `${errorMessage(e)}; could not read the configuration back (${errorMessage(readErr)}); both keys left valid, the next run reconciles`,
        ),
      ],
    });
    return outcome(d, d.journal.record, 'failed', `MDM update failed and its outcome is unknown: ${errorMessage(e)}`);
  }
  if (served?.is(newKeyId)) {
    d.journal.stage({
      state: 'deployed',
      events: [
        event(
          'mdm-update',
          'ok',
          `write reported an error (${errorMessage(e)}) but the configuration carries ${newKeyId}`,
        ),
      ],
    });
    return refreshAndValidate(d, snapshot, members);
  }
  const refusal = await tryRevoke(d, newKeyId, { delivered: { keyId: served } });
  // What the MDM serves is named only as the old key (released by this run's preflight): a value
  // read is shown only once the control plane lists it (mdm/read-value.ts).
  const still = !served
    ? 'no key'
    : served.is(snapshot.keyId)
      ? (d.journal.record?.oldKey?.keyId ?? 'the key it delivered before')
      : 'a key id other than the old or the new one';
  const transient = !refusal && (e instanceof HttpError ? e.retryable : false);
  const { newKey: _n, ...rest } = d.journal.record!;
  const again = transient ? '; the next run in the window starts again' : '';
  await d.journal.commit({
    base: transient ? (rest as EvidenceRecord) : d.journal.record!,
    state: transient ? 'pending' : 'failed',
    lease: null,
    events: [
      event('mdm-update', 'failed', `${errorMessage(e)}; configuration still delivers ${still}`),
      ...newKeyRevocationEvents(refusal, `revoked ${newKeyId}, which never reached the fleet${again}`),
    ],
  });
  const what = refusal ? refusal.message : 'new key revoked';
  return outcome(
    d,
    d.journal.record,
    'failed',
    `MDM update failed (${errorMessage(e)}); ${what}, fleet still on ${still}`,
  );
}

/**
 * The run is ending on an unexpected error. If it minted a key that never reached
 * the MDM, that key's plaintext dies with this process: revoke it now rather than
 * leave it to the next run. Then release the lease so the next run can start.
 * Best effort: a failure here is reported, never thrown over the original error.
 *
 * Only a key *this run* minted is revoked here (`newKey.mintedBy` names this run):
 * a key an earlier, dead run left in the record may be on devices already, and the
 * run that takes over decides about it (recoverUndeployed). When another run wrote the
 * record under us (StaleWriteError), that run owns the rotation: nothing is recorded.
 */
export async function abandon(d: RunbookDeps, cause: unknown): Promise<void> {
  const rec = d.journal.record;
  if (!rec?.lease || isTerminalState(rec.state)) return;
  const lostRace = cause instanceof StaleWriteError;
  const events: EventInput[] = [event('error', 'failed', `run stopped: ${errorMessage(cause)}`)];
  try {
    const newKeyId = rec.newKey?.keyId;
    const minter = rec.newKey?.mintedBy;
    const mine = minter?.id === d.run.id && minter.attempt === d.run.attempt;
    if (isUndeployedState(rec.state) && newKeyId && mine) {
      const served = (await d.mdm.readConfig()).keyId;
      if (!served?.is(newKeyId)) {
        const refusal = await tryRevoke(d, newKeyId, { delivered: { keyId: served } });
        events.push(...newKeyRevocationEvents(refusal, `revoked ${newKeyId}: never reached the MDM configuration`));
        if (lostRace) return;
        const { newKey: _n, ...rest } = rec;
        await d.journal.commit({ base: rest as EvidenceRecord, state: 'pending', lease: null, events });
        return;
      }
    }
    if (lostRace) return;
    await d.journal.commit({ lease: null, events });
  } catch (e) {
    d.log.warning(`could not record the failure in evidence: ${errorMessage(e)}`);
  }
}
