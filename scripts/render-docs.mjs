// Regenerates the parts of docs/ that come from the code: `npm run docs` (test/docs checks they are current).
import { readFileSync, writeFileSync } from 'node:fs';
import { configKeyTable } from '../dist/src/config/reference.js';

const START = '<!-- generated: config keys (npm run docs) -->';
const END = '<!-- end generated -->';
const path = new URL('../docs/configuration.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const i = text.indexOf(START);
const j = text.indexOf(END);
if (i < 0 || j < i) throw new Error(`docs/configuration.md needs the markers ${START} and ${END}`);
writeFileSync(path, `${text.slice(0, i + START.length)}\n${configKeyTable()}\n${text.slice(j)}`);
