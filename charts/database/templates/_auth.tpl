{{/*
Authentication: the roles, their passwords (generated, kept, or from an
existingSecret), how pods read them, and the connection URI.
*/}}

{{/*
database.secretName: the Secret holding the passwords and the URI: the user's
`auth.existingSecret`, else the chart's own Secret (named like the release).
Usage: {{ include "database.secretName" . }}
*/}}
{{- define "database.secretName" -}}
{{- default (include "common.names.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{/*
database.appUserIsSuperuser: "true" when the app connects as `postgres`
(then no separate role is created and both Secret keys hold one password).
Usage: {{ if include "database.appUserIsSuperuser" . }}
*/}}
{{- define "database.appUserIsSuperuser" -}}
{{- if eq .Values.auth.username "postgres" -}}true{{- end -}}
{{- end -}}

{{/*
database.auth.sharedPassword: "true" when both roles use one password: the app
connects as `postgres`, or auth.secretKeys gives both passwords the same key (a
key holds one value, so the roles share it; no combination of keys can fail).
Usage: {{ if include "database.auth.sharedPassword" . }}
*/}}
{{- define "database.auth.sharedPassword" -}}
{{- $keys := .Values.auth.secretKeys -}}
{{- if or (include "database.appUserIsSuperuser" .) (eq $keys.adminPasswordKey $keys.userPasswordKey) -}}true{{- end -}}
{{- end -}}

{{/*
database.auth.uriKey: the Secret key of the connection URI, or "" when
auth.secretKeys.uriKey names a password key: the password keeps the key (the
pods read it), and no URI is stored. A JSON schema cannot compare two values,
so the chart resolves the clash instead of failing the render.
Usage: {{ with include "database.auth.uriKey" . }}
*/}}
{{- define "database.auth.uriKey" -}}
{{- $keys := .Values.auth.secretKeys -}}
{{- if not (has $keys.uriKey (list $keys.adminPasswordKey $keys.userPasswordKey)) -}}
{{- $keys.uriKey -}}
{{- end -}}
{{- end -}}

{{/*
database.passwordsDir: where the pods mount the Secret's passwords as files.
database.passwordsVolume: that volume, "passwords": the postgres role's password as
`admin-password`, the application role's as `user-password` (only when it has a
key of its own), mode 0440 (readable by the pod's fsGroup). The postgres image
reads POSTGRES_PASSWORD_FILE, the exporter DATA_SOURCE_PASS_FILE, the chart's
scripts the same files: no password is ever an environment variable of a pod.
database.passwordFile: the file of (dict "context" . "role" "admin"|"user"); the
user's is the admin file when both share one password.
Usage: {{- include "database.passwordsVolume" . | nindent 8 }}
       {{ include "database.passwordFile" (dict "context" $ "role" "user") }}
*/}}
{{- define "database.passwordsDir" -}}/run/secrets/database{{- end -}}

{{- define "database.passwordsVolume" -}}
{{- $keys := .Values.auth.secretKeys -}}
- name: passwords
  secret:
    secretName: {{ include "database.secretName" . | quote }}
    defaultMode: 0440
    items:
      - key: {{ $keys.adminPasswordKey | quote }}
        path: admin-password
      {{- if not (include "database.auth.sharedPassword" .) }}
      - key: {{ $keys.userPasswordKey | quote }}
        path: user-password
      {{- end }}
{{- end -}}

{{- define "database.passwordFile" -}}
{{- $shared := include "database.auth.sharedPassword" .context -}}
{{- printf "%s/%s-password" (include "database.passwordsDir" .context) (ternary "admin" "user" (or (eq .role "admin") (not (not $shared)))) -}}
{{- end -}}

{{/*
database.auth.passwords: the two passwords as YAML {admin, user}, resolved once
per render and memoised in .Values.auth, so every template that asks gets the
same generated values and the cluster is looked up once.

Order, per password: the explicit value (auth.postgresPassword / auth.password;
for a shared password, auth.postgresPassword first);
else the value already stored in the release's Secret (`lookup`, so an upgrade
and a reinstall over a kept Secret reuse it byte-identical); else a new random
32-character password.

Refuses to invent a password when the data volume of an earlier install still
exists but its Secret is gone and password sync on start is off: the data was
initialised with a password this render cannot know. Without a cluster
(`helm template`) lookup returns nothing, so every render generates new
passwords: GitOps users must set auth.existingSecret (see README).
Usage: {{- $pw := include "database.auth.passwords" . | fromYaml }}
*/}}
{{- define "database.auth.passwords" -}}
{{- $memo := .Values.auth -}}
{{- if not (hasKey $memo "__resolvedPasswords") -}}
{{- $name := include "common.names.fullname" . -}}
{{- $ns := include "common.names.namespace" . -}}
{{- $existing := (lookup "v1" "Secret" $ns $name).data | default dict -}}
{{- $keys := .Values.auth.secretKeys -}}
{{- $shared := include "database.auth.sharedPassword" . -}}
{{- $admin := .Values.auth.postgresPassword -}}
{{- if $shared -}}
{{- $admin = default .Values.auth.password $admin -}}
{{- end -}}
{{- if not $admin -}}
{{- $admin = index $existing $keys.adminPasswordKey | default "" | b64dec -}}
{{- end -}}
{{- $user := .Values.auth.password -}}
{{- if not $user -}}
{{- $user = index $existing $keys.userPasswordKey | default "" | b64dec -}}
{{- end -}}
{{- if and (not $existing) (not .Values.auth.syncPasswordsOnStart) (or (not $admin) (not $user)) .Values.persistence.enabled -}}
{{- $pvc := lookup "v1" "PersistentVolumeClaim" $ns (include "database.dataVolumeClaimName" .) -}}
{{- if $pvc -}}
{{- fail (printf "auth: the data volume %s/%s from an earlier install still exists but the Secret %s/%s is gone, and auth.syncPasswordsOnStart is false, so a generated password would not match the database. Restore the Secret, set auth.password and auth.postgresPassword to the old passwords, enable auth.syncPasswordsOnStart, or delete the PVC to start empty." $ns $pvc.metadata.name $ns $name) -}}
{{- end -}}
{{- end -}}
{{- if not $admin -}}
{{- $admin = randAlphaNum 32 -}}
{{- end -}}
{{- if $shared -}}
{{- $user = $admin -}}
{{- else if not $user -}}
{{- $user = randAlphaNum 32 -}}
{{- end -}}
{{- $_ := set $memo "__resolvedPasswords" (dict "admin" $admin "user" $user) -}}
{{- end -}}
{{- toYaml (get $memo "__resolvedPasswords") -}}
{{- end -}}

{{/*
database.auth.checksum: sha256 of the explicitly configured credentials
(never of generated ones, which differ per offline render) and, with
auth.existingSecret, of that Secret's password keys as the cluster holds them, so
an upgrade after rotating it restarts PostgreSQL and the postStart hook applies
the new passwords.
Usage: {{ include "database.auth.checksum" . }}
*/}}
{{- define "database.auth.checksum" -}}
{{- $a := .Values.auth -}}
{{- $parts := list $a.existingSecret $a.secretKeys $a.username $a.password $a.postgresPassword -}}
{{- with $a.existingSecret -}}
{{- $parts = append $parts (include "common.checksums.secretKeys" (dict "context" $ "name" . "keys" (list $a.secretKeys.adminPasswordKey $a.secretKeys.userPasswordKey))) -}}
{{- end -}}
{{- $parts | toJson | sha256sum -}}
{{- end -}}

{{/*
database.uri: the libpq connection URI for `auth.username`, the password
percent-encoded (urlquery turns a space into "+", which is literal in the
userinfo part, so "+" becomes "%20").
Usage: {{ include "database.uri" (dict "password" $pw.user "context" $) }}
*/}}
{{- define "database.uri" -}}
{{- $ctx := .context -}}
{{- printf "postgresql://%s:%s@%s:%d/%s" ($ctx.Values.auth.username | urlquery | replace "+" "%20") (.password | urlquery | replace "+" "%20") (include "database.host" $ctx) (int $ctx.Values.service.port) ($ctx.Values.auth.database | urlquery | replace "+" "%20") -}}
{{- end -}}
