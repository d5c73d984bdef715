{{/*
app.service: one Service of the release. "role" (main, preview, stable, canary)
is a label so a ServiceMonitor can pick the main Service only.
Usage: {{ include "app.service" (dict "context" $ "name" $name "role" "preview" "selector" $selectorYaml) }}
*/}}
{{- define "app.service" -}}
{{- $ctx := .context -}}
{{- $svc := $ctx.Values.service -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ include "common.names.namespace" $ctx | quote }}
  labels:
    {{- include "common.labels.standard" (dict "context" $ctx "component" "app") | nindent 4 }}
    charthouse.dev/service: {{ .role | quote }}
  {{- with include "common.annotations.standard" (dict "context" $ctx "extra" $svc.annotations) }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $svc.type }}
  selector:
    {{- .selector | nindent 4 }}
  ports:
    - name: http
      port: {{ $svc.port }}
      targetPort: {{ $svc.targetPort }}
      protocol: TCP
      {{- if and (has $svc.type (list "NodePort" "LoadBalancer")) (not (kindIs "invalid" $svc.nodePort)) (eq .role "main") }}
      nodePort: {{ $svc.nodePort }}
      {{- end }}
{{- end -}}
