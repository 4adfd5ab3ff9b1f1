{{/* Name of the operator's objects. */}}
{{- define "operator.name" -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "operator.serviceAccountName" -}}
{{- default (include "operator.name" .) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "operator.labels" -}}
app.kubernetes.io/name: wandb-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "operator.selectorLabels" -}}
app.kubernetes.io/name: wandb-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.operator.image.tag -}}
{{- if .Values.operator.image.digest -}}
{{ .Values.operator.image.repository }}@{{ .Values.operator.image.digest }}
{{- else -}}
{{ .Values.operator.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/*
  The values of the WeightsAndBiases resource: the chart's values without
  the operator's own, and only where they differ from the W&B defaults
  (files/wandb-defaults.yaml, which the operator has built in too), so that
  `kubectl describe` and `kubectl get -o yaml` show what was set. A default
  the user deleted (`key: null`, which Helm removes) is written as null,
  which deletes it in the operator's merge as well.
*/}}
{{- define "wandb.values" -}}
{{- $defaults := .Files.Get "files/wandb-defaults.yaml" | fromYaml -}}
{{- $changed := dict -}}
{{- $_ := include "wandb.changed" (dict "values" (omit .Values "operator") "defaults" $defaults "out" $changed) -}}
{{- toYaml $changed -}}
{{- end -}}

{{/*
  Sets into .out the entries of .values that differ from .defaults,
  recursively (a dict is passed by reference: values keep their types).
*/}}
{{- define "wandb.changed" -}}
{{- $defaults := .defaults -}}
{{- $values := .values -}}
{{- $out := .out -}}
{{- range $key, $value := $values -}}
{{- $default := index $defaults $key -}}
{{- if not (hasKey $defaults $key) -}}
{{- $_ := set $out $key $value -}}
{{- else if and (kindIs "map" $value) (kindIs "map" $default) -}}
{{- $sub := dict -}}
{{- $_ := include "wandb.changed" (dict "values" $value "defaults" $default "out" $sub) -}}
{{- if $sub -}}
{{- $_ := set $out $key $sub -}}
{{- end -}}
{{- else if ne (toJson $value) (toJson $default) -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- range $key, $default := $defaults -}}
{{- if not (hasKey $values $key) -}}
{{- $_ := set $out $key nil -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* global.size as the operator checks it: a built-in size, or one that a
service's sizing defines (which a values schema cannot express, so it is
checked here), else the install fails naming the key, as the operator would
refuse it. The built-in sizes are crates/values' KNOWN_SIZES. */}}
{{- define "wandb.checkSize" -}}
{{- $size := toString (default "" .Values.global.size) -}}
{{- $known := list "small" "medium" "large" "xlarge" "xxlarge" "testing" -}}
{{- if and $size (not (has $size $known)) (not (contains "{{" $size)) -}}
{{- $defined := false -}}
{{- range $key, $service := .Values -}}
{{- if and (kindIs "map" $service) (kindIs "map" $service.sizing) (hasKey (default dict $service.sizing) $size) -}}
{{- $defined = true -}}
{{- end -}}
{{- end -}}
{{- if not $defined -}}
{{- fail (printf "global.size: %q is not a known size (small, medium, large, xlarge, xxlarge) nor one a service's sizing defines" $size) -}}
{{- end -}}
{{- end -}}
{{- end -}}
