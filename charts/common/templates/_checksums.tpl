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

{{/*
common.checksums.secretKeys: sha256 of the listed keys of a Secret as it exists in
the cluster (lookup), for a pod template annotation. Put it beside the checksum of
the credentials' values when they come from a Secret managed outside the chart (an
existingSecret): rotating that Secret in place then rolls the pods on the next
`helm upgrade`, and the server restarts with the new password. Without a cluster
(`helm template`, GitOps) lookup finds nothing and the value is constant, so such
renders stay stable; roll the pods yourself there. Only the hash is rendered.
Usage: {{ include "common.checksums.secretKeys" (dict "context" $ "name" "app-credentials" "keys" (list "password")) }}
*/}}
{{- define "common.checksums.secretKeys" -}}
{{- $data := (lookup "v1" "Secret" (include "common.names.namespace" .context) .name).data | default dict -}}
{{- $values := list -}}
{{- range .keys -}}
{{- $values = append $values (index $data . | default "") -}}
{{- end -}}
{{- $values | toJson | sha256sum -}}
{{- end -}}
