/** Headers every gateway must pass to airy-auth, and the identity headers it answers with. */
export const HEADERS_TO_AUTH = ['Authorization', 'Cookie', 'Origin', 'X-Forwarded-Proto', 'Accept', 'Sec-Fetch-Mode', 'X-Requested-With'] as const;
export const IDENTITY_HEADERS = ['X-Auth-Request-User', 'X-Auth-Request-Email'] as const;

export function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
