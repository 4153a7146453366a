// Writes the chart's copy of the key catalogue: `npm run chart:sync` (after a build). The
// `security` part of values.schema.json and templates/_config-keys.tpl come from src/config/keys.ts;
// test/helm/chart-keys.test.ts fails when the committed files differ from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { chartConfigKeysTemplate, syncValuesSchema } from '../dist/src/config/chart-values.js';

const chart = new URL('../helm/airy-auth/', import.meta.url);
const schema = new URL('values.schema.json', chart);
writeFileSync(schema, syncValuesSchema(readFileSync(schema, 'utf8')));
writeFileSync(new URL('templates/_config-keys.tpl', chart), chartConfigKeysTemplate());
