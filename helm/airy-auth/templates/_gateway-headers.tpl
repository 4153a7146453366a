{{- /* What every gateway must send to airy-auth and copy back: src/http/gateway-headers.ts, checked by test/helm/gateway-headers.test.ts. */ -}}
{{- define "airy-auth.headersToAuth" -}}
["authorization", "cookie", "origin", "x-forwarded-proto", "accept", "sec-fetch-mode", "x-requested-with", "access-control-request-method"]
{{- end -}}
{{- define "airy-auth.identityHeaders" -}}
["x-auth-request-user", "x-auth-request-email", "x-auth-request-groups", "x-auth-request-jwt"]
{{- end -}}
{{- define "airy-auth.serviceHost" -}}
{{ include "airy-auth.fullname" . }}.{{ .Release.Namespace }}.svc.cluster.local
{{- end -}}
