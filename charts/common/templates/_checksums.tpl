{{/*
common.checksums.templates: one "checksum/<basename>: <sha256>" annotation per
listed template of the including chart that renders something. Put them on a
pod template: when a ConfigMap or Secret changes, the pod template changes and
the pods roll. A template that renders nothing (its feature is off) adds no
annotation, so optional templates can be listed unconditionally. Paths are
relative to the chart's templates/ directory and must exist (Go templates cannot
test for a missing file; helm then names it in the error).
Usage: {{- include "common.checksums.templates" (dict "context" $ "templates" (list "/configmap.yaml" "/secret.yaml")) | nindent 8 }}
*/}}
{{- define "common.checksums.templates" -}}
{{- $ctx := .context -}}
{{- $lines := list -}}
{{- range .templates -}}
{{- $content := include (print $ctx.Template.BasePath .) $ctx | trim -}}
{{- if $content -}}
{{- $lines = append $lines (printf "checksum/%s: %s" (base . | trimSuffix ".yaml") ($content | sha256sum | quote)) -}}
{{- end -}}
{{- end -}}
{{- join "\n" $lines -}}
{{- end -}}
