/**
 * Every authentication annotation ingress-nginx documents, and what each means when moving to a
 * gateway with airy-auth. Annotations not listed here (and not auth-related) are reported as
 * "not an auth annotation".
 */
export type Target = 'traefik' | 'gateway-api';

export interface AnnotationRule {
  /** How the annotation is handled for each target, and why. */
  readonly handling: Record<Target, { outcome: 'translated' | 'dropped' | 'untranslatable' | 'changed'; detail: string }>;
}

const both = (outcome: 'translated' | 'dropped' | 'untranslatable' | 'changed', detail: string): AnnotationRule => ({
  handling: { traefik: { outcome, detail }, 'gateway-api': { outcome, detail } },
});

export const AUTH_ANNOTATIONS: Readonly<Record<string, AnnotationRule>> = {
  'auth-url': {
    handling: {
      traefik: { outcome: 'translated', detail: 'ForwardAuth.address (airy-auth: /forward-auth)' },
      'gateway-api': { outcome: 'translated', detail: 'ExternalAuth.backendRef and http.path (airy-auth: /gateway-api)' },
    },
  },
  'auth-signin': {
    handling: {
      traefik: { outcome: 'translated', detail: "airy-auth's /forward-auth sends browser navigations without a session to /login itself" },
      'gateway-api': {
        outcome: 'untranslatable',
        detail:
          'the ExternalAuth filter (NGINX Gateway Fabric) cannot redirect: browsers get 401. ' +
          'Link to /login from the application, or use a gateway that passes denials through (Envoy Gateway SecurityPolicy)',
      },
    },
  },
  'auth-signin-redirect-param': both('translated', 'airy-auth always reads rd=; nothing to configure'),
  'auth-response-headers': {
    handling: {
      traefik: { outcome: 'translated', detail: 'ForwardAuth.authResponseHeaders (with X-Auth-Request-Jwt added when auth-url is airy-auth)' },
      'gateway-api': { outcome: 'translated', detail: 'ExternalAuth.http.allowedResponseHeaders (with X-Auth-Request-Jwt added when auth-url is airy-auth)' },
    },
  },
  'auth-method': {
    handling: {
      traefik: { outcome: 'translated', detail: 'ForwardAuth sends X-Forwarded-Method, which airy-auth reads' },
      'gateway-api': { outcome: 'translated', detail: 'the ExternalAuth request keeps the original method' },
    },
  },
  'auth-proxy-set-headers': both(
    'untranslatable',
    'headers set on the auth request from a ConfigMap: add them with a header modifier before the auth step, or drop them (airy-auth needs none)',
  ),
  'auth-request-redirect': both('dropped', 'sets X-Auth-Request-Redirect, which airy-auth does not read'),
  'auth-cache-key': both('dropped', 'airy-auth memoizes token verification itself and answers in microseconds'),
  'auth-cache-duration': both('dropped', 'airy-auth memoizes token verification itself and answers in microseconds'),
  'auth-keepalive': both('dropped', "connection reuse to the auth service is the gateway's own"),
  'auth-keepalive-share-vars': both('dropped', "connection reuse to the auth service is the gateway's own"),
  'auth-keepalive-requests': both('dropped', "connection reuse to the auth service is the gateway's own"),
  'auth-keepalive-timeout': both('dropped', "connection reuse to the auth service is the gateway's own"),
  'auth-always-set-cookie': {
    handling: {
      traefik: { outcome: 'translated', detail: 'ForwardAuth.addAuthCookiesToResponse: [airy_auth_token]' },
      'gateway-api': { outcome: 'dropped', detail: 'airy-auth sets its cookie only on its own login routes, never on auth answers' },
    },
  },
  'auth-snippet': both('untranslatable', 'arbitrary nginx configuration cannot be carried over; rewrite what it does as gateway configuration, or remove it'),
  'enable-global-auth': both('dropped', 'there is no global auth here: authentication is attached to this route explicitly'),
  'auth-type': both(
    'untranslatable',
    "HTTP basic/digest auth is not airy-auth: use the gateway's own basic auth (Traefik basicAuth middleware) or move the users to the systemToken / OIDC",
  ),
  'auth-secret': both('untranslatable', 'the htpasswd Secret of basic auth: see auth-type'),
  'auth-secret-type': both('untranslatable', 'the format of the basic auth Secret: see auth-type'),
  'auth-realm': both('untranslatable', 'the realm of basic auth: see auth-type'),
  'auth-tls-secret': both(
    'untranslatable',
    "client certificate authentication belongs on the gateway's TLS settings (Traefik TLSOption, Gateway frontend TLS validation)",
  ),
  'auth-tls-verify-client': both('untranslatable', 'client certificates: see auth-tls-secret'),
  'auth-tls-verify-depth': both('untranslatable', 'client certificates: see auth-tls-secret'),
  'auth-tls-error-page': both('untranslatable', 'client certificates: see auth-tls-secret'),
  'auth-tls-pass-certificate-to-upstream': both('untranslatable', 'client certificates: see auth-tls-secret'),
  'auth-tls-match-cn': both('untranslatable', 'client certificates: see auth-tls-secret'),
  // Not auth annotations, but ingress-nginx answered CORS preflights before the auth subrequest:
  // without it, preflights (which carry no credentials) reach airy-auth and get 401.
  'enable-cors': both(
    'changed',
    'ingress-nginx answered CORS preflights before auth; now they reach airy-auth: set `skipPreflight: true` in its config ' +
      '(a preflight whose Origin is in allowedOrigins is then allowed without credentials), and configure CORS headers on the gateway or the app',
  ),
  ...Object.fromEntries(
    ['cors-allow-origin', 'cors-allow-methods', 'cors-allow-headers', 'cors-allow-credentials', 'cors-expose-headers', 'cors-max-age'].map((n) => [
      n,
      both('changed', 'a CORS setting of ingress-nginx: configure it on the gateway (Traefik headers middleware, HTTPRoute CORS filter) or in the app'),
    ]),
  ),
};
