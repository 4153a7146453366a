import * as client from 'openid-client';
import { LoginError } from './login-error.js';
import { describeError } from './provider-client.js';

const TOKEN_VALIDATION_CODES = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_JWS_SIGNATURE_VERIFICATION_FAILED',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
]);

function isNetworkFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'ConnectTimeoutError') return true;
    if (e instanceof TypeError && /fetch failed/.test(e.message)) return true;
    const code = (e as { code?: string }).code ?? '';
    if (
      code.startsWith('UND_ERR') ||
      [
        'ECONNREFUSED',
        'ECONNRESET',
        'ENOTFOUND',
        'ETIMEDOUT',
        'EAI_AGAIN',
        'CERT_HAS_EXPIRED',
        'DEPTH_ZERO_SELF_SIGNED_CERT',
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'SELF_SIGNED_CERT_IN_CHAIN',
      ].includes(code)
    )
      return true;
  }
  return false;
}

/** Maps whatever the token exchange threw to a LoginError with a secret-free explanation. */
export function classifyIdpError(err: unknown, step: string): LoginError {
  if (err instanceof LoginError) return err;
  if (err instanceof client.AuthorizationResponseError)
    return new LoginError('idp_error', `the provider refused the login: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, undefined, {
      cause: err,
    });
  if (err instanceof client.ResponseBodyError) return new LoginError('idp_error', `${step}: ${describeError(err)}`, undefined, { cause: err });
  if (isNetworkFailure(err))
    return new LoginError('idp_unreachable', `${step}: the provider could not be reached (${describeError(err)})`, undefined, { cause: err });
  const code = (err as { code?: string }).code;
  if (code !== undefined && TOKEN_VALIDATION_CODES.has(code)) {
    const claim = (err as { cause?: { claim?: string } }).cause?.claim;
    return new LoginError('id_token_invalid', `the provider's ID token failed validation${claim ? ` (${claim})` : ''}: ${describeError(err)}`, undefined, {
      cause: err,
    });
  }
  return new LoginError('idp_error', `${step}: ${describeError(err)}`, undefined, { cause: err });
}
