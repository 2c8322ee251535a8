/**
 * The intent JSON Schema, generated from the zod schema that the action itself checks intents
 * with (src/intent/schema.ts), so editors and the action never disagree on the shape.
 * `npm run schema` writes it to schema/intent.schema.json; test/unit/intent-json-schema.test.ts
 * fails when the committed file is not what this generates.
 */
import { z } from 'zod';
import { intentFileSchema } from '../../src/intent/schema.js';

export const INTENT_SCHEMA_PATH = 'schema/intent.schema.json';

export function intentJsonSchemaText(): string {
  // io 'input': the file as written (a duration is the string "24h", not the milliseconds the
  // action turns it into). Fields whose parsing is a transform come out as their input type.
  // The hints for those (enum, pattern, const) are .meta() on the zod schema.
  const { $schema, ...rest } = z.toJSONSchema(intentFileSchema, { io: 'input', unrepresentable: 'any' });
  const schema = {
    $schema,
    title: 'thoth-rotate intent',
    description:
      'A rotation intent (.thoth/rotations/*.yaml). Generated from src/intent/schema.ts by npm run schema; the action checks more than this schema can say (cross-field rules, hosts, templates).',
    ...rest,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
