{{/*
Names shared across the stack. These templates are also called from the app
subchart's values through `tpl` (a chart tree shares one template set), where
the context is the app's: only .Release is common to all charts, so the names
are computed from the release name exactly as common.names.fullname computes
them for a subchart without name overrides (stack.validate rejects overrides).
*/}}

{{/*
stack.subchartFullname: the full name a subchart's objects get in this release.
Usage: {{ include "stack.subchartFullname" (dict "context" . "chart" "database") }}
*/}}
{{- define "stack.subchartFullname" -}}
{{- if contains .chart .context.Release.Name -}}
{{- .context.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .context.Release.Name .chart | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
stack.databaseSecretName: the database chart's Secret (passwords and the `uri`
key the app reads as DATABASE_URL).
Usage: {{ include "stack.databaseSecretName" . }}
*/}}
{{- define "stack.databaseSecretName" -}}
{{- include "stack.subchartFullname" (dict "context" . "chart" "database") -}}
{{- end -}}

{{/*
stack.cacheSecretName: the cache chart's Secret (its `uri` key is the app's
REDIS_URL).
Usage: {{ include "stack.cacheSecretName" . }}
*/}}
{{- define "stack.cacheSecretName" -}}
{{- include "stack.subchartFullname" (dict "context" . "chart" "cache") -}}
{{- end -}}

{{/*
stack.validate: fails, naming the values, when the subcharts would not fit
together. Runs in the stack's own context, which sees every subchart's values.
Usage: {{ include "stack.validate" . }}
*/}}
{{- define "stack.validate" -}}
{{- $v := .Values -}}
{{- range $chart := list "app" "database" "cache" "ingress" -}}
{{- $sub := get $v $chart | default dict -}}
{{- if or $sub.nameOverride $sub.fullnameOverride -}}
{{- fail (printf "%s.nameOverride/%s.fullnameOverride: not supported in the stack; the app finds the database, the cache and the controller by the release name (rename the release instead)" $chart $chart) -}}
{{- end -}}
{{- end -}}
{{- if and $v.app.enabled $v.app.ingress.enabled $v.ingress.enabled (ne $v.app.ingress.className $v.ingress.ingressClass.name) -}}
{{- fail (printf "app.ingress.className: %q is not the stack controller's class ingress.ingressClass.name=%q" $v.app.ingress.className $v.ingress.ingressClass.name) -}}
{{- end -}}
{{- if and $v.app.enabled $v.database.enabled $v.database.auth.existingSecret -}}
{{- if not (has $v.database.auth.existingSecret (include "stack.envSecretNames" (dict "env" $v.app.extraEnv "name" "DATABASE_URL") | fromYamlArray)) -}}
{{- fail (printf "database.auth.existingSecret: point app.extraEnv DATABASE_URL (and the wait-for-database init container) at %q too" $v.database.auth.existingSecret) -}}
{{- end -}}
{{- end -}}
{{- if and $v.app.enabled $v.cache.enabled $v.cache.auth.existingSecret -}}
{{- if not (has $v.cache.auth.existingSecret (include "stack.envSecretNames" (dict "env" $v.app.extraEnv "name" "REDIS_URL") | fromYamlArray)) -}}
{{- fail (printf "cache.auth.existingSecret: point app.extraEnv REDIS_URL at %q too" $v.cache.auth.existingSecret) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
stack.envSecretNames: the Secrets the env entries named "name" take their value
from (secretKeyRef), as a YAML list.
Usage: {{ include "stack.envSecretNames" (dict "env" .Values.app.extraEnv "name" "REDIS_URL") | fromYamlArray }}
*/}}
{{- define "stack.envSecretNames" -}}
{{- $names := list -}}
{{- range .env -}}
{{- if and (eq .name $.name) .valueFrom .valueFrom.secretKeyRef -}}
{{- $names = append $names .valueFrom.secretKeyRef.name -}}
{{- end -}}
{{- end -}}
{{- toYaml $names -}}
{{- end -}}
