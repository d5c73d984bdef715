{{/*
Server configuration: postgresql.conf from config.parameters over the chart's
defaults, the settings the chart manages itself, and pg_hba.conf.
*/}}

{{/*
database.config.defaults: postgresql.conf settings the chart sets before the
user's config.parameters. Values that only work with the chart's mounts and
ports are in database.config.managed and cannot be overridden.
Usage: {{ include "database.config.defaults" . | fromYaml }}
*/}}
{{- define "database.config.defaults" -}}
listen_addresses: "*"
password_encryption: scram-sha-256
max_connections: "100"
shared_buffers: 128MB
dynamic_shared_memory_type: posix
timezone: UTC
log_timezone: UTC
log_destination: stderr
logging_collector: "off"
{{- end -}}

{{/*
database.config.managed: settings owned by the chart (the pod's mounts, the
Service and probes depend on them).
Usage: {{ include "database.config.managed" . | fromYaml }}
*/}}
{{- define "database.config.managed" -}}
port: "5432"
unix_socket_directories: /var/run/postgresql
hba_file: /etc/postgresql/pg_hba.conf
{{- end -}}

{{/*
database.config.value: one postgresql.conf value, single-quoted with embedded
quotes doubled. Whole numbers that YAML turned into float64 print as integers
(1000000, not 1e+06).
Usage: {{ include "database.config.value" $value }}
*/}}
{{- define "database.config.value" -}}
{{- $v := . -}}
{{- if and (kindIs "float64" $v) (eq $v (floor $v)) -}}
{{- $v = int64 $v -}}
{{- end -}}
{{- printf "'%s'" ($v | toString | replace "'" "''") -}}
{{- end -}}

{{/*
database.config.postgresqlConf: the rendered postgresql.conf, keys sorted.
Fails when config.parameters sets a chart-managed key.
Usage: {{ include "database.config.postgresqlConf" . }}
*/}}
{{- define "database.config.postgresqlConf" -}}
{{- $managed := include "database.config.managed" . | fromYaml -}}
{{- range $key, $_ := .Values.config.parameters -}}
{{- if hasKey $managed $key -}}
{{- fail (printf "config.parameters.%s: managed by the chart (the pod's mounts, Service and probes depend on it) and cannot be overridden" $key) -}}
{{- end -}}
{{- end -}}
{{- $all := merge (deepCopy .Values.config.parameters) (include "database.config.defaults" . | fromYaml) $managed -}}
# postgresql.conf rendered by the charthouse database chart from config.parameters.
# ALTER SYSTEM settings (postgresql.auto.conf in the data directory) still apply on top.
{{- range $key := keys $all | sortAlpha }}
{{ $key }} = {{ include "database.config.value" (get $all $key) }}
{{- end }}
{{- end -}}

{{/*
database.config.pgHba: the rendered pg_hba.conf: the user's pgHba lines first
(first match wins), then the chart's rules.
Usage: {{ include "database.config.pgHba" . }}
*/}}
{{- define "database.config.pgHba" -}}
# pg_hba.conf rendered by the charthouse database chart. First matching line wins.
{{- with .Values.pgHba }}
# From pgHba:
{{- range . }}
{{ . }}
{{- end }}
{{- end }}
# Chart rules. The socket directory is an emptyDir of the postgres container only,
# so "local" reaches the server from inside that container (kubectl exec) and nowhere else.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host all all 0.0.0.0/0 scram-sha-256
host all all ::/0 scram-sha-256
{{- end -}}
