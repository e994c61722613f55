{{/*
Chart name, truncated to the 63 characters Kubernetes allows in names.
*/}}
{{- define "tigo-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release name, plus the chart name unless the release already has it.
*/}}
{{- define "tigo-exporter.fullname" -}}
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

{{- define "tigo-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "tigo-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "tigo-exporter.labels" -}}
helm.sh/chart: {{ include "tigo-exporter.chart" . }}
{{ include "tigo-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "tigo-exporter.name" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the exporter's pods (and the Service the ServiceMonitor selects).
*/}}
{{- define "tigo-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tigo-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The headless Service that governs the StatefulSet of shards (pod DNS names); never scraped.
*/}}
{{- define "tigo-exporter.headlessServiceName" -}}
{{- include "tigo-exporter.fullname" . | trunc 54 | trimSuffix "-" }}-headless
{{- end }}

{{/*
The label key that marks the headless Service, so the ServiceMonitor can leave it out.
*/}}
{{- define "tigo-exporter.headlessLabel" -}}
tigo-exporter/headless
{{- end }}

{{/*
Labels of the `helm test` pod, which must not match the exporter's selector.
*/}}
{{- define "tigo-exporter.testLabels" -}}
helm.sh/chart: {{ include "tigo-exporter.chart" . }}
app.kubernetes.io/name: {{ include "tigo-exporter.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tigo-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tigo-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tigo-exporter.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{/*
True ("true") when the exporter runs as a StatefulSet of shards.
*/}}
{{- define "tigo-exporter.sharded" -}}
{{- if gt (int .Values.shards) 1 }}true{{ end }}
{{- end }}

{{/*
The Secret holding the credentials: the user's own (existingSecret.name) or the chart's.
*/}}
{{- define "tigo-exporter.secretName" -}}
{{- if .Values.existingSecret.name }}
{{- .Values.existingSecret.name }}
{{- else }}
{{- include "tigo-exporter.fullname" . }}
{{- end }}
{{- end }}

{{/*
How the exporter logs in: "demo" (embedded simulator), "token" (bearer token file) or "password"
(username from the Secret, password file).
*/}}
{{- define "tigo-exporter.auth" -}}
{{- if .Values.demo }}demo
{{- else if .Values.existingSecret.name }}{{ if .Values.existingSecret.tokenKey }}token{{ else }}password{{ end }}
{{- else if .Values.tigo.token }}token
{{- else }}password
{{- end }}
{{- end }}

{{/*
The Secret key holding the token: the user's tokenKey, or "token" in the chart's own Secret.
*/}}
{{- define "tigo-exporter.tokenKey" -}}
{{- .Values.existingSecret.tokenKey | default "token" }}
{{- end }}

{{/*
Requests a minute each pod may spend: the account's budget split evenly between the shards.
*/}}
{{- define "tigo-exporter.rateLimit" -}}
{{- $shards := int .Values.shards | max 1 }}
{{- $perPod := div (int .Values.tigo.rateLimit) $shards }}
{{- if lt $perPod 1 }}
{{- fail (printf "tigo.rateLimit (%d) must be at least shards (%d): each shard needs one request a minute" (int .Values.tigo.rateLimit) $shards) }}
{{- end }}
{{- $perPod }}
{{- end }}

{{/*
The claim holding the state file of the single pod: the user's existing one or the chart's.
*/}}
{{- define "tigo-exporter.stateClaimName" -}}
{{- .Values.state.persistence.existingClaim | default (printf "%s-state" (include "tigo-exporter.fullname" . | trunc 57 | trimSuffix "-")) }}
{{- end }}

{{/*
The state volume's claim spec (the chart's own claim, or each shard's from volumeClaimTemplates).
*/}}
{{- define "tigo-exporter.stateClaimSpec" -}}
accessModes:
  {{- toYaml .Values.state.persistence.accessModes | nindent 2 }}
{{- with .Values.state.persistence.storageClass }}
storageClassName: {{ . | quote }}
{{- end }}
resources:
  requests:
    storage: {{ .Values.state.persistence.size | quote }}
{{- end }}

{{/*
The exporter's container, shared by the Deployment and the StatefulSet.
*/}}
{{- define "tigo-exporter.podSpec" -}}
serviceAccountName: {{ include "tigo-exporter.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.extraInitContainers }}
initContainers:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .Chart.Name }}
    image: {{ include "tigo-exporter.image" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      - --web.listen-address=:{{ .Values.containerPort }}
      - --web.telemetry-path={{ .Values.telemetryPath }}
      {{- $auth := include "tigo-exporter.auth" . }}
      {{- if eq $auth "demo" }}
      - --demo
      {{- else }}
      {{- if eq $auth "token" }}
      - --tigo.token-file={{ .Values.secretMountPath }}/token
      {{- else }}
      - --tigo.password-file={{ .Values.secretMountPath }}/password
      {{- end }}
      {{- with .Values.tigo.apiUrl }}
      - --tigo.api-url={{ . }}
      {{- end }}
      {{- end }}
      - --tigo.rate-limit={{ include "tigo-exporter.rateLimit" . }}
      {{- if include "tigo-exporter.sharded" . }}
      - --shard.count={{ int .Values.shards }}
      {{- end }}
      {{- with .Values.tigo.systems }}
      {{- /* Helm reads YAML numbers as float64: print ids as integers, never as 1.2e+06. */}}
      {{- $ids := list }}
      {{- range . }}
      {{- $ids = append $ids (printf "%d" (int64 .)) }}
      {{- end }}
      - --tigo.systems={{ join "," $ids }}
      {{- end }}
      {{- if .Values.state.enabled }}
      - --storage.path={{ .Values.state.mountPath }}
      {{- end }}
      - --log.level={{ .Values.log.level }}
      - --log.format={{ .Values.log.format }}
      {{- range .Values.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    {{- with include "tigo-exporter.env" . }}
    env:
      {{- . | trim | nindent 6 }}
    {{- end }}
    ports:
      - name: http
        containerPort: {{ .Values.containerPort }}
        protocol: TCP
    {{- with .Values.livenessProbe }}
    livenessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.readinessProbe }}
    readinessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.startupProbe }}
    startupProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.securityContext }}
    securityContext:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if not .Values.demo }}
      - name: credentials
        mountPath: {{ .Values.secretMountPath }}
        readOnly: true
      {{- end }}
      {{- if .Values.state.enabled }}
      - name: state
        mountPath: {{ .Values.state.mountPath }}
      {{- end }}
      {{- with .Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
  {{- if not .Values.demo }}
  - name: credentials
    secret:
      secretName: {{ include "tigo-exporter.secretName" . }}
      # 0440 in decimal: octal literals read differently in YAML 1.1 and 1.2.
      defaultMode: 288
      items:
        {{- if eq (include "tigo-exporter.auth" .) "token" }}
        - key: {{ include "tigo-exporter.tokenKey" . }}
          path: token
        {{- else }}
        - key: {{ .Values.existingSecret.passwordKey }}
          path: password
        {{- end }}
  {{- end }}
  {{- if .Values.state.enabled }}
  {{- if not .Values.state.persistence.enabled }}
  - name: state
    emptyDir:
      sizeLimit: {{ .Values.state.sizeLimit }}
  {{- else if not (include "tigo-exporter.sharded" .) }}
  - name: state
    persistentVolumeClaim:
      claimName: {{ include "tigo-exporter.stateClaimName" . }}
  {{- end }}
  {{- /* Persistent with shards: each pod's claim comes from the StatefulSet's volumeClaimTemplates. */}}
  {{- end }}
  {{- with .Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Environment of the exporter's container: the username from the Secret, the pod name for shards.
*/}}
{{- define "tigo-exporter.env" -}}
{{- if eq (include "tigo-exporter.auth" .) "password" }}
- name: TIGO_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "tigo-exporter.secretName" . }}
      key: {{ .Values.existingSecret.usernameKey }}
{{- end }}
{{- if include "tigo-exporter.sharded" . }}
# The exporter takes its shard index from the "-N" suffix of the pod name in HOSTNAME; set here
# so that no hostname setting of the pod can change it.
- name: HOSTNAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod annotations: a checksum of the chart's Secret, so pods roll when the credentials change.
*/}}
{{- define "tigo-exporter.podAnnotations" -}}
{{- if and (not .Values.demo) (not .Values.existingSecret.name) }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
