/**
 * The evidence chain: what makes an evidence record a claim that can be checked instead of
 * state that is simply believed. Written so an auditor can recompute it offline with sha256,
 * HMAC-SHA256 and any RFC 8785 (JCS) library; the README has the same algorithm in prose.
 *
 * Format `thoth-rotate/evidence/v2` (hex is lowercase, JCS(x) is RFC 8785 as UTF-8 bytes):
 *
 *   genesis     = hex(sha256(JCS({"fleet": fleet.id, "name": name, "schema": schema, "tenant": tenant})))
 *   fields(r)   = the record's top-level members except `events` and `mac`
 *   digest(r)   = hex(sha256(JCS(fields(r))))
 *   events[i]   : chain.prev   = i == 0 ? genesis : events[i-1].chain.hash
 *                 chain.record = digest of the record as it was committed together with event i
 *                 chain.hash   = hex(sha256(JCS(events[i] without chain.hash)))
 *   valid       : at least one event, every prev and hash as above, and the newest event's
 *                 chain.record equal to digest(r) now
 *   mac         = "hmac-sha256:" + hex(HMAC-SHA256(key, ASCII(newest chain.hash)))   (optional)
 *
 * So an edited, added or removed top-level field (state, keys, lease, validation, target…)
 * no longer matches the newest event's commitment, and an edited event no longer matches its
 * hash. What the chain alone cannot stop: anyone can recompute it (there is no secret), and an
 * older version of the whole file is itself a valid record. The MAC answers the first (only
 * the holder of `evidence-hmac-key` can seal a record); the evidence branch's git history,
 * checked by verify mode, answers the second.
 *
 * v1 (`thoth-rotate/evidence/v1`) chained events only: genesis = sha256 of
 * "schema\ntenant\nfleet.id\nname", hash = sha256(prev + "\n" + JCS(event without chain)).
 * It is still verified so that finished v1 rotations stay readable (record.ts decides what a
 * v1 record may be used for).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { EVIDENCE_SCHEMA_V1, type EventBody, type EvidenceEvent, type EvidenceRecord } from './schema.js';

export { EVIDENCE_SCHEMA, EVIDENCE_SCHEMA_V1 } from './schema.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A UTF-16 surrogate without its partner: not Unicode, so JCS (RFC 8785 §3.2.2.2) refuses it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function jcsString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new TypeError('canonicalJson: string with a lone surrogate');
  // JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 prescribes (it is ECMAScript's JSON.stringify).
  return JSON.stringify(s);
}

/**
 * RFC 8785 (JCS) canonical JSON: object members sorted by UTF-16 code units, no whitespace,
 * strings escaped and numbers written as ECMAScript's JSON.stringify does (which is what
 * RFC 8785 §3.2.2 specifies). The byte string every hash here is taken over; test vectors in
 * test/unit/jcs.test.ts.
 *
 * Kept here rather than taken from the `canonicalize` package: these thirty lines are the
 * whole algorithm, they are checked against the RFC's vectors, and the chain must not change
 * with a dependency's release. Beyond JCS, for in-memory values that are not plain JSON:
 * `undefined` object members are omitted and `toJSON` (Date) is applied, like JSON.stringify;
 * non-finite numbers, bigints and lone surrogates throw, because hashing them as something
 * else would let two different values share a hash.
 */
export function canonicalJson(v: unknown): string {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson((v as { toJSON: () => unknown }).toJSON());
  }
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return jcsString(v);
    case 'boolean':
      return v ? 'true' : 'false';
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
        parts.push(`${jcsString(k)}:${canonicalJson(val)}`);
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

type Identity = Pick<EvidenceRecord, 'schema' | 'tenant' | 'fleet' | 'name'>;

/** The `prev` of the first event: binds the chain to this rotation, so events cannot be transplanted. */
export function genesisHash(r: Identity): string {
  if (r.schema === EVIDENCE_SCHEMA_V1) return sha256(`${r.schema}\n${r.tenant}\n${r.fleet.id}\n${r.name}`);
  return sha256(canonicalJson({ schema: r.schema, tenant: r.tenant, fleet: r.fleet.id, name: r.name }));
}

/** The record's top-level fields, i.e. everything but the events and the MAC sealing them. */
export function recordFields(r: EvidenceRecord): Record<string, unknown> {
  const { events: _events, mac: _mac, ...fields } = r;
  return fields;
}

/** What each event commits to: the record's top-level fields as they stand with that event. */
export function recordDigest(r: EvidenceRecord): string {
  return sha256(canonicalJson(recordFields(r)));
}

/** v2: the hash covers the whole event as stored (its prev link and state digest included) except the hash itself. */
function eventHash(e: EventBody & { chain: { prev: string; record?: string | undefined } }): string {
  return sha256(canonicalJson({ ...e, chain: { prev: e.chain.prev, record: e.chain.record } }));
}

function eventHashV1(prev: string, e: EventBody): string {
  return sha256(`${prev}\n${canonicalJson(e)}`);
}

function withoutChain(e: EvidenceEvent): EventBody {
  const { chain: _chain, ...rest } = e;
  return rest;
}

/**
 * Chains `body` onto `record` as its newest event, committing to the record's fields as they
 * are now: callers set the fields first (state, keys, lease…), then append the events that
 * go with the change. The body must already be scrubbed of secrets (appendEvent does that).
 */
export function chainEvent(record: EvidenceRecord, body: EventBody): EvidenceEvent {
  const last = record.events[record.events.length - 1];
  const prev = last ? last.chain.hash : genesisHash(record);
  const link = { prev, record: recordDigest(record) };
  return { ...body, chain: { ...link, hash: eventHash({ ...body, chain: link }) } };
}

export type ChainCheck = { ok: true } | { ok: false; index: number; problem: string };

/** Recomputes the chain; reports the first event whose link, hash or state commitment does not match. */
export function verifyChain(record: EvidenceRecord): ChainCheck {
  const v1 = record.schema === EVIDENCE_SCHEMA_V1;
  if (!v1 && record.events.length === 0) {
    return {
      ok: false,
      index: 0,
      problem:
        'the record has no events; a record is created together with its first event, so an empty one is not evidence',
    };
  }
  let prev: string;
  try {
    prev = genesisHash(record);
  } catch (err) {
    return { ok: false, index: 0, problem: `the record's identity cannot be hashed: ${(err as Error).message}` };
  }
  for (let i = 0; i < record.events.length; i++) {
    const e = record.events[i]!;
    if (!e.chain || e.chain.prev !== prev) {
      return {
        ok: false,
        index: i,
        problem:
          i === 0
            ? 'chain.prev is not the genesis hash of this record (event moved, deleted or copied from another record, or tenant, fleet.id or name edited)'
            : `chain.prev does not match the hash of event ${i - 1} (an event was inserted, deleted or reordered)`,
      };
    }
    let hash: string;
    try {
      hash = v1 ? eventHashV1(prev, withoutChain(e)) : eventHash(e);
    } catch (err) {
      return { ok: false, index: i, problem: `event cannot be hashed: ${(err as Error).message}` };
    }
    if (e.chain.hash !== hash) {
      return { ok: false, index: i, problem: 'chain.hash does not match the event content (the event was edited)' };
    }
    prev = hash;
  }
  if (v1) return { ok: true };
  const newest = record.events.length - 1;
  let digest: string;
  try {
    digest = recordDigest(record);
  } catch (err) {
    return { ok: false, index: newest, problem: `the record's fields cannot be hashed: ${(err as Error).message}` };
  }
  if (record.events[newest]!.chain.record !== digest) {
    return {
      ok: false,
      index: newest,
      problem:
        "chain.record of the newest event does not match the record's top-level fields (a field such as state, oldKey, newKey, lease or validation was edited, added or removed, or newer events were dropped)",
    };
  }
  return { ok: true };
}

const MAC_PREFIX = 'hmac-sha256:';

/** The MAC a record with this chain head carries under `key`. */
export function computeMac(record: EvidenceRecord, key: Buffer): string {
  const head = record.events[record.events.length - 1]?.chain.hash;
  if (!head) throw new TypeError('computeMac: a record without events has no chain head');
  return `${MAC_PREFIX}${createHmac('sha256', key).update(head, 'ascii').digest('hex')}`;
}

/** The record sealed with `key`, or with no MAC at all when there is no key. */
export function withMac(record: EvidenceRecord, key: Buffer | undefined): EvidenceRecord {
  const { mac: _stale, ...rest } = record;
  return key ? { ...rest, mac: computeMac(record, key) } : (rest as EvidenceRecord);
}

/** Constant-time check of the record's MAC; the problem, or undefined when it holds. */
export function macProblem(record: EvidenceRecord, key: Buffer): string | undefined {
  if (record.mac === undefined)
    return 'the record carries no mac, but evidence-hmac-key is set: every record this action acts on must be sealed with that key';
  const expected = Buffer.from(computeMac(record, key), 'utf8');
  const actual = Buffer.from(record.mac, 'utf8');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return 'the mac does not match the chain head under evidence-hmac-key (the record was written or re-chained without that key, or with another one)';
  }
  return undefined;
}
