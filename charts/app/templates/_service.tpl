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
  {{- include "common.metadata" (dict "context" $ctx "name" .name "component" "app" "labels" (dict "charthouse.dev/service" .role) "annotations" $svc.annotations) | nindent 2 }}
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
