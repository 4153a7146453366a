{{/* Names. */}}
{{- define "airy-auth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "airy-auth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "airy-auth.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "airy-auth.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "airy-auth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "airy-auth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "airy-auth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airy-auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "airy-auth.serviceAccountName" -}}
{{- if .Values.sidecar.enabled -}}
{{- .Values.sidecar.serviceAccountName -}}
{{- else if .Values.serviceAccount.create -}}
{{- default (include "airy-auth.fullname" .) .Values.serviceAccount.name -}}
{{- else if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else -}}
{{- fail "serviceAccount.create=false needs serviceAccount.name: the pods would run as the namespace's `default` ServiceAccount, and the Role reading the Secret would be bound to it (every pod of the namespace could read the secrets). Name a ServiceAccount you manage, or set serviceAccount.create=true." -}}
{{- end -}}
{{- end -}}

{{/* The Secret airy-auth reads, if any: one the chart renders, or one the user manages. */}}
{{- define "airy-auth.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else if .Values.secret.create -}}
{{- include "airy-auth.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "airy-auth.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is not set. No airy-auth image is published yet: build one from the repository's Dockerfile (docker build -t REGISTRY/airy-auth:TAG .), push it, and install with --set image.repository=REGISTRY/airy-auth --set image.tag=TAG" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap airy-auth watches: the one you manage, or the chart's. */}}
{{- define "airy-auth.configMapName" -}}
{{- default (include "airy-auth.fullname" .) .Values.config.existingConfigMap -}}
{{- end -}}

{{/* The in-cluster URL of /auth, for the auth-url annotation. */}}
{{- define "airy-auth.authUrl" -}}
{{- if .Values.sidecar.enabled -}}
http://127.0.0.1:{{ .Values.port }}/auth
{{- else -}}
http://{{ include "airy-auth.fullname" . }}.{{ .Release.Namespace }}.svc.cluster.local:{{ .Values.port }}/auth
{{- end -}}
{{- end -}}

{{/*
The airy-auth container, shared by the Deployment and the sidecar snippet, so both run the same.
*/}}
{{- define "airy-auth.container" -}}
name: airy-auth
image: {{ include "airy-auth.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  - serve
  - --configmap
  - {{ printf "%s/%s" .Release.Namespace (include "airy-auth.configMapName" .) }}
  {{- with (include "airy-auth.secretName" .) }}
  - --secret
  - {{ printf "%s/%s" $.Release.Namespace . }}
  {{- end }}
  {{- if .Values.revocations.enabled }}
  - --revocations
  - {{ printf "%s/%s" .Release.Namespace (include "airy-auth.revocationsName" .) }}
  {{- end }}
  {{- with (include "airy-auth.shadowArgs" .) }}
  {{- . | nindent 2 }}
  {{- end }}
  - --host
  - {{ if .Values.sidecar.enabled }}127.0.0.1{{ else }}0.0.0.0{{ end }}
  - --port
  - {{ .Values.port | quote }}
  - --metrics-port
  - {{ .Values.metricsPort | quote }}
  - --shutdown-delay-seconds
  - {{ .Values.shutdown.delaySeconds | quote }}
  - --drain-seconds
  - {{ .Values.shutdown.drainSeconds | quote }}
  {{- if not .Values.security.allowUnauthenticated }}
  - --require-auth
  {{- end }}
  {{- range .Values.extraArgs }}
  - {{ . | quote }}
  {{- end }}
env:
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        {{- /* The apiserver defaults apiVersion: without it every server-side apply rewrites the Deployment. */}}
        apiVersion: v1
        fieldPath: metadata.namespace
  - name: AIRY_AUTH_LOG_REQUESTS
    value: {{ .Values.logging.requests | quote }}
  - name: AIRY_AUTH_LOG_LEVEL
    value: {{ .Values.logging.level | quote }}
  - name: AIRY_AUTH_REQUEST_ID_HEADER
    value: {{ .Values.logging.requestIdHeader | quote }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .Values.envFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.extraVolumeMounts }}
volumeMounts:
  {{- toYaml . | nindent 2 }}
{{- end }}
ports:
  - name: http
    containerPort: {{ .Values.port }}
    protocol: TCP
  - name: metrics
    containerPort: {{ .Values.metricsPort }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml .Values.livenessProbe | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  {{- toYaml .Values.readinessProbe | nindent 2 }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/*
Whether the cluster serves a custom resource the chart is asked to render. Without its CRD,
`helm install` would fail with a generic "no matches for kind" message, so the chart says which
CRD is missing and how to get it; with `missingCrds: skip` it leaves the object out and NOTES
says so. Call with (list $ "group/version/Kind" "the value that asked for it" "how to install the CRD").
*/}}
{{- define "airy-auth.hasCrd" -}}
{{- $root := index . 0 -}}
{{- $gvk := index . 1 -}}
{{- if $root.Capabilities.APIVersions.Has $gvk -}}
true
{{- else if eq $root.Values.missingCrds "skip" -}}
{{- else -}}
{{- fail (printf "%s is set, but this cluster has no %s (its CustomResourceDefinition is not installed). Install it first: %s. Or set missingCrds=skip to leave it out. (With `helm template`, pass --api-versions %s.)" (index . 2) $gvk (index . 3) $gvk) -}}
{{- end -}}
{{- end -}}

{{/* The custom resources this release would render, as group/version/Kind → the value that asks for it. */}}
{{- define "airy-auth.wantedCrds" -}}
{{- $wanted := dict -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.sidecar.enabled) }}{{ $_ := set $wanted "monitoring.coreos.com/v1/ServiceMonitor" "serviceMonitor.enabled" }}{{ end -}}
{{- if .Values.prometheusRule.enabled }}{{ $_ := set $wanted "monitoring.coreos.com/v1/PrometheusRule" "prometheusRule.enabled" }}{{ end -}}
{{- if .Values.gateways.traefik.enabled }}{{ $_ := set $wanted "traefik.io/v1alpha1/Middleware" "gateways.traefik.enabled" }}{{ end -}}
{{- if .Values.gateways.envoyGateway.enabled }}{{ $_ := set $wanted "gateway.envoyproxy.io/v1alpha1/SecurityPolicy" "gateways.envoyGateway.enabled" }}{{ end -}}
{{- if .Values.gateways.istio.enabled }}{{ $_ := set $wanted "security.istio.io/v1/AuthorizationPolicy" "gateways.istio.enabled" }}{{ end -}}
{{- if .Values.gateways.gatewayApi.enabled }}{{ $_ := set $wanted "gateway.networking.k8s.io/v1/HTTPRoute" "gateways.gatewayApi.enabled" }}{{ end -}}
{{- toJson $wanted -}}
{{- end -}}

{{/* The revocation ConfigMap (revocations.enabled): every pod watches it and may patch it. */}}
{{- define "airy-auth.revocationsName" -}}
{{- default (printf "%s-revocations" (include "airy-auth.fullname" .)) .Values.revocations.name -}}
{{- end -}}
