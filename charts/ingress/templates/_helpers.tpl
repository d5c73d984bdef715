{{/*
Helpers of the ingress chart. Names, labels, images and security contexts come
from the common library; these helpers hold what only an edge controller needs.
*/}}

{{/*
ingress.clusterScopedName: name for a cluster-scoped object (ClusterRole,
ClusterRoleBinding). The namespace is part of it because the same release name
can be installed in two namespaces, and cluster-scoped names must not collide.
Usage: {{ include "ingress.clusterScopedName" . }}
*/}}
{{- define "ingress.clusterScopedName" -}}
{{- printf "%s-%s" (include "common.names.fullname" .) (include "common.names.namespace" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
ingress.serviceName: the Service in front of the controller; the published
address copied into Ingress and Gateway status comes from it.
Usage: {{ include "ingress.serviceName" . }}
*/}}
{{- define "ingress.serviceName" -}}
{{- include "common.names.fullname" . -}}
{{- end -}}

{{/*
ingress.nativeClassName: the IngressClass the native kubernetesIngress provider
serves. It takes over ingressClass.name when the NGINX provider is off; with
both on, it has its own class so no Ingress is routed twice.
Usage: {{ include "ingress.nativeClassName" . }}
*/}}
{{- define "ingress.nativeClassName" -}}
{{- if .Values.providers.kubernetesIngressNGINX.enabled -}}
{{- .Values.providers.kubernetesIngress.ingressClass -}}
{{- else -}}
{{- .Values.ingressClass.name -}}
{{- end -}}
{{- end -}}

{{/*
ingress.mainClassController: spec.controller of the chart's IngressClass. The
NGINX provider claims classes by controller value; Traefik's native provider
only ever claims "traefik.io/ingress-controller".
Usage: {{ include "ingress.mainClassController" . }}
*/}}
{{- define "ingress.mainClassController" -}}
{{- if .Values.providers.kubernetesIngressNGINX.enabled -}}
{{- .Values.providers.kubernetesIngressNGINX.controllerClass -}}
{{- else -}}
traefik.io/ingress-controller
{{- end -}}
{{- end -}}

{{/*
ingress.servesIngress: "true" when some provider reads Ingress objects.
Usage: {{ if include "ingress.servesIngress" . }}
*/}}
{{- define "ingress.servesIngress" -}}
{{- if or .Values.providers.kubernetesIngressNGINX.enabled .Values.providers.kubernetesIngress.enabled -}}
true
{{- end -}}
{{- end -}}

{{/*
ingress.gatewayAPIServed: "true" when the Gateway provider is on AND the API
server serves gateway.networking.k8s.io/v1 (the CRDs are installed). Offline
`helm template` knows no CRDs unless given `--api-versions
gateway.networking.k8s.io/v1`; a GitOps tool passes the cluster's list.
Usage: {{ if include "ingress.gatewayAPIServed" . }}
*/}}
{{- define "ingress.gatewayAPIServed" -}}
{{- if and .Values.providers.kubernetesGateway.enabled (.Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1") -}}
true
{{- end -}}
{{- end -}}

{{/*
ingress.validate: fails the render, naming the values, on combinations the
schema cannot express. Included once, from the workload template.
Usage: {{ include "ingress.validate" . }}
*/}}
{{- define "ingress.validate" -}}
{{- $v := .Values -}}
{{- if not (or (include "ingress.servesIngress" .) $v.providers.kubernetesGateway.enabled) -}}
{{- fail "providers: enable at least one of kubernetesIngressNGINX, kubernetesIngress or kubernetesGateway, or the controller serves nothing" -}}
{{- end -}}
{{- if and $v.autoscaling.enabled (eq $v.controller.kind "DaemonSet") -}}
{{- fail "autoscaling.enabled: a DaemonSet runs one pod per node and cannot be autoscaled; set controller.kind=Deployment or autoscaling.enabled=false" -}}
{{- end -}}
{{- if and $v.providers.kubernetesIngressNGINX.enabled $v.providers.kubernetesIngress.enabled (eq $v.providers.kubernetesIngress.ingressClass $v.ingressClass.name) -}}
{{- fail (printf "providers.kubernetesIngress.ingressClass: %q is already served by the NGINX provider (ingressClass.name); give the native provider another class" $v.ingressClass.name) -}}
{{- end -}}
{{- if and $v.providers.kubernetesIngressNGINX.watchNamespace $v.providers.kubernetesIngressNGINX.watchNamespaceSelector -}}
{{- fail "providers.kubernetesIngressNGINX: set watchNamespace or watchNamespaceSelector, not both" -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to null)" -}}
{{- end -}}
{{- if and $v.gateway.https.enabled (not $v.gateway.https.certificateRefs) -}}
{{- fail "gateway.https.certificateRefs: an HTTPS listener needs at least one TLS Secret" -}}
{{- end -}}
{{- $lifeCycle := $v.entryPoints.transport.lifeCycle -}}
{{- $drain := addf (include "ingress.durationSeconds" $lifeCycle.requestAcceptGraceTimeout | float64) (include "ingress.durationSeconds" $lifeCycle.graceTimeOut | float64) -}}
{{- if ge $drain (float64 $v.controller.terminationGracePeriodSeconds) -}}
{{- fail (printf "controller.terminationGracePeriodSeconds: %d must exceed entryPoints.transport.lifeCycle.requestAcceptGraceTimeout (%s) + graceTimeOut (%s), or Kubernetes kills Traefik while it still drains requests" (int $v.controller.terminationGracePeriodSeconds) $lifeCycle.requestAcceptGraceTimeout $lifeCycle.graceTimeOut) -}}
{{- end -}}
{{- $ports := list (int $v.entryPoints.web.port) (int $v.entryPoints.websecure.port) (int $v.entryPoints.pingPort) -}}
{{- if $v.metrics.enabled -}}
{{- $ports = append $ports (int $v.metrics.port) -}}
{{- end -}}
{{- if ne (len $ports) (len (uniq $ports)) -}}
{{- fail (printf "entryPoints/metrics: container ports must differ, got %v" $ports) -}}
{{- end -}}
{{- end -}}

{{/*
ingress.traefikVersion: the version of the Traefik being deployed, without
"v". It comes from image.tag when that is a version (v3.6.12, 3.7.13), else
from the chart's appVersion (a digest-only or custom tag is taken to be the
chart's own Traefik).
Usage: {{ include "ingress.traefikVersion" . }}
*/}}
{{- define "ingress.traefikVersion" -}}
{{- $tag := toString .Values.image.tag | trimPrefix "v" -}}
{{- regexMatch "^[0-9]+[.][0-9]+[.][0-9]+" $tag | ternary $tag (.Chart.AppVersion | trimPrefix "v") -}}
{{- end -}}

{{/*
ingress.traefikAtLeast: "true" when the Traefik being deployed is at least .version.
Usage: {{ include "ingress.traefikAtLeast" (dict "version" "3.7.0" "context" $) }}
*/}}
{{- define "ingress.traefikAtLeast" -}}
{{- semverCompare (printf ">=%s-0" .version) (include "ingress.traefikVersion" .context) | toString -}}
{{- end -}}

{{/*
ingress.durationSeconds: a Go duration (the schema's form: 0, 500ms, 1m30s) in
seconds, as a float. For checks only; Traefik itself gets the original string.
Usage: {{ include "ingress.durationSeconds" "1m30s" | float64 }}
*/}}
{{- define "ingress.durationSeconds" -}}
{{- $units := dict "h" 3600.0 "m" 60.0 "s" 1.0 "ms" 0.001 "us" 0.000001 "µs" 0.000001 "ns" 0.000000001 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h)" (toString .) -1 -}}
{{- $unit := regexFind "(ns|us|µs|ms|s|m|h)$" . -}}
{{- $total = addf $total (mulf (regexFind "^[0-9]+([.][0-9]+)?" . | float64) (get $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
