import type { CreatedKey } from '../clients/thoth.js';
import { errorMessage, InvariantError } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import { pinTarget } from '../evidence/pinning.js';
import type { EvidenceRecord, KeyRef } from '../evidence/record.js';
import type { ConfigSnapshot } from '../mdm/provider.js';
import { describeKeyIds } from '../mdm/read-value.js';
import { deploy, desiredValues, mergeRevoked } from '../runbook/deploy.js';
import { findLostKeys } from '../runbook/lost-keys.js';
import { authorizeKey, createKey, deniedPermissions, storedKey } from '../runbook/mint.js';
import { event, eventsIf, lease } from '../runbook/record.js';
import { type Refresh, refreshDetail, refreshGroup } from '../runbook/refresh.js';
import { type KnownLiveState, revokeChecked } from '../runbook/revoke.js';
import { pollUntil } from '../runbook/validate.js';
import type { RunbookDeps } from '../runbook/deps.js';
import type { RotationOutcome } from '../rotation/context.js';
import { keyOwner, mintedKeyName } from '../runbook/key-name.js';
import { outcome } from '../rotation/outcome.js';
import { readLiveKeyState } from './guard.js';
import { checkRevocation, type RevocationCheck } from './verify.js';

export interface RevokeRequest {
  readonly keyIds: readonly string[];
  readonly reason: string;
  readonly replace: boolean;
}

/**
 * Emergency revocation for one intent's fleet (spec §1), with the runbook's own steps
 * (src/runbook/):
 *
 *   record the request → revoke the keys the fleet does not deliver, at once
 *   → replace the deployed key: 1. create, 2. store, 3. authorize (no validation window)
 *   → 4. deploy: the configuration delivers the revoked list (and the replacement)
 *   → 5. refresh → revoke the deployed key → 6. validate the revocation → 8. record
 *
 * so the fleet keeps a valid key throughout. The intent's record ends in state `revoked`.
 */
export async function revokeForIntent(d: RunbookDeps, req: RevokeRequest): Promise<RotationOutcome> {
  const { intent, journal } = d;
  const snapshot = await d.mdm.readConfig();
  // Compared without being read out: the configuration's value is opaque until the tenant lists it.
  const deployed = req.keyIds.find((id) => snapshot.keyId?.is(id));
  const warnings: string[] = [];
  const base = journal.record ?? Journal.genesis(intent);
  const replaceNote = deployed ? ` (${deployed} is the deployed key; replace=${req.replace})` : '';
  const why = `${req.reason}${replaceNote}`;
  await journal.commit({
    base,
    // A finished rotation's record may pin an older target: this revocation acts on the intent's.
    set: { reason: req.reason, target: pinTarget(intent) },
    lease: lease(d, d.now()),
    events: [
      event('revoke-request', 'info', `emergency revocation of ${req.keyIds.join(', ')} by ${d.run.actor}: ${why}`),
    ],
  });

  // Emergency replacements an earlier, interrupted revocation minted and the configuration does
  // not deliver as read now. The read may lag behind that run's write (another Jamf Cloud node),
  // so devices may hold one: they are revoked only once this run's configuration is out (revokeDeployed).
  const keys = await d.thoth.listKeys();
  const strays = findLostKeys(keys, {
    owner: keyOwner(intent),
    kind: 'emergency',
    delivered: snapshot.keyId,
    spared: new Set(req.keyIds),
  }).map((k) => k.keyId);

  // The configuration must keep delivering a key that works (spec §7). One that the control
  // plane already lists as revoked means a stale read or an already broken fleet: writing it
  // back could undo a newer configuration, so stop before anything is revoked.
  const revokedDelivered = deployed ? undefined : keys.find((k) => snapshot.keyId?.is(k.keyId) && !k.active);
  if (revokedDelivered) {
    throw new InvariantError(
      `the MDM configuration (as read) delivers ${revokedDelivered.keyId}, which the control plane lists as revoked; nothing was revoked. ` +
        `If the configuration was changed in the last minutes, re-run; otherwise add ${revokedDelivered.keyId} to key-ids so a replacement is deployed`,
    );
  }

  // Revoke: keys the fleet does not deliver stop working now: checked against the key list and the
  // configuration this step read above (guard.ts), all of them before the first DELETE.
  const revokedKeys: KeyRef[] = await revokeRecorded(
    d,
    req.keyIds.filter((k) => k !== deployed),
    { known: { keys, delivered: { keyId: snapshot.keyId } } },
  );

  // Steps 1–5: replace the deployed key (if any), deploy the revoked list, refresh.
  const { replacement, refresh } = await replaceAndDeploy(d, req, snapshot, deployed, warnings);

  // Revoke: now the deployed key can die, and so can stray replacements of an interrupted run.
  revokedKeys.push(...(await revokeDeployed(d, deployed, strays, replacement)));

  // Step 6, validate: keys inactive, no endpoint that checked in still on a revoked key.
  const expectedLoss = deployed && !replacement ? deployed : undefined;
  const check = await validateRevocation(d, new Set(req.keyIds), refresh, expectedLoss);

  // Step 8, record: the outcome, and the keys as they now stand.
  return recordRevocation(d, req, { base, check, deployed, replacement, revokedKeys, warnings });
}

/**
 * Steps 1–5 of a revocation: a deployed key is first replaced (create, store, authorize; no
 * validation window) so the fleet keeps a valid key; the configuration then carries the
 * revoked list (and the replacement), and the group is asked to check in.
 */
async function replaceAndDeploy(
  d: RunbookDeps,
  req: RevokeRequest,
  snapshot: ConfigSnapshot,
  deployed: string | undefined,
  warnings: string[],
): Promise<{ replacement: CreatedKey | undefined; refresh: Refresh }> {
  let replacement: CreatedKey | undefined;
  try {
    if (deployed && req.replace) {
      replacement = await mintReplacement(d);
      if (!replacement)
        warnings.push(
          `replacement key could not be authorized; ${deployed} is revoked anyway and the fleet loses access until a new key is deployed`,
        );
    } else if (deployed) {
      warnings.push(
        `replace is false: ${deployed} is the deployed key, so the fleet loses access to the control plane until a new key is deployed`,
      );
    }

    // Step 4, deploy: the configuration carries the revoked list (and the replacement, if any).
    const revokedList = mergeRevoked(snapshot.revokedKeyIds, req.keyIds);
    await deploy(d.mdm, snapshot, desiredValues(snapshot, replacement, revokedList));
    const delivers = replacement ? `${replacement.keyId} (replacement)` : 'the key it delivered before';
    const written = `configuration delivers ${delivers} and revoked ids ${describeKeyIds(revokedList)}`;
    await d.journal.commit({ events: [event('mdm-update', 'ok', written)] });

    // Step 5, refresh: force check-in.
    const refresh = await refreshGroup(d);
    await d.journal.commit({
      set: { refreshSentAt: refresh.sentAt.toISOString() },
      events: [
        event(
          'refresh',
          refresh.refused.length ? 'info' : 'ok',
          refreshDetail(refresh, { verb: 'check-in forced on' }),
        ),
      ],
    });
    return { replacement, refresh };
  } catch (e) {
    // A replacement whose plaintext dies with this run and that never reached the MDM is revoked now.
    await revokeUndelivered(d, replacement?.keyId);
    throw e;
  }
}

/**
 * The deployed key, and stray replacements of an interrupted run, once the configuration is
 * out. Live state decides (guard.ts): the configuration delivers the replacement now, so the
 * deployed key passes; without a replacement it is still delivered and goes anyway
 * (documented, warned). Two batches, so that a refused stray never keeps the compromised key alive.
 */
async function revokeDeployed(
  d: RunbookDeps,
  deployed: string | undefined,
  strays: readonly string[],
  replacement: CreatedKey | undefined,
): Promise<KeyRef[]> {
  if (!deployed && strays.length === 0) return [];
  const live = await readLiveKeyState(d, [...(deployed ? [deployed] : []), ...strays]);
  const known = { keys: live.keys, delivered: { keyId: live.deliveredKeyId } };
  const revoked = deployed
    ? await revokeRecorded(d, [deployed], { known, deliveredAllowed: replacement ? undefined : deployed })
    : [];
  for (const r of await revokeChecked(d, strays, { known })) {
    const what = `${r.result === 'revoked' ? 'revoked' : 'already gone:'} ${r.keyId}`;
    const detail = `${what}, a replacement minted by an interrupted revocation that the configuration no longer delivers`;
    await d.journal.commit({ events: [event('revoke-lost-key', 'ok', detail)] });
  }
  return revoked;
}

/** Step 8 of a revocation: what validation found, the keys as they now stand, state `revoked`. */
async function recordRevocation(
  d: RunbookDeps,
  req: RevokeRequest,
  r: {
    readonly base: EvidenceRecord;
    readonly check: RevocationCheck;
    readonly deployed: string | undefined;
    readonly replacement: CreatedKey | undefined;
    readonly revokedKeys: readonly KeyRef[];
    readonly warnings: string[];
  },
): Promise<RotationOutcome> {
  const { journal } = d;
  const { base, check, deployed, replacement, revokedKeys, warnings } = r;
  const lostAccess = check.offenders.filter((o) => o.keyId === deployed && !replacement);
  const offenders = check.offenders.filter((o) => !lostAccess.includes(o));
  const ok = check.stillActive.length === 0 && offenders.length === 0;
  if (offenders.length)
    warnings.push(
      `${offenders.length} endpoint(s) checked in and still report a revoked key: ${offenders
        .slice(0, 20)
        .map((e) => `${e.name} (${e.keyId})`)
        .join(', ')}${offenders.length > 20 ? ' …' : ''}`,
    );
  if (check.notCheckedIn.length)
    warnings.push(
      `${check.notCheckedIn.length} active endpoint(s) on a revoked key have not checked in since: ${check.notCheckedIn
        .slice(0, 20)
        .map((e) => e.name)
        .join(', ')}${check.notCheckedIn.length > 20 ? ' …' : ''}`,
    );
  const line = `${check.checkedIn}/${check.active} active endpoint(s) checked in since the refresh; ${offenders.length} still on a revoked key; ${check.notCheckedIn.length} on a revoked key not checked in${lostAccess.length ? `; ${lostAccess.length} without a valid key` : ''}; control plane still accepts: ${check.stillActive.join(', ') || 'none'}`;
  const set: Partial<EvidenceRecord> = { revokedKeys: mergeRefs(base.revokedKeys ?? [], revokedKeys) };
  if (replacement) {
    set.oldKey = { keyId: deployed! };
    set.newKey = storedKey(replacement, d.run);
  }
  await journal.commit({
    state: 'revoked',
    set,
    lease: null,
    events: [
      event('validate-revocation', ok ? 'ok' : 'failed', line),
      ...eventsIf(
        offenders.length,
        event(
          'offenders',
          'failed',
          offenders
            .slice(0, 50)
            .map((e) => `${e.name} (${e.id}) on ${e.keyId}`)
            .join(', '),
        ),
      ),
      ...eventsIf(
        check.notCheckedIn.length,
        event(
          'stragglers',
          'info',
          `not checked in since the refresh: ${check.notCheckedIn
            .slice(0, 50)
            .map((e) => `${e.name} (${e.id})`)
            .join(', ')}`,
        ),
      ),
    ],
  });
  const result = outcome(
    d,
    journal.record,
    ok ? 'revoked' : 'failed',
    ok ? `revoked ${req.keyIds.join(', ')}; ${line}` : `revocation not confirmed: ${line}`,
    warnings,
  );
  return {
    ...result,
    revokedKeyIds: revokedKeys.map((k) => k.keyId),
    ...(replacement ? { apiKey: replacement.apiKey, newKeyId: replacement.keyId } : {}),
  };
}

/** Revoke through the guard (all or none of `keyIds`), one evidence event per key. */
async function revokeRecorded(
  d: RunbookDeps,
  keyIds: readonly string[],
  o: { known?: KnownLiveState; deliveredAllowed?: string | undefined },
): Promise<KeyRef[]> {
  const out: KeyRef[] = [];
  for (const r of await revokeChecked(d, keyIds, o)) {
    await d.journal.commit({
      events: [
        {
          step: 'revoke-key',
          outcome: 'ok',
          detail: r.result === 'revoked' ? `revoked ${r.keyId} in the control plane` : `${r.keyId} was already revoked`,
        },
      ],
    });
    out.push({ keyId: r.keyId });
  }
  return out;
}

/**
 * Steps 1–3 for the replacement: create, store (masked), authorize. A key the control plane
 * explicitly denies is revoked and undefined returned (the deployed key is revoked anyway, as
 * documented). An *error* while authorizing (outage, timeout) proves nothing: the replacement
 * is revoked and the run stops before the deployed key is touched, so the fleet keeps a working
 * key; a re-run tries again.
 */
async function mintReplacement(d: RunbookDeps): Promise<CreatedKey | undefined> {
  const { intent } = d;
  const created = await createKey(d, 'emergency');
  try {
    const detail = `created replacement ${intent.key.scope} key ${created.keyId} with ${intent.key.permissions.join(', ')}`;
    await d.journal.commit({ events: [event('create-key', 'ok', detail)] });
  } catch (e) {
    await revokeChecked(d, [created.keyId]).catch(() => undefined);
    throw new Error(
      `could not record replacement ${created.keyId} in evidence, so it was revoked and the deployed key left as it is: ${errorMessage(e)}`,
    );
  }
  let denied: string[];
  try {
    denied = deniedPermissions(await authorizeKey(d, created));
  } catch (e) {
    await revokeChecked(d, [created.keyId]).catch(() => undefined);
    throw new Error(
      `replacement ${created.keyId} could not be checked (${errorMessage(e)}); it was revoked and the deployed key left valid. Re-run, or set replace: false to revoke without a replacement`,
    );
  }
  if (denied.length > 0) {
    await revokeChecked(d, [created.keyId]);
    const detail = `replacement ${created.keyId} not authorized for ${denied.join(', ')}; revoked`;
    await d.journal.commit({ events: [event('authorize', 'failed', detail)] });
    return undefined;
  }
  const detail = `replacement ${created.keyId} authorized for ${intent.key.permissions.join(', ')}`;
  await d.journal.commit({ events: [event('authorize', 'ok', detail)] });
  return created;
}

/**
 * The run is stopping on an error. Replacements it minted (the one it knows, and any a failed
 * create call may have minted without answering) die with its memory unless the MDM already
 * delivers them: revoke those. When the configuration cannot be read, leave them: the next
 * revocation run revokes strays once its own configuration is out. Best effort.
 */
async function revokeUndelivered(d: RunbookDeps, knownId: string | undefined): Promise<void> {
  try {
    const name = mintedKeyName(keyOwner(d.intent), 'emergency', d.run);
    const keys = await d.thoth.listKeys();
    const mine = keys.filter((k) => k.active && (k.keyId === knownId || k.name === name)).map((k) => k.keyId);
    if (mine.length === 0) return;
    const served = (await d.mdm.readConfig()).keyId;
    const lost = mine.filter((id) => !served?.is(id));
    await revokeChecked(d, lost, { known: { keys, delivered: { keyId: served } } });
    if (lost.length) {
      await d.journal
        .commit({
          events: [
            {
              step: 'revoke-new-key',
              outcome: 'ok',
              detail: `revoked ${lost.join(', ')}: replacement minted by this run that never reached the configuration`,
            },
          ],
        })
        .catch(() => undefined);
    }
  } catch (e) {
    d.log.warning(
      `could not clean up this run's replacement key: ${errorMessage(e)}; the next revocation run revokes it`,
    );
  }
}

function mergeRefs(a: readonly KeyRef[], b: readonly KeyRef[]): KeyRef[] {
  const seen = new Map<string, KeyRef>();
  for (const k of [...a, ...b]) seen.set(k.keyId, k);
  return [...seen.values()];
}

/**
 * Step 6 for a revocation: poll until it is confirmed everywhere it can be (no revoked key
 * active, no endpoint that checked in still on one, enough of the group checked in), or
 * validation.timeout. `expectedLoss`: a deployed key revoked without a replacement, whose
 * endpoints are expected to keep it.
 */
async function validateRevocation(
  d: RunbookDeps,
  revoked: Set<string>,
  refresh: Refresh,
  expectedLoss: string | undefined,
): Promise<RevocationCheck> {
  const { timeoutMs, pollIntervalMs, activeWithinMs, minHealthy } = d.intent.validation;
  const observe = async () => {
    const [keys, endpoints, obs] = await Promise.all([
      d.thoth.listKeys(),
      d.thoth.listEndpoints(d.intent.fleet.id),
      d.mdm.observe(refresh.devices),
    ]);
    const check = checkRevocation({
      revoked,
      keys,
      endpoints,
      devices: obs,
      refreshSentAt: refresh.sentAt,
      activeWithinMs,
    });
    const offenders = check.offenders.filter((o) => o.keyId !== expectedLoss);
    const enough = check.active === 0 || check.checkedIn / check.active >= minHealthy;
    d.log.info(
      `revocation poll: ${check.checkedIn}/${check.active} checked in, ${offenders.length} on a revoked key, ${check.stillActive.length} key(s) still active`,
    );
    return { check, done: check.stillActive.length === 0 && offenders.length === 0 && enough };
  };
  const schedule = { from: refresh.sentAt, timeoutMs, intervalMs: pollIntervalMs };
  return (await pollUntil(d, schedule, observe, (o) => o.done)).last.check;
}
