import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { configKeyTable } from '../../src/config/reference.js';
import { REPO_ROOT } from '../helpers/repo.js';

it('docs/configuration.md holds the key table generated from the code (run `npm run docs` when this fails)', () => {
  const text = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
  const m = /<!-- generated: config keys \(npm run docs\) -->\n([\s\S]*?)\n<!-- end generated -->/.exec(text);
  expect(m, 'the generated-table markers').not.toBeNull();
  expect(m![1]).toBe(configKeyTable());
});

it('the README stays a short first page, with the rest under docs/', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'));
  expect(readme.length).toBeLessThan(15 * 1024);
  expect(readme.toString().startsWith('# airy-auth\n\n```sh\nnpm install && npm start')).toBe(true);
});
