{{/*
Names of a release's objects.

Kubernetes object names and label values are limited to 63 characters, so every
name is truncated there and a dangling "-" left by the cut is removed.
*/}}

{{/*
common.names.name: the chart name, or .Values.nameOverride.
Usage: {{ include "common.names.name" . }}
*/}}
{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.names.fullname: .Values.fullnameOverride; else the release name when it
already contains the chart name (so "api" installed as "api" stays "api", not
"api-api"); else "<release>-<name>".
Usage: {{ include "common.names.fullname" . }}
*/}}
{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.names.componentFullname: "<fullname>-<component>", for charts that run
several workloads (e.g. "-canary", "-preview", "-backup").
Usage: {{ include "common.names.componentFullname" (dict "context" $ "component" "canary") }}
*/}}
{{- define "common.names.componentFullname" -}}
{{- printf "%s-%s" (include "common.names.fullname" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.names.chart: "<name>-<version>" for the helm.sh/chart label; "+" is not
allowed in label values, so SemVer build metadata uses "_" instead.
Usage: {{ include "common.names.chart" . }}
*/}}
{{- define "common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.names.namespace: the release namespace. One place to change should
charts ever gain a namespaceOverride.
Usage: {{ include "common.names.namespace" . }}
*/}}
{{- define "common.names.namespace" -}}
{{- .Release.Namespace -}}
{{- end -}}
