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

{{/*
common.serviceAccount: the chart's ServiceAccount, named by
common.names.serviceAccountName; renders nothing unless serviceAccount.create.
The token is not mounted into pods by default ("automount", from the chart's
serviceAccount.automountToken): a pod that talks to the API asks for it itself.
Params:
  context    (required) the chart's root context, $
  component  app.kubernetes.io/component (optional)
  automount  automountServiceAccountToken; default serviceAccount.automountToken
Usage: {{ include "common.serviceAccount" (dict "context" $ "component" "controller") }}
*/}}
{{- define "common.serviceAccount" -}}
{{- $ctx := .context -}}
{{- $sa := $ctx.Values.serviceAccount | default dict -}}
{{- if $sa.create -}}
{{- $automount := hasKey . "automount" | ternary .automount $sa.automountToken -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "common.metadata" (dict "context" $ctx "name" (include "common.names.serviceAccountName" $ctx) "component" .component "annotations" $sa.annotations) | nindent 2 }}
automountServiceAccountToken: {{ not (not $automount) }}
{{- end -}}
{{- end -}}
