{{/*
Database-specific names. Generic concerns (names, labels, images, security
contexts, checksums, storage) come from the `common` library chart; the
database's own helpers are split by concern: _auth.tpl (roles, passwords, the
Secret and the URI), _config.tpl (postgresql.conf, pg_hba.conf), _backup.tpl.
*/}}

{{/*
database.primary.fullname: name of the StatefulSet, its pod prefix and the
client Service (`<release>-database`).
Usage: {{ include "database.primary.fullname" . }}
*/}}
{{- define "database.primary.fullname" -}}
{{- include "common.names.fullname" . -}}
{{- end -}}

{{/*
database.headless.fullname: the governing headless Service of the StatefulSet.
Usage: {{ include "database.headless.fullname" . }}
*/}}
{{- define "database.headless.fullname" -}}
{{- include "common.names.componentFullname" (dict "context" . "component" "hl") -}}
{{- end -}}

{{/*
database.host: the in-cluster DNS name of the client Service.
Usage: {{ include "database.host" . }}
*/}}
{{- define "database.host" -}}
{{- printf "%s.%s.svc.%s" (include "database.primary.fullname" .) (include "common.names.namespace" .) .Values.clusterDomain -}}
{{- end -}}

{{/*
database.dataVolumeClaimName: the PVC the data lives in: the existing claim, or
the one the volumeClaimTemplate `data` creates for pod 0.
Usage: {{ include "database.dataVolumeClaimName" . }}
*/}}
{{- define "database.dataVolumeClaimName" -}}
{{- default (printf "data-%s-0" (include "database.primary.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}
