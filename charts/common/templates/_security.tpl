{{/*
Security contexts that meet the Pod Security "restricted" profile by default.
The user's override is deep-merged on top, so setting one field (runAsUser)
keeps the other defaults instead of silently dropping them.
*/}}

{{/*
common.security.podSecurityContext: runAsNonRoot, seccomp RuntimeDefault and
fsGroupChangePolicy OnRootMismatch (skips the slow recursive chown of large
volumes), deep-merged with "override".
Usage: {{- include "common.security.podSecurityContext" (dict "override" .Values.podSecurityContext "context" $) | nindent 6 }}
*/}}
{{- define "common.security.podSecurityContext" -}}
{{- $defaults := dict
  "runAsNonRoot" true
  "seccompProfile" (dict "type" "RuntimeDefault")
  "fsGroupChangePolicy" "OnRootMismatch"
-}}
{{- toYaml (mergeOverwrite $defaults (deepCopy (.override | default dict))) -}}
{{- end -}}

{{/*
common.security.containerSecurityContext: no privilege escalation, read-only
root filesystem, non-root, every capability dropped, seccomp RuntimeDefault,
deep-merged with "override".
Usage: {{- include "common.security.containerSecurityContext" (dict "override" .Values.securityContext "context" $) | nindent 10 }}
*/}}
{{- define "common.security.containerSecurityContext" -}}
{{- $defaults := dict
  "allowPrivilegeEscalation" false
  "readOnlyRootFilesystem" true
  "runAsNonRoot" true
  "capabilities" (dict "drop" (list "ALL"))
  "seccompProfile" (dict "type" "RuntimeDefault")
-}}
{{- toYaml (mergeOverwrite $defaults (deepCopy (.override | default dict))) -}}
{{- end -}}
