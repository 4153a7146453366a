{{- /*
How values become airy-auth's configuration. The key list comes from _config-keys.tpl, generated
from the key catalogue (npm run chart:sync), so every key airy-auth reads can be set here.
*/ -}}

{{- /* The security section of airyYaml as JSON ({} when airyYaml is unset); invalid YAML fails the render. */ -}}
{{- define "airy-auth.airyYamlSecurity" -}}
{{- $security := dict -}}
{{- if .Values.airyYaml -}}
{{- $doc := fromYaml .Values.airyYaml -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "airyYaml is not valid YAML (%s)" (index $doc "Error")) -}}
{{- end -}}
{{- if kindIs "map" (get $doc "security") }}{{ $security = get $doc "security" }}{{ end -}}
{{- end -}}
{{- toJson $security -}}
{{- end -}}

{{- /*
The value of a key of the security section airy-auth is configured with: airyYaml's when it is
set (the chart's ConfigMap then holds it), else security's; under security: or security.oidc:.
*/ -}}
{{- define "airy-auth.setting" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $security := $root.Values.security -}}
{{- if $root.Values.airyYaml }}{{ $security = include "airy-auth.airyYamlSecurity" $root | fromJson }}{{ end -}}
{{- $oidc := get $security "oidc" -}}
{{- $value := get $security $key -}}
{{- if and (not $value) (kindIs "map" $oidc) }}{{ $value = get $oidc $key }}{{ end -}}
{{- if kindIs "string" $value }}{{ $value }}{{ end -}}
{{- end -}}

{{- /*
The secret keys given in values (security:, security.oidc:) and in airyYaml, as the flat keys of
the Secret (systemToken, jwtSecret, clientSecret, oidc.clientSecret), as JSON. They never go into
the ConfigMap, which the built-in `view` role can read.
*/ -}}
{{- define "airy-auth.secretSettings" -}}
{{- $keys := include "airy-auth.configKeys" . | fromJson -}}
{{- $out := dict -}}
{{- $sources := list (list "security" .Values.security) -}}
{{- if .Values.airyYaml }}{{ $sources = append $sources (list "airyYaml's security" (include "airy-auth.airyYamlSecurity" . | fromJson)) }}{{ end -}}
{{- range $source := $sources -}}
{{- $where := index $source 0 -}}
{{- $security := index $source 1 -}}
{{- $blocks := list (list "" $security) -}}
{{- if kindIs "map" (get $security "oidc") }}{{ $blocks = append $blocks (list "oidc." (get $security "oidc")) }}{{ end -}}
{{- range $block := $blocks -}}
{{- range $key, $value := index $block 1 -}}
{{- /* A named key's secret fields (providers.NAME.clientSecret) go into the Secret as KEY.NAME.FIELD. */ -}}
{{- if and (hasKey $keys $key) (get (get $keys $key) "secretFields") (kindIs "map" $value) -}}
{{- range $name, $body := $value -}}
{{- if kindIs "map" $body -}}
{{- range $field := get (get $keys $key) "secretFields" -}}
{{- $v := get $body $field -}}
{{- if not (empty $v) -}}
{{- $flat := printf "%s.%s.%s" $key $name $field -}}
{{- if not (kindIs "string" $v) -}}
{{- fail (printf "%s: %s must be a string; put it in quotes" $where $flat) -}}
{{- end -}}
{{- if hasKey $out $flat -}}
{{- fail (printf "%s is set both in security and in airyYaml; keep one" $flat) -}}
{{- end -}}
{{- $_ := set $out $flat $v -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $keys $key) (get (get $keys $key) "secret") (not (empty $value)) -}}
{{- $flat := printf "%s%s" (index $block 0) $key -}}
{{- if not (kindIs "string" $value) -}}
{{- fail (printf "%s: %s must be a string; put it in quotes" $where $flat) -}}
{{- end -}}
{{- if hasKey $out $flat -}}
{{- fail (printf "%s is set both in security and in airyYaml; keep one" $flat) -}}
{{- end -}}
{{- $_ := set $out $flat $value -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* One value as the flat ConfigMap keys airy-auth reads: lists joined with commas, policies as policies.NAME.KEY. */ -}}
{{- define "airy-auth.putFlat" -}}
{{- $data := .data -}}
{{- $value := .value -}}
{{- $type := dig "type" "string" .spec -}}
{{- if and (eq $type "named") (kindIs "map" $value) -}}
{{- $anyField := first (dig "fields" (list "") .spec) -}}
{{- $secretFields := dig "secretFields" (list) .spec -}}
{{- range $name, $body := $value -}}
{{- if kindIs "map" $body -}}
{{- /* An entry with no field keeps one empty field: the policy must still exist for ?policy=NAME. */ -}}
{{- if empty $body }}{{ $_ := set $data (printf "%s.%s.%s" $.name $name $anyField) "" }}{{ end -}}
{{- /* Secret fields (a provider's clientSecret) are in the Secret only. */ -}}
{{- range $field, $v := $body -}}
{{- if not (has $field $secretFields) -}}
{{- $_ := set $data (printf "%s.%s.%s" $.name $name $field) (ternary (join "," $v) (ternary (toString $v) (toString (default "" $v)) (kindIs "bool" $v)) (kindIs "slice" $v)) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $_ := set $data (printf "%s.%s" $.name $name) (toString $body) -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "slice" $value -}}
{{- $_ := set $data .name (join "," $value) -}}
{{- else -}}
{{- $_ := set $data .name (toString $value) -}}
{{- end -}}
{{- end -}}

{{- /* The chart's ConfigMap data, as JSON: airyYaml without its secrets, or the flat keys of security:. */ -}}
{{- define "airy-auth.configData" -}}
{{- $keys := include "airy-auth.configKeys" . | fromJson -}}
{{- $secretKeys := list -}}
{{- range $key, $spec := $keys }}{{ if get $spec "secret" }}{{ $secretKeys = append $secretKeys $key }}{{ end }}{{ end -}}
{{- $data := dict -}}
{{- if .Values.airyYaml -}}
{{- $security := include "airy-auth.airyYamlSecurity" . | fromJson -}}
{{- $oidc := get $security "oidc" -}}
{{- $clean := deepCopy $security -}}
{{- $cleanOidc := dict -}}
{{- if kindIs "map" $oidc }}{{ $cleanOidc = deepCopy $oidc }}{{ end -}}
{{- $stripped := false -}}
{{- range $secretKeys -}}
{{- if hasKey $clean . }}{{ $_ := unset $clean . }}{{ $stripped = true }}{{ end -}}
{{- if hasKey $cleanOidc . }}{{ $_ := unset $cleanOidc . }}{{ $stripped = true }}{{ end -}}
{{- end -}}
{{- range $key, $spec := $keys -}}
{{- if and (get $spec "secretFields") (kindIs "map" (get $clean $key)) -}}
{{- range $name, $body := get $clean $key -}}
{{- if kindIs "map" $body -}}
{{- range $field := get $spec "secretFields" -}}
{{- if hasKey $body $field }}{{ $_ := unset $body $field }}{{ $stripped = true }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $stripped -}}
{{- if or (not .Values.secret.create) .Values.secret.existingSecret -}}
{{- fail "airyYaml holds secret keys (systemToken, jwtSecret or clientSecret), which the chart keeps out of the ConfigMap, but it renders no Secret to hold them (secret.existingSecret or secret.create=false): put them into your Secret and remove them from airyYaml" -}}
{{- end -}}
{{- /* Rewritten without the secrets (they go into the Secret); otherwise kept as written, comments and all. */ -}}
{{- if kindIs "map" $oidc }}{{ $_ := set $clean "oidc" $cleanOidc }}{{ end -}}
{{- $doc := fromYaml .Values.airyYaml -}}
{{- $_ := set $doc "security" $clean -}}
{{- $_ := set $data "airy.yaml" (toYaml $doc) -}}
{{- else -}}
{{- $_ := set $data "airy.yaml" .Values.airyYaml -}}
{{- end -}}
{{- else -}}
{{- $chartOnly := include "airy-auth.chartOnlySecurityValues" . | fromJsonArray -}}
{{- $blocks := list (list "" (omit .Values.security "oidc")) -}}
{{- if kindIs "map" .Values.security.oidc }}{{ $blocks = append $blocks (list "oidc." .Values.security.oidc) }}{{ end -}}
{{- range $block := $blocks -}}
{{- range $key, $value := index $block 1 -}}
{{- $spec := get $keys $key | default dict -}}
{{- /* Unset, chart-only or secret: not in the ConfigMap. An unknown key (schema skipped) goes in, for airy-auth to name it. */ -}}
{{- if not (or (kindIs "invalid" $value) (eq (toString $value) "") (get $spec "secret") (and (eq (index $block 0) "") (has $key $chartOnly))) -}}
{{- /* OIDC keys are oidc.KEY under security: too (as `airy-auth configmap` writes them); the same key in both places is refused. */ -}}
{{- $flat := printf "%s%s" (ternary "oidc." (index $block 0) (hasKey $spec "oidc")) $key -}}
{{- if hasKey $data $flat -}}
{{- fail (printf "security.%s and security.oidc.%s are both set; keep one" $key $key) -}}
{{- end -}}
{{- include "airy-auth.putFlat" (dict "data" $data "name" $flat "value" $value "spec" $spec) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $data -}}
{{- end -}}
