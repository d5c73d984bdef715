{{/*
common.extraObjects: renders .Values.extraObjects (a list of manifests given
as maps or strings, templates allowed) as separate YAML documents.
Usage: {{ include "common.extraObjects" . }}
*/}}
{{- define "common.extraObjects" -}}
{{- range .Values.extraObjects }}
---
{{ include "common.tplvalues.render" (dict "value" . "context" $) }}
{{- end }}
{{- end -}}
