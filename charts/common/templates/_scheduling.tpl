{{/*
Where a chart's pods run: the pod-spec fields every workload of every chart
takes from the same top-level values (nodeSelector, tolerations, affinity,
topologySpreadConstraints, priorityClassName).
*/}}

{{/*
common.pod.nodePlacement: the pod-spec lines for nodeSelector and tolerations,
each only when set. For pods that must land on the same kind of node as the
workload but must not follow its (anti-)affinity, e.g. a backup Job.
Params:
  context  (required) the chart's root context, $
  values   the map holding the fields; default .Values of context
Usage: {{- include "common.pod.nodePlacement" (dict "context" $) | nindent 10 }}
*/}}
{{- define "common.pod.nodePlacement" -}}
{{- $v := .values | default .context.Values -}}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
common.pod.scheduling: the pod-spec lines for priorityClassName, nodeSelector,
tolerations, affinity and topologySpreadConstraints, each only when set.
affinity and topologySpreadConstraints may contain templates (e.g. the release
name in a label selector). A spread constraint without a labelSelector counts no
pods and so spreads nothing: given "selectorLabels", such a constraint selects
the workload's own pods.
Params:
  context         (required) the chart's root context, $
  values          the map holding the fields; default .Values of context
  selectorLabels  the workload's selector labels, as a map (optional)
Usage: {{- include "common.pod.scheduling" (dict "context" $ "selectorLabels" (include "common.labels.selector" (dict "context" $ "component" "primary") | fromYaml)) | nindent 6 }}
*/}}
{{- define "common.pod.scheduling" -}}
{{- $ctx := .context -}}
{{- $v := .values | default $ctx.Values -}}
{{- with $v.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- include "common.pod.nodePlacement" (dict "context" $ctx "values" $v) }}
{{- with $v.affinity }}
affinity:
  {{- include "common.tplvalues.render" (dict "value" . "context" $ctx) | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
{{- $constraints := list -}}
{{- range (include "common.tplvalues.render" (dict "value" . "context" $ctx) | fromYamlArray) -}}
{{- $c := . -}}
{{- if and $.selectorLabels (not $c.labelSelector) -}}
{{- $c = merge (dict "labelSelector" (dict "matchLabels" $.selectorLabels)) $c -}}
{{- end -}}
{{- $constraints = append $constraints $c -}}
{{- end }}
topologySpreadConstraints:
  {{- toYaml $constraints | nindent 2 }}
{{- end }}
{{- end -}}
