{{/*
Backups: what the backup CronJob dumps and where it writes.
*/}}

{{/*
database.backup.databases: the databases the backup dumps, space-separated.
Usage: {{ include "database.backup.databases" . }}
*/}}
{{- define "database.backup.databases" -}}
{{- default (list .Values.auth.database) .Values.backup.databases | join " " -}}
{{- end -}}

{{/*
database.backup.claimName: the PVC the dumps are written to.
Usage: {{ include "database.backup.claimName" . }}
*/}}
{{- define "database.backup.claimName" -}}
{{- default (include "common.names.componentFullname" (dict "context" . "component" "backup")) .Values.backup.persistence.existingClaim -}}
{{- end -}}
