{{/*
common.annotations.standard: .Values.commonAnnotations merged with "extra"
(extra wins on a clash); values may contain templates. Renders nothing when
both are empty so callers can write `{{- with }}` around it.
Usage:
  {{- with include "common.annotations.standard" (dict "context" $ "extra" .Values.service.annotations) }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
*/}}
{{- define "common.annotations.standard" -}}
{{- $common := .context.Values.commonAnnotations | default dict -}}
{{- $all := merge (deepCopy (.extra | default dict)) (deepCopy $common) -}}
{{- if $all -}}
{{- include "common.tplvalues.render" (dict "value" $all "context" .context) -}}
{{- end -}}
{{- end -}}
