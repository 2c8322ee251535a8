/**
 * The evidence record (spec action.md §6): one JSON file per intent that is both the audit
 * trail and the rotation's durable state. Events are hash-chained so that an edited,
 * reordered or deleted event makes the record fail verification.
 *
 * Limits of the chain, stated so nobody relies on more: it covers `events[]` only (the
 * top-level fields are the *current* state and change between runs), and dropping the
 * newest events leaves a shorter, still-valid chain — the git history of the evidence
 * file is the anchor against truncation.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { redact } from '../secrets.js';
import type { SealedBlob } from './seal.js';

export type { SealedBlob } from './seal.js';

export const EVIDENCE_SCHEMA = 'thoth-rotate/evidence/v1';

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
  chain: { prev: string; hash: string };
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
  schema: typeof EVIDENCE_SCHEMA;
  name: string;
  ticket?: string;
  tenant: string;
  fleet: { id: string; region: string };
  intent: { path: string; sha256: string };
  state: RotationState;
  oldKey?: KeyRef;
  newKey?: KeyRef;
  revokedKeys?: KeyRef[];
  reason?: string;
  refreshSentAt?: string;
  validatedAt?: string;
  validation?: ValidationSummary;
  rollbackSeal?: SealedBlob;
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
  fingerprint: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>').optional(),
});
const count = z.number().int().nonnegative();
const eventSchema = z.looseObject({
  at: isoUtc,
  step: nonEmpty,
  outcome: z.enum(['ok', 'failed', 'skipped', 'waiting', 'info']),
  detail: z.string(),
  run: z.looseObject({ id: z.string(), attempt: z.number().int(), actor: z.string(), sha: z.string() }),
  chain: z.object({ prev: z.string().regex(/^[0-9a-f]{64}$/), hash: z.string().regex(/^[0-9a-f]{64}$/) }),
});

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * JSON with object keys sorted (UTF-16 code unit order) and no whitespace: the byte string
 * the chain hashes. Like JSON.stringify, `undefined` object members are omitted and objects
 * with `toJSON` (Date) are converted first; non-finite numbers and bigints throw, because
 * silently hashing them as `null` would let two different events share a hash.
 */
export function canonicalJson(v: unknown): string {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson((v as { toJSON: () => unknown }).toJSON());
  }
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError('canonicalJson: non-finite number');
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) {
        return `[${v.map((x) => (x === undefined || typeof x === 'function' ? 'null' : canonicalJson(x))).join(',')}]`;
      }
      const obj = v as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        const val = obj[k];
        if (val === undefined || typeof val === 'function' || typeof val === 'symbol') continue;
        parts.push(`${JSON.stringify(k)}:${canonicalJson(val)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof v}`);
  }
}

/** `sha256:` + hex digest: identifies a key in evidence without revealing it. */
export function fingerprint(secret: string): string {
  return `sha256:${sha256(secret)}`;
}

/** The `prev` of the first event: binds the chain to this rotation, so events cannot be transplanted. */
export function genesisHash(r: Pick<EvidenceRecord, 'schema' | 'tenant' | 'fleet' | 'name'>): string {
  return sha256(`${r.schema}\n${r.tenant}\n${r.fleet.id}\n${r.name}`);
}

function eventHash(prev: string, e: Omit<EvidenceEvent, 'chain'>): string {
  return sha256(`${prev}\n${canonicalJson(e)}`);
}

function withoutChain(e: EvidenceEvent): Omit<EvidenceEvent, 'chain'> {
  const { chain: _chain, ...rest } = e;
  return rest;
}

/**
 * Returns a new record with `e` appended and chained. Free text (`step`, `detail`) is run
 * through the secret scrubber *before* hashing: evidence is a channel the runner does not
 * mask, and scrubbing after hashing would break the chain.
 */
export function appendEvent(record: EvidenceRecord, e: Omit<EvidenceEvent, 'chain'>): EvidenceRecord {
  // Refuse now what parseRecord would refuse on the next run: a record that cannot be read
  // back would strand the rotation mid-way.
  const check = eventSchema.omit({ chain: true }).safeParse(e);
  if (!check.success) {
    const i = check.error.issues[0]!;
    throw new EvidenceError(`evidence event ${JSON.stringify(e.step)}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const last = record.events[record.events.length - 1];
  const prev = last ? last.chain.hash : genesisHash(record);
  const body: Omit<EvidenceEvent, 'chain'> = {
    ...e,
    step: redact(e.step),
    detail: redact(e.detail),
    run: { ...e.run },
  };
  const event: EvidenceEvent = { ...body, chain: { prev, hash: eventHash(prev, body) } };
  return { ...record, events: [...record.events, event] };
}

/** Recomputes the chain; reports the first event whose link or hash does not match. */
export function verifyChain(record: EvidenceRecord): { ok: true } | { ok: false; index: number; problem: string } {
  let prev = genesisHash(record);
  for (let i = 0; i < record.events.length; i++) {
    const e = record.events[i]!;
    if (!e.chain || e.chain.prev !== prev) {
      return {
        ok: false,
        index: i,
        problem:
          i === 0
            ? 'chain.prev is not the genesis hash of this record (event moved, deleted or copied from another record)'
            : `chain.prev does not match the hash of event ${i - 1} (an event was inserted, deleted or reordered)`,
      };
    }
    let hash: string;
    try {
      hash = eventHash(prev, withoutChain(e));
    } catch (err) {
      return { ok: false, index: i, problem: `event cannot be hashed: ${(err as Error).message}` };
    }
    if (e.chain.hash !== hash) {
      return { ok: false, index: i, problem: 'chain.hash does not match the event content (the event was edited)' };
    }
    prev = hash;
  }
  return { ok: true };
}

/** Top-level field order in the file: the order of the interface, unknown fields, then events. */
const FIELD_ORDER = [
  'schema',
  'name',
  'ticket',
  'tenant',
  'fleet',
  'intent',
  'state',
  'oldKey',
  'newKey',
  'revokedKeys',
  'reason',
  'refreshSentAt',
  'validatedAt',
  'validation',
  'rollbackSeal',
] as const;

/**
 * The file content: 2-space JSON with a trailing newline and a fixed top-level key order, so
 * successive commits diff cleanly. Known secrets are scrubbed from the text as a last line
 * of defence (events were already scrubbed when appended, so the chain still verifies).
 */
export function serializeRecord(r: EvidenceRecord): string {
  const known = new Set<string>([...FIELD_ORDER, 'events']);
  const ordered: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (r[k] !== undefined) ordered[k] = r[k];
  for (const k of Object.keys(r).filter((k) => !known.has(k)).sort()) {
    if (r[k] !== undefined) ordered[k] = r[k];
  }
  // Fixed key order per event too, so a record reads the same whichever run wrote it.
  ordered.events = r.events.map(({ at, step, outcome, detail, run, chain, ...rest }) => ({ at, step, outcome, detail, ...rest, run, chain }));
  return `${redact(JSON.stringify(ordered, null, 2))}\n`;
}

const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const recordSchema = z.looseObject({
  schema: z.literal(EVIDENCE_SCHEMA),
  name: nonEmpty,
  ticket: z.string().optional(),
  tenant: nonEmpty,
  fleet: z.looseObject({ id: nonEmpty, region: z.string() }),
  intent: z.looseObject({ path: z.string(), sha256: z.string() }),
  state: z.enum(ROTATION_STATES as [RotationState, ...RotationState[]]),
  oldKey: keyRef.optional(),
  newKey: keyRef.optional(),
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
  rollbackSeal: z
    .looseObject({
      alg: z.literal('AES-256-GCM'),
      iv: z.string(),
      tag: z.string(),
      ciphertext: z.string(),
      aad: z.string(),
    })
    .optional(),
  events: z.array(eventSchema),
});

/**
 * Parses and checks an evidence file: JSON, the v1 shape, and the hash chain. Every error
 * names `file` and, for shape problems, the JSON path, so the fix is obvious from the log.
 */
export function parseRecord(text: string, file: string): EvidenceRecord {
  if (text.length > MAX_RECORD_BYTES) {
    throw new EvidenceError(`${file}: evidence record is larger than ${MAX_RECORD_BYTES} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EvidenceError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    throw new EvidenceError(`${file}: not a ${EVIDENCE_SCHEMA} evidence record: ${issues.join('; ')}${more}`);
  }
  // zod's optional() admits explicit `undefined`, which JSON cannot produce: the cast is exact.
  const record = parsed.data as unknown as EvidenceRecord;
  const chain = verifyChain(record);
  if (!chain.ok) {
    throw new EvidenceError(`${file}: evidence chain broken at events[${chain.index}]: ${chain.problem}`);
  }
  return record;
}
