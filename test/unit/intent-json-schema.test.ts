import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INTENT_SCHEMA_PATH, intentJsonSchemaText } from '../../scripts/lib/intent-json-schema.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const committed = readFileSync(path.join(ROOT, INTENT_SCHEMA_PATH), 'utf8');
const schema = JSON.parse(committed) as {
  properties: Record<string, { properties?: Record<string, unknown> }>;
  required: string[];
  additionalProperties: boolean;
};

describe('schema/intent.schema.json', () => {
  it('is what npm run schema generates from src/intent/schema.ts (run it and commit the file)', () => {
    expect(committed).toBe(intentJsonSchemaText());
  });

  it('says what an editor needs: required fields, no unknown keys, enums and patterns', () => {
    expect(schema.required).toEqual(['version', 'name', 'tenant', 'fleet', 'key', 'mdm']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties['version']).toMatchObject({ const: 1 });
    expect(schema.properties['key']!.properties!['scope']).toMatchObject({ enum: ['fleet', 'endpoint'] });
    expect(schema.properties['key']!.properties!['ttl']).toMatchObject({ type: 'string' });
    const ttl = schema.properties['key']!.properties!['ttl'] as { pattern: string };
    expect(['90d', '30s', '1500ms'].every((d) => new RegExp(ttl.pattern).test(d))).toBe(true);
    expect(['1.5h', '0s', '1h30m', '90D'].some((d) => new RegExp(ttl.pattern).test(d))).toBe(false);
  });

  it('is named on the first line of every example intent, at the tag users pin', () => {
    const dir = path.join(ROOT, 'examples/.thoth/rotations');
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const first = readFileSync(path.join(dir, f), 'utf8').split('\n')[0];
      expect(first, f).toBe(
        `# yaml-language-server: $schema=https://raw.githubusercontent.com/acme-corp/thoth-rotate/v0/${INTENT_SCHEMA_PATH}`,
      );
    }
  });
});
