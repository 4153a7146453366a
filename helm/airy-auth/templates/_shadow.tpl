{{- /*
The shadow configuration (shadow.enabled): a candidate airy.yaml in a ConfigMap of its own, which
airy-auth compares with every decision (serve --shadow-configmap) without ever answering from it.
*/ -}}

{{- define "airy-auth.shadowName" -}}
{{- printf "%s-shadow" (include "airy-auth.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* The security section of shadow.airyYaml as JSON; a shadow without one fails the render. */ -}}
{{- define "airy-auth.shadowSecurity" -}}
{{- if not .Values.shadow.airyYaml -}}
{{- fail "shadow.enabled=true needs shadow.airyYaml: the candidate airy.yaml to compare with the live config (--set-file shadow.airyYaml=candidate.yaml)" -}}
{{- end -}}
{{- $doc := fromYaml .Values.shadow.airyYaml -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "shadow.airyYaml is not valid YAML (%s)" (index $doc "Error")) -}}
{{- end -}}
{{- if not (kindIs "map" (get $doc "security")) -}}
{{- fail "shadow.airyYaml has no security: section; it is a whole airy.yaml, like airyYaml" -}}
{{- end -}}
{{- toJson (get $doc "security") -}}
{{- end -}}

{{- /* The secret keys of shadow.airyYaml (systemToken, jwtSecret, clientSecret, oidc.clientSecret), as JSON: never in its ConfigMap. */ -}}
{{- define "airy-auth.shadowSecretSettings" -}}
{{- $keys := include "airy-auth.configKeys" . | fromJson -}}
{{- $security := include "airy-auth.shadowSecurity" . | fromJson -}}
{{- $out := dict -}}
{{- $blocks := list (list "" $security) -}}
{{- if kindIs "map" (get $security "oidc") }}{{ $blocks = append $blocks (list "oidc." (get $security "oidc")) }}{{ end -}}
{{- range $block := $blocks -}}
{{- range $key, $value := index $block 1 -}}
{{- if and (hasKey $keys $key) (get (get $keys $key) "secret") (not (empty $value)) -}}
{{- if not (kindIs "string" $value) -}}
{{- fail (printf "shadow.airyYaml: %s%s must be a string; put it in quotes" (index $block 0) $key) -}}
{{- end -}}
{{- $_ := set $out (printf "%s%s" (index $block 0) $key) $value -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /*
The Secret the shadow reads: the live one when shadow.airyYaml holds no secret (the usual case: the
candidate changes rules, and must verify sessions with the same jwtSecret), else a Secret of its own.
*/ -}}
{{- define "airy-auth.shadowSecretName" -}}
{{- if include "airy-auth.shadowSecretSettings" . | fromJson -}}
{{- include "airy-auth.shadowName" . -}}
{{- else -}}
{{- include "airy-auth.secretName" . -}}
{{- end -}}
{{- end -}}

{{- /* The container's arguments for the shadow; nothing while it is off. */ -}}
{{- define "airy-auth.shadowArgs" -}}
{{- if .Values.shadow.enabled -}}
- --shadow-configmap
- {{ printf "%s/%s" .Release.Namespace (include "airy-auth.shadowName" .) }}
{{- with (include "airy-auth.shadowSecretName" .) }}
- --shadow-secret
- {{ printf "%s/%s" $.Release.Namespace . }}
{{- end }}
{{- end -}}
{{- end -}}
