#!/usr/bin/env node
/**
 * Recomputes one thoth-rotate evidence record offline, with Node's built-ins only (no install,
 * no network): the hash chain (thoth-rotate/evidence/v2, RFC 8785 canonical JSON), the MAC when
 * EVIDENCE_HMAC_KEY (the base64 evidence-hmac-key) is set, and, given the previous committed
 * version of the same file, that the record only appended events to it. docs/verify.md has the
 * algorithm and a loop over a file's git history.
 *
 *   node scripts/verify-record.mjs <record.json> [--extends <previous-version.json>]
 *
 * Prints "verifies" and exits 0, or prints what does not and exits 1.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** RFC 8785 (JCS): members sorted by UTF-16 code units, no whitespace, ECMAScript number and string forms. */
function jcs(v) {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('JCS: non-finite number');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`;
}

const H = (x) => createHash('sha256').update(jcs(x), 'utf8').digest('hex');

function problems(r) {
  if (r.schema !== 'thoth-rotate/evidence/v2') return [`schema is ${JSON.stringify(r.schema)}; this script checks v2`];
  if (!Array.isArray(r.events) || r.events.length === 0) return ['the record has no events'];
  const out = [];
  let prev = H({ fleet: r.fleet.id, name: r.name, schema: r.schema, tenant: r.tenant });
  r.events.forEach((e, i) => {
    const { hash, ...link } = e.chain ?? {};
    if (link.prev !== prev) out.push(`events[${i}]: chain.prev does not link to the event before (or the genesis)`);
    if (hash !== H({ ...e, chain: link })) out.push(`events[${i}] (${e.step}): chain.hash does not match the event`);
    prev = hash;
  });
  const { events: _events, mac, ...fields } = r;
  if (r.events.at(-1).chain.record !== H(fields))
    out.push("the newest event's chain.record does not match the record's top-level fields");
  if (process.env.EVIDENCE_HMAC_KEY) {
    const key = Buffer.from(process.env.EVIDENCE_HMAC_KEY, 'base64');
    if (mac !== `hmac-sha256:${createHmac('sha256', key).update(prev, 'ascii').digest('hex')}`)
      out.push('the mac does not match under EVIDENCE_HMAC_KEY');
  }
  return out;
}

/** The record keeps every event of the previous version, unchanged and in order. */
function extensionProblems(previous, r) {
  const out = [];
  previous.events.forEach((e, i) => {
    if (r.events[i]?.chain?.hash !== e.chain.hash)
      out.push(`events[${i}] (${e.step} at ${e.at}) of the previous version is missing or changed`);
  });
  return out;
}

const [file, flag, older] = process.argv.slice(2);
if (!file || (flag !== undefined && (flag !== '--extends' || !older))) {
  console.error('usage: node scripts/verify-record.mjs <record.json> [--extends <previous-version.json>]');
  process.exit(2);
}
const record = JSON.parse(readFileSync(file, 'utf8'));
const found = [
  ...problems(record),
  ...(older ? extensionProblems(JSON.parse(readFileSync(older, 'utf8')), record) : []),
];
if (found.length > 0) {
  for (const p of found) console.log(`${file}: ${p}`);
  process.exit(1);
}
console.log(`${file}: verifies${process.env.EVIDENCE_HMAC_KEY ? ' (mac checked)' : ''}`);
