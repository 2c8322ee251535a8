import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const masked = vi.hoisted(() => [] as string[]);
vi.mock('../../src/secrets.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/secrets.js')>();
  return { ...real, registerSecret: (v: string | undefined) => void (v && masked.push(v)) };
});

const { plainValues } = await import('../mdm-values.js');
const { readDetectionValues, readRenderedValues, renderDetectionTemplate, renderTemplate, WindowsTemplateError } =
  await import('../../src/mdm/windows-template.js');

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
    const out = renderTemplate(
      '{{THOTH_API_KEY}} {{THOTH_API_KEY_ID}}{{THOTH_REVOKED_API_KEY_IDS}}{{THOTH_OTHER}}',
      VALUES,
    );
    expect(out).toBe('thoth_live_abcDEF0123456789 key_new456["key_a","key_b"]{{THOTH_OTHER}}');
  });

  const rejects: { name: string; values: typeof VALUES; message: RegExp }[] = [
    {
      name: 'quote in api key',
      values: { ...VALUES, apiKey: "abc'; Remove-Item C:\\ -Recurse; '" },
      message: /api key/,
    },
    { name: 'empty api key', values: { ...VALUES, apiKey: '' }, message: /api key/ },
    { name: 'space in key id', values: { ...VALUES, keyId: 'key new' }, message: /key id/ },
    {
      name: 'dollar in revoked id',
      values: { ...VALUES, revokedKeyIds: ['ok', '$(whoami)'] },
      message: /revoked key id/,
    },
    { name: 'newline in key id', values: { ...VALUES, keyId: 'a\nb' }, message: /key id/ },
  ];
  it.each(rejects)('rejects $name', ({ values, message }) => {
    expect(() => renderTemplate(TEMPLATE, values)).toThrow(WindowsTemplateError);
    expect(() => renderTemplate(TEMPLATE, values)).toThrow(message);
  });

  it('never quotes a key id in an error: revoked ids are written back as read, and values read are not shown', () => {
    expect(() => renderTemplate(TEMPLATE, { ...VALUES, revokedKeyIds: ['key_a', 'oncall@acme.example'] })).toThrow(
      /^(?!.*oncall).*revoked key id 2 contains/,
    );
    expect(() => renderTemplate(TEMPLATE, { ...VALUES, keyId: 'oncall@acme.example' })).toThrow(
      /^(?!.*oncall).*key id contains/,
    );
  });

  it('never quotes the api key in an error', () => {
    expect(() => renderTemplate(TEMPLATE, { ...VALUES, apiKey: 'secret with space' })).toThrow(
      /^(?!.*secret with space)/,
    );
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
    {
      name: 'a value outside the charset',
      script: () => renderTemplate(TEMPLATE, VALUES).replace('key_new456', "key'x").replace('key_new456', "key'x"),
    },
    {
      name: 'a malformed id list',
      script: () => renderTemplate(TEMPLATE, VALUES).replace('["key_a","key_b"]', '["key_a",]'),
    },
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

const DETECTION = [
  '# Thoth detection (managed by thoth-rotate): ids only',
  "$ThothApiKeyId = '{{THOTH_API_KEY_ID}}'",
  "$ThothRevokedApiKeyIds = '{{THOTH_REVOKED_API_KEY_IDS}}'",
  "$installed = (Get-Content -Raw (Join-Path $env:ProgramData 'Thoth\\api-key.json') | ConvertFrom-Json).key_id",
  'Write-Output (& thoth health --json | ConvertFrom-Json | ConvertTo-Json -Compress)',
  'if ($installed -cne $ThothApiKeyId) { exit 1 } # expected {{THOTH_API_KEY_ID}}',
  'exit 0',
  '',
].join('\r\n');
const IDS = { keyId: 'key_new456', revokedKeyIds: ['key_a', 'key_b'] };

describe('detection template', () => {
  it('renders the key id and the revoked ids, and reads them back', () => {
    const out = renderDetectionTemplate(DETECTION, IDS);
    expect(out).toContain("$ThothApiKeyId = 'key_new456'");
    expect(out).toContain(`$ThothRevokedApiKeyIds = '["key_a","key_b"]'`);
    expect(out).toContain('# expected key_new456');
    expect(plainValues(readDetectionValues(DETECTION, out))).toEqual(IDS);
    expect(masked).toEqual([]); // nothing secret in it
  });

  it('refuses a detection template that holds the key: the detection script needs only the ids', () => {
    expect(() => renderDetectionTemplate(`${DETECTION}# {{THOTH_API_KEY}}\n`, IDS)).toThrow(
      /Windows detection template holds \{\{THOTH_API_KEY\}\}/,
    );
    expect(() => readDetectionValues(TEMPLATE, renderTemplate(TEMPLATE, VALUES))).toThrow(WindowsTemplateError);
  });

  it('refuses a detection template without both ids (it could not tell an old installation, or a revocation, from a current one)', () => {
    expect(() => renderDetectionTemplate("$ThothApiKeyId = '{{THOTH_API_KEY_ID}}'", IDS)).toThrow(
      /lacks the placeholder\(s\) \{\{THOTH_REVOKED_API_KEY_IDS\}\}/,
    );
    expect(() => renderDetectionTemplate("Write-Output 'x'", IDS)).toThrow(
      /lacks the placeholder\(s\) \{\{THOTH_API_KEY_ID\}\}, \{\{THOTH_REVOKED_API_KEY_IDS\}\}/,
    );
  });

  it('a remediation template is not a detection template and vice versa', () => {
    expect(() => readRenderedValues(DETECTION, renderDetectionTemplate(DETECTION, IDS))).toThrow(
      /lacks the placeholder\(s\) \{\{THOTH_API_KEY\}\}/,
    );
  });

  it('returns undefined for a detection script not rendered from it', () => {
    const out = renderDetectionTemplate(DETECTION, IDS);
    expect(readDetectionValues(DETECTION, out.replace('exit 1', 'exit 0'))).toBeUndefined();
    expect(
      readDetectionValues(DETECTION, out.replace('# expected key_new456', '# expected key_other')),
    ).toBeUndefined();
    expect(readDetectionValues(DETECTION, DETECTION)).toBeUndefined();
  });

  it('property: render then read is the identity', () => {
    const id = fc.string({ unit: fc.constantFrom(...'abcXYZ019_.:-'.split('')), minLength: 1, maxLength: 24 });
    fc.assert(
      fc.property(id, fc.array(id, { maxLength: 6 }), (keyId, revokedKeyIds) => {
        expect(
          plainValues(readDetectionValues(DETECTION, renderDetectionTemplate(DETECTION, { keyId, revokedKeyIds }))),
        ).toEqual({ keyId, revokedKeyIds });
      }),
      { numRuns: 200 },
    );
  });
});
