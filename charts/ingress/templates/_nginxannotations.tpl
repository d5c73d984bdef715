{{/*
ingress.nginxAnnotations: the nginx.ingress.kubernetes.io/<name> annotations the
running Traefik's NGINX provider implements, as names without the prefix joined
by ",". Taken from the `annotation:` tags of its IngressConfig struct
(pkg/provider/kubernetes/ingress-nginx/annotations.go) in v3.6.12 and v3.7.13,
less what v3.7 reads but does not apply (the ModSecurity annotations, which need
a plugin; the *-snippet ones, see ingress.nginxSnippetAnnotations). Traefik
ignores every other annotation under the prefix without a log line or an event;
the ValidatingAdmissionPolicy of this chart warns about them instead.
Usage: {{ include "ingress.nginxAnnotations" . | splitList "," }}
*/}}
{{- define "ingress.nginxAnnotations" -}}
{{- if eq (include "ingress.traefikAtLeast" (dict "version" "3.7.0" "context" $)) "true" -}}
{{- list
  "auth-type" "auth-secret" "auth-realm" "auth-secret-type" "auth-url" "auth-signin"
  "auth-response-headers" "auth-method" "enable-global-auth" "auth-tls-secret"
  "auth-tls-verify-client" "auth-tls-pass-certificate-to-upstream" "force-ssl-redirect"
  "ssl-redirect" "ssl-passthrough" "use-regex" "rewrite-target" "app-root" "permanent-redirect"
  "permanent-redirect-code" "temporal-redirect" "temporal-redirect-code" "from-to-www-redirect"
  "server-alias" "affinity" "affinity-canary-behavior" "session-cookie-name"
  "session-cookie-secure" "session-cookie-path" "session-cookie-domain"
  "session-cookie-samesite" "session-cookie-max-age" "session-cookie-expires" "service-upstream"
  "upstream-hash-by" "backend-protocol" "proxy-ssl-secret" "proxy-ssl-verify" "proxy-ssl-name"
  "proxy-ssl-server-name" "proxy-connect-timeout" "proxy-read-timeout" "proxy-send-timeout"
  "proxy-next-upstream" "proxy-next-upstream-tries" "proxy-next-upstream-timeout"
  "proxy-http-version" "enable-cors" "cors-allow-credentials" "cors-expose-headers"
  "cors-allow-headers" "cors-allow-methods" "cors-allow-origin" "cors-max-age"
  "enable-access-log" "whitelist-source-range" "allowlist-source-range" "limit-rpm" "limit-rps"
  "limit-burst-multiplier" "limit-connections" "custom-headers" "upstream-vhost"
  "x-forwarded-prefix" "custom-http-errors" "default-backend" "proxy-request-buffering"
  "client-body-buffer-size" "proxy-body-size" "proxy-buffering" "proxy-buffer-size"
  "proxy-buffers-number" "proxy-max-temp-file-size" "canary" "canary-by-cookie"
  "canary-by-header" "canary-by-header-value" "canary-by-header-pattern" "canary-weight"
  "canary-weight-total"
  | join "," -}}
{{- else -}}
{{- list
  "auth-type" "auth-secret" "auth-realm" "auth-secret-type" "auth-url" "auth-response-headers"
  "force-ssl-redirect" "ssl-redirect" "ssl-passthrough" "use-regex" "affinity"
  "session-cookie-name" "session-cookie-secure" "session-cookie-path" "session-cookie-domain"
  "session-cookie-samesite" "session-cookie-max-age" "service-upstream" "backend-protocol"
  "proxy-ssl-secret" "proxy-ssl-verify" "proxy-ssl-name" "proxy-ssl-server-name" "enable-cors"
  "cors-allow-credentials" "cors-expose-headers" "cors-allow-headers" "cors-allow-methods"
  "cors-allow-origin" "cors-max-age"
  | join "," -}}
{{- end -}}
{{- end -}}

{{/*
ingress.nginxSnippetAnnotations: the annotations that inject raw NGINX
configuration. Traefik v3.7 refuses an Ingress carrying one (it is not served
at all) unless providers.kubernetesIngressNGINX.allowSnippetAnnotations; Traefik
v3.6 does not read them.
Usage: {{ include "ingress.nginxSnippetAnnotations" . | splitList "," }}
*/}}
{{- define "ingress.nginxSnippetAnnotations" -}}
configuration-snippet,server-snippet,auth-snippet
{{- end -}}
