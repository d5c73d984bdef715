{{/*
common.pdb: a policy/v1 PodDisruptionBudget from a chart's podDisruptionBudget
values, the one rule every charthouse chart follows:
- minAvailable and maxUnavailable exclude each other: setting both fails the
  render naming the field (the schema refuses it first; this guards
  --skip-schema-validation);
- with neither set (both null), maxUnavailable is 1: one pod at a time, a safe
  bound that never blocks a node drain;
- null means unset: a value is tested with kindIs "invalid", which reads a null
  key and a missing key alike (Helm 3 keeps a null default, Helm >= 4.2 drops it).
Renders nothing unless "pdb".enabled.
Params:
  context    (required) the chart's root context, $
  pdb        (required) the values: {enabled, minAvailable, maxUnavailable}
  component  app.kubernetes.io/component of the pods it covers (and of the PDB)
  path       the values' path in messages; default "podDisruptionBudget"
Usage: {{ include "common.pdb" (dict "context" $ "pdb" .Values.podDisruptionBudget "component" "primary") }}
*/}}
{{- define "common.pdb" -}}
{{- $pdb := .pdb | default dict -}}
{{- if $pdb.enabled -}}
{{- $path := default "podDisruptionBudget" .path -}}
{{- $min := $pdb.minAvailable -}}
{{- $max := $pdb.maxUnavailable -}}
{{- if and (not (kindIs "invalid" $min)) (not (kindIs "invalid" $max)) -}}
{{- fail (printf "%s: set minAvailable or maxUnavailable, not both (set the other to null)" $path) -}}
{{- end -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "common.metadata" (dict "context" .context "component" .component) | nindent 2 }}
spec:
  {{- if not (kindIs "invalid" $min) }}
  minAvailable: {{ toYaml $min }}
  {{- else if not (kindIs "invalid" $max) }}
  maxUnavailable: {{ toYaml $max }}
  {{- else }}
  maxUnavailable: 1
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.labels.selector" (dict "context" .context "component" .component) | nindent 6 }}
{{- end -}}
{{- end -}}
