/** `npm run schema`: writes schema/intent.schema.json from the zod intent schema (commit the result). */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INTENT_SCHEMA_PATH, intentJsonSchemaText } from './lib/intent-json-schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(path.join(ROOT, INTENT_SCHEMA_PATH), intentJsonSchemaText());
console.log(`wrote ${INTENT_SCHEMA_PATH}`);
