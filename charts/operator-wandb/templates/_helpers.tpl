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

{{/* The values of the WeightsAndBiases resource: the chart's values without the operator's own. */}}
{{- define "wandb.values" -}}
{{- toYaml (omit .Values "operator") -}}
{{- end -}}
