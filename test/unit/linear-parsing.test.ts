import { describe, expect, it } from 'vitest';
import { describeGraphError } from '../../src/clients/graph-batch.js';
import { ResponseShapeError } from '../../src/errors.js';
import { parseClassicErrorPage, parseComputerGroup, parseJamfProfile } from '../../src/clients/jamf-profile-xml.js';
import { MobileconfigError, readManagedSettings } from '../../src/mdm/mobileconfig.js';
import {
  readDetectionValues,
  readRenderedValues,
  renderDetectionTemplate,
  renderTemplate,
  WindowsTemplateError,
} from '../../src/mdm/windows-template.js';
import { declaresEntities } from '../../src/xml-entities.js';
import { parseHealth } from '../../src/observations.js';
import { hostKey } from '../../src/rotation/verdict.js';
import { logText, markdownText } from '../../src/untrusted-text.js';
import { plainValues } from '../mdm-values.js';

/**
 * Worst cases for every parser of MDM-supplied text, at the 1 MiB response/profile cap and at
 * 8 MiB. No wall-clock bound (the suite runs on loaded 2-core machines): each parser is a
 * single pass or an anchored pattern whose cost is linear by construction, and these inputs
 * are the ones that made the former patterns quadratic (`/<!DOCTYPE[^>]*\[/i` on 1 MiB of
 * `<!DOCTYPE` took ~100 s; on 8 MiB, hours). If one regressed, the test would not finish
 * within vitest's timeout, which is the safety net; every case also asserts its result.
 */
const MiB = 1024 * 1024;
const SIZES = [MiB, 8 * MiB];
/** `unit` repeated to `size` characters. */
const fill = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

describe.each(SIZES)('worst cases at %i characters', (size) => {
  it('the entity screen (DOCTYPE internal subset, ENTITY)', () => {
    expect(declaresEntities(fill('<!DOCTYPE', size))).toBe(false);
    expect(declaresEntities(`${fill('<!DOCTYPE>', size)}[`)).toBe(false);
    expect(declaresEntities(`<!DOCTYPE x${fill(' ', size)}[`)).toBe(true);
    expect(declaresEntities(fill('<!doctype <!DOCTYPE ', size))).toBe(false);
    expect(declaresEntities(fill('<!ENTIT', size))).toBe(false);
    expect(declaresEntities(`${fill('<!ENTIT', size)}<!ENTITY`)).toBe(true);
  });

  it('Jamf profile and group XML', () => {
    const bodies = [
      fill('<!DOCTYPE', size),
      `<os_x_configuration_profile>${fill('<!DOCTYPE', size)}`,
      `<!DOCTYPE x${fill(' ', size)}[`,
      fill('<a', size),
      fill('&a', size),
    ];
    for (const xml of bodies) {
      expect(() => parseJamfProfile(xml)).toThrow(ResponseShapeError);
      expect(() => parseComputerGroup(xml.replace('os_x_configuration_profile', 'computer_group'))).toThrow(
        ResponseShapeError,
      );
    }
    // Entity decoding over a whole profile: 1 MiB decodes to a third of that; 8 MiB to more than a mobileconfig may be.
    const refs = Math.floor((size - 200) / 6);
    const payload = `<os_x_configuration_profile><general><id>1</id><payloads>${'&amp;a'.repeat(refs)}</payloads></general></os_x_configuration_profile>`;
    if (size === MiB) expect(parseJamfProfile(payload).payloads).toBe('&a'.repeat(refs));
    else expect(() => parseJamfProfile(payload)).toThrow(/payloads is larger/);
  });

  it('mobileconfig (plist) screen', () => {
    for (const xml of [
      fill('<!DOCTYPE', size),
      `<?xml version="1.0"?>${fill('<!DOCTYPE', size - 21)}`,
      `<?xml version="1.0"?><!DOCTYPE x${fill(' ', size - 40)}[`,
    ]) {
      expect(() =>
        readManagedSettings(xml, {
          domain: 'com.atensecurity.thoth',
          apiKey: 'THOTH_API_KEY',
          keyId: 'THOTH_API_KEY_ID',
          revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
        }),
      ).toThrow(MobileconfigError);
    }
  });

  it('Jamf Classic API error pages', () => {
    const pages = [
      fill('<p', size),
      fill('<p>', size),
      fill('<P class=x ', size),
      `<p>${fill('<', size)}</p>`,
      fill('<title>', size),
      fill('<p></p ', size),
      `<p>Error: ${fill('&a', size)}</p>`,
      fill('<p>Error: x</p><p>Error: x</p>', size),
    ];
    for (const html of pages) expect(parseClassicErrorPage(html).length).toBeLessThanOrEqual(500);
    expect(parseClassicErrorPage(fill('<p>Error: x</p>', size))).toBe('Error: x');
    expect(parseClassicErrorPage(`<title>Conflict</title>${fill('<p>x</p>', size)}`)).toBe('Conflict');
  });

  it('Windows remediation script read-back', () => {
    const template =
      "$k = '{{THOTH_API_KEY}}'; $i = '{{THOTH_API_KEY_ID}}'; $r = '{{THOTH_REVOKED_API_KEY_IDS}}'; # {{THOTH_API_KEY_ID}}\n";
    const script = renderTemplate(template, { apiKey: 'thoth_abc', keyId: 'key_1', revokedKeyIds: ['key_0'] });
    const scripts = [
      fill('a', size),
      `$k = '${fill('a', size)}`,
      `$k = 'a'; $i = 'b'; $r = '${fill('["a",', size)}`,
      `$k = 'a'; $i = 'b'; $r = '[${fill('"a"', size)}`,
      script.replace('# key_1', `# ${fill('key_1', size)}`),
      fill(script, size),
    ];
    for (const s of scripts) expect(readRenderedValues(template, s)).toBeUndefined();
    expect(plainValues(readRenderedValues(template, script))).toEqual({
      apiKey: 'thoth_abc',
      keyId: 'key_1',
      revokedKeyIds: ['key_0'],
    });
    // Templates whose values could not be told apart (the backtracking the regex did) are refused.
    expect(() =>
      readRenderedValues('{{THOTH_API_KEY}}{{THOTH_API_KEY_ID}}{{THOTH_REVOKED_API_KEY_IDS}}', fill('a', size)),
    ).toThrow(WindowsTemplateError);
    expect(() =>
      readRenderedValues("'{{THOTH_API_KEY}}x' '{{THOTH_API_KEY_ID}}' {{THOTH_REVOKED_API_KEY_IDS}}", fill('a', size)),
    ).toThrow(/directly followed by "x"/);
  });

  it('Windows detection script read-back', () => {
    const template = "$i = '{{THOTH_API_KEY_ID}}'; $r = '{{THOTH_REVOKED_API_KEY_IDS}}'; # {{THOTH_API_KEY_ID}}\n";
    const script = renderDetectionTemplate(template, { keyId: 'key_1', revokedKeyIds: ['key_0'] });
    const scripts = [
      fill('a', size),
      `$i = '${fill('a', size)}`,
      `$i = 'b'; $r = '${fill('["a",', size)}`,
      script.replace('# key_1', `# ${fill('key_1', size)}`),
      fill(script, size),
    ];
    for (const s of scripts) expect(readDetectionValues(template, s)).toBeUndefined();
    expect(plainValues(readDetectionValues(template, script))).toEqual({ keyId: 'key_1', revokedKeyIds: ['key_0'] });
  });
});

/**
 * Names, health output, Graph error bodies and the neutraliser are never near the 8 MiB profile
 * cap, and a quadratic pass over 1 MiB already outlasts the test timeout (the former DOCTYPE
 * pattern: ~100 s): at 8 MiB these cases only added 7 s of CPU to every run of the suite.
 */
describe('worst cases at 1 MiB (names, health, error bodies, the neutraliser)', () => {
  const size = MiB;
  it('device and host names (join key), health output, Graph error bodies', () => {
    for (const name of [
      fill(' ', size),
      fill('-', size),
      fill('a-', size),
      fill('a ', size),
      fill('ä!', size),
      `${fill('-a', size)}!`,
    ]) {
      expect(hostKey(name)).toMatch(/^[a-z0-9-]*$/);
    }
    expect(parseHealth([fill('{', size)])).toEqual({ status: 'invalid' });
    expect(parseHealth([fill('{"a":', 60_000)])).toEqual({ status: 'invalid' });
    expect(describeGraphError(500, `{"error":{"code":"x","message":"${fill(' ', size)}"}}`).code).toBe('x');
  });

  it('the neutraliser itself', () => {
    for (const text of [
      `${fill(' ', size)}::x::y`,
      fill('\n::', size),
      fill('##[', size),
      fill('\r', size),
      fill(' \t', size),
      fill('\u200b:', size),
    ]) {
      const out = logText(text);
      expect(out).not.toContain('##[');
      expect(out.split('\n').every((l) => !l.trimStart().startsWith('::'))).toBe(true);
    }
    // Summary values are names and messages; 1 MiB is far more than any of them.
    for (const text of [fill('www.', MiB), fill('https://', MiB), fill('@#[', MiB)])
      expect(markdownText(text)).not.toMatch(/www\.|:\/\/|@|\[/);
  });
});
