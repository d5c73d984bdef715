{{/*
common.images.image: the full image reference "registry/repository:tag@digest".
- registry: .Values.global.imageRegistry when set (a mirror for the whole
  umbrella); else the registry host that starts image.repository, as in
  `helm create` charts ("ghcr.io/org/app": a first path component with a "." or
  ":", or "localhost", is a host, as Docker reads image names); else
  image.registry; omitted when all are empty.
- tag: image.tag, defaulting to .Chart.AppVersion.
- An empty or "latest" tag without a digest fails the render: a moving tag makes
  rollbacks and `helm diff` meaningless. "path" names the value in the message
  (default "image").
Usage: {{ include "common.images.image" (dict "image" .Values.image "context" $) }}
       {{ include "common.images.image" (dict "image" .Values.canary.image "context" $ "path" "canary.image") }}
*/}}
{{- define "common.images.image" -}}
{{- $path := default "image" .path -}}
{{- $global := .context.Values.global | default dict -}}
{{- $repository := required (printf "%s.repository is required" $path) .image.repository -}}
{{- $registry := .image.registry -}}
{{- $parts := splitList "/" $repository -}}
{{- if gt (len $parts) 1 -}}
{{- $first := first $parts -}}
{{- if or (contains "." $first) (contains ":" $first) (eq $first "localhost") -}}
{{- $registry = $first -}}
{{- $repository = rest $parts | join "/" -}}
{{- end -}}
{{- end -}}
{{- $registry = default $registry $global.imageRegistry -}}
{{- $tag := default .context.Chart.AppVersion .image.tag | toString -}}
{{- $digest := .image.digest | default "" -}}
{{- if and (not $digest) (or (eq $tag "") (eq $tag "latest")) -}}
{{- fail (printf "%s.tag: must be a pinned version, got %q (set %s.tag to an exact version or %s.digest to sha256:...)" $path $tag $path $path) -}}
{{- end -}}
{{- $ref := $repository -}}
{{- if $registry -}}
{{- $ref = printf "%s/%s" $registry $repository -}}
{{- end -}}
{{- if and $tag (ne $tag "latest") -}}
{{- $ref = printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- if $digest -}}
{{- $ref = printf "%s@%s" $ref $digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
common.images.pullSecrets: an "imagePullSecrets:" block from
.Values.global.imagePullSecrets plus "pullSecrets" (entries are "name" strings
or {name: x} maps; duplicates removed), or nothing when there are none.
Usage: {{- include "common.images.pullSecrets" (dict "context" $ "pullSecrets" .Values.imagePullSecrets) | nindent 6 }}
*/}}
{{- define "common.images.pullSecrets" -}}
{{- $global := .context.Values.global | default dict -}}
{{- $names := list -}}
{{- range (concat ($global.imagePullSecrets | default list) (.pullSecrets | default list)) -}}
{{- $name := kindIs "map" . | ternary (get (kindIs "map" . | ternary . dict) "name") . -}}
{{- if and $name (not (has $name $names)) -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- if $names -}}
imagePullSecrets:
{{- range $names }}
  - name: {{ . | quote }}
{{- end }}
{{- end -}}
{{- end -}}
