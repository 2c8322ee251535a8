/**
 * The evidence record's shape (spec action.md §6), defined once: the zod schemas below are
 * what `parseRecord` checks a file against, and every TypeScript type of the record is
 * inferred from them. Objects are read loosely (a member this version does not know is kept,
 * because the hash chain commits to the record's fields as written), but the inferred types
 * list only the members the action knows: {@link Known} drops zod's index signature.
 */
import { z } from 'zod';
import { pinnedTargetSchema } from './pinning.js';

export const EVIDENCE_SCHEMA = 'thoth-rotate/evidence/v2';
export const EVIDENCE_SCHEMA_V1 = 'thoth-rotate/evidence/v1';

/** A type as zod infers it, without the `[k: string]: unknown` of loose objects, at every depth. */
export type Known<T> = T extends readonly (infer U)[]
  ? Known<U>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Known<T[K]> }
    : T;

/** spec §7; `pending` first, the terminal states last. */
export const ROTATION_STATES = [
  'pending',
  'created',
  'authorized',
  'deployed',
  'refreshed',
  'validated',
  'awaiting-revocation',
  'completed',
  'rolled-back',
  'failed',
  'revoked',
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];

/** The runbook path of one rotation, in order (spec §7); the other states are off it. */
export const PATH_STATES = ROTATION_STATES.slice(0, 8) as readonly RotationState[];

/** States a rotation never leaves: the next `apply` has nothing to do, `abandon` nothing to release. */
export const TERMINAL_STATES = ['completed', 'rolled-back', 'failed', 'revoked'] as const satisfies RotationState[];

export function isTerminalState(state: RotationState): boolean {
  return (TERMINAL_STATES as readonly RotationState[]).includes(state);
}

/** States before the new key reached the MDM configuration: a key minted there may be on no device. */
export const UNDEPLOYED_STATES = ['pending', 'created', 'authorized'] as const satisfies RotationState[];

export function isUndeployedState(state: RotationState): boolean {
  return (UNDEPLOYED_STATES as readonly RotationState[]).includes(state);
}

/**
 * Every `step` an event has ever been written with, by runbook step (spec §1). A record is
 * read only when its events name known steps, so logic may switch on them.
 */
export const EVENT_STEPS = [
  // claim: a run takes the rotation (its lease) before it mutates anything
  'window-check',
  'preflight',
  'claim',
  'reconcile',
  'resume',
  'supersede-key',
  // recurring policy: the previous cycle's record names the cycle that follows it (spec §10)
  'next-cycle',
  // 1-3. mint: create, store (masked, in memory), authorize
  'create-key',
  'authorize',
  // 4. deploy: snapshot, write, read back
  'mdm-snapshot',
  'mdm-update',
  // 5. refresh
  'refresh',
  // 6. validate
  'validate',
  'identity-drift',
  'hold',
  'rollback',
  'schedule-revocation',
  'revalidate',
  // 7. revoke (always through the live-state guard)
  'revoke-old-key',
  'revoke-new-key',
  'revoke-lost-key',
  'revoke-superseded-key',
  'revoke-refused',
  'confirm-revocation',
  // emergency revocation
  'revoke-request',
  'revoke-key',
  'validate-revocation',
  'offenders',
  'stragglers',
  // a run stopped on an error
  'error',
] as const;
export type EventStep = (typeof EVENT_STEPS)[number];

export const EVENT_OUTCOMES = ['ok', 'failed', 'skipped', 'waiting', 'info'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

const isoUtc = z.iso.datetime();
const nonEmpty = z.string().min(1);
const count = z.number().int().nonnegative();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

export const runSchema = z.looseObject({
  id: z.string(),
  attempt: z.number().int(),
  actor: z.string(),
  sha: z.string(),
});

const keyRefSchema = z.looseObject({
  keyId: nonEmpty,
  prefix: z.string().optional(),
  expiresAt: z.string().optional(),
  /** One-way (chain.ts `fingerprint`). Never the key. */
  fingerprint: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>')
    .optional(),
  /**
   * The run that minted the key (absent for keys the action did not mint, and in records
   * written before this field): a run revokes on its way out only a key it minted itself.
   */
  mintedBy: z.looseObject({ id: z.string(), attempt: z.number().int() }).optional(),
});

const validationSchema = z.looseObject({
  at: isoUtc,
  total: count,
  active: count,
  healthy: count,
  onOldKey: count,
  notCheckedIn: count,
  inactive: count,
  healthyShare: z.number().min(0).max(1),
  stragglers: z.array(z.looseObject({ id: z.string(), name: z.string(), reason: z.string() })),
  stragglersOmitted: count,
});

/** A run's claim on a rotation: other runs keep off until `until` unless it is released. */
const leaseSchema = z.looseObject({ run: runSchema, until: isoUtc });

/** The pre-change configuration, sealed (seal.ts). */
const sealedBlobSchema = z.looseObject({
  alg: z.literal('AES-256-GCM'),
  /** base64, 12 bytes */
  iv: z.string(),
  /** base64, 16-byte GCM authentication tag */
  tag: z.string(),
  /** base64 */
  ciphertext: z.string(),
  /** Additional authenticated data, in clear: names the context the blob was sealed for. */
  aad: z.string(),
});

/** What a caller supplies for an event; `appendEvent` adds the chain. */
export const eventBodySchema = z.looseObject({
  /** ISO-8601 UTC */
  at: isoUtc,
  step: z.enum(EVENT_STEPS),
  outcome: z.enum(EVENT_OUTCOMES),
  detail: z.string(),
  run: runSchema,
});
/** v2: `record` is the digest of the record's top-level fields as committed with this event. */
const eventSchemaV2 = eventBodySchema.extend({
  chain: z.strictObject({ prev: hex64, record: hex64, hash: hex64 }),
});
const eventSchemaV1 = eventBodySchema.extend({ chain: z.object({ prev: hex64, hash: hex64 }) });
/** Either version's event, for the type: `chain.record` exists from v2 on. */
const eventSchema = eventBodySchema.extend({
  chain: z.object({ prev: hex64, record: hex64.optional(), hash: hex64 }),
});

const recordFields = {
  name: nonEmpty,
  ticket: z.string().optional(),
  tenant: nonEmpty,
  fleet: z.looseObject({ id: nonEmpty, region: z.string() }),
  intent: z.looseObject({ path: z.string(), sha256: z.string() }),
  state: z.enum(ROTATION_STATES),
  oldKey: keyRefSchema.optional(),
  newKey: keyRefSchema.optional(),
  /** Keys a dead run may have delivered: kept valid, revoked with the old key (rotation/sweep.ts). */
  supersededKeys: z.array(keyRefSchema).optional(),
  revokedKeys: z.array(keyRefSchema).optional(),
  reason: z.string().optional(),
  refreshSentAt: isoUtc.optional(),
  validatedAt: isoUtc.optional(),
  validation: validationSchema.optional(),
  lease: leaseSchema.optional(),
  rollbackSeal: sealedBlobSchema.optional(),
};
const macSchema = z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/, 'must be hmac-sha256:<64 hex>');

/** What the action writes. */
export const recordSchemaV2 = z.looseObject({
  ...recordFields,
  schema: z.literal(EVIDENCE_SCHEMA),
  /** The intent's target and thresholds when the record was created (pinning.ts). */
  target: pinnedTargetSchema,
  /** `hmac-sha256:<hex>` over the chain head, with `evidence-hmac-key` (chain.ts). */
  mac: macSchema.optional(),
  events: z.array(eventSchemaV2),
});

/** v1: what the action wrote before the chain committed to the record's fields. Read, never written. */
export const recordSchemaV1 = z.looseObject({
  ...recordFields,
  schema: z.literal(EVIDENCE_SCHEMA_V1),
  events: z.array(eventSchemaV1),
});

/** Either version, for the type (record.ts `parseRecord` checks a file against its own version). */
const anyRecordSchema = z.object({
  ...recordFields,
  schema: z.enum([EVIDENCE_SCHEMA, EVIDENCE_SCHEMA_V1]),
  target: pinnedTargetSchema.optional(),
  mac: macSchema.optional(),
  events: z.array(eventSchema),
});

export type EvidenceRecord = Known<z.infer<typeof anyRecordSchema>>;
export type EvidenceSchema = EvidenceRecord['schema'];
export type EvidenceEvent = Known<z.infer<typeof eventSchema>>;
export type EventBody = Known<z.infer<typeof eventBodySchema>>;
export type RunInfo = Known<z.infer<typeof runSchema>>;
export type KeyRef = Known<z.infer<typeof keyRefSchema>>;
export type Lease = Known<z.infer<typeof leaseSchema>>;
export type ValidationSummary = Known<z.infer<typeof validationSchema>>;
export type SealedBlob = Known<z.infer<typeof sealedBlobSchema>>;
