{{/*
common.storage.class: a "storageClassName:" line. global.storageClass wins over
persistence.storageClass; "-" means an explicit empty class (disable dynamic
provisioning); unset means omit the field (the cluster default class).
Usage: {{- include "common.storage.class" (dict "persistence" .Values.persistence "global" .Values.global) | nindent 2 }}
*/}}
{{- define "common.storage.class" -}}
{{- $global := .global | default dict -}}
{{- $class := default (.persistence | default dict).storageClass $global.storageClass -}}
{{- if $class -}}
{{- if eq $class "-" -}}
storageClassName: ""
{{- else -}}
storageClassName: {{ $class | quote }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.storage.validateClaimTemplate: fails the render when the values would
change the volumeClaimTemplate "data" of an installed StatefulSet, a field
Kubernetes refuses to update, and says how to make the change safely: grow a
volume in place (patch the PVC, orphan-delete the StatefulSet, upgrade again),
keep what cannot change, or move the data to a new release ("migrate", the
chart's own advice, ends those messages). Uses lookup, so it acts against a live
cluster only (install, upgrade, --dry-run=server); `helm template` finds nothing
and checks nothing.
Arguments: "statefulSet" (its name), "persistence" (the chart's persistence
values: enabled, existingClaim, size, storageClass, accessModes, annotations),
"migrate" (how to move the data, e.g. "back up, install a new release and
restore into it (README: Migrating storage)").
Usage: {{- include "common.storage.validateClaimTemplate" (dict "context" $ "statefulSet" $name "persistence" .Values.persistence "migrate" "...") }}
*/}}
{{- define "common.storage.validateClaimTemplate" -}}
{{- $ctx := .context -}}
{{- $p := .persistence -}}
{{- $ns := include "common.names.namespace" $ctx -}}
{{- $name := .statefulSet -}}
{{- $sts := lookup "apps/v1" "StatefulSet" $ns $name -}}
{{- if $sts -}}
{{- $pvc := printf "data-%s-0" $name -}}
{{- $orphan := printf "kubectl -n %s delete statefulset %s --cascade=orphan" $ns $name -}}
{{- $old := dict -}}
{{- range ($sts.spec.volumeClaimTemplates | default list) -}}
{{- if eq .metadata.name "data" -}}{{- $old = . -}}{{- end -}}
{{- end -}}
{{- $want := and $p.enabled (not $p.existingClaim) -}}
{{- if ne (not (not $old)) (not (not $want)) -}}
{{- fail (printf "persistence: this change would %s the volumeClaimTemplate of StatefulSet %s/%s, which Kubernetes forbids, and would move the data to %s. Keep persistence.enabled and persistence.existingClaim as installed. To move the data: %s" (ternary "add" "remove" (not (not $want))) $ns $name (ternary "a new empty volume" (ternary "the existing claim" "an emptyDir (data lost with the pod)" (not (not $p.enabled))) (not (not $want))) .migrate) -}}
{{- end -}}
{{- if $old -}}
{{- $oldSize := $old.spec.resources.requests.storage | toString -}}
{{- $newSize := $p.size | toString -}}
{{- if ne $oldSize $newSize -}}
{{- fail (printf "persistence.size: StatefulSet %s/%s was installed with %s and volumeClaimTemplates are immutable, so %s cannot be applied by helm alone. Safe path to grow the volume without losing data: 1) kubectl -n %s patch pvc %s --type merge -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}' (the StorageClass needs allowVolumeExpansion: true; volumes only grow); 2) %s (the pod keeps running); 3) run this upgrade again: the StatefulSet is re-created with size %s and adopts the running pod. To keep the old size instead, set persistence.size=%s." $ns $name $oldSize $newSize $ns $pvc $newSize $orphan $newSize $oldSize) -}}
{{- end -}}
{{- $oldClass := $old.spec.storageClassName | default "" -}}
{{- $newClass := (include "common.storage.class" (dict "persistence" $p "global" $ctx.Values.global) | fromYaml).storageClassName | default "" -}}
{{- if ne $oldClass $newClass -}}
{{- $describe := dict "old" (ternary "no class (the cluster default)" (printf "StorageClass %q" $oldClass) (eq $oldClass "")) "new" (ternary "the cluster default" (printf "%q" $newClass) (eq $newClass "")) -}}
{{- fail (printf "persistence.storageClass: StatefulSet %s/%s was installed with %s; a volume cannot change class, and volumeClaimTemplates are immutable. Keep persistence.storageClass and global.storageClass as installed. To move the data to %s: %s" $ns $name $describe.old $describe.new .migrate) -}}
{{- end -}}
{{- $oldModes := $old.spec.accessModes | default list | sortAlpha | join "," -}}
{{- $newModes := $p.accessModes | sortAlpha | join "," -}}
{{- if ne $oldModes $newModes -}}
{{- fail (printf "persistence.accessModes: StatefulSet %s/%s was installed with [%s]; volumeClaimTemplates are immutable. Keep persistence.accessModes at [%s]. To change them: %s" $ns $name $oldModes $oldModes .migrate) -}}
{{- end -}}
{{- $oldAnn := $old.metadata.annotations | default dict -}}
{{- if ne (toJson $oldAnn) (toJson ($p.annotations | default dict)) -}}
{{- fail (printf "persistence.annotations: StatefulSet %s/%s was installed with volumeClaimTemplate annotations %s; they are immutable. Keep persistence.annotations as installed, annotate the PVC directly (kubectl -n %s annotate pvc %s ...), or %s and upgrade again to re-create the StatefulSet with the new template." $ns $name (toJson $oldAnn) $ns $pvc $orphan) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
