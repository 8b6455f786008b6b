{{/*
Names, labels and the per-component settings. A "component" is one service's api or worker;
every template ranges over services x (api, worker) through "stepwise.components", so the six
Deployments are written once.
*/}}

{{- define "stepwise.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stepwise.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stepwise.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "stepwise.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: dict "root" $ "service" "goals" "role" "api". */}}
{{- define "stepwise.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}-{{ .role }}
{{- end -}}

{{- define "stepwise.labels" -}}
{{ include "stepwise.selectorLabels" . }}
app.kubernetes.io/part-of: stepwise
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "stepwise.chart" .root }}
stepwise.io/service: {{ .service }}
stepwise.io/role: {{ .role }}
{{- end -}}

{{/* Labels of objects that belong to no one component (ServiceAccount, ConfigMaps). */}}
{{- define "stepwise.commonLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: stepwise
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "stepwise.chart" . }}
{{- end -}}

{{/* One component's object name: <fullname>-<service>[-worker]. */}}
{{- define "stepwise.componentName" -}}
{{- if eq .role "api" -}}
{{- printf "%s-%s" (include "stepwise.fullname" .root) .service -}}
{{- else -}}
{{- printf "%s-%s-worker" (include "stepwise.fullname" .root) .service -}}
{{- end -}}
{{- end -}}

{{/*
The settings of one component: the role's defaults (.Values.api / .Values.worker) with the
service's overrides (services.<name>.api / .worker) merged over them, as JSON (fromJson reads it).
*/}}
{{- define "stepwise.roleValues" -}}
{{- $defaults := deepCopy (index .root.Values .role) -}}
{{- $overrides := deepCopy (default dict (index (index .root.Values.services .service) .role)) -}}
{{- mustMergeOverwrite $defaults $overrides | toJson -}}
{{- end -}}

{{- define "stepwise.image" -}}
{{- $image := mergeOverwrite (deepCopy .root.Values.image) (default dict (index .root.Values.services .service).image) -}}
{{- $repository := printf "%s/%s" $image.repository .service -}}
{{- if $image.registry -}}{{- $repository = printf "%s/%s" $image.registry $repository -}}{{- end -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Every component, as a list of dicts with root, service and role. */}}
{{- define "stepwise.components" -}}
{{- $components := list -}}
{{- range $service := keys .Values.services | sortAlpha -}}
{{- range $role := list "api" "worker" -}}
{{- $components = append $components (dict "service" $service "role" $role) -}}
{{- end -}}
{{- end -}}
{{- toJson $components -}}
{{- end -}}

{{/* A secretKeyRef env entry: dict "env" "JWT_SECRET" "ref" (dict "name" .. "key" ..). */}}
{{- define "stepwise.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end -}}
