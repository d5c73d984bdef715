{{/*
common.tplvalues.render: renders a value that may itself contain template
expressions such as "{{ .Release.Name }}". Strings are rendered as they are;
maps and lists are serialised to YAML first.
Usage: {{ include "common.tplvalues.render" (dict "value" .Values.podAnnotations "context" $) }}
*/}}
{{- define "common.tplvalues.render" -}}
{{- $value := typeIs "string" .value | ternary .value (.value | toYaml) -}}
{{- if contains "{{" $value -}}
{{- tpl $value .context -}}
{{- else -}}
{{- $value -}}
{{- end -}}
{{- end -}}
