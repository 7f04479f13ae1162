{{/* The name of every object: fullnameOverride, else the release name if it contains the
chart's name, else <release>-carbonctl. */}}
{{- define "carbonctl.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. The kustomization carries only app.kubernetes.io/name; the others
are Helm's usual ones. */}}
{{- define "carbonctl.labels" -}}
app.kubernetes.io/name: carbonctl
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "carbonctl.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The names of the regions of settings.REGIONS ("denmark=DK,france=FR") that read
ElectricityMaps and so need a token, one per line: not those whose source is "static:...",
"ukci:..." or "watttime:...". */}}
{{- define "carbonctl.tokenRegions" -}}
{{- range $entry := splitList "," (toString .Values.settings.REGIONS) -}}
{{- $parts := splitList "=" $entry -}}
{{- $region := trim (first $parts) -}}
{{- $source := trim (join "=" (rest $parts)) -}}
{{- if and $region (not (hasPrefix "static:" $source)) (not (hasPrefix "ukci:" $source)) (not (hasPrefix "watttime:" $source)) }}
{{ $region }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* checkov's CKV_K8S_21 (default namespace), skipped with its reason. */}}
{{- define "carbonctl.skipNamespaceCheck" -}}
checkov.io/skip1: CKV_K8S_21=The namespace is the release's (helm --namespace); it must be the namespace of the regional Deployments
{{- end -}}
