{{/*
ingress.podTemplate: the controller pod, shared by the Deployment and the
DaemonSet. Restricted by default: uid 65532, read-only root filesystem (only
/tmp is writable, an emptyDir), every capability dropped (all ports are above
1024; the Service maps 80/443 to them), seccomp RuntimeDefault.
Usage: {{- include "ingress.podTemplate" . | nindent 4 }}
*/}}
{{- define "ingress.podTemplate" -}}
{{- $v := .Values -}}
metadata:
  labels:
    {{- include "common.labels.standard" (dict "context" $ "component" "controller") | nindent 4 }}
    {{- with $v.podLabels }}
    {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 4 }}
    {{- end }}
  annotations:
    {{- include "common.checksums.templates" (dict "context" $ "templates" (list "/configmap.yaml")) | nindent 4 }}
    {{- with include "common.annotations.standard" (dict "context" $ "extra" $v.podAnnotations) }}
    {{- . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "common.names.serviceAccountName" . | quote }}
  {{- /* The controller watches the Kubernetes API, so this pod mounts a token
         even though the ServiceAccount does not automount one for others. */}}
  automountServiceAccountToken: true
  {{- with include "common.images.pullSecrets" (dict "context" $ "pullSecrets" $v.imagePullSecrets) }}
  {{- . | nindent 2 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ int $v.controller.terminationGracePeriodSeconds }}
  securityContext:
    {{- include "common.security.podSecurityContext" (dict "override" $v.podSecurityContext "context" $) | nindent 4 }}
  containers:
    - name: traefik
      image: {{ include "common.images.image" (dict "image" $v.image "context" $) | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      {{- /* Traefik reads its static configuration from ONE source: a file found
             at a default path (/etc/traefik/traefik.yaml among them) wins over the
             command line, whose flags are then ignored without a word, a mistyped
             --configFile included. So the file sits outside the default paths: this
             flag is the only way Traefik finds it, and a typo in it fails the start
             ("field not found"). Other options go in through staticConfig. */}}
      args:
        - --configFile=/etc/charthouse/traefik.yaml
      {{- /* GOMEMLIMIT makes the Go runtime collect garbage before the
             memory limit is hit instead of being OOM-killed. */}}
      env:
        {{- if ($v.resources.limits | default dict).memory }}
        - name: GOMEMLIMIT
          valueFrom:
            resourceFieldRef:
              containerName: traefik
              resource: limits.memory
        {{- end }}
        {{- with $v.extraEnv }}
        {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 8 }}
        {{- end }}
      ports:
        - name: web
          containerPort: {{ $v.entryPoints.web.port }}
          protocol: TCP
        - name: websecure
          containerPort: {{ $v.entryPoints.websecure.port }}
          protocol: TCP
        - name: traefik
          containerPort: {{ $v.entryPoints.pingPort }}
          protocol: TCP
        {{- if $v.metrics.enabled }}
        - name: metrics
          containerPort: {{ $v.metrics.port }}
          protocol: TCP
        {{- end }}
      {{- /* /ping answers 503 from the moment Traefik receives SIGTERM, so
             readiness drops before the entry points close. */}}
      startupProbe:
        httpGet:
          path: /ping
          port: traefik
        periodSeconds: 2
        failureThreshold: 30
      readinessProbe:
        httpGet:
          path: /ping
          port: traefik
        periodSeconds: 5
        timeoutSeconds: 2
        failureThreshold: 1
      livenessProbe:
        httpGet:
          path: /ping
          port: traefik
        periodSeconds: 10
        timeoutSeconds: 2
        failureThreshold: 3
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      securityContext:
        {{- include "common.security.containerSecurityContext" (dict "override" $v.securityContext "context" $) | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/charthouse/traefik.yaml
          subPath: traefik.yaml
          readOnly: true
        - name: dynamic
          mountPath: /etc/charthouse/dynamic
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- with $v.extraVolumeMounts }}
        {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "common.names.fullname" . | quote }}
    {{- /* One projected volume for the dynamic configuration and the default
           certificate: kubelet swaps both atomically and Traefik's directory
           watch sees one change. */}}
    - name: dynamic
      projected:
        defaultMode: 0440
        sources:
          - configMap:
              name: {{ include "common.names.componentFullname" (dict "context" $ "component" "dynamic") }}
          {{- with $v.entryPoints.websecure.tls.defaultCertificate.secretName }}
          - secret:
              name: {{ include "common.tplvalues.render" (dict "value" . "context" $) | quote }}
              items:
                - key: tls.crt
                  path: default-tls.crt
                - key: tls.key
                  path: default-tls.key
          {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with $v.extraVolumes }}
    {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 4 }}
    {{- end }}
  {{- include "common.pod.scheduling" (dict "context" $ "values" $v "selectorLabels" (include "common.labels.selector" (dict "context" $ "component" "controller") | fromYaml)) | nindent 2 }}
{{- end -}}
