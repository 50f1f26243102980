{{- define "onf-operator.name" -}}onf-operator{{- end }}

{{- define "onf-operator.fullname" -}}
{{- if contains "onf-operator" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-onf-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{/* Pod selector. app.kubernetes.io/name=onf-operator is also what node NetworkPolicies let reach validator RPC. */}}
{{- define "onf-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "onf-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "onf-operator.labels" -}}
{{ include "onf-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
