{{/*
common.labels.standard: the recommended app.kubernetes.io/* labels plus
helm.sh/chart, merged with .Values.commonLabels. The chart's own labels win
over commonLabels so a user label can never break the selector-label subset.
"component", "partOf" and "version" are optional; "version" defaults to
.Chart.AppVersion (a blue/green colour passes its own image tag).
Usage: {{ include "common.labels.standard" (dict "context" $ "component" "app") | nindent 4 }}
*/}}
{{- define "common.labels.standard" -}}
{{- $ctx := .context -}}
{{- $labels := dict
  "app.kubernetes.io/name" (include "common.names.name" $ctx)
  "app.kubernetes.io/instance" ($ctx.Release.Name | trunc 63 | trimSuffix "-")
  "app.kubernetes.io/managed-by" $ctx.Release.Service
  "helm.sh/chart" (include "common.names.chart" $ctx)
-}}
{{- $version := default $ctx.Chart.AppVersion .version -}}
{{- if $version -}}
{{- $_ := set $labels "app.kubernetes.io/version" ($version | toString | replace "+" "_" | replace "@" "_" | replace ":" "_" | trunc 63 | trimSuffix "-") -}}
{{- end -}}
{{- if .component -}}
{{- $_ := set $labels "app.kubernetes.io/component" .component -}}
{{- end -}}
{{- if .partOf -}}
{{- $_ := set $labels "app.kubernetes.io/part-of" .partOf -}}
{{- end -}}
{{- $common := include "common.tplvalues.render" (dict "value" ($ctx.Values.commonLabels | default dict) "context" $ctx) | fromYaml -}}
{{- toYaml (merge $labels $common) -}}
{{- end -}}

{{/*
common.labels.selector: the labels a Deployment/StatefulSet/Service selects on:
ONLY app.kubernetes.io/name, app.kubernetes.io/instance and, when given,
app.kubernetes.io/component.

Why nothing else: a workload's spec.selector is immutable. If a label that can
change (the chart or app version, commonLabels, podLabels) entered it, a plain
`helm upgrade` would fail with "field is immutable" and force a delete and
re-create. These three values are fixed for the life of a release, so the
selector is stable forever. Never add labels here.
Usage: {{ include "common.labels.selector" (dict "context" $ "component" "app") | nindent 6 }}
*/}}
{{- define "common.labels.selector" -}}
{{- $ctx := .context -}}
app.kubernetes.io/name: {{ include "common.names.name" $ctx | quote }}
app.kubernetes.io/instance: {{ $ctx.Release.Name | trunc 63 | trimSuffix "-" | quote }}
{{- if .component }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end -}}
{{- end -}}
