#!/usr/bin/env node
/**
 * A local OpenID Connect provider for trying airy-auth's login on a laptop; never for real use.
 * It is oidc-provider (a dev dependency of this repository) with its development login form,
 * where any password works, and two people in different groups:
 *   alice (alice@example.com, groups: sre)   bob (bob@example.com, groups: support)
 *
 *   PORT=9000 APP_URL=http://127.0.0.1:8000 node examples/local-idp.mjs
 *
 * APP_URL is where the browser reaches airy-auth's /login (nginx in front of it); the client
 * `airy-auth` (secret `local-secret`) may come back to APP_URL/login/oauth2/code/local only.
 */

// oidc-provider 9 prints "Unsupported runtime" on Node 20, where it works; only that line is dropped.
const warn = console.warn;
console.warn = (...args) => {
  if (!(typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime.'))) warn(...args);
};
const { default: Provider } = await import('oidc-provider').finally(() => {
  console.warn = warn;
});

const port = Number(process.env.PORT ?? 9000);
const appUrl = (process.env.APP_URL ?? 'http://127.0.0.1:8000').replace(/\/$/, '');
const issuer = `http://127.0.0.1:${port}`;
const accounts = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['sre'] },
  bob: { email: 'bob@example.com', email_verified: true, name: 'Bob', groups: ['support'] },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'airy-auth',
      client_secret: 'local-secret',
      redirect_uris: [`${appUrl}/login/oauth2/code/local`],
      post_logout_redirect_uris: [`${appUrl}/`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  findAccount: async (_ctx, sub) => (Object.hasOwn(accounts, sub) ? { accountId: sub, claims: async () => ({ sub, ...accounts[sub] }) } : undefined),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['local-idp-cookie-key-not-a-secret'] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`local OpenID Connect provider on ${issuer} (never for real use): log in as alice or bob, any password`);
});
