{{/*
common.autoscaling.metrics: the "metrics:" list of an autoscaling/v2 HPA from
"autoscaling" (a chart's .Values.autoscaling): a Resource metric per target that
is set (targetCPUUtilizationPercentage, targetMemoryUtilizationPercentage, in
that order), then the extra "metrics" verbatim; nothing when there are none.

A target is unset when it is null. The targets are read by field access and
tested with kindIs "invalid", which gives the same answer whether the null key
is present (Helm 3 and Helm <= 4.1 keep a null default) or absent (Helm >= 4.2
drops it): `hasKey` and sprig's `get` (which returns "" for a missing key, and
`int ""` is 0) would not. See "Null means unset" in this chart's README.
Usage: {{- with include "common.autoscaling.metrics" (dict "autoscaling" .Values.autoscaling) }}
       metrics:
         {{- . | nindent 4 }}
       {{- end }}
*/}}
{{- define "common.autoscaling.metrics" -}}
{{- $as := .autoscaling -}}
{{- $metrics := list -}}
{{- range $target := list (list "cpu" $as.targetCPUUtilizationPercentage) (list "memory" $as.targetMemoryUtilizationPercentage) -}}
{{- $value := index $target 1 -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $metrics = append $metrics (dict "type" "Resource" "resource" (dict "name" (index $target 0) "target" (dict "type" "Utilization" "averageUtilization" (int $value)))) -}}
{{- end -}}
{{- end -}}
{{- $metrics = concat $metrics ($as.metrics | default list) -}}
{{- if $metrics -}}
{{- toYaml $metrics -}}
{{- end -}}
{{- end -}}
