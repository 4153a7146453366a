import type { Handler } from './deps.js';
import { plain } from './pages.js';

/** Where upstreams (and their JWT libraries) fetch the keys that verify X-Auth-Request-Jwt. */
export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * The public keys of the signed identity header: the signing key, and the previous one during a
 * rotation. Public by nature, cacheable for five minutes (a rotation keeps the old key published
 * longer than that). 404 while no route asks for signedIdentity: an empty key set would look like
 * a working issuer whose every assertion fails, where a 404 says the feature is off.
 */
export const jwksHandler: Handler = (req, res, deps) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  const signer = deps.policies.current?.signedIdentity?.signer;
  if (signer === undefined) {
    plain(res, 404, 'signedIdentity is off: no keys are published\n');
    return;
  }
  const cacheHeaders = { 'Cache-Control': 'public, max-age=300', ETag: signer.jwksEtag };
  if (req.headers['if-none-match'] === signer.jwksEtag) {
    res.writeHead(304, cacheHeaders);
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(signer.jwks)), ...cacheHeaders });
  res.end(req.method === 'HEAD' ? undefined : signer.jwks);
};
