{{/*
The chart name, or nameOverride; trimmed to the 63 characters of a label value.
*/}}
{{- define "hyperagent-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: fullnameOverride, or the release name when it already
contains the chart name, else "<release>-<chart name>". Also the name of the leader Lease.
*/}}
{{- define "hyperagent-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "hyperagent-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the operator pods; they never change across upgrades.
*/}}
{{- define "hyperagent-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hyperagent-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels on every resource of the chart.
*/}}
{{- define "hyperagent-operator.labels" -}}
helm.sh/chart: {{ include "hyperagent-operator.chart" . }}
{{ include "hyperagent-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: hyperagent
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The ServiceAccount the operator runs as.
*/}}
{{- define "hyperagent-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hyperagent-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator image: repository and tag, the tag defaulting to the chart's appVersion.
*/}}
{{- define "hyperagent-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Fails the render on lease timings the operator would refuse at start-up: it needs
leaseDuration > renewDeadline > retryPeriod (the schema checks each alone, not their order).
*/}}
{{- define "hyperagent-operator.validate" -}}
{{- $le := .Values.leaderElection }}
{{- if $le.enabled }}
{{- if not (gt (int $le.renewDeadline) (int $le.retryPeriod)) }}
{{- fail "leaderElection.renewDeadline must exceed leaderElection.retryPeriod" }}
{{- end }}
{{- if not (gt (int $le.leaseDuration) (int $le.renewDeadline)) }}
{{- fail "leaderElection.leaseDuration must exceed leaderElection.renewDeadline" }}
{{- end }}
{{- end }}
{{- end }}
