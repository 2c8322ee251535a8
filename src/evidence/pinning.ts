/**
 * What ties an evidence record to its intent (spec action.md §9): the record's identity
 * (tenant, fleet id, name, intent path) must be the intent's, and while a rotation is in
 * flight the intent may not change its target or thresholds. The record pins them at claim
 * time (`target`); a pull request that moves the group, the profile or `minHealthy` mid-way
 * would otherwise make the next apply validate or revoke against something the rotation
 * never started on.
 */
import { z } from 'zod';
import type { Intent } from '../intent/types.js';
import type { EvidenceRecord } from './record.js';

const str = z.string();
const ms = z.number().int().nonnegative();
export const pinnedTargetSchema = z.strictObject({
  controlPlaneUrl: str,
  fleet: z.strictObject({ id: str, region: str }),
  key: z.strictObject({ scope: z.enum(['fleet', 'endpoint']), endpointId: str.optional(), permissions: z.array(str) }),
  mdm: z.strictObject({
    provider: str,
    jamf: z
      .strictObject({
        url: str,
        profileId: z.number().int(),
        groupId: z.number().int(),
        healthAttribute: str.optional(),
      })
      .optional(),
    intune: z
      .strictObject({
        graphUrl: str,
        loginUrl: str,
        groupId: str,
        macos: z.strictObject({ configurationId: str }).optional(),
        windows: z.strictObject({ remediationId: str, template: str }).optional(),
      })
      .optional(),
    settings: z.strictObject({ domain: str, apiKey: str, keyId: str, revokedKeyIds: str }),
  }),
  validation: z.strictObject({ minHealthy: z.number().min(0).max(1), activeWithinMs: ms, windowMs: ms }),
  rollback: z.strictObject({ onValidationFailure: str }),
});

/** The intent's target and thresholds as pinned in the record (durations in ms, permissions sorted). */
export type PinnedTarget = z.infer<typeof pinnedTargetSchema>;

/**
 * The fields of `intent` that a rotation in flight depends on. Timeouts and poll intervals
 * are not pinned: they change how long a run waits, not what it validates or revokes.
 */
export function pinTarget(intent: Intent): PinnedTarget {
  const { jamf, intune } = intent.mdm;
  return {
    controlPlaneUrl: intent.controlPlaneUrl,
    fleet: { id: intent.fleet.id, region: intent.fleet.region },
    key: {
      scope: intent.key.scope,
      ...(intent.key.endpointId !== undefined && { endpointId: intent.key.endpointId }),
      permissions: [...intent.key.permissions].sort(),
    },
    mdm: {
      provider: intent.mdm.provider,
      ...(jamf && {
        jamf: {
          url: jamf.url,
          profileId: jamf.profileId,
          groupId: jamf.groupId,
          ...(jamf.healthAttribute !== undefined && { healthAttribute: jamf.healthAttribute }),
        },
      }),
      ...(intune && {
        intune: {
          graphUrl: intune.graphUrl,
          loginUrl: intune.loginUrl,
          groupId: intune.groupId,
          ...(intune.macos && { macos: { configurationId: intune.macos.configurationId } }),
          ...(intune.windows && {
            windows: { remediationId: intune.windows.remediationId, template: intune.windows.template },
          }),
        },
      }),
      settings: {
        domain: intent.mdm.settings.domain,
        apiKey: intent.mdm.settings.apiKey,
        keyId: intent.mdm.settings.keyId,
        revokedKeyIds: intent.mdm.settings.revokedKeyIds,
      },
    },
    validation: {
      minHealthy: intent.validation.minHealthy,
      activeWithinMs: intent.validation.activeWithinMs,
      windowMs: intent.validation.windowMs,
    },
    rollback: { onValidationFailure: intent.rollback.onValidationFailure },
  };
}

export interface FieldChange {
  /** Dotted path inside the target, e.g. `mdm.jamf.groupId`. */
  readonly field: string;
  readonly was: unknown;
  readonly now: unknown;
}

/** Every leaf that differs between two JSON values, by dotted path (arrays compared whole). */
export function diffFields(was: unknown, now: unknown, prefix = ''): FieldChange[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(was) && isObj(now)) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => diffFields(was[k], now[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(was) === JSON.stringify(now) ? [] : [{ field: prefix || '(target)', was, now }];
}

/** A value from a record or an intent, quoted and bounded so it reads as data in one log line. */
export function shown(v: unknown): string {
  if (v === undefined) return '(none)';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Identity fields of the record that are not the intent's, as `field "record" (intent "x")`. */
export function identityMismatches(record: EvidenceRecord, intent: Intent): string[] {
  const pairs: [string, unknown, unknown][] = [
    ['tenant', record.tenant, intent.tenant],
    ['fleet.id', record.fleet?.id, intent.fleet.id],
    ['name', record.name, intent.name],
    ['intent.path', record.intent?.path, intent.path],
  ];
  return pairs.filter(([, r, i]) => r !== i).map(([f, r, i]) => `${f} ${shown(r)} (the intent has ${shown(i)})`);
}

/** How the pinned target differs from the intent's; empty when they match. */
export function targetChanges(record: EvidenceRecord, intent: Intent): FieldChange[] {
  return diffFields(record.target, pinTarget(intent));
}
