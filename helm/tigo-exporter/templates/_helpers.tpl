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
      {{- with include "tigo-exporter.local.args" . }}
      {{- . | trim | nindent 6 }}
      {{- end }}
      - --log.level={{ .Values.log.level }}
      - --log.format={{ .Values.log.format }}
      {{- if include "tigo-exporter.webConfig.enabled" . }}
      - --web.config.file={{ .Values.webConfig.mountPath }}/web-config.yml
      {{- end }}
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
      {{- include "tigo-exporter.webConfig.probe" (dict "root" $ "probe" .) | nindent 6 }}
    {{- end }}
    {{- with .Values.readinessProbe }}
    readinessProbe:
      {{- include "tigo-exporter.webConfig.probe" (dict "root" $ "probe" .) | nindent 6 }}
    {{- end }}
    {{- with .Values.startupProbe }}
    startupProbe:
      {{- include "tigo-exporter.webConfig.probe" (dict "root" $ "probe" .) | nindent 6 }}
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
      {{- with include "tigo-exporter.webConfig.volumeMounts" . }}
      {{- . | trim | nindent 6 }}
      {{- end }}
      {{- if and (include "tigo-exporter.local.enabled" .) (include "tigo-exporter.local.mapping" .) }}
      - name: local-mapping
        mountPath: {{ include "tigo-exporter.local.mountPath" . }}
        readOnly: true
      {{- end }}
      {{- with .Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  {{- if and (include "tigo-exporter.local.enabled" .) .Values.local.sidecar.enabled }}
  {{- include "tigo-exporter.local.sidecar" . | trim | nindent 2 }}
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
  {{- with include "tigo-exporter.webConfig.volumes" . }}
  {{- . | trim | nindent 2 }}
  {{- end }}
  {{- if include "tigo-exporter.local.enabled" . }}
  {{- if include "tigo-exporter.local.mapping" . }}
  - name: local-mapping
    configMap:
      name: {{ include "tigo-exporter.local.configMapName" . }}
      # 0444 in decimal
      defaultMode: 292
  {{- end }}
  {{- if .Values.local.sidecar.enabled }}
  - name: local-tmp
    emptyDir:
      sizeLimit: 16Mi
  {{- end }}
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
Pod annotations: checksums of the chart's Secret and of the mapping file, so pods roll when the
credentials or the mapping change.
*/}}
{{- define "tigo-exporter.podAnnotations" -}}
{{- if and (not .Values.demo) (not .Values.existingSecret.name) }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- if and (include "tigo-exporter.local.enabled" .) (include "tigo-exporter.local.mapping" .) }}
{{- /* The exporter reads the mapping file at start. */}}
checksum/local-mapping: {{ include "tigo-exporter.local.mapping" . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- /* ---- webConfig: the exporter's --web.config.file (TLS, basic auth, headers, rate limit) ---- */}}

{{/*
"true" when the exporter runs with a web config: the chart's Secret (webConfig.config) or the
user's (webConfig.existingSecret). Fails on both, and on settings that need one of them.
*/}}
{{- define "tigo-exporter.webConfig.enabled" -}}
{{- $w := .Values.webConfig }}
{{- if and $w.config $w.existingSecret }}
{{- fail "webConfig.config and webConfig.existingSecret are both set: give the web config one way (config: the chart makes the Secret; existingSecret: yours, key web-config.yml)" }}
{{- end }}
{{- if or $w.config $w.existingSecret }}true
{{- else }}
{{- range $key := list "tls" "basicAuth" "clientCertRequired" "tlsSecrets" "probeAuthorization" }}
{{- if index $w $key }}
{{- fail (printf "webConfig.%s is set but there is no web config: set webConfig.config or webConfig.existingSecret" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tigo-exporter.webConfig.secretName" -}}
{{- .Values.webConfig.existingSecret | default (printf "%s-web-config" (include "tigo-exporter.fullname" . | trunc 52 | trimSuffix "-")) }}
{{- end }}

{{/*
"true" when the listener speaks TLS: the toolkit turns it on when tls_server_config names a
certificate, key, client CA or client auth type (versions alone leave it off).
*/}}
{{- define "tigo-exporter.webConfig.tls" -}}
{{- $w := .Values.webConfig }}
{{- $t := (($w.config | default dict).tls_server_config) | default dict }}
{{- if or $w.tls $w.clientCertRequired $t.cert_file $t.cert $t.key_file $t.key $t.client_ca_file $t.client_ca $t.client_auth_type }}true{{ end }}
{{- end }}

{{- define "tigo-exporter.webConfig.basicAuth" -}}
{{- if or .Values.webConfig.basicAuth ((.Values.webConfig.config | default dict).basic_auth_users) }}true{{ end }}
{{- end }}

{{/*
"true" when every client must show a certificate: the kubelet has none to show.
*/}}
{{- define "tigo-exporter.webConfig.clientCertRequired" -}}
{{- $t := ((.Values.webConfig.config | default dict).tls_server_config) | default dict }}
{{- if or .Values.webConfig.clientCertRequired (has ($t.client_auth_type | default "") (list "RequireAnyClientCert" "RequireClientCert" "RequireAndVerifyClientCert")) }}true{{ end }}
{{- end }}

{{/*
How the kubelet reaches the probe endpoints: "http" (no web config, or one without TLS and auth),
"https" (TLS; basic auth answered with webConfig.probeAuthorization), or "tcp" (a client
certificate is required, or basic auth without probeAuthorization: an httpGet probe would get
401 and the pod would never be ready; the kubelet cannot read a header from a Secret).
*/}}
{{- define "tigo-exporter.webConfig.probeMode" -}}
{{- $auth := include "tigo-exporter.webConfig.basicAuth" . }}
{{- if and .Values.webConfig.probeAuthorization (not $auth) }}
{{- fail "webConfig.probeAuthorization is set but the web config has no basic_auth_users (with existingSecret: set webConfig.basicAuth: true)" }}
{{- end }}
{{- if not (include "tigo-exporter.webConfig.enabled" .) }}http
{{- else if or (include "tigo-exporter.webConfig.clientCertRequired" .) (and $auth (not .Values.webConfig.probeAuthorization)) }}tcp
{{- else if include "tigo-exporter.webConfig.tls" . }}https
{{- else }}http
{{- end }}
{{- end }}

{{/*
A probe of the values, fitted to the web config: HTTPS when TLS is on, the Authorization header
with basic auth, or a tcpSocket probe on the same port (see probeMode). Probes without httpGet
(the user's own exec or tcpSocket) are left as given. Called with (dict "root" $ "probe" ...).
*/}}
{{- define "tigo-exporter.webConfig.probe" -}}
{{- $probe := deepCopy .probe }}
{{- $mode := include "tigo-exporter.webConfig.probeMode" .root }}
{{- if $probe.httpGet }}
{{- if eq $mode "tcp" }}
{{- $_ := set $probe "tcpSocket" (dict "port" $probe.httpGet.port) }}
{{- $_ = unset $probe "httpGet" }}
{{- else }}
{{- if eq $mode "https" }}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" }}
{{- end }}
{{- with .root.Values.webConfig.probeAuthorization }}
{{- $headers := append ($probe.httpGet.httpHeaders | default list) (dict "name" "Authorization" "value" .) }}
{{- $_ := set $probe.httpGet "httpHeaders" $headers }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $probe }}
{{- end }}

{{/*
The web config's volume mounts: its Secret as a directory (no subPath: a subPath mount is never
updated, and the exporter follows the file's changes) and the tlsSecrets.
*/}}
{{- define "tigo-exporter.webConfig.volumeMounts" -}}
{{- if include "tigo-exporter.webConfig.enabled" . }}
- name: web-config
  mountPath: {{ .Values.webConfig.mountPath }}
  readOnly: true
{{- range $i, $s := .Values.webConfig.tlsSecrets }}
- name: web-tls-{{ $i }}
  mountPath: {{ required (printf "webConfig.tlsSecrets[%d].mountPath is required" $i) $s.mountPath }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{- define "tigo-exporter.webConfig.volumes" -}}
{{- if include "tigo-exporter.webConfig.enabled" . }}
- name: web-config
  secret:
    secretName: {{ include "tigo-exporter.webConfig.secretName" . }}
    defaultMode: 288
    items:
      - key: web-config.yml
        path: web-config.yml
{{- range $i, $s := .Values.webConfig.tlsSecrets }}
- name: web-tls-{{ $i }}
  secret:
    secretName: {{ required (printf "webConfig.tlsSecrets[%d].name is required" $i) $s.name }}
    defaultMode: 288
{{- end }}
{{- end }}
{{- end }}

{{/*
"true" when the exporter answers plain HTTP without credentials (no web config, or one with only
headers and a rate limit): what the busybox `helm test` pod can check.
*/}}
{{- define "tigo-exporter.webConfig.plainHttp" -}}
{{- if not (or (include "tigo-exporter.webConfig.tls" .) (include "tigo-exporter.webConfig.basicAuth" .)) }}true{{ end }}
{{- end }}

{{- /* ---- local: the Tigo bus read with taptap (--local.*, docs/LOCAL.md) ---- */}}

{{/*
The addresses the exporter reads taptap's lines from, one a line: local.taptap.address (a string
or a list), then the sidecar's loopback port.
*/}}
{{- define "tigo-exporter.local.addresses" -}}
{{- $a := .Values.local.taptap.address }}
{{- $list := list }}
{{- if kindIs "string" $a }}
{{- if $a }}{{ $list = list $a }}{{ end }}
{{- else if $a }}
{{- $list = $a }}
{{- end }}
{{- if .Values.local.sidecar.enabled }}
{{- $list = append $list (printf "127.0.0.1:%d" (int .Values.local.sidecar.port)) }}
{{- end }}
{{- join "\n" $list }}
{{- end }}

{{/*
"true" when the exporter reads a local bus: a command, an address or the sidecar. One pod per bus:
with shards every pod would read the whole bus and serve the nodes of other shards' systems (and
every unmatched node) again in system 0.
*/}}
{{- define "tigo-exporter.local.enabled" -}}
{{- if or .Values.local.taptap.command (include "tigo-exporter.local.addresses" .) }}
{{- if include "tigo-exporter.sharded" . }}
{{- fail "local.* reads one site's bus from one pod: with shards > 1 every shard would read it and serve its nodes again; run the bus in a release of one pod (shards: 1)" }}
{{- end }}
{{- if and .Values.local.sidecar.enabled (not .Values.local.sidecar.image.repository) }}
{{- fail "local.sidecar.enabled needs local.sidecar.image.repository: an image with taptap (and socat, say); none is published, see values.yaml" }}
{{- end }}
{{- if and .Values.local.sidecar.enabled (eq .Values.local.sidecar.name .Chart.Name) }}
{{- fail (printf "local.sidecar.name must differ from the exporter's container name %s" .Chart.Name) }}
{{- end }}
true
{{- else if or .Values.local.mappingFile .Values.local.staleAfter }}
{{- fail "local.mappingFile and local.staleAfter need a local source: set local.taptap.command, local.taptap.address or local.sidecar.enabled" }}
{{- end }}
{{- end }}

{{/*
The mapping file's content: the text as given, or the YAML of a map.
*/}}
{{- define "tigo-exporter.local.mapping" -}}
{{- $m := .Values.local.mappingFile }}
{{- if kindIs "string" $m }}{{ $m }}
{{- else if $m }}{{ toYaml $m }}
{{- end }}
{{- end }}

{{- define "tigo-exporter.local.configMapName" -}}
{{- include "tigo-exporter.fullname" . | trunc 57 | trimSuffix "-" }}-local
{{- end }}

{{- define "tigo-exporter.local.mountPath" -}}
/etc/tigo-exporter/local
{{- end }}

{{/*
The exporter's --local.* arguments, as YAML list items.
*/}}
{{- define "tigo-exporter.local.args" -}}
{{- if include "tigo-exporter.local.enabled" . }}
{{- with .Values.local.taptap.command }}
- {{ printf "--local.taptap.command=%s" . | quote }}
{{- end }}
{{- range compact (splitList "\n" (include "tigo-exporter.local.addresses" .)) }}
- {{ printf "--local.taptap.address=%s" . | quote }}
{{- end }}
{{- if include "tigo-exporter.local.mapping" . }}
- --local.mapping-file={{ include "tigo-exporter.local.mountPath" . }}/mapping.yaml
{{- end }}
{{- with .Values.local.staleAfter }}
- --local.stale-after={{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The TCP ports the pod reaches for the bus: the converter's (local.taptap.command or the sidecar
run taptap here) and those of the non-loopback local.taptap.address values, one a line.
*/}}
{{- define "tigo-exporter.local.egressPorts" -}}
{{- $ports := list }}
{{- if or .Values.local.taptap.command .Values.local.sidecar.enabled }}
{{- range .Values.networkPolicy.localPorts }}{{ $ports = append $ports (int .) }}{{ end }}
{{- end }}
{{- $a := .Values.local.taptap.address }}
{{- $list := kindIs "string" $a | ternary (compact (list $a)) ($a | default list) }}
{{- range $list }}
{{- if and (not (hasPrefix "unix:" .)) (not (regexMatch "^(127\\.[0-9.]+|localhost|\\[::1\\]):[0-9]+$" .)) }}
{{- $ports = append $ports (regexFind "[0-9]+$" . | int) }}
{{- end }}
{{- end }}
{{- $ports | uniq | join "\n" }}
{{- end }}

{{/*
The sidecar that runs taptap and serves its lines on 127.0.0.1:local.sidecar.port (an example:
the image is the user's), as a YAML list item of the pod's containers.
*/}}
{{- define "tigo-exporter.local.sidecar" -}}
{{- $s := .Values.local.sidecar }}
- name: {{ $s.name }}
  image: {{ printf "%s%s" $s.image.repository (ternary (printf ":%s" $s.image.tag) "" (ne $s.image.tag "")) | quote }}
  imagePullPolicy: {{ $s.image.pullPolicy }}
  {{- with $s.command }}
  command:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.args }}
  args:
    {{- range . }}
    - {{ tpl (toString .) $ | quote }}
    {{- end }}
  {{- end }}
  {{- with $s.env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with ($s.securityContext | default .Values.securityContext) }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: local-tmp
      mountPath: /tmp
{{- end }}
