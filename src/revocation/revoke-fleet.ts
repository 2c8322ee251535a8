import { errorMessage, InvariantError } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import { pinTarget } from '../evidence/pinning.js';
import { fingerprint, type EvidenceRecord, type KeyRef } from '../evidence/record.js';
import type { ConfigSnapshot, DesiredValues, MdmDevice } from '../mdm/provider.js';
import { describeKeyIds, type KeyIdValue } from '../mdm/read-value.js';
import {
  keyResource,
  leaseUntil,
  waitBeforeNextPoll,
  type RotationDeps,
  type RotationOutcome,
} from '../rotation/context.js';
import { isMintedBy, keyOwner, mintedKeyName } from '../rotation/key-name.js';
import { outcome } from '../rotation/outcome.js';
import type { SecretValue } from '../secret-value.js';
import { readLiveKeyState, revokeChecked, type KnownLiveState } from './guard.js';
import { mergeRevoked } from './targets.js';
import { checkRevocation, type RevocationCheck } from './verify.js';

export interface RevokeRequest {
  readonly keyIds: readonly string[];
  readonly reason: string;
  readonly replace: boolean;
}

/**
 * Emergency revocation for one intent's fleet (spec §1): keys the fleet does not
 * use die at once; a deployed key is first replaced (create, authorize, deploy,
 * refresh — no validation window) so the fleet keeps a valid key; every id joins
 * the revoked list the configuration delivers; then check-in is forced and the
 * revocation validated. The intent's record ends in state `revoked`.
 */
export async function revokeForIntent(d: RotationDeps, req: RevokeRequest): Promise<RotationOutcome> {
  const { intent, journal } = d;
  const snapshot = await d.mdm.readConfig();
  // Compared without being read out: the configuration's value is opaque until the tenant lists it.
  const deployed = req.keyIds.find((id) => snapshot.keyId?.is(id));
  const warnings: string[] = [];
  const base = journal.record ?? Journal.genesis(intent);
  await journal.commit({
    base,
    // A finished rotation's record may pin an older target: this revocation acts on the intent's.
    set: { reason: req.reason, target: pinTarget(intent) },
    lease: { run: d.run, until: leaseUntil(intent, d.now()) },
    events: [
      {
        step: 'revoke-request',
        outcome: 'info',
        detail: `emergency revocation of ${req.keyIds.join(', ')} by ${d.run.actor}: ${req.reason}${deployed ? ` (${deployed} is the deployed key; replace=${req.replace})` : ''}`,
      },
    ],
  });

  // Emergency replacements an earlier, interrupted revocation minted and the configuration does
  // not deliver as read now. The read may lag behind that run's write (another Jamf Cloud node),
  // so devices may hold one: they are revoked only once this run's configuration is out (step 5).
  const keys = await d.thoth.listKeys();
  const owner = keyOwner(intent);
  const strays = keys
    .filter(
      (k) =>
        k.active !== false &&
        isMintedBy(k.name, owner, 'emergency') &&
        !snapshot.keyId?.is(k.key_id) &&
        !req.keyIds.includes(k.key_id),
    )
    .map((k) => k.key_id);

  // The configuration must keep delivering a key that works (spec §7). One that the control
  // plane already lists as revoked means a stale read or an already broken fleet: writing it
  // back could undo a newer configuration, so stop before anything is revoked.
  const revokedDelivered = deployed ? undefined : keys.find((k) => snapshot.keyId?.is(k.key_id) && k.active === false);
  if (revokedDelivered) {
    throw new InvariantError(
      `the MDM configuration (as read) delivers ${revokedDelivered.key_id}, which the control plane lists as revoked; nothing was revoked. ` +
        `If the configuration was changed in the last minutes, re-run; otherwise add ${revokedDelivered.key_id} to key-ids so a replacement is deployed`,
    );
  }

  // 1. Keys the fleet does not deliver stop working now: checked against the key list and the
  // configuration this step read above (guard.ts), all of them before the first DELETE.
  const revokedKeys: KeyRef[] = await revokeRecorded(
    d,
    req.keyIds.filter((k) => k !== deployed),
    { known: { keys, delivered: { keyId: snapshot.keyId } } },
  );

  // 2. Replace the deployed key before it dies, so the group always holds a valid key.
  let replacement: { keyId: string; apiKey: SecretValue } | undefined;
  let devices: MdmDevice[];
  let refreshSentAt: Date;
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

    // 3. The configuration carries the revoked list (and the replacement, if any).
    const revokedList = mergeRevoked(snapshot.revokedKeyIds, req.keyIds);
    const values = desired(snapshot, replacement, revokedList);
    await d.mdm.writeConfig(snapshot, values);
    const delivers = replacement ? `${replacement.keyId} (replacement)` : 'the key it delivered before';
    await journal.commit({
      events: [
        {
          step: 'mdm-update',
          outcome: 'ok',
          detail: `configuration delivers ${delivers} and revoked ids ${describeKeyIds(revokedList)}`,
        },
      ],
    });

    // 4. Force check-in.
    devices = await d.mdm.members();
    refreshSentAt = d.now();
    const refused = await d.mdm.refresh(devices);
    await journal.commit({
      set: { refreshSentAt: refreshSentAt.toISOString() },
      events: [
        {
          step: 'refresh',
          outcome: refused.length ? 'info' : 'ok',
          detail: `check-in forced on ${devices.length - refused.length} of ${devices.length} device(s)`,
        },
      ],
    });
  } catch (e) {
    // A replacement whose plaintext dies with this run and that never reached the MDM is revoked now.
    await revokeUndelivered(d, replacement?.keyId);
    throw e;
  }

  // 5. Now the deployed key can die, and so can stray replacements of an interrupted run. Live
  // state decides (guard.ts): the configuration delivers the replacement now, so the deployed key
  // passes; without a replacement it is still delivered and goes anyway (documented, warned above).
  // Two batches, so that a refused stray never keeps the compromised key alive.
  if (deployed || strays.length) {
    const live = await readLiveKeyState(d, [...(deployed ? [deployed] : []), ...strays]);
    const known = { keys: live.keys, delivered: { keyId: live.deliveredKeyId } };
    if (deployed)
      revokedKeys.push(
        ...(await revokeRecorded(d, [deployed], { known, deliveredAllowed: replacement ? undefined : deployed })),
      );
    for (const r of await revokeChecked(d, strays, { known })) {
      await journal.commit({
        events: [
          {
            step: 'revoke-lost-key',
            outcome: 'ok',
            detail: `${r.result === 'revoked' ? 'revoked' : 'already gone:'} ${r.keyId}, a replacement minted by an interrupted revocation that the configuration no longer delivers`,
          },
        ],
      });
    }
  }

  // 6. Validate: keys inactive, no endpoint that checked in still on a revoked key.
  const check = await pollRevocation(
    d,
    new Set(req.keyIds),
    devices,
    refreshSentAt,
    deployed && !replacement ? deployed : undefined,
  );
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
    set.newKey = {
      keyId: replacement.keyId,
      fingerprint: fingerprint(replacement.apiKey.reveal()),
      mintedBy: { id: d.run.id, attempt: d.run.attempt },
    };
  }
  await journal.commit({
    state: 'revoked',
    set,
    lease: null,
    events: [
      { step: 'validate-revocation', outcome: ok ? 'ok' : 'failed', detail: line },
      ...(offenders.length
        ? [
            {
              step: 'offenders' as const,
              outcome: 'failed' as const,
              detail: offenders
                .slice(0, 50)
                .map((e) => `${e.name} (${e.id}) on ${e.keyId}`)
                .join(', '),
            },
          ]
        : []),
      ...(check.notCheckedIn.length
        ? [
            {
              step: 'stragglers' as const,
              outcome: 'info' as const,
              detail: `not checked in since the refresh: ${check.notCheckedIn
                .slice(0, 50)
                .map((e) => `${e.name} (${e.id})`)
                .join(', ')}`,
            },
          ]
        : []),
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
  d: RotationDeps,
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
 * Create, mask, authorize. A key the control plane explicitly denies is revoked and undefined
 * returned (the deployed key is revoked anyway, as documented). An *error* while authorizing
 * (outage, timeout) proves nothing: the replacement is revoked and the run stops before the
 * deployed key is touched, so the fleet keeps a working key; a re-run tries again.
 */
async function mintReplacement(d: RotationDeps): Promise<{ keyId: string; apiKey: SecretValue } | undefined> {
  const { intent, thoth } = d;
  const created = await thoth.createKey({
    scopeLevel: intent.key.scope,
    scopeTargetId: keyResource(intent).resourceId,
    permissions: intent.key.permissions,
    name: mintedKeyName(keyOwner(intent), 'emergency', d.run),
    ...(intent.key.ttlMs !== undefined ? { ttlSeconds: Math.round(intent.key.ttlMs / 1000) } : {}),
    jitReason: `emergency replacement (thoth-rotate ${intent.name})`,
  });
  try {
    await d.journal.commit({
      events: [
        {
          step: 'create-key',
          outcome: 'ok',
          detail: `created replacement ${intent.key.scope} key ${created.keyId} with ${intent.key.permissions.join(', ')}`,
        },
      ],
    });
  } catch (e) {
    await revokeChecked(d, [created.keyId]).catch(() => undefined);
    throw new Error(
      `could not record replacement ${created.keyId} in evidence, so it was revoked and the deployed key left as it is: ${errorMessage(e)}`,
    );
  }
  const denied: string[] = [];
  for (const permission of intent.key.permissions) {
    let r: { authorized: boolean };
    try {
      r = await thoth.authorize({ keyId: created.keyId, apiKey: created.apiKey, permission, ...keyResource(intent) });
    } catch (e) {
      await revokeChecked(d, [created.keyId]).catch(() => undefined);
      throw new Error(
        `replacement ${created.keyId} could not be checked (${errorMessage(e)}); it was revoked and the deployed key left valid. Re-run, or set replace: false to revoke without a replacement`,
      );
    }
    if (!r.authorized) denied.push(permission);
  }
  if (denied.length > 0) {
    await revokeChecked(d, [created.keyId]);
    await d.journal.commit({
      events: [
        {
          step: 'authorize',
          outcome: 'failed',
          detail: `replacement ${created.keyId} not authorized for ${denied.join(', ')}; revoked`,
        },
      ],
    });
    return undefined;
  }
  await d.journal.commit({
    events: [
      {
        step: 'authorize',
        outcome: 'ok',
        detail: `replacement ${created.keyId} authorized for ${intent.key.permissions.join(', ')}`,
      },
    ],
  });
  return { keyId: created.keyId, apiKey: created.apiKey };
}

/**
 * The run is stopping on an error. Replacements it minted (the one it knows, and any a failed
 * create call may have minted without answering) die with its memory unless the MDM already
 * delivers them: revoke those. When the configuration cannot be read, leave them: the next
 * revocation run revokes strays once its own configuration is out. Best effort.
 */
async function revokeUndelivered(d: RotationDeps, knownId: string | undefined): Promise<void> {
  try {
    const name = mintedKeyName(keyOwner(d.intent), 'emergency', d.run);
    const keys = await d.thoth.listKeys();
    const mine = keys
      .filter((k) => k.active !== false && (k.key_id === knownId || k.name === name))
      .map((k) => k.key_id);
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

function desired(
  snapshot: ConfigSnapshot,
  replacement: { keyId: string; apiKey: SecretValue } | undefined,
  revoked: KeyIdValue[],
): DesiredValues {
  if (replacement) return { apiKey: replacement.apiKey, keyId: replacement.keyId, revokedKeyIds: revoked };
  if (!snapshot.apiKey || !snapshot.keyId)
    throw new Error(
      'the MDM configuration carries no key to keep; cannot deliver the revoked list without a replacement (set replace: true)',
    );
  return { apiKey: snapshot.apiKey, keyId: snapshot.keyId, revokedKeyIds: revoked };
}

function mergeRefs(a: readonly KeyRef[], b: readonly KeyRef[]): KeyRef[] {
  const seen = new Map<string, KeyRef>();
  for (const k of [...a, ...b]) seen.set(k.keyId, k);
  return [...seen.values()];
}

/** Poll until the revocation is confirmed everywhere it can be, or validation.timeout. */
async function pollRevocation(
  d: RotationDeps,
  revoked: Set<string>,
  devices: Parameters<RotationDeps['mdm']['observe']>[0],
  refreshSentAt: Date,
  expectedLoss: string | undefined,
): Promise<RevocationCheck> {
  const { timeoutMs, pollIntervalMs, activeWithinMs, minHealthy } = d.intent.validation;
  const deadline = refreshSentAt.getTime() + timeoutMs;
  for (;;) {
    const started = d.now().getTime();
    const [keys, endpoints, obs] = await Promise.all([
      d.thoth.listKeys(),
      d.thoth.listEndpoints(d.intent.fleet.id),
      d.mdm.observe(devices),
    ]);
    const check = checkRevocation({
      revoked,
      keys,
      endpoints,
      devices: obs,
      refreshSentAt,
      activeWithinMs,
    });
    const offenders = check.offenders.filter((o) => o.keyId !== expectedLoss);
    const enough = check.active === 0 || check.checkedIn / check.active >= minHealthy;
    d.log.info(
      `revocation poll: ${check.checkedIn}/${check.active} checked in, ${offenders.length} on a revoked key, ${check.stillActive.length} key(s) still active`,
    );
    if (check.stillActive.length === 0 && offenders.length === 0 && enough) return check;
    const wait = waitBeforeNextPoll(d.now().getTime(), started, pollIntervalMs, deadline);
    if (wait === undefined) return check;
    await d.sleep(wait);
  }
}
