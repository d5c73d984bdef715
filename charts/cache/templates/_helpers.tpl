{{/*
Cache-specific helpers. Generic concerns (names, labels, images, security
contexts, checksums, the volumeClaimTemplate guard) come from the `common`
library chart.
*/}}

{{/*
cache.headless.fullname: the governing headless Service of the StatefulSet.
Usage: {{ include "cache.headless.fullname" . }}
*/}}
{{- define "cache.headless.fullname" -}}
{{- include "common.names.componentFullname" (dict "context" . "component" "hl") -}}
{{- end -}}

{{/*
cache.secretName: the Secret holding the password and the URI: the user's
`auth.existingSecret`, else the chart's own Secret (named like the release).
Usage: {{ include "cache.secretName" . }}
*/}}
{{- define "cache.secretName" -}}
{{- default (include "common.names.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{/*
cache.host: the in-cluster DNS name of the client Service.
Usage: {{ include "cache.host" . }}
*/}}
{{- define "cache.host" -}}
{{- printf "%s.%s.svc.%s" (include "common.names.fullname" .) (include "common.names.namespace" .) .Values.clusterDomain -}}
{{- end -}}

{{/*
cache.auth.uriKey: the Secret key of the connection URI, or "" when
auth.secretKeys.uriKey names the password key: the password keeps the key (the
pods read it), and no URI is stored. A JSON schema cannot compare two values,
so the chart resolves the clash instead of failing the render.
Usage: {{ with include "cache.auth.uriKey" . }}
*/}}
{{- define "cache.auth.uriKey" -}}
{{- $keys := .Values.auth.secretKeys -}}
{{- if ne $keys.uriKey $keys.passwordKey -}}
{{- $keys.uriKey -}}
{{- end -}}
{{- end -}}

{{/*
cache.auth.password: the password, resolved once per render and memoised in
.Values.auth, so every template that asks gets the same value and the cluster is
looked up once. The same order as the database chart's passwords: the explicit
auth.password; else the value already stored in the release's Secret (`lookup`,
so an upgrade and a reinstall over a kept Secret reuse it byte-identical); else
a new random 32-character password.

No guard against a lost Secret is needed (unlike PostgreSQL): the data files
hold no credentials, and the server takes its password from the Secret at every
start, so a new password after a reinstall simply applies. Without a cluster
(`helm template`) lookup returns nothing, so every render generates a new
password: GitOps users set auth.existingSecret (see README).
Usage: {{ include "cache.auth.password" . }}
*/}}
{{- define "cache.auth.password" -}}
{{- $memo := .Values.auth -}}
{{- if not (hasKey $memo "__resolvedPassword") -}}
{{- $password := .Values.auth.password -}}
{{- if not $password -}}
{{- $existing := (lookup "v1" "Secret" (include "common.names.namespace" .) (include "common.names.fullname" .)).data | default dict -}}
{{- $password = index $existing .Values.auth.secretKeys.passwordKey | default "" | b64dec -}}
{{- end -}}
{{- $_ := set $memo "__resolvedPassword" (default (randAlphaNum 32) $password) -}}
{{- end -}}
{{- get $memo "__resolvedPassword" -}}
{{- end -}}

{{/*
cache.auth.checksum: sha256 of the explicitly configured credentials (never of a
generated password, which differs per offline render). On the pod template: a
changed explicit password restarts the server, whose start script reads it.
Usage: {{ include "cache.auth.checksum" . }}
*/}}
{{- define "cache.auth.checksum" -}}
{{- $a := .Values.auth -}}
{{- list $a.existingSecret $a.secretKeys $a.password | toJson | sha256sum -}}
{{- end -}}

{{/*
cache.uri: the redis:// URI clients use (REDIS_URL): the user `default` (the one
requirepass sets) named explicitly, because valkey-cli -u sends an empty user name
as `AUTH "" password`, which the server refuses (WRONGPASS); client libraries accept
either form. The password percent-encoded (urlquery turns a space into "+",
which is literal in the userinfo part, so "+" becomes "%20"), database 0.
Usage: {{ include "cache.uri" (dict "password" $password "context" $) }}
*/}}
{{- define "cache.uri" -}}
{{- $ctx := .context -}}
{{- printf "redis://default:%s@%s:%d/0" (.password | urlquery | replace "+" "%20") (include "cache.host" $ctx) (int $ctx.Values.service.port) -}}
{{- end -}}

{{/*
cache.passwordVolume: the pod volume that holds the password as the file
`password` (mode 0440: readable by the pod's fsGroup, the server's group).
Usage: {{- include "cache.passwordVolume" . | nindent 8 }}
*/}}
{{- define "cache.passwordVolume" -}}
- name: password
  secret:
    secretName: {{ include "cache.secretName" . | quote }}
    defaultMode: 0440
    items:
      - key: {{ .Values.auth.secretKeys.passwordKey | quote }}
        path: password
{{- end -}}

{{/*
cache.config.defaults: valkey.conf settings the chart sets before the user's
config.parameters. Append-only file on, as the compose file runs the server
(`--appendonly yes`); a memory cap below the default memory limit, with
Valkey's own policy (writes fail when full instead of silently dropping keys;
a pure cache sets allkeys-lru).
Usage: {{ include "cache.config.defaults" . | fromYaml }}
*/}}
{{- define "cache.config.defaults" -}}
appendonly: true
appendfsync: everysec
maxmemory: 256mb
maxmemory-policy: noeviction
{{- end -}}

{{/*
cache.config.managed: settings owned by the chart (the pod's mounts, the
Service, the probes and the password delivery depend on them). The directives
that would load other files or users (include, aclfile, user, loadmodule) or
rename commands the probes use are refused too.
Usage: {{ include "cache.config.managed" . | fromYaml }}
*/}}
{{- define "cache.config.managed" -}}
port: 6379
bind: "* -::*"
dir: /data
daemonize: false
supervised: "no"
pidfile: ""
logfile: ""
{{- end -}}

{{/*
cache.config.refused: directives config.parameters may not set, though the
chart writes none of them (see cache.config.managed).
Usage: {{ include "cache.config.refused" . | fromYamlArray }}
*/}}
{{- define "cache.config.refused" -}}
- unixsocket
- requirepass
- aclfile
- user
- include
- rename-command
- loadmodule
{{- end -}}

{{/*
cache.config.value: one valkey.conf value, double-quoted with backslashes and
quotes escaped (the server's own quoting rules); booleans as yes/no; whole
numbers that YAML turned into float64 as integers (1000000, not 1e+06).
Usage: {{ include "cache.config.value" $value }}
*/}}
{{- define "cache.config.value" -}}
{{- $v := . -}}
{{- if kindIs "bool" $v -}}
{{- $v = ternary "yes" "no" $v -}}
{{- else if and (kindIs "float64" $v) (eq $v (floor $v)) -}}
{{- $v = int64 $v -}}
{{- end -}}
{{- printf "\"%s\"" ($v | toString | replace "\\" "\\\\" | replace "\"" "\\\"") -}}
{{- end -}}

{{/*
cache.config.valkeyConf: the rendered valkey.conf, keys sorted. Fails when
config.parameters sets a chart-managed or refused directive, or a value with a
line break (it would add directives).
Usage: {{ include "cache.config.valkeyConf" . }}
*/}}
{{- define "cache.config.valkeyConf" -}}
{{- $managed := include "cache.config.managed" . | fromYaml -}}
{{- $refused := include "cache.config.refused" . | fromYamlArray -}}
{{- range $key, $value := .Values.config.parameters -}}
{{- if or (hasKey $managed $key) (has $key $refused) -}}
{{- fail (printf "config.parameters.%s: managed by the chart (the pod's mounts, Service, probes and password delivery depend on it) and cannot be set" $key) -}}
{{- end -}}
{{- if regexMatch "[\\x00-\\x1f\\x7f]" (toString $value) -}}
{{- fail (printf "config.parameters.%s: a value must be one line without control characters" $key) -}}
{{- end -}}
{{- end -}}
{{- /* Set key by key, not with merge: merge treats false, 0 and "" as unset and would
let a default win over `appendonly: false` or `maxmemory: 0`. */}}
{{- $all := include "cache.config.defaults" . | fromYaml -}}
{{- range $key, $value := .Values.config.parameters -}}
{{- $_ := set $all $key $value -}}
{{- end -}}
{{- range $key, $value := $managed -}}
{{- $_ := set $all $key $value -}}
{{- end -}}
# valkey.conf rendered by the charthouse cache chart from config.parameters.
# No password here: start.sh hands `requirepass` to the server on standard input,
# read from the Secret's file.
{{- range $key := keys $all | sortAlpha }}
{{ $key }} {{ include "cache.config.value" (get $all $key) }}
{{- end }}
{{- end -}}
