{{/*
common.serviceMonitor: a Prometheus Operator ServiceMonitor for the chart's own
Service in the release namespace, one endpoint. The caller decides whether to
render it (metrics on, serviceMonitor.enabled).
Params:
  context         (required) the chart's root context, $
  serviceMonitor  (required) the values: {labels, interval, scrapeTimeout}; an
                  unset (empty) interval or scrapeTimeout is left to Prometheus
  component       app.kubernetes.io/component of the Service it selects (and its own)
  endpoint        (required) the endpoint's target and path, e.g.
                  (dict "port" "http-metrics" "path" "/metrics")
  matchLabels     a map of labels the Service carries besides the selector labels
Usage: {{ include "common.serviceMonitor" (dict "context" $ "serviceMonitor" .Values.metrics.serviceMonitor "component" "metrics" "endpoint" (dict "port" "http-metrics" "path" "/metrics")) }}
*/}}
{{- define "common.serviceMonitor" -}}
{{- $ctx := .context -}}
{{- $sm := .serviceMonitor | default dict -}}
{{- $endpoint := deepCopy (required "common.serviceMonitor: endpoint is required" .endpoint) -}}
{{- range $key := list "interval" "scrapeTimeout" -}}
{{- with index $sm $key -}}
{{- $_ := set $endpoint $key (toString .) -}}
{{- end -}}
{{- end -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  {{- include "common.metadata" (dict "context" $ctx "component" .component "labels" $sm.labels) | nindent 2 }}
spec:
  namespaceSelector:
    matchNames:
      - {{ include "common.names.namespace" $ctx | quote }}
  selector:
    matchLabels:
      {{- include "common.labels.selector" (dict "context" $ctx "component" .component) | nindent 6 }}
      {{- with .matchLabels }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  endpoints:
    - {{- toYaml $endpoint | nindent 6 }}
{{- end -}}
