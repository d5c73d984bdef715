{{/*
common.names.serviceAccountName: the ServiceAccount the pods run as.
With serviceAccount.create it is serviceAccount.name or the fullname; without,
it is serviceAccount.name or "default" (the namespace's own account).
Usage: {{ include "common.names.serviceAccountName" . }}
*/}}
{{- define "common.names.serviceAccountName" -}}
{{- $sa := .Values.serviceAccount | default dict -}}
{{- if $sa.create -}}
{{- default (include "common.names.fullname" .) $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}
