/**
 * The evidence record (spec action.md §6): one JSON file per intent that is both the audit
 * trail and the rotation's durable state. It is a *claim*: the hash chain (chain.ts) commits
 * every event and, with each event, the record's top-level fields as they stood then, so a
 * record is acted on only when it verifies, and only for the intent it names (pinning.ts).
 */
import { z } from 'zod';
import { redact } from '../secrets.js';
import { chainEvent, EVIDENCE_SCHEMA, EVIDENCE_SCHEMA_V1, macProblem, verifyChain } from './chain.js';
import { pinnedTargetSchema, type PinnedTarget } from './pinning.js';
import type { SealedBlob } from './seal.js';

export type { SealedBlob } from './seal.js';
export type { PinnedTarget } from './pinning.js';
export {
  canonicalJson,
  computeMac,
  EVIDENCE_SCHEMA,
  EVIDENCE_SCHEMA_V1,
  fingerprint,
  genesisHash,
  recordDigest,
  verifyChain,
  withMac,
} from './chain.js';

export type EvidenceSchema = typeof EVIDENCE_SCHEMA | typeof EVIDENCE_SCHEMA_V1;

export type RotationState =
  | 'pending'
  | 'created'
  | 'authorized'
  | 'deployed'
  | 'refreshed'
  | 'validated'
  | 'awaiting-revocation'
  | 'completed'
  | 'rolled-back'
  | 'failed'
  | 'revoked';

export const ROTATION_STATES: readonly RotationState[] = [
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
];

export interface RunInfo {
  id: string;
  attempt: number;
  actor: string;
  sha: string;
}

export type EventOutcome = 'ok' | 'failed' | 'skipped' | 'waiting' | 'info';

export interface EvidenceEvent {
  /** ISO-8601 UTC */
  at: string;
  step: string;
  outcome: EventOutcome;
  detail: string;
  run: RunInfo;
  /** `record` (v2): digest of the record's top-level fields as committed with this event. */
  chain: { prev: string; record?: string; hash: string };
}

/** A run's claim on a rotation: other runs keep off until `until` unless it is released. */
export interface Lease {
  readonly run: RunInfo;
  /** ISO-8601 UTC */
  readonly until: string;
}

export interface KeyRef {
  keyId: string;
  prefix?: string;
  expiresAt?: string;
  /** One-way, see {@link fingerprint}. Never the key. */
  fingerprint?: string;
}

export interface ValidationSummary {
  at: string;
  total: number;
  active: number;
  healthy: number;
  onOldKey: number;
  notCheckedIn: number;
  inactive: number;
  healthyShare: number;
  stragglers: { id: string; name: string; reason: string }[];
  stragglersOmitted: number;
}

export interface EvidenceRecord {
  /** v2 records are the only ones written; a v1 record is read only when its rotation is over. */
  schema: EvidenceSchema;
  name: string;
  ticket?: string;
  tenant: string;
  fleet: { id: string; region: string };
  intent: { path: string; sha256: string };
  /** The intent's target and thresholds when the record was created (v2; absent in v1). */
  target?: PinnedTarget;
  state: RotationState;
  oldKey?: KeyRef;
  newKey?: KeyRef;
  /** Keys a dead run may have delivered: kept valid, revoked with the old key (rotation/sweep.ts). */
  supersededKeys?: KeyRef[];
  revokedKeys?: KeyRef[];
  reason?: string;
  refreshSentAt?: string;
  validatedAt?: string;
  validation?: ValidationSummary;
  lease?: Lease;
  rollbackSeal?: SealedBlob;
  /** `hmac-sha256:<hex>` over the chain head, with `evidence-hmac-key` (chain.ts). */
  mac?: string;
  events: EvidenceEvent[];
  [k: string]: unknown;
}

/** A record that cannot be read or does not verify. The message names the file. */
export class EvidenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceError';
  }
}

const isoUtc = z.iso.datetime();
const nonEmpty = z.string().min(1);
const keyRef = z.looseObject({
  keyId: nonEmpty,
  prefix: z.string().optional(),
  expiresAt: z.string().optional(),
  fingerprint: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>')
    .optional(),
});
const count = z.number().int().nonnegative();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const runSchema = z.looseObject({ id: z.string(), attempt: z.number().int(), actor: z.string(), sha: z.string() });
const eventBody = {
  at: isoUtc,
  step: nonEmpty,
  outcome: z.enum(['ok', 'failed', 'skipped', 'waiting', 'info']),
  detail: z.string(),
  run: runSchema,
};
const eventSchema = z.looseObject({ ...eventBody, chain: z.strictObject({ prev: hex64, record: hex64, hash: hex64 }) });
const eventSchemaV1 = z.looseObject({ ...eventBody, chain: z.object({ prev: hex64, hash: hex64 }) });
const newEventSchema = z.looseObject(eventBody);

/**
 * Returns a new record with `e` appended and chained, committing to the record's top-level
 * fields as they are: set the fields first, then append. Free text (`step`, `detail`) is run
 * through the secret scrubber *before* hashing: evidence is a channel the runner does not
 * mask, and scrubbing after hashing would break the chain.
 */
export function appendEvent(record: EvidenceRecord, e: Omit<EvidenceEvent, 'chain'>): EvidenceRecord {
  if (record.schema !== EVIDENCE_SCHEMA)
    throw new EvidenceError(`cannot append to a ${record.schema} record: only ${EVIDENCE_SCHEMA} records are written`);
  // Refuse now what parseRecord would refuse on the next run: a record that cannot be read
  // back would strand the rotation mid-way.
  const check = newEventSchema.safeParse(e);
  if (!check.success) {
    const i = check.error.issues[0]!;
    throw new EvidenceError(`evidence event ${JSON.stringify(e.step)}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const body: Omit<EvidenceEvent, 'chain'> = {
    ...e,
    step: redact(e.step),
    detail: redact(e.detail),
    run: { ...e.run },
  };
  return { ...record, events: [...record.events, chainEvent(record, body)] };
}

/**
 * The top-level fields with every string scrubbed of known secrets, so that the fields the
 * chain commits to are exactly the ones the file will hold (serializeRecord scrubs the text
 * again as a last line of defence; after this that is a no-op and the chain still verifies).
 */
export function scrubFields(record: EvidenceRecord): EvidenceRecord {
  const scrub = (v: unknown): unknown =>
    typeof v === 'string'
      ? redact(v)
      : Array.isArray(v)
        ? v.map(scrub)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]))
          : v;
  const { events, ...fields } = record;
  return { ...(scrub(fields) as object), events } as EvidenceRecord;
}
/** Top-level field order in the file: the order of the interface, unknown fields, the MAC, then events. */
const FIELD_ORDER = [
  'schema',
  'name',
  'ticket',
  'tenant',
  'fleet',
  'intent',
  'target',
  'state',
  'oldKey',
  'newKey',
  'supersededKeys',
  'revokedKeys',
  'reason',
  'refreshSentAt',
  'validatedAt',
  'validation',
  'lease',
  'rollbackSeal',
] as const;

/**
 * The file content: 2-space JSON with a trailing newline and a fixed top-level key order, so
 * successive commits diff cleanly. Known secrets are scrubbed from the text as a last line
 * of defence (fields and events were already scrubbed before hashing, so the chain still verifies).
 */
export function serializeRecord(r: EvidenceRecord): string {
  const known = new Set<string>([...FIELD_ORDER, 'mac', 'events']);
  const ordered: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (r[k] !== undefined) ordered[k] = r[k];
  for (const k of Object.keys(r)
    .filter((k) => !known.has(k))
    .sort()) {
    if (r[k] !== undefined) ordered[k] = r[k];
  }
  if (r.mac !== undefined) ordered['mac'] = r.mac;
  // Fixed key order per event too, so a record reads the same whichever run wrote it.
  ordered['events'] = r.events.map(({ at, step, outcome, detail, run, chain, ...rest }) => ({
    at,
    step,
    outcome,
    detail,
    ...rest,
    run,
    chain,
  }));
  return `${redact(JSON.stringify(ordered, null, 2))}\n`;
}

const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const TERMINAL_STATES: readonly RotationState[] = ['completed', 'rolled-back', 'failed', 'revoked'];

const recordFields = {
  name: nonEmpty,
  ticket: z.string().optional(),
  tenant: nonEmpty,
  fleet: z.looseObject({ id: nonEmpty, region: z.string() }),
  intent: z.looseObject({ path: z.string(), sha256: z.string() }),
  state: z.enum(ROTATION_STATES as [RotationState, ...RotationState[]]),
  oldKey: keyRef.optional(),
  newKey: keyRef.optional(),
  supersededKeys: z.array(keyRef).optional(),
  revokedKeys: z.array(keyRef).optional(),
  reason: z.string().optional(),
  refreshSentAt: isoUtc.optional(),
  validatedAt: isoUtc.optional(),
  validation: z
    .looseObject({
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
    })
    .optional(),
  lease: z.looseObject({ run: runSchema, until: isoUtc }).optional(),
  rollbackSeal: z
    .looseObject({
      alg: z.literal('AES-256-GCM'),
      iv: z.string(),
      tag: z.string(),
      ciphertext: z.string(),
      aad: z.string(),
    })
    .optional(),
};

const recordSchema = z.looseObject({
  ...recordFields,
  schema: z.literal(EVIDENCE_SCHEMA),
  target: pinnedTargetSchema,
  mac: z
    .string()
    .regex(/^hmac-sha256:[0-9a-f]{64}$/, 'must be hmac-sha256:<64 hex>')
    .optional(),
  events: z.array(eventSchema),
});

/** v1: what the action wrote before the chain committed to the record's fields. Read, never written. */
const recordSchemaV1 = z.looseObject({
  ...recordFields,
  schema: z.literal(EVIDENCE_SCHEMA_V1),
  events: z.array(eventSchemaV1),
});

export interface ParseOptions {
  /** `evidence-hmac-key`: when given, the record must carry a MAC made with it. */
  readonly macKey?: Buffer | undefined;
}

/**
 * Parses and checks an evidence file: JSON, the shape, the hash chain with the state it
 * commits to, and the MAC when a key is given. Every error names `file` and, for shape
 * problems, the JSON path, so the fix is obvious from the log.
 *
 * A v1 record is returned only when its rotation is over (completed, rolled back, failed,
 * revoked): its chain does not cover its state, so a v1 record in flight could say anything
 * about which key to revoke next, and is refused with what to do instead.
 */
export function parseRecord(text: string, file: string, opts: ParseOptions = {}): EvidenceRecord {
  if (text.length > MAX_RECORD_BYTES) {
    throw new EvidenceError(`${file}: evidence record is larger than ${MAX_RECORD_BYTES} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EvidenceError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const v1 = (raw as { schema?: unknown } | null)?.schema === EVIDENCE_SCHEMA_V1;
  const parsed = (v1 ? recordSchemaV1 : recordSchema).safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    throw new EvidenceError(
      `${file}: not a ${v1 ? EVIDENCE_SCHEMA_V1 : EVIDENCE_SCHEMA} evidence record: ${issues.join('; ')}${more}`,
    );
  }
  // zod's optional() admits explicit `undefined`, which JSON cannot produce: the cast is exact.
  const record = parsed.data as unknown as EvidenceRecord;
  const chain = verifyChain(record);
  if (!chain.ok) {
    throw new EvidenceError(
      `${file}: evidence chain broken at events[${chain.index}]: ${chain.problem}; nothing is done for this intent until the record verifies (restore it from the evidence branch's history)`,
    );
  }
  if (v1 && !TERMINAL_STATES.includes(record.state)) {
    throw new EvidenceError(
      `${file}: a ${EVIDENCE_SCHEMA_V1} record of a rotation still in flight (state ${record.state}); v1 records do not commit to their state, so this version does not act on it and nothing was changed. ` +
        'Finish the rotation with the release that started it (pin that version in the workflow until the record is completed or rolled-back), ' +
        'or check both keys by hand, then move the record aside (e.g. rename it to .v1.json) so the next apply starts a new rotation',
    );
  }
  if (opts.macKey) {
    const problem = macProblem(record, opts.macKey);
    if (problem) {
      throw new EvidenceError(
        `${file}: ${problem}; nothing is done for this intent. If the record is genuine but older than the key, check it (the events name every key) and move it aside so the next run starts a new record`,
      );
    }
  }
  return record;
}

export function isTerminalState(state: RotationState): boolean {
  return TERMINAL_STATES.includes(state);
}
