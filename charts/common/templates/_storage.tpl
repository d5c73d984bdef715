{{/*
common.storage.class: a "storageClassName:" line. global.storageClass wins over
persistence.storageClass; "-" means an explicit empty class (disable dynamic
provisioning); unset means omit the field (the cluster default class).
Usage: {{- include "common.storage.class" (dict "persistence" .Values.persistence "global" .Values.global) | nindent 2 }}
*/}}
{{- define "common.storage.class" -}}
{{- $global := .global | default dict -}}
{{- $class := default (.persistence | default dict).storageClass $global.storageClass -}}
{{- if $class -}}
{{- if eq $class "-" -}}
storageClassName: ""
{{- else -}}
storageClassName: {{ $class | quote }}
{{- end -}}
{{- end -}}
{{- end -}}
