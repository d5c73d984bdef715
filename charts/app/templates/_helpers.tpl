{{/*
Helpers of the app chart. The shared ones (names, labels, images, security
contexts, checksums) live in charts/common; these model the app's workloads.
*/}}

{{/*
app.trackLabel: the label key that tells a release's Deployments apart.
Usage: {{ include "app.trackLabel" . }}
*/}}
{{- define "app.trackLabel" -}}charthouse.dev/track{{- end -}}

{{/*
app.selectorLabels: the immutable spec.selector of one Deployment: the common
selector (name, instance, component "app") plus a fixed track label.

Each Deployment *name* is bound to exactly one track for life:
  <fullname>          -> stable  (rolling, recreate, and canary's stable side)
  <fullname>-canary   -> canary
  <fullname>-blue     -> blue
  <fullname>-green    -> green
Switching rollout.strategy creates or deletes whole Deployments; it never edits
the selector of one that exists, so no upgrade can hit "field is immutable".
Usage: {{ include "app.selectorLabels" (dict "context" $ "track" "stable") | nindent 6 }}
*/}}
{{- define "app.selectorLabels" -}}
{{ include "common.labels.selector" (dict "context" .context "component" "app") }}
{{ include "app.trackLabel" . }}: {{ .track | quote }}
{{- end -}}

{{/*
app.serviceSelector: what the main Service selects. Every track (so canary pods
share traffic by replica count, 9 stable to 1 canary for 10 %) except under blueGreen,
where only the active colour is selected.
Usage: {{ include "app.serviceSelector" . | nindent 4 }}
*/}}
{{- define "app.serviceSelector" -}}
{{- if eq .Values.rollout.strategy "blueGreen" -}}
{{ include "app.selectorLabels" (dict "context" . "track" .Values.rollout.blueGreen.activeColor) }}
{{- else -}}
{{ include "common.labels.selector" (dict "context" . "component" "app") }}
{{- with include "app.rotationSelector" . }}
{{ . }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
app.rotationSelector: under rollout.strategy canary, a label every pod is created
with and every Service of the release selects (empty under other strategies).
`charthouse rollout` sets it to "false" on the pods a revision is about to remove,
waits until they left the EndpointSlices and proxies had time to follow, and only
then lets the ReplicaSet delete them: a stopping pod is out of every Service already,
whether or not the ingress controller honours terminating endpoints (Traefik v3.6's
NGINX provider does not, and kept sending to stopped pods). It is in no Deployment
selector: those are immutable, and a pod out of rotation still belongs to its ReplicaSet.
Usage: {{ include "app.rotationSelector" . }}
*/}}
{{- define "app.rotationSelector" -}}
{{- if eq .Values.rollout.strategy "canary" -}}
charthouse.dev/in-rotation: "true"
{{- end -}}
{{- end -}}

{{/*
app.canaryShare: how many of "n" pods the canary gets at "weight" percent:
rounded, at least 1 for any non-zero weight (10% of 10 = 1).
Usage: {{ include "app.canaryShare" (dict "n" 10 "weight" 10) }}
*/}}
{{- define "app.canaryShare" -}}
{{- $n := int .n -}}
{{- $w := int .weight -}}
{{- if or (eq $w 0) (eq $n 0) -}}0
{{- else if eq $w 100 -}}{{ $n }}
{{- else -}}{{ max 1 (div (add (mul $n $w) 50) 100) }}
{{- end -}}
{{- end -}}

{{/*
app.stableShare: the stable side's pods next to a canary of "canary" pods: the
rest of "n", but at least 1 while the weight is below 100.
Usage: {{ include "app.stableShare" (dict "n" 10 "weight" 10 "canary" 1) }}
*/}}
{{- define "app.stableShare" -}}
{{- if eq (int .weight) 100 -}}0
{{- else -}}{{ max 1 (sub (int .n) (int .canary)) }}
{{- end -}}
{{- end -}}

{{/*
app.workloads: the Deployments of the release as YAML {items: [...]}, each with
name, track, tag, replicas, and hpa/minReplicas/maxReplicas. Every template
(Deployments, HPAs, Services, NOTES) reads this one list.
Usage: {{ $workloads := (include "app.workloads" . | fromYaml).items }}
*/}}
{{- define "app.workloads" -}}
{{- $fullname := include "common.names.fullname" . -}}
{{- $tag := toString .Values.image.tag -}}
{{- $as := .Values.autoscaling -}}
{{- $n := int .Values.replicaCount -}}
{{- $items := list -}}
{{- if eq .Values.rollout.strategy "blueGreen" -}}
{{- $bg := .Values.rollout.blueGreen -}}
{{- range $color := list "blue" "green" -}}
{{- $colorTag := default $tag (get $bg $color).tag | toString -}}
{{- $w := dict "name" (include "common.names.componentFullname" (dict "context" $ "component" $color)) "track" $color "tag" $colorTag "path" (printf "rollout.blueGreen.%s" $color) "replicas" $n "hpa" $as.enabled "minReplicas" (int $as.minReplicas) "maxReplicas" (int $as.maxReplicas) -}}
{{- if and (ne $color $bg.activeColor) (not (kindIs "invalid" $bg.previewReplicas)) -}}
{{- $_ := set $w "replicas" (int $bg.previewReplicas) -}}
{{- $_ := set $w "hpa" false -}}
{{- end -}}
{{- $items = append $items $w -}}
{{- end -}}
{{- else if eq .Values.rollout.strategy "canary" -}}
{{- $weight := int .Values.rollout.canary.weight -}}
{{- $c := int (include "app.canaryShare" (dict "n" $n "weight" $weight)) -}}
{{- $cMin := int (include "app.canaryShare" (dict "n" $as.minReplicas "weight" $weight)) -}}
{{- $cMax := max $cMin (int (include "app.canaryShare" (dict "n" $as.maxReplicas "weight" $weight))) -}}
{{- $sMin := int (include "app.stableShare" (dict "n" $as.minReplicas "weight" $weight "canary" $cMin)) -}}
{{- $sMax := max $sMin (sub (int $as.maxReplicas) $cMax) -}}
{{- $stable := dict "name" $fullname "track" "stable" "tag" $tag "path" "image" "replicas" (int (include "app.stableShare" (dict "n" $n "weight" $weight "canary" $c))) "hpa" (and $as.enabled (gt $sMin 0)) "minReplicas" $sMin "maxReplicas" $sMax -}}
{{- $canaryTag := default $tag .Values.rollout.canary.tag | toString -}}
{{- $canary := dict "name" (include "common.names.componentFullname" (dict "context" $ "component" "canary")) "track" "canary" "tag" $canaryTag "path" "rollout.canary" "replicas" $c "hpa" (and $as.enabled (gt $cMin 0)) "minReplicas" $cMin "maxReplicas" $cMax -}}
{{- $items = list $stable $canary -}}
{{- else -}}
{{- $items = list (dict "name" $fullname "track" "stable" "tag" $tag "path" "image" "replicas" $n "hpa" $as.enabled "minReplicas" (int $as.minReplicas) "maxReplicas" (int $as.maxReplicas)) -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end -}}

{{/*
app.env: the container's env list, or nothing. Sources in order: config.env
(from the ConfigMap), secrets.env (from the Secret), env, extraEnv (templates
allowed, so an umbrella can name "{{ .Release.Name }}-database"). `env` is either
a map (NAME: value or NAME: {valueFrom: ...}) or, as in `helm create` charts, the
Kubernetes list of {name, value|valueFrom}; scalar values become strings either
way. Within one list (env or extraEnv) a later entry replaces an earlier one of
the same name (Kubernetes' own "last wins", made explicit: a schema cannot see
duplicates inside a list, and server-side apply (Helm 4) rejects duplicate list
keys). A name set by two different sources fails the render naming both: that is
a conflict, not an edit.
Usage: {{- include "app.env" . | nindent 10 }}
*/}}
{{- define "app.env" -}}
{{- $fullname := include "common.names.fullname" . -}}
{{- $entries := list -}}
{{- $seen := dict -}}
{{- range $name, $_ := .Values.config.env -}}
{{- $entries = append $entries (dict "source" (printf "config.env.%s" $name) "var" (dict "name" $name "valueFrom" (dict "configMapKeyRef" (dict "name" $fullname "key" $name)))) -}}
{{- end -}}
{{- $secretName := default $fullname .Values.secrets.existingSecret -}}
{{- range $name, $key := .Values.secrets.env -}}
{{- $entries = append $entries (dict "source" (printf "secrets.env.%s" $name) "var" (dict "name" $name "valueFrom" (dict "secretKeyRef" (dict "name" $secretName "key" $key)))) -}}
{{- end -}}
{{- if kindIs "slice" .Values.env -}}
{{- $entries = concat $entries (include "app.envList" (dict "list" .Values.env "path" "env") | fromYaml).items -}}
{{- else -}}
{{- range $name, $value := .Values.env -}}
{{- $var := dict "name" $name -}}
{{- if kindIs "map" $value -}}
{{- $var = merge $var (deepCopy $value) -}}
{{- else -}}
{{- $_ := set $var "value" (toString $value) -}}
{{- end -}}
{{- $entries = append $entries (dict "source" (printf "env.%s" $name) "var" $var) -}}
{{- end -}}
{{- end -}}
{{- if .Values.extraEnv -}}
{{- $extraEnv := include "common.tplvalues.render" (dict "value" .Values.extraEnv "context" $) | fromYamlArray -}}
{{- $entries = concat $entries (include "app.envList" (dict "list" $extraEnv "path" "extraEnv") | fromYaml).items -}}
{{- end -}}
{{- $vars := list -}}
{{- range $entries -}}
{{- $name := .var.name -}}
{{- if hasKey $seen $name -}}
{{- fail (printf "%s: environment variable %q is already set by %s" .source $name (get $seen $name)) -}}
{{- end -}}
{{- $_ := set $seen $name .source -}}
{{- $vars = append $vars .var -}}
{{- end -}}
{{- if $vars -}}
env:
{{- toYaml $vars | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
app.envList: the entries of a Kubernetes-form env list ("list", at value path
"path") as YAML {items: [{source, var}]}: a later entry replaces an earlier one
of the same name, and a scalar value becomes a string.
Usage: {{ $entries := (include "app.envList" (dict "list" .Values.extraEnv "path" "extraEnv") | fromYaml).items }}
*/}}
{{- define "app.envList" -}}
{{- $lastIndex := dict -}}
{{- range $i, $var := .list -}}
{{- $_ := set $lastIndex (toString $var.name) $i -}}
{{- end -}}
{{- $items := list -}}
{{- range $i, $var := .list -}}
{{- if eq (get $lastIndex (toString $var.name)) $i -}}
{{- $var = deepCopy $var -}}
{{- if not (or (kindIs "invalid" $var.value) (kindIs "string" $var.value)) -}}
{{- $_ := set $var "value" (toString $var.value) -}}
{{- end -}}
{{- $items = append $items (dict "source" (printf "%s[%d]" $.path $i) "var" $var) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end -}}

{{/*
app.probe: one probe block. HTTP GET on path/port by default; "custom" replaces
the handler (exec, tcpSocket, grpc, httpGet); enabled=false drops the probe.
Usage: {{- include "app.probe" (dict "kind" "livenessProbe" "probe" .Values.probes.liveness) | nindent 10 }}
*/}}
{{- define "app.probe" -}}
{{- $p := .probe -}}
{{- if $p.enabled -}}
{{ .kind }}:
  {{- if $p.custom }}
  {{- toYaml $p.custom | nindent 2 }}
  {{- else }}
  httpGet:
    path: {{ $p.path | quote }}
    port: {{ $p.port }}
  {{- end }}
  initialDelaySeconds: {{ int $p.initialDelaySeconds }}
  periodSeconds: {{ int $p.periodSeconds }}
  timeoutSeconds: {{ int $p.timeoutSeconds }}
  failureThreshold: {{ int $p.failureThreshold }}
{{- end -}}
{{- end -}}

{{/*
app.probes: the container's startup, liveness and readiness probes. A complete
probe under its `helm create` name (startupProbe, livenessProbe, readinessProbe)
replaces the probes.* entry of its kind. While startupProbe is unset and
livenessProbe is set, the startup probe uses the liveness handler with the
probes.startup timings (the pattern the Kubernetes docs recommend), so an image
that serves no /health/startup still starts.
Usage: {{- include "app.probes" . | nindent 10 }}
*/}}
{{- define "app.probes" -}}
{{- $v := .Values -}}
{{- $startup := $v.probes.startup -}}
{{- if and (not $v.startupProbe) $v.livenessProbe -}}
{{- $handler := omit $v.livenessProbe "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "successThreshold" "failureThreshold" "terminationGracePeriodSeconds" -}}
{{- $startup = merge (dict "custom" $handler) (deepCopy $startup) -}}
{{- end -}}
{{- range $kind := list "startup" "liveness" "readiness" }}
{{- $full := get $v (printf "%sProbe" $kind) }}
{{- $handlers := keys (pick ($full | default dict) "exec" "httpGet" "tcpSocket" "grpc") | sortAlpha }}
{{- if gt (len $handlers) 1 }}
{{- fail (printf "%sProbe: one handler only, got %s" $kind (join ", " $handlers)) }}
{{- end }}
{{- if $full }}
{{ $kind }}Probe:
  {{- toYaml $full | nindent 2 }}
{{- else }}
{{- with include "app.probe" (dict "kind" (printf "%sProbe" $kind) "probe" (eq $kind "startup" | ternary $startup (get $v.probes $kind))) }}
{{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
app.automountToken: whether the pods mount an API token: serviceAccount.automount
(the `helm create` name) when set, else serviceAccount.automountToken.
Usage: automountServiceAccountToken: {{ include "app.automountToken" . }}
*/}}
{{- define "app.automountToken" -}}
{{- $sa := .Values.serviceAccount -}}
{{- if kindIs "invalid" $sa.automount -}}{{ $sa.automountToken }}{{- else -}}{{ $sa.automount }}{{- end -}}
{{- end -}}

{{/*
app.defaultImage: the image whose version is the chart's appVersion (the default
image.repository). Only for it does an empty image.tag mean appVersion: any other
image's empty tag fails, naming the fix, instead of pulling <image>:<appVersion>.
Usage: {{ include "app.validateImage" . }}
*/}}
{{- define "app.defaultImage" -}}traefik/whoami{{- end -}}

{{- define "app.validateImage" -}}
{{- $image := .Values.image -}}
{{- if and (eq (toString $image.tag) "") (not $image.digest) (ne $image.repository (include "app.defaultImage" .)) -}}
{{- fail (printf "image.tag: empty means the chart's appVersion (%s), the version of its default image %s, not of %s: set image.tag to your image's version (or image.digest)" .Chart.AppVersion (include "app.defaultImage" .) $image.repository) -}}
{{- end -}}
{{- end -}}

{{/*
app.validateLifecycle: a preStop sleep must end before the grace period does, or
kubelet kills the container while it is still meant to be serving.
Usage: {{ include "app.validateLifecycle" . }}
*/}}
{{- define "app.validateLifecycle" -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- with dig "preStop" "sleep" "seconds" nil (.Values.lifecycle | default dict) -}}
{{- if ge (int .) $grace -}}
{{- fail (printf "lifecycle.preStop.sleep.seconds (%d) must be below terminationGracePeriodSeconds (%d): the pod would be killed before it stops serving" (int .) $grace) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
app.configMapEnabled / app.secretEnabled: whether the chart owns a ConfigMap or
Secret ("true" or empty).
Usage: {{- if include "app.secretEnabled" . }}
*/}}
{{- define "app.configMapEnabled" -}}
{{- if or .Values.config.env .Values.config.files -}}true{{- end -}}
{{- end -}}

{{- define "app.secretEnabled" -}}
{{- if and .Values.secrets.data (not .Values.secrets.existingSecret) -}}true{{- end -}}
{{- end -}}

{{/*
app.initContainers: .Values.initContainers (templates allowed) with the restricted
container security context deep-merged under each one's own, and the chart's
resources when it sets none, so an init container can never be the one pod part
that breaks Pod Security "restricted".
Usage: {{- include "app.initContainers" . | nindent 6 }}
*/}}
{{- define "app.initContainers" -}}
{{- if .Values.initContainers -}}
{{- $rendered := include "common.tplvalues.render" (dict "value" .Values.initContainers "context" $) | fromYamlArray -}}
{{- $out := list -}}
{{- range $rendered -}}
{{- $c := deepCopy . -}}
{{- $_ := set $c "securityContext" (include "common.security.containerSecurityContext" (dict "override" ($c.securityContext | default dict) "context" $) | fromYaml) -}}
{{- if not $c.resources -}}
{{- $_ := set $c "resources" $.Values.resources -}}
{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
initContainers:
{{- toYaml $out | nindent 2 }}
{{- end -}}
{{- end -}}
