// An application that trusts only the identity airy-auth signed: it verifies X-Auth-Request-Jwt
// against airy-auth's published keys with a stock JWT library (jose: `npm install jose`), and
// refuses anything else, whatever the plain X-Auth-Request-User says.
//
//   AIRY_AUTH_JWKS=https://auth.example.com/.well-known/jwks.json \
//   AIRY_AUTH_ISSUER=https://auth.example.com APP_ORIGIN=https://app.example.com \
//   PORT=3000 node examples/verify-identity.mjs
//
// AIRY_AUTH_ISSUER is signedIdentityIssuer, or the publicUrl origin; APP_ORIGIN is this app's
// origin as browsers see it (the assertion's audience). Test suite: test/e2e/signed-identity-nginx.test.ts.
import { createServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const jwksUrl = process.env.AIRY_AUTH_JWKS ?? 'https://auth.example.com/.well-known/jwks.json';
const issuer = process.env.AIRY_AUTH_ISSUER ?? 'https://auth.example.com';
const audience = process.env.APP_ORIGIN ?? 'https://app.example.com';
const port = Number(process.env.PORT ?? 3000);

// Fetched once and cached; fetched again when an assertion names a key it has not seen (a rotation).
const keys = createRemoteJWKSet(new URL(jwksUrl));

/** The verified identity of a request, or an error: the signature, the algorithm, the issuer, the audience and the expiry are checked. */
export async function verifiedIdentity(assertion) {
  const { payload } = await jwtVerify(assertion, keys, { issuer, audience, algorithms: ['ES256'], typ: 'JWT', requiredClaims: ['sub', 'iat', 'exp'] });
  return { sub: payload.sub, email: payload.email, groups: payload.groups ?? [], idp: payload.idp };
}

const server = createServer(async (req, res) => {
  const assertion = req.headers['x-auth-request-jwt'];
  const answer = (status, body) => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  if (typeof assertion !== 'string' || assertion === '') return answer(401, { error: 'no X-Auth-Request-Jwt' });
  try {
    answer(200, { identity: await verifiedIdentity(assertion), path: req.url });
  } catch (err) {
    answer(401, { error: err.code ?? 'invalid' });
  }
});
server.listen(port, '127.0.0.1', () => console.log(`verify-identity listening on http://127.0.0.1:${server.address().port}`));
