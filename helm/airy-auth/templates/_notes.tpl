{{- /* The text NOTES.txt prints; a template of its own so tests can render it with helm template. */ -}}
{{- define "airy-auth.notes" -}}
airy-auth {{ .Chart.AppVersion }} is installed in namespace {{ .Release.Namespace }}{{ if .Values.sidecar.enabled }} (sidecar mode){{ end }}.
{{- range $gvk, $value := (include "airy-auth.wantedCrds" . | fromJson) }}
{{- if not ($.Capabilities.APIVersions.Has $gvk) }}

SKIPPED: {{ $value }} asks for a {{ $gvk }}, but this cluster has no such CRD (missingCrds=skip). Install the CRD, then helm upgrade.
{{- end }}
{{- end }}
{{- $secret := include "airy-auth.secretName" . }}
{{- if and (not $secret) (not .Values.security.jwtSecret) }}

WARNING: no Secret and no jwtSecret: authentication stays OFF until systemToken and jwtSecret are set.
{{- end }}

1. Protect an Ingress. Pages (browsers are sent to the login when they have no session):

    nginx.ingress.kubernetes.io/auth-url: "{{ include "airy-auth.authUrl" . }}"
    nginx.ingress.kubernetes.io/auth-signin: "https://$host/login"
    nginx.ingress.kubernetes.io/auth-response-headers: "X-Auth-Request-User,X-Auth-Request-Email"

   APIs called by scripts and single-page apps (a 401 instead of a redirect):

    nginx.ingress.kubernetes.io/auth-url: "{{ include "airy-auth.authUrl" . }}"
    nginx.ingress.kubernetes.io/auth-response-headers: "X-Auth-Request-User,X-Auth-Request-Email"

   With OIDC login, route /login, /oauth2 and /logout of the same host to the airy-auth Service
   without these annotations{{ if .Values.ingress.enabled }} (the chart's Ingress {{ include "airy-auth.fullname" . }}-login does this for {{ .Values.ingress.host }}){{ end }}.
{{- if .Values.sidecar.enabled }}

2. Sidecar mode: add this container to the ingress-nginx controller pod (ingress-nginx chart value
   controller.extraContainers), so that auth-url stays on 127.0.0.1:

{{ include "airy-auth.container" . | indent 6 }}
{{- end }}
{{- if $secret }}

{{ if .Values.sidecar.enabled }}3{{ else }}2{{ end }}. The systemToken (use it as "Authorization: Bearer <token>"):

    kubectl -n {{ .Release.Namespace }} get secret {{ $secret }} -o jsonpath='{.data.systemToken}' | base64 -d
{{- end }}

{{- if .Values.gateways.istio.enabled }}

Istio: add this provider to meshConfig.extensionProviders (istioctl or the istiod Helm values):

    - name: airy-auth
      envoyExtAuthzHttp:
        service: {{ include "airy-auth.serviceHost" . }}
        port: {{ .Values.port }}
        pathPrefix: /envoy
        includeRequestHeadersInCheck: {{ include "airy-auth.headersToAuth" . }}
        headersToUpstreamOnAllow: {{ include "airy-auth.identityHeaders" . }}
        headersToDownstreamOnDeny: ["location", "www-authenticate", "content-type", "cache-control"]
{{- end }}
{{- if .Values.gateways.traefik.enabled }}

Traefik: attach the Middleware to an Ingress with
    traefik.ingress.kubernetes.io/router.middlewares: {{ .Release.Namespace }}-{{ include "airy-auth.fullname" . }}@kubernetescrd
{{- end }}

Reconfigure without a restart (changes apply within a second; a bad config is refused and the
last good one kept, see `kubectl -n {{ .Release.Namespace }} describe configmap {{ include "airy-auth.fullname" . }}`):

    airy-auth configmap airy.yaml --name {{ include "airy-auth.fullname" . }} --namespace {{ .Release.Namespace }}{{ with $secret }} --secret-name {{ . }}{{ end }} | kubectl apply -f -
{{- end -}}
