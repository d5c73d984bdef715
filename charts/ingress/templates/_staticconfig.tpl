{{/*
ingress.staticConfig: Traefik's static configuration (traefik.yaml) built from
the typed values. It is assembled as a dict and serialised with toYaml, so a
value can never break the YAML, and every option name below is Traefik's own
(checked against the v3.7 static configuration reference).
Usage: {{ include "ingress.staticConfig" . }}
*/}}
{{- define "ingress.staticConfig" -}}
{{- $v := .Values -}}
{{- $ns := include "common.names.namespace" . -}}
{{- $published := printf "%s/%s" $ns (include "ingress.serviceName" .) -}}
{{- $config := dict
  "global" (dict "checkNewVersion" false "sendAnonymousUsage" false)
  "log" (dict "level" $v.logs.level "format" $v.logs.format)
  "ping" (dict "entryPoint" "traefik")
-}}

{{- /* Entry points. web and websecure are the only defaults, so routes never
       land on the ping or metrics ports. */ -}}
{{- $transport := dict
  "respondingTimeouts" (dict
    "readTimeout" $v.entryPoints.transport.respondingTimeouts.readTimeout
    "writeTimeout" $v.entryPoints.transport.respondingTimeouts.writeTimeout
    "idleTimeout" $v.entryPoints.transport.respondingTimeouts.idleTimeout)
  "lifeCycle" (dict
    "requestAcceptGraceTimeout" $v.entryPoints.transport.lifeCycle.requestAcceptGraceTimeout
    "graceTimeOut" $v.entryPoints.transport.lifeCycle.graceTimeOut)
-}}
{{- $middlewares := list -}}
{{- if $v.rateLimit.enabled -}}
{{- $middlewares = append $middlewares "charthouse-ratelimit@file" -}}
{{- end -}}
{{- $entryPoints := dict -}}
{{- range $name := list "web" "websecure" -}}
{{- $ep := dict
  "address" (printf ":%d" (int (get $v.entryPoints $name).port))
  "asDefault" true
  "transport" (deepCopy $transport)
  "forwardedHeaders" (dict "insecure" $v.entryPoints.forwardedHeaders.insecure)
-}}
{{- with $v.entryPoints.forwardedHeaders.trustedIPs -}}
{{- $_ := set $ep.forwardedHeaders "trustedIPs" . -}}
{{- end -}}
{{- if or $v.entryPoints.proxyProtocol.insecure $v.entryPoints.proxyProtocol.trustedIPs -}}
{{- $pp := dict "insecure" $v.entryPoints.proxyProtocol.insecure -}}
{{- with $v.entryPoints.proxyProtocol.trustedIPs -}}
{{- $_ := set $pp "trustedIPs" . -}}
{{- end -}}
{{- $_ := set $ep "proxyProtocol" $pp -}}
{{- end -}}
{{- $http := dict -}}
{{- if $middlewares -}}
{{- $_ := set $http "middlewares" $middlewares -}}
{{- end -}}
{{- if eq $name "websecure" -}}
{{- $_ := set $http "tls" (dict) -}}
{{- else if $v.entryPoints.web.redirectToHttps -}}
{{- $_ := set $http "redirections" (dict "entryPoint" (dict "to" "websecure" "scheme" "https" "permanent" true)) -}}
{{- end -}}
{{- if $http -}}
{{- $_ := set $ep "http" $http -}}
{{- end -}}
{{- $_ := set $entryPoints $name $ep -}}
{{- end -}}
{{- $_ := set $entryPoints "traefik" (dict "address" (printf ":%d" (int $v.entryPoints.pingPort))) -}}
{{- if $v.metrics.enabled -}}
{{- $_ := set $entryPoints "metrics" (dict "address" (printf ":%d" (int $v.metrics.port))) -}}
{{- $_ := set $config "metrics" (dict "prometheus" (dict
  "entryPoint" "metrics"
  "addEntryPointsLabels" $v.metrics.addEntryPointsLabels
  "addRoutersLabels" $v.metrics.addRoutersLabels
  "addServicesLabels" $v.metrics.addServicesLabels)) -}}
{{- end -}}
{{- $_ := set $config "entryPoints" $entryPoints -}}

{{- $_ := set $config "serversTransport" (dict "forwardingTimeouts" (dict
  "dialTimeout" $v.serversTransport.dialTimeout
  "responseHeaderTimeout" $v.serversTransport.responseHeaderTimeout
  "idleConnTimeout" $v.serversTransport.idleConnTimeout)) -}}

{{- /* Access logs: headers are dropped unless asked for, so Authorization and
       Cookie never reach the log pipeline. */ -}}
{{- if $v.logs.access.enabled -}}
{{- $headers := dict "defaultMode" $v.logs.access.headersDefaultMode -}}
{{- with $v.logs.access.headers -}}
{{- $_ := set $headers "names" . -}}
{{- end -}}
{{- $access := dict "format" $v.logs.access.format "fields" (dict "headers" $headers) -}}
{{- $filters := dict -}}
{{- with $v.logs.access.statusCodes -}}
{{- $_ := set $filters "statusCodes" . -}}
{{- end -}}
{{- with $v.logs.access.minDuration -}}
{{- $_ := set $filters "minDuration" . -}}
{{- end -}}
{{- if $filters -}}
{{- $_ := set $access "filters" $filters -}}
{{- end -}}
{{- $_ := set $config "accessLog" $access -}}
{{- end -}}

{{- /* Providers. The file provider always runs: it carries TLS options, the
       default certificate and the rate-limit middleware, with no Traefik CRD. */ -}}
{{- $providers := dict
  "providersThrottleDuration" $v.providers.throttleDuration
  "file" (dict "directory" "/etc/charthouse/dynamic" "watch" true)
-}}
{{- with $v.providers.kubernetesIngressNGINX -}}
{{- if .enabled -}}
{{- $nginx := dict
  "ingressClass" $v.ingressClass.name
  "controllerClass" .controllerClass
  "watchIngressWithoutClass" .watchIngressWithoutClass
  "publishService" $published
-}}
{{- with .watchNamespace -}}
{{- $_ := set $nginx "watchNamespace" . -}}
{{- end -}}
{{- with .watchNamespaceSelector -}}
{{- $_ := set $nginx "watchNamespaceSelector" . -}}
{{- end -}}
{{- /* Options Traefik added to this provider in v3.7. An older Traefik refuses the
       whole static configuration when it meets one ("field not found"), so for
       image tags before v3.7 they are left out while at the chart's defaults and
       refused when changed. Traefik v3.6 then has none of them: no per-Ingress
       proxy timeouts, request buffering or body-size limit (README, "Upgrades and
       scaling"). */ -}}
{{- $v37 := dict
  "allowSnippetAnnotations" .allowSnippetAnnotations
  "allowCrossNamespaceResources" .allowCrossNamespaceResources
  "proxyConnectTimeout" (int .proxyConnectTimeout)
  "proxyReadTimeout" (int .proxyReadTimeout)
  "proxySendTimeout" (int .proxySendTimeout)
  "proxyBodySize" (int64 .proxyBodySize)
  "proxyRequestBuffering" .proxyRequestBuffering
-}}
{{- with .globalAuthURL -}}
{{- $_ := set $v37 "globalAuthURL" . -}}
{{- end -}}
{{- with .globalAllowedResponseHeaders -}}
{{- $_ := set $v37 "globalAllowedResponseHeaders" . -}}
{{- end -}}
{{- if eq (include "ingress.traefikAtLeast" (dict "version" "3.7.0" "context" $)) "true" -}}
{{- $nginx = merge $nginx $v37 (dict "httpEntryPoint" "web" "httpsEntryPoint" "websecure") -}}
{{- else -}}
{{- $defaults := dict
  "allowSnippetAnnotations" false "allowCrossNamespaceResources" false
  "proxyConnectTimeout" 60 "proxyReadTimeout" 60 "proxySendTimeout" 60
  "proxyBodySize" 1048576 "proxyRequestBuffering" true
-}}
{{- range $key, $value := $v37 -}}
{{- if ne (toString $value) (toString (get $defaults $key)) -}}
{{- fail (printf "providers.kubernetesIngressNGINX.%s: needs Traefik v3.7 or later (image.tag is %s); keep the default or use a newer image" $key (toString $.Values.image.tag)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $providers "kubernetesIngressNGINX" $nginx -}}
{{- end -}}
{{- end -}}
{{- with $v.providers.kubernetesIngress -}}
{{- if .enabled -}}
{{- $native := dict
  "ingressClass" (include "ingress.nativeClassName" $)
  "allowExternalNameServices" .allowExternalNameServices
  "allowEmptyServices" .allowEmptyServices
  "ingressEndpoint" (dict "publishedService" $published)
-}}
{{- with .namespaces -}}
{{- $_ := set $native "namespaces" . -}}
{{- end -}}
{{- $_ := set $providers "kubernetesIngress" $native -}}
{{- end -}}
{{- end -}}
{{- with $v.providers.kubernetesGateway -}}
{{- if .enabled -}}
{{- $gw := dict
  "experimentalChannel" .experimentalChannel
  "statusAddress" (dict "service" (dict "name" (include "ingress.serviceName" $) "namespace" $ns))
-}}
{{- with .namespaces -}}
{{- $_ := set $gw "namespaces" . -}}
{{- end -}}
{{- $_ := set $providers "kubernetesGateway" $gw -}}
{{- end -}}
{{- end -}}
{{- $_ := set $config "providers" $providers -}}
{{- /* The user's staticConfig last: Traefik option names, merged over the above
       (maps merge, other values replace); Traefik refuses an unknown name at start. */ -}}
{{- $config = mergeOverwrite $config (deepCopy ($v.staticConfig | default dict)) -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
ingress.dynamicConfig: the file provider's dynamic configuration: TLS options,
the default certificate and the optional rate-limit middleware. The
certificate files sit next to this file in one projected volume, so a
rotated Secret changes the watched directory and Traefik reloads it live.
Usage: {{ include "ingress.dynamicConfig" . }}
*/}}
{{- define "ingress.dynamicConfig" -}}
{{- $v := .Values -}}
{{- $tls := dict "options" (dict "default" (dict "minVersion" $v.entryPoints.websecure.tls.minVersion "sniStrict" $v.entryPoints.websecure.tls.sniStrict)) -}}
{{- if $v.entryPoints.websecure.tls.defaultCertificate.secretName -}}
{{- $_ := set $tls "stores" (dict "default" (dict "defaultCertificate" (dict
  "certFile" "/etc/charthouse/dynamic/default-tls.crt"
  "keyFile" "/etc/charthouse/dynamic/default-tls.key"))) -}}
{{- end -}}
{{- $config := dict "tls" $tls -}}
{{- if $v.rateLimit.enabled -}}
{{- $rl := dict "average" (int $v.rateLimit.average) "period" $v.rateLimit.period "burst" (int $v.rateLimit.burst) -}}
{{- if $v.rateLimit.ipStrategyDepth -}}
{{- $_ := set $rl "sourceCriterion" (dict "ipStrategy" (dict "depth" (int $v.rateLimit.ipStrategyDepth))) -}}
{{- end -}}
{{- $_ := set $config "http" (dict "middlewares" (dict "charthouse-ratelimit" (dict "rateLimit" $rl))) -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
