{{/*
common.metadata: the body of an object's "metadata:" block: its name, its
namespace (always quoted: a namespace such as "123" or "true" would otherwise be
read as a number or a boolean), the standard labels and the standard annotations.
The name is quoted only where YAML would read it as something else ("0",
"true"): the rendered text of a ConfigMap or Secret feeds the pods' checksum
annotations, so it does not change for the common name that needs no quotes.
Params:
  context      (required) the chart's root context, $
  name         the object's name; default common.names.fullname
  component    app.kubernetes.io/component (optional)
  version      app.kubernetes.io/version; default .Chart.AppVersion
  labels       a map of labels added to the standard ones; the standard ones win
               a clash, so no extra label can break the selector subset
  annotations  a map of annotations merged over .Values.commonAnnotations
Usage:
  metadata:
    {{- include "common.metadata" (dict "context" $ "component" "app" "annotations" .Values.service.annotations) | nindent 2 }}
*/}}
{{- define "common.metadata" -}}
{{- $ctx := .context -}}
{{- $labels := include "common.labels.standard" (dict "context" $ctx "component" .component "version" .version) | fromYaml -}}
{{- $labels = merge $labels (deepCopy (.labels | default dict)) -}}
name: {{ default (include "common.names.fullname" $ctx) .name | toString | toYaml }}
namespace: {{ include "common.names.namespace" $ctx | quote }}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- with include "common.annotations.standard" (dict "context" $ctx "extra" .annotations) }}
annotations:
  {{- . | nindent 2 }}
{{- end }}
{{- end -}}
