/**
 * The evidence record (spec action.md §6): one JSON file per intent that is both the audit
 * trail and the rotation's durable state. It is a *claim*: the hash chain (chain.ts) commits
 * every event and, with each event, the record's top-level fields as they stood then, so a
 * record is acted on only when it verifies, and only for the intent it names (pinning.ts).
 */
import { redact } from '../secrets.js';
import { chainEvent, macProblem, verifyChain } from './chain.js';
import {
  EVIDENCE_SCHEMA,
  EVIDENCE_SCHEMA_V1,
  eventBodySchema,
  isTerminalState,
  recordSchemaV1,
  recordSchemaV2,
  type EventBody,
  type EvidenceRecord,
} from './schema.js';

export type { PinnedTarget } from './pinning.js';
export type {
  EventOutcome,
  EventStep,
  EvidenceEvent,
  EvidenceRecord,
  EvidenceSchema,
  KeyRef,
  Lease,
  RotationState,
  RunInfo,
  SealedBlob,
  ValidationSummary,
} from './schema.js';
export {
  EVENT_STEPS,
  EVIDENCE_SCHEMA,
  EVIDENCE_SCHEMA_V1,
  isTerminalState,
  isUndeployedState,
  ROTATION_STATES,
  TERMINAL_STATES,
} from './schema.js';
export { canonicalJson, computeMac, fingerprint, genesisHash, recordDigest, verifyChain, withMac } from './chain.js';

/** A record that cannot be read or does not verify. The message names the file. */
export class EvidenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceError';
  }
}

/**
 * Returns a new record with `e` appended and chained, committing to the record's top-level
 * fields as they are: set the fields first, then append. Free text (`step`, `detail`) is run
 * through the secret scrubber *before* hashing: evidence is a channel the runner does not
 * mask, and scrubbing after hashing would break the chain.
 */
export function appendEvent(record: EvidenceRecord, e: EventBody): EvidenceRecord {
  if (record.schema !== EVIDENCE_SCHEMA)
    throw new EvidenceError(`cannot append to a ${record.schema} record: only ${EVIDENCE_SCHEMA} records are written`);
  // Refuse now what parseRecord would refuse on the next run: a record that cannot be read
  // back would strand the rotation mid-way.
  const check = eventBodySchema.safeParse(e);
  if (!check.success) {
    const i = check.error.issues[0]!;
    throw new EvidenceError(`evidence event ${JSON.stringify(e.step)}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  // `step` is one of EVENT_STEPS, a constant: only the free text can carry a secret.
  const body: EventBody = {
    ...e,
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
  // Members this version does not know (read loosely, see schema.ts) are kept after the known ones.
  const fields: Record<string, unknown> = { ...r };
  const ordered: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (fields[k] !== undefined) ordered[k] = fields[k];
  for (const k of Object.keys(fields)
    .filter((k) => !known.has(k))
    .sort()) {
    if (fields[k] !== undefined) ordered[k] = fields[k];
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
  const parsed = (v1 ? recordSchemaV1 : recordSchemaV2).safeParse(raw);
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
  if (v1 && !isTerminalState(record.state)) {
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
