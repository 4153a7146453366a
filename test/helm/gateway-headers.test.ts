import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HEADERS_TO_AUTH, IDENTITY_HEADERS, lowerCased } from '../../src/http/gateway-headers.js';
import { REPO_ROOT } from '../helpers/repo.js';

/** The JSON list a `define` block of the chart's header template holds. */
function definedList(template: string, name: string): string[] {
  const m = new RegExp(`\\{\\{- define "${name}" -\\}\\}\\s*(\\[[^\\]]*\\])\\s*\\{\\{- end -\\}\\}`).exec(template);
  if (!m) throw new Error(`${name} is not defined in _gateway-headers.tpl`);
  return JSON.parse(m[1]!) as string[];
}

it("the chart's header lists are the code's: one contract for adapters, migrate and manifests", () => {
  const template = readFileSync(join(REPO_ROOT, 'helm/airy-auth/templates/_gateway-headers.tpl'), 'utf8');
  expect(definedList(template, 'airy-auth.headersToAuth')).toEqual(lowerCased(HEADERS_TO_AUTH));
  expect(definedList(template, 'airy-auth.identityHeaders')).toEqual(lowerCased(IDENTITY_HEADERS));
});
