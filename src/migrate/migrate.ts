import { splitList } from '../config/values.js';
import { HEADERS_TO_AUTH, IDENTITY_HEADERS } from '../http/gateway-headers.js';
import { AUTH_ANNOTATIONS, type Target } from './auth-annotations.js';
import { type Ingress, isAiryAuth, NGINX_PREFIX, nginxAnnotations, readIngresses, serviceOf } from './ingress.js';
import type { Outcome, ReportLine } from './report.js';

export interface MigrateOptions {
  readonly target: Target;
  /** Gateway API: the Gateway the routes attach to. */
  readonly gateway: string;
  readonly gatewayNamespace?: string | undefined;
}

export interface MigrateResult {
  readonly objects: object[];
  readonly report: ReportLine[];
  /** How many Ingress objects the input held; 0 means the wrong file. */
  readonly ingresses: number;
}

const GATEWAY_PATH_TYPE: Record<string, 'PathPrefix' | 'Exact'> = { Prefix: 'PathPrefix', Exact: 'Exact', ImplementationSpecific: 'PathPrefix' };

/** Translates the ingress-nginx auth annotations of every Ingress in `text` to the target. */
export function migrate(text: string, options: MigrateOptions): MigrateResult {
  const { ingresses, skipped } = readIngresses(text);
  const report: ReportLine[] = skipped.map((s) => ({ ingress: s, annotation: '-', outcome: 'not-auth', detail: 'not an Ingress; left out' }));
  const objects: object[] = [];
  for (const ing of ingresses) {
    const ns = ing.metadata.namespace ?? 'default';
    const id = `${ns}/${ing.metadata.name}`;
    const annotations = nginxAnnotations(ing);
    for (const [name, value] of annotations) {
      const rule = AUTH_ANNOTATIONS[name];
      if (!rule) {
        report.push({ ingress: id, annotation: `${NGINX_PREFIX}${name}`, outcome: 'not-auth', detail: `"${value.slice(0, 60)}" is left out of the output` });
        continue;
      }
      let { outcome, detail } = rule.handling[options.target];
      // An auth-url that is not airy-auth can still be carried over, but its protocol changes.
      if (name === 'auth-url' && !isAiryAuth(value)) {
        const protocol = options.target === 'traefik' ? 'X-Forwarded-* forward-auth' : 'ExternalAuth HTTP';
        detail += `; ${value} is not airy-auth's /auth: check that this service speaks the ${protocol} protocol`;
      }
      if (name === 'auth-signin' && options.target === 'traefik' && !isAiryAuth(annotations.get('auth-url') ?? '')) {
        outcome = 'untranslatable';
        detail = "Traefik ForwardAuth has no sign-in redirect; only airy-auth's /forward-auth redirects browsers itself";
      }
      if (name === 'auth-signin-redirect-param' && value !== 'rd') {
        outcome = 'untranslatable';
        detail = `airy-auth's login reads rd=, not ${value}=`;
      }
      const query = name === 'auth-url' ? queryOf(value) : undefined;
      if (query && outcome === 'translated') ({ outcome, detail } = carryRules(query, options.target, detail, isAiryAuth(value)));
      if (name === 'auth-url' && options.target === 'gateway-api' && !serviceOf(value, ns)) {
        outcome = 'untranslatable';
        detail = `${value} is not an in-cluster Service URL, and the ExternalAuth filter needs a backendRef`;
      }
      report.push({ ingress: id, annotation: `${NGINX_PREFIX}${name}`, outcome, detail });
    }
    const authUrl = annotations.get('auth-url');
    if (!authUrl) continue;
    objects.push(...(options.target === 'traefik' ? toTraefik(ing, annotations, authUrl) : toGatewayApi(ing, annotations, authUrl, options)));
  }
  return { objects, report, ingresses: ingresses.length };
}

const RULE_PARAMS = ['allowed_groups', 'allowed_emails', 'allowed_email_domains', 'policy'];

/**
 * oauth2-proxy's per-route rules on auth-url (airy-auth reads the same parameters): Traefik's
 * ForwardAuth address keeps them as they are; the Gateway API filter can only name a policy
 * (its path is /gateway-api-policy/NAME), so other rules must become a named policy first.
 */
function carryRules(query: string, target: Target, detail: string, airy: boolean): { outcome: Exclude<Outcome, 'not-auth'>; detail: string } {
  const params = [...new URLSearchParams(query).keys()];
  const unknown = params.filter((p) => !RULE_PARAMS.includes(p));
  if (!airy || unknown.length > 0) {
    return {
      outcome: 'changed',
      detail:
        `${detail}; its query (${query.slice(0, 80)}) is not a rule airy-auth reads (${unknown.join(', ') || 'another auth service'}): ` +
        'check that every route still gets the rule it had',
    };
  }
  if (target === 'traefik') return { outcome: 'translated', detail: `${detail}, with the rules ${query.slice(0, 80)} kept on the address` };
  if (params.length === 1 && params[0] === 'policy') return { outcome: 'translated', detail: `${detail}, policy as path /gateway-api-policy/NAME` };
  return {
    outcome: 'untranslatable',
    detail:
      `the ExternalAuth filter cannot carry the rules ${query.slice(0, 80)}: ` +
      'define them as a policy under security.policies and write auth-url ...?policy=NAME, which becomes the path /gateway-api-policy/NAME',
  };
}

/** The query of a URL written in an annotation, or undefined. */
function queryOf(url: string): string | undefined {
  const q = url.indexOf('?');
  return q < 0 || q === url.length - 1 ? undefined : url.slice(q + 1);
}

function toTraefik(ing: Ingress, a: Map<string, string>, authUrl: string): object[] {
  const ns = ing.metadata.namespace ?? 'default';
  const name = `${ing.metadata.name}-airy-auth`;
  const address = isAiryAuth(authUrl) ? authUrl.replace(/\/auth(\?|$)/, '/forward-auth$1') : authUrl;
  const forwardAuth: Record<string, unknown> = { address, trustForwardHeader: false };
  const responseHeaders = splitList(a.get('auth-response-headers') ?? '');
  if (responseHeaders.length) forwardAuth.authResponseHeaders = responseHeaders;
  if (a.get('auth-always-set-cookie') === 'true') forwardAuth.addAuthCookiesToResponse = ['airy_auth_token'];
  const middleware = { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', metadata: { name, namespace: ns }, spec: { forwardAuth } };
  const keep = Object.fromEntries(Object.entries(ing.metadata.annotations ?? {}).filter(([k]) => !k.startsWith(NGINX_PREFIX)));
  const ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { ...ing.metadata, annotations: { ...keep, 'traefik.ingress.kubernetes.io/router.middlewares': `${ns}-${name}@kubernetescrd` } },
    spec: { ...ing.spec, ingressClassName: 'traefik' },
  };
  return [middleware, ingress];
}

function toGatewayApi(ing: Ingress, a: Map<string, string>, authUrl: string, options: MigrateOptions): object[] {
  const ns = ing.metadata.namespace ?? 'default';
  const svc = serviceOf(authUrl, ns);
  if (!svc) return [];
  const externalAuth = {
    protocol: 'HTTP',
    backendRef: { name: svc.name, namespace: svc.namespace, port: svc.port },
    http: {
      path: isAiryAuth(authUrl) ? gatewayApiPath(authUrl) : svc.path,
      allowedHeaders: HEADERS_TO_AUTH.filter((h) => h !== 'Authorization'),
      allowedResponseHeaders: splitList(a.get('auth-response-headers') ?? '').length ? splitList(a.get('auth-response-headers') ?? '') : [...IDENTITY_HEADERS],
    },
  };
  const byHost = new Map<string, NonNullable<NonNullable<Ingress['spec']['rules']>[number]['http']>['paths']>();
  for (const rule of ing.spec.rules ?? []) byHost.set(rule.host ?? '', [...(byHost.get(rule.host ?? '') ?? []), ...(rule.http?.paths ?? [])]);
  const parentRef = { name: options.gateway, ...(options.gatewayNamespace ? { namespace: options.gatewayNamespace } : {}) };
  const routes = [...byHost].map(([host, paths], i) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: byHost.size > 1 ? `${ing.metadata.name}-${i}` : ing.metadata.name, namespace: ns },
    spec: {
      parentRefs: [parentRef],
      ...(host ? { hostnames: [host] } : {}),
      rules: paths.map((p) => ({
        matches: [{ path: { type: GATEWAY_PATH_TYPE[p.pathType ?? 'Prefix'] ?? 'PathPrefix', value: p.path ?? '/' } }],
        filters: [{ type: 'ExternalAuth', externalAuth }],
        backendRefs: p.backend.service ? [{ name: p.backend.service.name, port: p.backend.service.port.number ?? 80 }] : [],
      })),
    },
  }));
  // A route may only send to a Service in another namespace that allows it.
  const grant =
    svc.namespace !== ns
      ? [
          {
            apiVersion: 'gateway.networking.k8s.io/v1beta1',
            kind: 'ReferenceGrant',
            metadata: { name: `airy-auth-from-${ns}`, namespace: svc.namespace },
            spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: ns }], to: [{ group: '', kind: 'Service', name: svc.name }] },
          },
        ]
      : [];
  return [...routes, ...grant];
}

/** `/gateway-api`, or `/gateway-api-policy/NAME` for an auth-url that names a policy. */
function gatewayApiPath(authUrl: string): string {
  const policy = new URLSearchParams(queryOf(authUrl) ?? '').get('policy');
  return policy ? `/gateway-api-policy/${policy}` : '/gateway-api';
}
