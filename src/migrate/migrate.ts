import { POLICY_NAME } from '../config/keys.js';
import { splitList } from '../config/values.js';
import { HEADERS_TO_AUTH, IDENTITY_HEADERS, JWT_HEADER } from '../http/gateway-headers.js';
import { queryOf } from '../http/request-target.js';
import { AUTH_ANNOTATIONS, type Target } from './auth-annotations.js';
import { type Ingress, isAiryAuth, NGINX_PREFIX, nginxAnnotations, readIngresses, type ServicePorts, serviceOf } from './ingress.js';
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
  /** Ingresses that could not be read or translated safely: none of their objects is emitted. */
  readonly refused: number;
}

const GATEWAY_PATH_TYPE: Record<string, 'PathPrefix' | 'Exact'> = { Prefix: 'PathPrefix', Exact: 'Exact', ImplementationSpecific: 'PathPrefix' };

/**
 * Translates the ingress-nginx auth annotations of every Ingress in `text` to the target. Fails
 * closed: an Ingress whose rules cannot be read, or whose objects would route without the rule it
 * had (a rule on auth-url that cannot be carried, a named port that cannot be resolved), gets a
 * `refused` line and no object at all, never a route that is more open than the one it replaces.
 */
export function migrate(text: string, options: MigrateOptions): MigrateResult {
  const { ingresses, malformed, services, skipped } = readIngresses(text);
  const report: ReportLine[] = skipped.map((s) => ({ ingress: s, annotation: '-', outcome: 'not-auth', detail: 'not an Ingress; left out' }));
  for (const m of malformed) report.push({ ingress: m.id, annotation: '-', outcome: 'refused', detail: `cannot be read as an Ingress: ${m.problem}` });
  const objects: object[] = [];
  let refused = malformed.length;
  for (const ing of ingresses) {
    const ns = ing.metadata.namespace ?? 'default';
    const id = `${ns}/${ing.metadata.name}`;
    const annotations = nginxAnnotations(ing);
    const refusals: string[] = [];
    for (const [name, value] of annotations) {
      const rule = AUTH_ANNOTATIONS[name];
      if (!rule) {
        report.push({ ingress: id, annotation: `${NGINX_PREFIX}${name}`, outcome: 'not-auth', detail: `"${value.slice(0, 60)}" is left out of the output` });
        continue;
      }
      let { outcome, detail }: { outcome: Outcome; detail: string } = rule.handling[options.target];
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
        outcome = 'refused';
        detail = `${value} is not an in-cluster Service URL, and the ExternalAuth filter needs a backendRef`;
      }
      if (outcome === 'refused') refusals.push(name);
      report.push({ ingress: id, annotation: `${NGINX_PREFIX}${name}`, outcome, detail });
    }
    const authUrl = annotations.get('auth-url');
    if (!authUrl) {
      report.push({
        ingress: id,
        annotation: '-',
        outcome: 'not-auth',
        detail: 'has no auth-url, so it is not carried over: it stays as it is, and is not protected by airy-auth after the move unless you add that',
      });
      continue;
    }
    if (options.target === 'gateway-api') {
      for (const problem of gatewayRouteProblems(ing, services)) {
        refusals.push(problem);
        report.push({ ingress: id, annotation: '-', outcome: 'refused', detail: problem });
      }
      if (ing.spec.tls?.length) {
        const hosts = ing.spec.tls.flatMap((t) => t.hosts ?? []).join(', ');
        report.push({
          ingress: id,
          annotation: '-',
          outcome: 'changed',
          detail: `spec.tls (${hosts || 'every host'}) is not carried over: an HTTPRoute has no TLS; configure the certificate on the Gateway's listener`,
        });
      }
      if (ing.spec.defaultBackend) {
        report.push({
          ingress: id,
          annotation: '-',
          outcome: 'changed',
          detail: 'spec.defaultBackend is not carried over: add a rule for it to the HTTPRoute',
        });
      }
    }
    if (refusals.length > 0) {
      refused++;
      continue;
    }
    objects.push(...(options.target === 'traefik' ? toTraefik(ing, annotations, authUrl) : toGatewayApi(ing, annotations, authUrl, options, services)));
  }
  return { objects, report, ingresses: ingresses.length + malformed.length, refused };
}

const RULE_PARAMS = ['allowed_groups', 'allowed_emails', 'allowed_email_domains', 'policy'];

/**
 * oauth2-proxy's per-route rules on auth-url (airy-auth reads the same parameters): Traefik's
 * ForwardAuth address keeps them as they are; the Gateway API filter can only name a policy
 * (its path is /gateway-api-policy/NAME), so other rules must become a named policy first. A
 * rule that cannot be read, or would be lost on the way, refuses the Ingress: dropping it would
 * leave the route open to everyone the rule kept out.
 */
function carryRules(query: string, target: Target, detail: string, airy: boolean): { outcome: Exclude<Outcome, 'not-auth'>; detail: string } {
  const pairs = [...new URLSearchParams(query)];
  const params = pairs.map(([k]) => k);
  const unknown = params.filter((p) => !RULE_PARAMS.includes(p));
  const shown = query.slice(0, 80);
  if (!airy) {
    if (target === 'gateway-api') {
      return { outcome: 'refused', detail: `the ExternalAuth filter has no query, so the rules of this auth service (${shown}) would be lost` };
    }
    return {
      outcome: 'changed',
      detail: `${detail}; its query (${shown}) is kept on the address but is not a rule airy-auth reads: check that every route still gets the rule it had`,
    };
  }
  if (unknown.length > 0) {
    return {
      outcome: 'refused',
      detail:
        `its query (${shown}) holds ${unknown.map((u) => u.slice(0, 40)).join(', ')}, which is not a rule airy-auth reads; ` +
        `write the rule with ${RULE_PARAMS.join(', ')}`,
    };
  }
  const empty = pairs.find(([, v]) => v.trim() === '');
  if (empty) return { outcome: 'refused', detail: `its rule ${empty[0]}= is empty; name what it allows, or remove it` };
  if (target === 'traefik') return { outcome: 'translated', detail: `${detail}, with the rules ${shown} kept on the address` };
  if (params.length === 1 && params[0] === 'policy') {
    const policy = pairs[0]![1];
    if (!POLICY_NAME.test(policy)) return { outcome: 'refused', detail: `"${policy.slice(0, 63)}" is not a policy name` };
    return { outcome: 'translated', detail: `${detail}, policy as path /gateway-api-policy/NAME` };
  }
  return {
    outcome: 'refused',
    detail:
      `the ExternalAuth filter cannot carry the rules ${shown}: ` +
      'define them as a policy under security.policies and write auth-url ...?policy=NAME, which becomes the path /gateway-api-policy/NAME',
  };
}

type IngressPath = NonNullable<NonNullable<Ingress['spec']['rules']>[number]['http']>['paths'][number];

/** The Service port an Ingress path sends to: its number, or its name resolved through a Service in the input. */
function backendPort(path: IngressPath, namespace: string, services: readonly ServicePorts[]): number | undefined {
  const port = path.backend.service?.port;
  if (port?.number !== undefined) return port.number;
  if (port?.name === undefined) return undefined;
  return services.find((s) => s.namespace === namespace && s.name === path.backend.service?.name)?.ports.get(port.name);
}

/** What an HTTPRoute cannot say of this Ingress's rules: each one refuses it. */
function gatewayRouteProblems(ing: Ingress, services: readonly ServicePorts[]): string[] {
  const ns = ing.metadata.namespace ?? 'default';
  const problems: string[] = [];
  for (const [i, rule] of (ing.spec.rules ?? []).entries()) {
    if (!rule.http)
      problems.push(`spec.rules[${i}] (${rule.host ?? 'every host'}) has no paths: it would send to the default backend, which an HTTPRoute rule cannot name`);
    for (const [j, p] of (rule.http?.paths ?? []).entries()) {
      const at = `spec.rules[${i}].http.paths[${j}]`;
      if (!p.backend.service) problems.push(`${at} sends to a resource backend, not a Service; an HTTPRoute cannot`);
      else if (backendPort(p, ns, services) === undefined) {
        problems.push(
          `${at}: the port "${p.backend.service.port.name ?? ''}" of Service ${ns}/${p.backend.service.name} cannot be resolved to a number; ` +
            'give the number in the Ingress, or include the Service in the input (kubectl get ingress,service -A -o yaml)',
        );
      }
    }
  }
  return problems;
}

/**
 * The headers copied from an allow to the upstream: the Ingress's auth-response-headers (else
 * `fallback`), and for airy-auth X-Auth-Request-Jwt too, so that a client's copy is always
 * overwritten and the signed identity (signedIdentity) reaches the app.
 */
function responseHeadersOf(a: Map<string, string>, authUrl: string, fallback: readonly string[]): string[] {
  const listed = splitList(a.get('auth-response-headers') ?? '');
  const headers = listed.length ? listed : [...fallback];
  if (isAiryAuth(authUrl) && !headers.some((h) => h.toLowerCase() === JWT_HEADER.toLowerCase())) headers.push(JWT_HEADER);
  return headers;
}

function toTraefik(ing: Ingress, a: Map<string, string>, authUrl: string): object[] {
  const ns = ing.metadata.namespace ?? 'default';
  const name = `${ing.metadata.name}-airy-auth`;
  const address = isAiryAuth(authUrl) ? authUrl.replace(/\/auth(\?|$)/, '/forward-auth$1') : authUrl;
  const forwardAuth: Record<string, unknown> = { address, trustForwardHeader: false };
  const responseHeaders = responseHeadersOf(a, authUrl, []);
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

function toGatewayApi(ing: Ingress, a: Map<string, string>, authUrl: string, options: MigrateOptions, services: readonly ServicePorts[]): object[] {
  const ns = ing.metadata.namespace ?? 'default';
  const svc = serviceOf(authUrl, ns);
  if (!svc) return [];
  const externalAuth = {
    protocol: 'HTTP',
    backendRef: { name: svc.name, namespace: svc.namespace, port: svc.port },
    http: {
      path: isAiryAuth(authUrl) ? gatewayApiPath(authUrl) : svc.path,
      allowedHeaders: HEADERS_TO_AUTH.filter((h) => h !== 'Authorization'),
      allowedResponseHeaders: responseHeadersOf(a, authUrl, IDENTITY_HEADERS),
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
        backendRefs: p.backend.service ? [{ name: p.backend.service.name, port: backendPort(p, ns, services)! }] : [],
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
