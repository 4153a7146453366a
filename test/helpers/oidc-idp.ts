import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { decodeJwt, decodeProtectedHeader, type JWK, SignJWT } from 'jose';
import { Provider } from './oidc-provider.js';
import { ensureTestCa, tlsOptions } from './test-ca.js';

export interface TestAccount {
  readonly groups?: unknown;
  /** A custom claim (for `groupsClaim: roles`), released with the profile scope like `groups`. */
  readonly roles?: unknown;
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly name?: string;
}

export interface TestClient {
  /** A machine client gets the client credentials grant and no redirect. */
  readonly machine?: boolean;
  readonly client_id: string;
  readonly client_secret?: string;
  readonly token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  readonly redirect_uris: string[];
  readonly post_logout_redirect_uris?: string[];
  /** OIDC Back-Channel Logout (with `backchannelLogout: true`): where the provider posts logout tokens. */
  readonly backchannel_logout_uri?: string;
  /** The logout token (and the ID token) then carry `sid`. */
  readonly backchannel_logout_session_required?: boolean;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

function newKey(kid: string): SigningKey {
  // RS256: what most providers sign with, and the ID token default of OpenID Connect.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

/**
 * A real OpenID provider (npm oidc-provider) over https with the test CA, on loopback. Accounts
 * are whatever login name is typed into its development login form, looked up in `accounts`.
 *
 * In front of it sits a thin layer the tests steer: it serves the JWKS itself (so keys can be
 * rotated) and, when asked, re-signs ID tokens from the token endpoint with changed claims
 * (wrong nonce, issuer, audience, expiry) or with a new key, the way a broken or malicious IdP
 * would answer. The signature stays valid, so only airy-auth's claim checks can catch it.
 */
export async function startTestIdp(options: { clients: TestClient[]; accounts: Record<string, TestAccount>; port?: number; backchannelLogout?: boolean }) {
  const ca = ensureTestCa();
  if (!ca) throw new Error('openssl is needed to make the test CA');
  const server: Server = createServer(tlsOptions(ca));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const issuer = `https://localhost:${port}`;
  const keys: SigningKey[] = [newKey('key-a')];
  let signWith: SigningKey | undefined; // set: re-sign ID tokens with this key
  let tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  const requests: { method: string; path: string; authorization?: string | undefined; contentType?: string | undefined }[] = [];

  const privateJwk = { ...(keys[0]!.privateKey.export({ format: 'jwk' }) as JWK), kid: keys[0]!.kid, alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: options.clients.map(({ machine, ...c }) =>
      machine
        ? { ...c, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }
        : { ...c, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    ),
    jwks: { keys: [privateJwk] },
    // An account removed from `accounts` is gone: its refresh tokens are refused (invalid_grant).
    findAccount: async (_ctx: unknown, sub: string) =>
      Object.hasOwn(options.accounts, sub) ? { accountId: sub, claims: async () => ({ sub, ...options.accounts[sub] }) } : undefined,
    // Refresh tokens for every login (no offline_access consent dance), as providers configured for it do.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups', 'roles'] },
    pkce: { required: () => true },
    acceptQueryParamAccessTokens: true,
    cookies: { keys: ['test-cookie-key-0123456789'] },
    features: {
      devInteractions: { enabled: true },
      // RFC 7009: logout revokes the refresh token here.
      revocation: { enabled: true },
      // Logging out at the provider posts a logout token to every client with a backchannel_logout_uri.
      backchannelLogout: { enabled: options.backchannelLogout === true },
      // Machine tokens: JWT access tokens for the resource api://airy through the client credentials grant.
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Only machines get a resource by default: a person's access token stays one for userinfo.
        defaultResource: (_ctx: unknown, client: { grantTypes?: string[] }) => (client.grantTypes?.includes('client_credentials') ? 'api://airy' : undefined),
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'api',
          audience: resource,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    // oidc-provider refuses to call loopback addresses (SSRF protection, through its own dispatcher);
    // the back-channel logout goes to airy-auth on 127.0.0.1 here, so that dispatcher is left out.
    ...(options.backchannelLogout
      ? { fetch: (url: string, { dispatcher: _, ...init }: RequestInit & { dispatcher?: unknown }) => globalThis.fetch(url, init) }
      : {}),
    ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 600, Session: 3600, Interaction: 600, Grant: 3600 },
  } as never);
  const handle = provider.callback();

  async function resignTokenResponse(body: string): Promise<string> {
    const json = JSON.parse(body) as Record<string, unknown>;
    if (typeof json.id_token !== 'string') return body;
    const key = signWith ?? keys[0]!;
    let claims = decodeJwt(json.id_token) as Record<string, unknown>;
    if (tamper) claims = tamper(claims);
    const header = decodeProtectedHeader(json.id_token);
    json.id_token = await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256', kid: key.kid }).sign(key.privateKey);
    return JSON.stringify(json);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?', 1)[0]!;
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'] });
    if (path === '/jwks') {
      const body = JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (path === '/token' && (tamper || signWith)) {
      // Buffer the provider's answer and re-sign its ID token before it leaves.
      const chunks: Buffer[] = [];
      const write = res.write.bind(res);
      const end = res.end.bind(res);
      res.write = ((chunk: Buffer | string) => {
        chunks.push(Buffer.from(chunk));
        return true;
      }) as typeof res.write;
      res.end = ((chunk?: Buffer | string) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        void resignTokenResponse(Buffer.concat(chunks).toString()).then((body) => {
          res.removeHeader('content-length');
          write(body);
          end();
        });
        return res;
      }) as typeof res.end;
    }
    handle(req, res);
  });

  return {
    issuer,
    port,
    requests,
    /** Publish a new key and sign with it from now on (old key stays published). */
    rotate(): void {
      const key = newKey(`key-${keys.length + 1}`);
      keys.unshift(key);
      signWith = key;
    },
    /** Sign with a key that the JWKS does not list (an attacker's key). */
    signWithUnpublishedKey(): void {
      signWith = newKey('key-unpublished');
    },
    setTamper(f: typeof tamper): void {
      tamper = f;
    },
    /** A JWT with these claims signed by the provider's current key: a logout token the way the provider (or a forger with its key) would make it. */
    sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
      const key = keys[0]!;
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, ...header }).sign(key.privateKey);
    },
    /** Back to signing with the provider's own key, untampered (rotated keys stay published). */
    reset(): void {
      tamper = undefined;
      signWith = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type TestIdp = Awaited<ReturnType<typeof startTestIdp>>;
