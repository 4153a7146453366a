{{- /* The text NOTES.txt prints; a template of its own so tests can render it with helm template. */ -}}
{{- define "airy-auth.notes" -}}
airy-auth {{ .Chart.AppVersion }} is installed in namespace {{ .Release.Namespace }}{{ if .Values.sidecar.enabled }} (sidecar mode){{ end }}.
{{- range $gvk, $value := (include "airy-auth.wantedCrds" . | fromJson) }}
{{- if not ($.Capabilities.APIVersions.Has $gvk) }}

SKIPPED: {{ $value }} asks for a {{ $gvk }}, but this cluster has no such CRD (missingCrds=skip). Install the CRD, then helm upgrade.
{{- end }}
{{- end }}
{{- $secret := include "airy-auth.secretName" . }}
{{- if .Values.security.allowUnauthenticated }}

WARNING: security.allowUnauthenticated=true: airy-auth runs without --require-auth, so a config without
systemToken and jwtSecret (or OIDC) lets EVERY request in, and the rollout stays green.
{{- else }}

airy-auth runs with --require-auth: a config that would turn authentication off is refused, and the pods
stay not ready until it is fixed (`kubectl -n {{ .Release.Namespace }} get events` says why).
{{- end }}
{{- if .Values.secret.existingSecret }}

Secrets: the chart renders no Secret; airy-auth reads {{ .Values.secret.existingSecret }}, which you manage (the GitOps way:
a SealedSecret, an ExternalSecret, or once by hand). It needs the keys systemToken and jwtSecret (and
oidc.clientSecret with OIDC login, and signingKey with signedIdentity), for example:

    kubectl -n {{ .Release.Namespace }} create secret generic {{ .Values.secret.existingSecret }} \
      --from-literal=systemToken="$(openssl rand -hex 32)" --from-literal=jwtSecret="$(openssl rand -base64 48)" \
      --from-literal=signingKey="$(openssl ecparam -name prime256v1 -genkey -noout)"
{{- else if and .Values.secret.create .Values.secret.generate (not (and .Values.security.systemToken .Values.security.jwtSecret)) }}

Secrets: the chart generated the missing jwtSecret/systemToken/signingKey and keeps them across `helm upgrade` by
looking up the Secret. `helm template` (and Argo CD, which renders with it) cannot look it up and makes
new ones on every render, logging everyone out on every sync: with GitOps, create the Secret yourself and
set secret.existingSecret=NAME (secret.create=false).
{{- end }}

{{- /* Wherever they are set: security values, or airyYaml (which the ConfigMap then holds). */}}
{{- $publicUrl := include "airy-auth.setting" (list . "publicUrl") | trim | trimSuffix "/" }}
{{- $cookieDomain := include "airy-auth.setting" (list . "cookieDomain") | trim }}

1. Protect an Ingress. Pages (browsers are sent to the login when they have no session):

    nginx.ingress.kubernetes.io/auth-url: "{{ include "airy-auth.authUrl" . }}"
    nginx.ingress.kubernetes.io/auth-signin: "{{ if $publicUrl }}{{ $publicUrl }}/login{{ else }}https://$host/login{{ end }}"
    nginx.ingress.kubernetes.io/auth-response-headers: "X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups,X-Auth-Request-Jwt"

   APIs called by scripts and single-page apps (a 401 instead of a redirect):

    nginx.ingress.kubernetes.io/auth-url: "{{ include "airy-auth.authUrl" . }}"
    nginx.ingress.kubernetes.io/auth-response-headers: "X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups,X-Auth-Request-Jwt"

{{- if and $cookieDomain $publicUrl }}

   One login for every host under {{ $cookieDomain }} (cookieDomain): use the same annotations on each
   app's Ingress; only the login host {{ $publicUrl }} needs /login, /oauth2 and /logout routed to the
   airy-auth Service{{ if .Values.ingress.enabled }} (the chart's Ingress {{ include "airy-auth.fullname" . }}-login does this for {{ .Values.ingress.host }}){{ end }}, and only its callback is registered with the provider.
{{- else }}

   With OIDC login, route /login, /oauth2 and /logout of the same host to the airy-auth Service
   without these annotations{{ if .Values.ingress.enabled }} (the chart's Ingress {{ include "airy-auth.fullname" . }}-login does this for {{ .Values.ingress.host }}){{ end }}.
{{- if $cookieDomain }}
   The session cookie is shared by every host under {{ $cookieDomain }} (cookieDomain), but each host logs
   in on its own and its callback must be registered; set publicUrl to one login host to need only one.
{{- end }}
{{- end }}
{{- if .Values.sidecar.enabled }}

2. Sidecar mode: add this container to the ingress-nginx controller pod (ingress-nginx chart value
   controller.extraContainers), so that auth-url stays on 127.0.0.1:

{{ include "airy-auth.container" . | indent 6 }}
{{- end }}
{{- if $secret }}

{{ if .Values.sidecar.enabled }}3{{ else }}2{{ end }}. The systemToken (use it as "Authorization: Bearer <token>"):

    kubectl -n {{ .Release.Namespace }} get secret {{ $secret }} -o jsonpath='{.data.systemToken}' | base64 -d
{{- end }}

{{- if eq (include "airy-auth.signedIdentityOn" .) "true" }}
{{- $issuer := include "airy-auth.setting" (list . "signedIdentityIssuer") | trim | default $publicUrl }}
{{- $publicJwks := printf "%s/.well-known/jwks.json" ($publicUrl | default "https://<login host>") }}
{{- $clusterJwks := printf "http://%s:%v/.well-known/jwks.json" (include "airy-auth.serviceHost" .) .Values.port }}

Signed identity (signedIdentity): every allow carries X-Auth-Request-Jwt, an ES256 JWT that your app
verifies instead of trusting X-Auth-Request-User (issuer {{ $issuer | default "<publicUrl origin>" }}, audience: the app's own
origin, keys at {{ $publicJwks }}{{ if .Values.networkPolicy.enabled }}; the NetworkPolicy
lets only the gateway reach the Service, so apps fetch them through the login host{{ else }} or, in the cluster,
{{ $clusterJwks }}{{ end }}). With jose:

    const keys = createRemoteJWKSet(new URL('{{ if .Values.networkPolicy.enabled }}{{ $publicJwks }}{{ else }}{{ $clusterJwks }}{{ end }}'));
    const { payload } = await jwtVerify(req.headers['x-auth-request-jwt'], keys,
      { issuer: '{{ $issuer | default "https://auth.example.com" }}', audience: 'https://app.example.com', algorithms: ['ES256'] });
    // payload.sub, payload.email, payload.groups

   Keep X-Auth-Request-Jwt in auth-response-headers (above): the gateway then overwrites a client's copy.
   Route /.well-known/jwks.json of the login host to the airy-auth Service, as /login{{ if .Values.ingress.enabled }} (the chart's Ingress does){{ end }}.
{{- if .Values.secret.existingSecret }}
   Your Secret {{ .Values.secret.existingSecret }} must hold signingKey (an EC P-256 private key in PEM), or airy-auth refuses the config.
{{- end }}
{{- end }}
{{- if .Values.gateways.istio.enabled }}

Istio: add this provider to meshConfig.extensionProviders (istioctl or the istiod Helm values):

    - name: airy-auth
      envoyExtAuthzHttp:
        service: {{ include "airy-auth.serviceHost" . }}
        port: {{ .Values.port }}
        pathPrefix: {{ if .Values.gateways.istio.policy }}/envoy-policy/{{ .Values.gateways.istio.policy }}{{ else }}/envoy{{ end }}
        includeRequestHeadersInCheck: {{ include "airy-auth.headersToAuth" . }}
        headersToUpstreamOnAllow: {{ include "airy-auth.identityHeaders" . }}
        headersToDownstreamOnDeny: ["location", "www-authenticate", "content-type", "cache-control"]
{{- end }}
{{- if .Values.gateways.traefik.enabled }}

Traefik: attach the Middleware to an Ingress with
    traefik.ingress.kubernetes.io/router.middlewares: {{ .Release.Namespace }}-{{ include "airy-auth.fullname" . }}@kubernetescrd
{{- end }}

{{- $cm := include "airy-auth.configMapName" . }}
{{- if .Values.config.existingConfigMap }}

Reconfigure without a restart: airy-auth watches your ConfigMap {{ $cm }}, which the chart does not own,
so live edits stay (changes apply within a second; a bad config is refused and the last good one kept,
see `kubectl -n {{ .Release.Namespace }} describe configmap {{ $cm }}`):

    kubectl -n {{ .Release.Namespace }} edit configmap {{ $cm }}
    airy-auth check airy.yaml --strict && airy-auth configmap airy.yaml --name {{ $cm }} --namespace {{ .Release.Namespace }}{{ with $secret }} --secret-name {{ . }}{{ end }} | kubectl apply -f -
{{- else }}

Reconfigure with helm upgrade (pods are not restarted; airy-auth applies the new ConfigMap within a
second, and refuses a bad one, keeping the last good one). The chart owns ConfigMap {{ $cm }}: a kubectl
edit of it is reverted by the next helm upgrade. For live edits outside Helm, set config.existingConfigMap.

    helm upgrade {{ .Release.Name }} <chart> -n {{ .Release.Namespace }} --reuse-values --set-string 'security.allowedOrigins=https://a.example.com\,https://b.example.com'
{{- end }}
{{- end -}}
