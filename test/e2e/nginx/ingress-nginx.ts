/**
 * Renders an nginx config shaped like what ingress-nginx's nginx.tmpl generates for an Ingress
 * with `auth-url`, `auth-signin` and `auth-response-headers`: an internal auth location per
 * protected path, `auth_request` + `auth_request_set` in the protected location, and
 * `error_page 401` to a named location that answers 302 to the sign-in URL with `rd=`.
 *
 * This is the one place the ingress-nginx shape lives: the core e2e tests, the Helm chart's
 * NOTES.txt test and the benchmark all render through it, from annotations as users write them.
 */
export interface IngressAnnotations {
  /** `nginx.ingress.kubernetes.io/auth-url` */
  readonly 'auth-url': string;
  /** `nginx.ingress.kubernetes.io/auth-signin`; without it a 401 reaches the client as 401. */
  readonly 'auth-signin'?: string | undefined;
  /** `nginx.ingress.kubernetes.io/auth-response-headers`, comma-separated. */
  readonly 'auth-response-headers'?: string | undefined;
}

export interface IngressPath {
  readonly path: string;
  /** host:port of the upstream service. */
  readonly upstream: string;
  /** Undefined: the path is routed without auth (as for /login on the airy-auth Ingress). */
  readonly annotations?: IngressAnnotations;
  /** Instead of annotations: NGINX Gateway Fabric's shape of the Gateway API ExternalAuth filter. */
  readonly ngf?: NgfExternalAuth;
}

/**
 * How NGINX Gateway Fabric renders an HTTPRoute ExternalAuth filter (protocol HTTP): auth_request to
 * the auth backend with no client headers but the allowed ones, and the original URI and method in
 * `Path:` and `Method:` headers.
 */
export interface NgfExternalAuth {
  readonly authUrl: string;
  readonly allowedHeaders: readonly string[];
  readonly allowedResponseHeaders: readonly string[];
}

export interface NginxSite {
  readonly listenPort: number;
  readonly prefixDir: string;
  readonly paths: readonly IngressPath[];
  /** Extra text in the http block (the bench adds an upstream keepalive pool). */
  readonly httpExtra?: string;
}

const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

/** Reads the auth annotations from an Ingress-style annotation map (full keys). */
export function annotationsFrom(map: Readonly<Record<string, string>>): IngressAnnotations {
  const get = (k: string) => map[`${ANNOTATION_PREFIX}${k}`];
  const authUrl = get('auth-url');
  if (!authUrl) throw new TypeError('annotationsFrom: auth-url is missing');
  return { 'auth-url': authUrl, 'auth-signin': get('auth-signin'), 'auth-response-headers': get('auth-response-headers') };
}

/** ingress-nginx appends `rd=$scheme://$http_host$escaped_request_uri` unless the URL already has rd. */
function signinUrl(signin: string): string {
  if (/[?&]rd=/.test(signin)) return signin;
  return `${signin}${signin.includes('?') ? '&' : '?'}rd=$scheme://$http_host$escaped_request_uri`;
}

function authLocation(name: string, a: IngressAnnotations): string {
  const url = new URL(a['auth-url']);
  return `
    location = ${name} {
      internal;
      access_log off;
      proxy_pass_request_body     off;
      proxy_set_header            Content-Length          "";
      proxy_set_header            X-Forwarded-Proto       "";
      proxy_set_header            X-Request-ID            $request_id;
      proxy_set_header            Host                    ${url.host};
      proxy_set_header            X-Original-URL          $scheme://$http_host$request_uri;
      proxy_set_header            X-Original-Method       $request_method;
      proxy_set_header            X-Sent-From             "nginx-ingress-controller";
      proxy_set_header            X-Real-IP               $remote_addr;
      proxy_set_header            X-Forwarded-For         $remote_addr;
      proxy_set_header            X-Auth-Request-Redirect $request_uri;
      proxy_buffering             off;
      proxy_http_version          1.1;
      proxy_set_header            Connection              "";
      proxy_pass_request_headers  on;
      proxy_pass                  ${a['auth-url']};
    }`;
}

function protectedLocation(p: IngressPath, index: number): string {
  const a = p.annotations!;
  const authName = `/_external-auth-${index}`;
  const signinName = `@signin_${index}`;
  const responseHeaders = (a['auth-response-headers'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const headerLines = responseHeaders
    .map(
      (h, i) =>
        `      auth_request_set $authHeader${index}_${i} $upstream_http_${h.toLowerCase().replace(/-/g, '_')};\n` +
        `      proxy_set_header '${h}' $authHeader${index}_${i};`,
    )
    .join('\n');
  const signin = a['auth-signin']
    ? `
      set_escape_uri $escaped_request_uri $request_uri;
      error_page 401 = ${signinName};`
    : '';
  const signinLocation = a['auth-signin']
    ? `
    location ${signinName} {
      internal;
      add_header Set-Cookie $auth_cookie;
      return 302 ${signinUrl(a['auth-signin'])};
    }`
    : '';
  return `${authLocation(authName, a)}
    location ${p.path} {
      auth_request        ${authName};
      auth_request_set    $auth_cookie $upstream_http_set_cookie;
      add_header          Set-Cookie $auth_cookie;
${headerLines}${signin}
      proxy_set_header    X-Request-ID $request_id;
      proxy_set_header    Host $http_host;
      proxy_pass          http://${p.upstream};
    }${signinLocation}`;
}

function ngfLocation(p: IngressPath, index: number): string {
  const n = p.ngf!;
  const authName = `/_ngf-external-auth-${index}`;
  const allowed = n.allowedHeaders.map((h) => `      proxy_set_header ${h} $http_${h.toLowerCase().replace(/-/g, '_')};`).join('\n');
  const response = n.allowedResponseHeaders
    .map(
      (h, i) =>
        `      auth_request_set $ngfAuth${index}_${i} $upstream_http_${h.toLowerCase().replace(/-/g, '_')};\n` +
        `      proxy_set_header ${h} $ngfAuth${index}_${i};`,
    )
    .join('\n');
  return `
    location = ${authName} {
      internal;
      proxy_pass_request_body     off;
      proxy_pass_request_headers  off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header Path $request_uri;
      proxy_set_header Method $request_method;
      proxy_set_header Authorization $http_authorization;
${allowed}
      proxy_http_version 1.1;
      proxy_pass ${n.authUrl};
    }
    location ${p.path} {
      auth_request ${authName};
${response}
      proxy_set_header Host $http_host;
      proxy_pass http://${p.upstream};
    }`;
}

function openLocation(p: IngressPath): string {
  return `
    location ${p.path} {
      proxy_set_header    Host $http_host;
      proxy_set_header    X-Forwarded-Proto $scheme;
      proxy_set_header    X-Forwarded-Host $http_host;
      proxy_pass          http://${p.upstream};
    }`;
}

export function renderIngressNginx(site: NginxSite): string {
  const d = site.prefixDir;
  const locations = site.paths.map((p, i) => (p.ngf ? ngfLocation(p, i) : p.annotations ? protectedLocation(p, i) : openLocation(p))).join('\n');
  return `# rendered by test/e2e/nginx/ingress-nginx.ts
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_set_misc_module.so;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/client_body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  large_client_header_buffers 4 16k;
${site.httpExtra ?? ''}
  server {
    listen 127.0.0.1:${site.listenPort};
    server_name _;
${locations}
  }
}
`;
}
