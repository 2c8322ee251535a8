import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const masked = vi.hoisted(() => [] as string[]);
vi.mock('../../src/secrets.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/secrets.js')>();
  return { ...real, registerSecret: (v: string | undefined) => void (v && masked.push(v)) };
});

const { plainValues } = await import('../mdm-values.js');
const { readRenderedValues, renderTemplate, WindowsTemplateError } = await import('../../src/mdm/windows-template.js');

const TEMPLATE = [
  '# Thoth MCP Proxy key remediation (managed by thoth-rotate)',
  '$ErrorActionPreference = "Stop"',
  '$dir = Join-Path $env:ProgramData "Thoth"',
  "$key = @{ api_key = '{{THOTH_API_KEY}}'; key_id = '{{THOTH_API_KEY_ID}}' } | ConvertTo-Json -Compress",
  'Set-Content -Path (Join-Path $dir "api-key.json") -Value $key -Encoding UTF8',
  "Set-Content -Path (Join-Path $dir 'revoked-key-ids.json') -Value '{{THOTH_REVOKED_API_KEY_IDS}}' -Encoding UTF8",
  'Write-Output "rotated to {{THOTH_API_KEY_ID}} (.*+?^${}()|[]\\/)"',
  '',
].join('\r\n');
const VALUES = { apiKey: 'thoth_live_abcDEF0123456789', keyId: 'key_new456', revokedKeyIds: ['key_a', 'key_b'] };

beforeEach(() => {
  masked.length = 0;
});

describe('renderTemplate', () => {
  it('replaces every placeholder, revoked ids as a compact JSON array', () => {
    const out = renderTemplate(TEMPLATE, VALUES);
    expect(out).toContain("api_key = 'thoth_live_abcDEF0123456789'; key_id = 'key_new456'");
    expect(out).toContain(`-Value '["key_a","key_b"]'`);
    expect(out).toContain('rotated to key_new456 (');
    expect(out).not.toMatch(/\{\{THOTH_/);
    expect(out.split('\r\n')).toHaveLength(TEMPLATE.split('\r\n').length);
  });

  it('renders an empty revoked list as []', () => {
    expect(renderTemplate(TEMPLATE, { ...VALUES, revokedKeyIds: [] })).toContain("-Value '[]'");
  });

  it('masks the api key', () => {
    renderTemplate(TEMPLATE, VALUES);
    expect(masked).toContain(VALUES.apiKey);
  });

  it('does not re-expand a placeholder that appears inside a value', () => {
    // `{` is not an allowed value character, so the only way in would be the template itself.
    const out = renderTemplate('{{THOTH_API_KEY}} {{THOTH_API_KEY_ID}}{{THOTH_REVOKED_API_KEY_IDS}}{{THOTH_OTHER}}', VALUES);
    expect(out).toBe('thoth_live_abcDEF0123456789 key_new456["key_a","key_b"]{{THOTH_OTHER}}');
  });

  const rejects: { name: string; values: typeof VALUES; message: RegExp }[] = [
    { name: 'quote in api key', values: { ...VALUES, apiKey: "abc'; Remove-Item C:\\ -Recurse; '" }, message: /api key/ },
    { name: 'empty api key', values: { ...VALUES, apiKey: '' }, message: /api key/ },
    { name: 'space in key id', values: { ...VALUES, keyId: 'key new' }, message: /key id/ },
    { name: 'dollar in revoked id', values: { ...VALUES, revokedKeyIds: ['ok', '$(whoami)'] }, message: /revoked key id/ },
    { name: 'newline in key id', values: { ...VALUES, keyId: 'a\nb' }, message: /key id/ },
  ];
  it.each(rejects)('rejects $name', ({ values, message }) => {
    expect(() => renderTemplate(TEMPLATE, values)).toThrow(WindowsTemplateError);
    expect(() => renderTemplate(TEMPLATE, values)).toThrow(message);
  });

  it('never quotes a key id in an error: revoked ids are written back as read, and values read are not shown', () => {
    expect(() => renderTemplate(TEMPLATE, { ...VALUES, revokedKeyIds: ['key_a', 'oncall@acme.example'] })).toThrow(/^(?!.*oncall).*revoked key id 2 contains/);
    expect(() => renderTemplate(TEMPLATE, { ...VALUES, keyId: 'oncall@acme.example' })).toThrow(/^(?!.*oncall).*key id contains/);
  });

  it('never quotes the api key in an error', () => {
    expect(() => renderTemplate(TEMPLATE, { ...VALUES, apiKey: 'secret with space' })).toThrow(/^(?!.*secret with space)/);
  });

  it('rejects a template without all three placeholders', () => {
    expect(() => renderTemplate('Write-Output {{THOTH_API_KEY}} {{THOTH_API_KEY_ID}}', VALUES)).toThrow(
      /lacks the placeholder\(s\) \{\{THOTH_REVOKED_API_KEY_IDS\}\}/,
    );
  });
});

describe('readRenderedValues', () => {
  it('inverts renderTemplate', () => {
    expect(plainValues(readRenderedValues(TEMPLATE, renderTemplate(TEMPLATE, VALUES)))).toEqual(VALUES);
  });

  it('masks the api key it reads', () => {
    readRenderedValues(TEMPLATE, renderTemplate(TEMPLATE, VALUES));
    expect(masked.filter((m) => m === VALUES.apiKey).length).toBeGreaterThanOrEqual(2);
  });

  it('ignores line-ending differences (CRLF template, LF script) and a BOM', () => {
    const script = `\uFEFF${renderTemplate(TEMPLATE, VALUES).replace(/\r\n/g, '\n')}`;
    expect(plainValues(readRenderedValues(TEMPLATE, script))).toEqual(VALUES);
  });

  const misses: { name: string; script: () => string }[] = [
    { name: 'a different script', script: () => 'Write-Output "hello"' },
    { name: 'an edited literal', script: () => renderTemplate(TEMPLATE, VALUES).replace('Stop', 'Continue') },
    { name: 'extra trailing text', script: () => `${renderTemplate(TEMPLATE, VALUES)}Remove-Item x` },
    { name: 'the unrendered template', script: () => TEMPLATE },
    {
      name: 'a repeated placeholder with different values',
      script: () => renderTemplate(TEMPLATE, VALUES).replace('rotated to key_new456', 'rotated to key_other'),
    },
    { name: 'a value outside the charset', script: () => renderTemplate(TEMPLATE, VALUES).replace('key_new456', "key'x").replace('key_new456', "key'x") },
    { name: 'a malformed id list', script: () => renderTemplate(TEMPLATE, VALUES).replace('["key_a","key_b"]', '["key_a",]') },
  ];
  it.each(misses)('returns undefined for $name', ({ script }) => {
    expect(readRenderedValues(TEMPLATE, script())).toBeUndefined();
  });

  it('property: render then read is the identity', () => {
    const id = fc.string({ unit: fc.constantFrom(...'abcXYZ019_.:-'.split('')), minLength: 1, maxLength: 24 });
    fc.assert(
      fc.property(id, id, fc.array(id, { maxLength: 6 }), (apiKey, keyId, revokedKeyIds) => {
        const values = { apiKey, keyId, revokedKeyIds };
        expect(plainValues(readRenderedValues(TEMPLATE, renderTemplate(TEMPLATE, values)))).toEqual(values);
      }),
      { numRuns: 300 },
    );
  });
});
