{{/*
Database-specific helpers. Generic concerns (names, labels, images, security
contexts, checksums) come from the `common` library chart.
*/}}

{{/*
database.primary.fullname: name of the StatefulSet, its pod prefix and the
client Service (`<release>-database`).
Usage: {{ include "database.primary.fullname" . }}
*/}}
{{- define "database.primary.fullname" -}}
{{- include "common.names.fullname" . -}}
{{- end -}}

{{/*
database.headless.fullname: the governing headless Service of the StatefulSet.
Usage: {{ include "database.headless.fullname" . }}
*/}}
{{- define "database.headless.fullname" -}}
{{- include "common.names.componentFullname" (dict "context" . "component" "hl") -}}
{{- end -}}

{{/*
database.secretName: the Secret holding the passwords and the URI: the user's
`auth.existingSecret`, else the chart's own Secret (named like the release).
Usage: {{ include "database.secretName" . }}
*/}}
{{- define "database.secretName" -}}
{{- default (include "common.names.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{/*
database.host: the in-cluster DNS name of the client Service.
Usage: {{ include "database.host" . }}
*/}}
{{- define "database.host" -}}
{{- printf "%s.%s.svc.%s" (include "database.primary.fullname" .) (include "common.names.namespace" .) .Values.clusterDomain -}}
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
database.dataVolumeClaimName: the PVC the data lives in: the existing claim, or
the one the volumeClaimTemplate `data` creates for pod 0.
Usage: {{ include "database.dataVolumeClaimName" . }}
*/}}
{{- define "database.dataVolumeClaimName" -}}
{{- default (printf "data-%s-0" (include "database.primary.fullname" .)) .Values.persistence.existingClaim -}}
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

{{/*
database.config.defaults: postgresql.conf settings the chart sets before the
user's config.parameters. Values that only work with the chart's mounts and
ports are in database.config.managed and cannot be overridden.
Usage: {{ include "database.config.defaults" . | fromYaml }}
*/}}
{{- define "database.config.defaults" -}}
listen_addresses: "*"
password_encryption: scram-sha-256
max_connections: "100"
shared_buffers: 128MB
dynamic_shared_memory_type: posix
timezone: UTC
log_timezone: UTC
log_destination: stderr
logging_collector: "off"
{{- end -}}

{{/*
database.config.managed: settings owned by the chart (the pod's mounts, the
Service and probes depend on them).
Usage: {{ include "database.config.managed" . | fromYaml }}
*/}}
{{- define "database.config.managed" -}}
port: "5432"
unix_socket_directories: /var/run/postgresql
hba_file: /etc/postgresql/pg_hba.conf
{{- end -}}

{{/*
database.config.value: one postgresql.conf value, single-quoted with embedded
quotes doubled. Whole numbers that YAML turned into float64 print as integers
(1000000, not 1e+06).
Usage: {{ include "database.config.value" $value }}
*/}}
{{- define "database.config.value" -}}
{{- $v := . -}}
{{- if and (kindIs "float64" $v) (eq $v (floor $v)) -}}
{{- $v = int64 $v -}}
{{- end -}}
{{- printf "'%s'" ($v | toString | replace "'" "''") -}}
{{- end -}}

{{/*
database.config.postgresqlConf: the rendered postgresql.conf, keys sorted.
Fails when config.parameters sets a chart-managed key.
Usage: {{ include "database.config.postgresqlConf" . }}
*/}}
{{- define "database.config.postgresqlConf" -}}
{{- $managed := include "database.config.managed" . | fromYaml -}}
{{- range $key, $_ := .Values.config.parameters -}}
{{- if hasKey $managed $key -}}
{{- fail (printf "config.parameters.%s: managed by the chart (the pod's mounts, Service and probes depend on it) and cannot be overridden" $key) -}}
{{- end -}}
{{- end -}}
{{- $all := merge (deepCopy .Values.config.parameters) (include "database.config.defaults" . | fromYaml) $managed -}}
# postgresql.conf rendered by the charthouse database chart from config.parameters.
# ALTER SYSTEM settings (postgresql.auto.conf in the data directory) still apply on top.
{{- range $key := keys $all | sortAlpha }}
{{ $key }} = {{ include "database.config.value" (get $all $key) }}
{{- end }}
{{- end -}}

{{/*
database.config.pgHba: the rendered pg_hba.conf: the user's pgHba lines first
(first match wins), then the chart's rules.
Usage: {{ include "database.config.pgHba" . }}
*/}}
{{- define "database.config.pgHba" -}}
# pg_hba.conf rendered by the charthouse database chart. First matching line wins.
{{- with .Values.pgHba }}
# From pgHba:
{{- range . }}
{{ . }}
{{- end }}
{{- end }}
# Chart rules. The socket directory is an emptyDir of the postgres container only,
# so "local" reaches the server from inside that container (kubectl exec) and nowhere else.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host all all 0.0.0.0/0 scram-sha-256
host all all ::/0 scram-sha-256
{{- end -}}

{{/*
database.validateImmutable: fails the render when the values would change a
field of the installed StatefulSet that Kubernetes refuses to update
(volumeClaimTemplates), and says how to make the change safely. Uses lookup, so
it only acts against a live cluster (install/upgrade, --dry-run=server); with
`helm template` nothing is found and nothing is checked.
Usage: {{- include "database.validateImmutable" . }}
*/}}
{{- define "database.validateImmutable" -}}
{{- $ns := include "common.names.namespace" . -}}
{{- $name := include "database.primary.fullname" . -}}
{{- $sts := lookup "apps/v1" "StatefulSet" $ns $name -}}
{{- if $sts -}}
{{- $pvc := printf "data-%s-0" $name -}}
{{- $orphan := printf "kubectl -n %s delete statefulset %s --cascade=orphan" $ns $name -}}
{{- $old := dict -}}
{{- range ($sts.spec.volumeClaimTemplates | default list) -}}
{{- if eq .metadata.name "data" -}}{{- $old = . -}}{{- end -}}
{{- end -}}
{{- $wantTemplate := and .Values.persistence.enabled (not .Values.persistence.existingClaim) -}}
{{- if ne (not (not $old)) (not (not $wantTemplate)) -}}
{{- fail (printf "persistence: this change would %s the volumeClaimTemplate of StatefulSet %s/%s, which Kubernetes forbids, and would switch the database to %s. Keep persistence.enabled and persistence.existingClaim as installed. To move the data: back up (backup.enabled or pg_dump), install a new release with the new storage settings and restore into it (README: Migrating storage)." (ternary "add" "remove" (not (not $wantTemplate))) $ns $name (ternary "a new empty volume" (ternary "the existing claim" "an emptyDir (data lost with the pod)" (not (not .Values.persistence.enabled))) (not (not $wantTemplate)))) -}}
{{- end -}}
{{- if $old -}}
{{- $oldSize := $old.spec.resources.requests.storage | toString -}}
{{- $newSize := .Values.persistence.size | toString -}}
{{- if ne $oldSize $newSize -}}
{{- fail (printf "persistence.size: StatefulSet %s/%s was installed with %s and volumeClaimTemplates are immutable, so %s cannot be applied by helm alone. Safe path to grow the volume without losing data: 1) kubectl -n %s patch pvc %s --type merge -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}' (the StorageClass needs allowVolumeExpansion: true; volumes only grow); 2) %s (the pod keeps running); 3) run this upgrade again: the StatefulSet is re-created with size %s and adopts the running pod. To keep the old size instead, set persistence.size=%s." $ns $name $oldSize $newSize $ns $pvc $newSize $orphan $newSize $oldSize) -}}
{{- end -}}
{{- $oldClass := $old.spec.storageClassName | default "" -}}
{{- $newClass := (include "common.storage.class" (dict "persistence" .Values.persistence "global" .Values.global) | fromYaml).storageClassName | default "" -}}
{{- if ne $oldClass $newClass -}}
{{- $describe := dict "old" (ternary "no class (the cluster default)" (printf "StorageClass %q" $oldClass) (eq $oldClass "")) "new" (ternary "the cluster default" (printf "%q" $newClass) (eq $newClass "")) -}}
{{- fail (printf "persistence.storageClass: StatefulSet %s/%s was installed with %s; a volume cannot change class, and volumeClaimTemplates are immutable. Keep persistence.storageClass and global.storageClass as installed. To move the data to %s: back up, install a new release with the new class and restore into it (README: Migrating storage)." $ns $name $describe.old $describe.new) -}}
{{- end -}}
{{- $oldModes := $old.spec.accessModes | default list | sortAlpha | join "," -}}
{{- $newModes := .Values.persistence.accessModes | sortAlpha | join "," -}}
{{- if ne $oldModes $newModes -}}
{{- fail (printf "persistence.accessModes: StatefulSet %s/%s was installed with [%s]; volumeClaimTemplates are immutable. Keep persistence.accessModes at [%s], or migrate to a new release (README: Migrating storage)." $ns $name $oldModes $oldModes) -}}
{{- end -}}
{{- $oldAnn := $old.metadata.annotations | default dict -}}
{{- if ne (toJson $oldAnn) (toJson (.Values.persistence.annotations | default dict)) -}}
{{- fail (printf "persistence.annotations: StatefulSet %s/%s was installed with volumeClaimTemplate annotations %s; they are immutable. Keep persistence.annotations as installed, annotate the PVC directly (kubectl -n %s annotate pvc %s ...), or %s and upgrade again to re-create the StatefulSet with the new template." $ns $name (toJson $oldAnn) $ns $pvc $orphan) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
database.backup.databases: the databases the backup dumps, space-separated.
Usage: {{ include "database.backup.databases" . }}
*/}}
{{- define "database.backup.databases" -}}
{{- default (list .Values.auth.database) .Values.backup.databases | join " " -}}
{{- end -}}

{{/*
database.backup.claimName: the PVC the dumps are written to.
Usage: {{ include "database.backup.claimName" . }}
*/}}
{{- define "database.backup.claimName" -}}
{{- default (include "common.names.componentFullname" (dict "context" . "component" "backup")) .Values.backup.persistence.existingClaim -}}
{{- end -}}
