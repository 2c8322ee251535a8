/** scripts/verify-record.mjs (the auditor's offline check, node built-ins only) agrees with the action's chain. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serializeRecord, withMac, type EvidenceRecord } from '../../src/evidence/record.js';
import { withEvents } from './evidence-sample.js';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/verify-record.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'verify-record-'));
let n = 0;
function check(r: EvidenceRecord | string, args: string[] = [], env: Record<string, string> = {}) {
  const file = path.join(dir, `r${n++}.json`);
  writeFileSync(file, typeof r === 'string' ? r : serializeRecord(r));
  const res = spawnSync(process.execPath, [SCRIPT, file, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: res.status, out: res.stdout + res.stderr, file };
}

describe('scripts/verify-record.mjs', () => {
  const key = Buffer.alloc(32, 3);
  it('verifies a record the action wrote, with its MAC', () => {
    expect(check(withEvents()).code).toBe(0);
    const sealed = check(withMac(withEvents(), key), [], { EVIDENCE_HMAC_KEY: key.toString('base64') });
    expect(sealed).toMatchObject({ code: 0, out: expect.stringContaining('verifies (mac checked)') });
    expect(check(withEvents(), [], { EVIDENCE_HMAC_KEY: key.toString('base64') }).code).toBe(1);
  });
  it('names an edited event and an edited field', () => {
    const event = withEvents();
    event.events[2]!.detail = 'edited';
    expect(check(event)).toMatchObject({ code: 1, out: expect.stringContaining('events[2] (authorize): chain.hash') });
    expect(check({ ...withEvents(), state: 'completed' })).toMatchObject({
      code: 1,
      out: expect.stringContaining('top-level fields'),
    });
  });
  it('--extends: events of the previous version must all still be there', () => {
    const older = check(withEvents(4)).file;
    expect(check(withEvents(6), ['--extends', older]).code).toBe(0);
    expect(check(withEvents(3), ['--extends', older])).toMatchObject({
      code: 1,
      out: expect.stringContaining('events[3]'),
    });
  });
});
