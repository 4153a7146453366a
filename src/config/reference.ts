import { type KeySpec, OIDC_KEYS, PROVIDER_FIELDS, SECURITY_KEYS } from './keys.js';

const cell = (text: string) => text.replace(/\|/g, '\\|');

function rows(keys: Record<string, KeySpec>, where: string): string[] {
  return Object.entries(keys).map(([key, spec]) => {
    const allowed = spec.allowed ? ` Allowed: ${spec.allowed.map((a) => `\`${a}\``).join(', ')}.` : '';
    const secret = spec.secret ? ' Secret: kept out of logs and ConfigMaps.' : '';
    return `| \`${key}\` | ${where} | ${cell(spec.default)} | ${cell(spec.description + allowed + secret)} |`;
  });
}

/** The configuration keys as a Markdown table, generated from the key catalogue (docs/configuration.md holds it). */
export function configKeyTable(): string {
  return [
    '| key | where | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows(SECURITY_KEYS, '`security`'),
    ...rows(OIDC_KEYS, '`security.oidc` or `security`'),
    // The other fields of a provider are the OIDC keys above; this one is its own.
    ...rows({ displayName: PROVIDER_FIELDS.displayName! }, '`security.providers.NAME`'),
  ].join('\n');
}
