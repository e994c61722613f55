'use strict';
// Renders the Helm chart with the Go renderer (tools/chart-render: text/template + sprig, as Helm)
// in every values combination the chart supports, validates each manifest against the Kubernetes
// API schemas offline (kubernetes-models, @kubernetes-models/prometheus-operator), checks the
// keys those schemas let through, and asserts what the chart promises: restricted security
// context, probes, secrets referenced and never inlined, the ServiceMonitor selecting the
// Service, StatefulSet shards with a divided rate limit. Also validates values against
// values.schema.json.
//
// Usage: node chart_test.js RENDERER CHART_DIR VALUES_DIR
// (NODE_PATH must reach the npm packages that CTest installs from package-lock.json.)

const assert = require('assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const YAML = require('yaml');
const Ajv = require('ajv');

const [renderer, chartDir, valuesDir] = process.argv.slice(2);
if (!renderer || !chartDir || !valuesDir) {
  console.error('usage: node chart_test.js RENDERER CHART_DIR VALUES_DIR');
  process.exit(2);
}
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tigo-chart-test-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

// ---- a tiny harness: one line per check, then "N passed, N failed" -----------------------------
let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL: ${name}\n  ${String(e && e.message ? e.message : e).split('\n').join('\n  ')}`);
  }
}

// ---- rendering ---------------------------------------------------------------------------------
let renderCount = 0;
function render({ files = [], values = null, set = [], chart = chartDir, release = 'tigo', namespace = 'monitoring' } = {}) {
  const args = ['--name', release, '--namespace', namespace, '--notes'];
  for (const f of files) args.push('-f', path.resolve(valuesDir, f));
  if (values) {
    const f = path.join(scratch, `values-${++renderCount}.yaml`);
    fs.writeFileSync(f, YAML.stringify(values));
    args.push('-f', f);
  }
  for (const s of set) args.push('--set', s);
  const valuesJson = path.join(scratch, `merged-${++renderCount}.json`);
  args.push('--values-json', valuesJson, chart);
  const r = spawnSync(renderer, args, { encoding: 'utf8' });
  const out = { status: r.status, stderr: r.stderr, stdout: r.stdout, docs: [], notes: '' };
  if (fs.existsSync(valuesJson)) out.values = JSON.parse(fs.readFileSync(valuesJson, 'utf8'));
  if (r.status !== 0) return out;
  const [manifests, notes = ''] = r.stdout.split('\nNOTES:\n');
  out.notes = notes;
  for (const chunk of manifests.split(/^---\n/m)) {
    if (!chunk.trim()) continue;
    const m = chunk.match(/^# Source: (.*)\n/);
    assert.ok(m, `document without a "# Source:" line:\n${chunk.slice(0, 200)}`);
    // yaml 2 rejects duplicate keys and bad indentation: both are template bugs.
    const doc = YAML.parseDocument(chunk, { uniqueKeys: true, strict: true });
    if (doc.errors.length) throw new Error(`${m[1]}: YAML error: ${doc.errors[0].message}`);
    out.docs.push({ source: m[1], text: chunk, obj: doc.toJS() });
  }
  return out;
}

function mustRender(opts) {
  const r = render(opts);
  if (r.status !== 0) throw new Error(`render failed (${r.status}): ${r.stderr.trim()}`);
  return r;
}

const find = (r, kind, name) => r.docs.map((d) => d.obj).filter((o) => o.kind === kind && (!name || o.metadata.name === name));
function one(r, kind) {
  const all = find(r, kind);
  assert.equal(all.length, 1, `expected exactly one ${kind}, found ${all.length}`);
  return all[0];
}
const workload = (r) => [...find(r, 'Deployment'), ...find(r, 'StatefulSet')];
const exporterContainer = (w) => w.spec.template.spec.containers.find((c) => c.name === 'tigo-exporter');

// ---- schema validation with kubernetes-models ---------------------------------------------------
const MODELS = {
  'v1/Service': () => require('kubernetes-models/v1/Service').Service,
  'v1/ServiceAccount': () => require('kubernetes-models/v1/ServiceAccount').ServiceAccount,
  'v1/Secret': () => require('kubernetes-models/v1/Secret').Secret,
  'v1/ConfigMap': () => require('kubernetes-models/v1/ConfigMap').ConfigMap,
  'v1/Pod': () => require('kubernetes-models/v1/Pod').Pod,
  'v1/PersistentVolumeClaim': () => require('kubernetes-models/v1/PersistentVolumeClaim').PersistentVolumeClaim,
  'apps/v1/Deployment': () => require('kubernetes-models/apps/v1/Deployment').Deployment,
  'apps/v1/StatefulSet': () => require('kubernetes-models/apps/v1/StatefulSet').StatefulSet,
  'networking.k8s.io/v1/NetworkPolicy': () => require('kubernetes-models/networking.k8s.io/v1/NetworkPolicy').NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': () =>
    require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': () =>
    require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule').PrometheusRule,
};

// The schemas accept unknown keys, so a misspelled key would pass them silently: the keys the
// chart writes are checked here against the API's field names.
const KEYS = {
  podSpec: ['serviceAccountName', 'automountServiceAccountToken', 'imagePullSecrets', 'priorityClassName',
    'securityContext', 'initContainers', 'containers', 'volumes', 'nodeSelector', 'affinity', 'tolerations',
    'topologySpreadConstraints', 'restartPolicy'],
  container: ['name', 'image', 'imagePullPolicy', 'command', 'args', 'env', 'ports', 'livenessProbe',
    'readinessProbe', 'startupProbe', 'resources', 'securityContext', 'volumeMounts'],
  podSecurityContext: ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'fsGroup', 'seccompProfile',
    'supplementalGroups', 'fsGroupChangePolicy'],
  securityContext: ['allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'runAsNonRoot', 'runAsUser',
    'runAsGroup', 'capabilities', 'seccompProfile', 'privileged'],
  probe: ['httpGet', 'tcpSocket', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold',
    'initialDelaySeconds'],
  httpGet: ['path', 'port', 'scheme', 'httpHeaders', 'host'],
  deploymentSpec: ['replicas', 'revisionHistoryLimit', 'strategy', 'selector', 'template'],
  statefulSetSpec: ['replicas', 'serviceName', 'podManagementPolicy', 'revisionHistoryLimit',
    'updateStrategy', 'selector', 'template', 'volumeClaimTemplates'],
  claimSpec: ['accessModes', 'storageClassName', 'resources'],
  serviceSpec: ['type', 'clusterIP', 'publishNotReadyAddresses', 'ports', 'selector'],
  servicePort: ['name', 'port', 'targetPort', 'protocol'],
  serviceMonitorSpec: ['endpoints', 'namespaceSelector', 'selector', 'targetLabels', 'jobLabel'],
  endpoint: ['port', 'path', 'scheme', 'interval', 'scrapeTimeout', 'tlsConfig', 'basicAuth', 'relabelings',
    'metricRelabelings'],
  ruleGroup: ['name', 'interval', 'rules', 'limit'],
  rule: ['alert', 'record', 'expr', 'for', 'labels', 'annotations', 'keep_firing_for'],
  networkPolicySpec: ['podSelector', 'policyTypes', 'ingress', 'egress'],
  metadata: ['name', 'namespace', 'labels', 'annotations'],
};
function keysIn(obj, allowed, where) {
  for (const k of Object.keys(obj || {})) {
    assert.ok(allowed.includes(k), `${where}: unexpected key "${k}" (misspelled?)`);
  }
}

function checkStructure(o, where) {
  keysIn(o.metadata, KEYS.metadata, `${where} metadata`);
  const pod = o.kind === 'Pod' ? o.spec : o.spec && o.spec.template && o.spec.template.spec;
  if (pod) {
    keysIn(pod, KEYS.podSpec, `${where} pod spec`);
    keysIn(pod.securityContext, KEYS.podSecurityContext, `${where} pod securityContext`);
    for (const c of pod.containers) {
      keysIn(c, KEYS.container, `${where} container ${c.name}`);
      keysIn(c.securityContext, KEYS.securityContext, `${where} container ${c.name} securityContext`);
      for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        keysIn(c[p], KEYS.probe, `${where} ${p}`);
        if (c[p] && c[p].httpGet) keysIn(c[p].httpGet, KEYS.httpGet, `${where} ${p}.httpGet`);
      }
    }
  }
  if (o.kind === 'Deployment') keysIn(o.spec, KEYS.deploymentSpec, `${where} spec`);
  if (o.kind === 'StatefulSet') keysIn(o.spec, KEYS.statefulSetSpec, `${where} spec`);
  if (o.kind === 'PersistentVolumeClaim') keysIn(o.spec, KEYS.claimSpec, `${where} spec`);
  for (const t of (o.kind === 'StatefulSet' && o.spec.volumeClaimTemplates) || []) keysIn(t.spec, KEYS.claimSpec, `${where} claim template`);
  if (o.kind === 'Service') {
    keysIn(o.spec, KEYS.serviceSpec, `${where} spec`);
    for (const p of o.spec.ports) keysIn(p, KEYS.servicePort, `${where} port`);
  }
  if (o.kind === 'NetworkPolicy') keysIn(o.spec, KEYS.networkPolicySpec, `${where} spec`);
  if (o.kind === 'ServiceMonitor') {
    // The CRD, structurally: what the Prometheus Operator needs to generate a scrape config.
    keysIn(o.spec, KEYS.serviceMonitorSpec, `${where} spec`);
    assert.ok(Array.isArray(o.spec.endpoints) && o.spec.endpoints.length > 0, `${where}: no endpoints`);
    for (const e of o.spec.endpoints) {
      keysIn(e, KEYS.endpoint, `${where} endpoint`);
      assert.equal(typeof e.port, 'string', `${where}: endpoint port must be the Service port's name`);
      for (const d of ['interval', 'scrapeTimeout']) {
        if (e[d] !== undefined) assert.match(e[d], /^(\d+(ms|s|m|h))+$/, `${where}: ${d} "${e[d]}" is no duration`);
      }
    }
    assert.ok(o.spec.selector && o.spec.selector.matchLabels, `${where}: no selector.matchLabels`);
  }
  if (o.kind === 'PrometheusRule') {
    assert.ok(Array.isArray(o.spec.groups) && o.spec.groups.length > 0, `${where}: no groups`);
    const names = new Set();
    for (const g of o.spec.groups) {
      keysIn(g, KEYS.ruleGroup, `${where} group`);
      assert.ok(g.name && !names.has(g.name), `${where}: group name "${g.name}" empty or repeated`);
      names.add(g.name);
      assert.ok(Array.isArray(g.rules) && g.rules.length > 0, `${where}: group ${g.name} has no rules`);
      for (const rule of g.rules) {
        keysIn(rule, KEYS.rule, `${where} rule`);
        assert.ok(!!rule.alert !== !!rule.record, `${where}: a rule needs exactly one of alert/record`);
        assert.equal(typeof rule.expr, 'string', `${where}: rule ${rule.alert || rule.record} expr`);
      }
    }
  }
}

function validateAll(r, { extraNames = [] } = {}) {
  const seen = new Set();
  for (const d of r.docs) {
    const o = d.obj;
    const where = `${d.source} ${o.kind}/${o.metadata && o.metadata.name}`;
    assert.ok(o.apiVersion && o.kind && o.metadata && o.metadata.name, `${d.source}: apiVersion/kind/metadata.name`);
    const key = `${o.apiVersion}/${o.kind}`;
    assert.ok(MODELS[key], `${where}: unexpected ${key}`);
    const Model = MODELS[key]();
    try {
      new Model(o).validate();
    } catch (e) {
      throw new Error(`${where}: schema: ${e.message}`);
    }
    assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${where}: name is not DNS-1123`);
    assert.ok(o.metadata.name.length <= 63, `${where}: name longer than 63`);
    const id = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
    assert.ok(!seen.has(id), `${where}: rendered twice`);
    seen.add(id);
    assert.ok(!/<no value>|%!/.test(d.text), `${where}: template left "<no value>" or a printf error`);
    assert.ok(!/\d\.\d+e\+\d\d/.test(d.text), `${where}: a number printed in float notation`);
    if (!extraNames.includes(o.metadata.name)) {
      const l = o.metadata.labels || {};
      for (const k of ['helm.sh/chart', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by']) {
        assert.ok(l[k], `${where}: label ${k} missing`);
      }
      assert.ok(o.metadata.namespace, `${where}: no namespace`);
    }
    checkStructure(o, where);
  }
}

// ---- what every pod must satisfy ------------------------------------------------------------
function assertRestricted(podSpec, where) {
  const psc = podSpec.securityContext || {};
  assert.equal(podSpec.hostNetwork || podSpec.hostPID || podSpec.hostIPC || false, false, `${where}: host namespaces`);
  for (const v of podSpec.volumes || []) assert.ok(!v.hostPath, `${where}: hostPath volume ${v.name}`);
  for (const c of [...(podSpec.initContainers || []), ...podSpec.containers]) {
    const sc = c.securityContext || {};
    const w = `${where} container ${c.name}`;
    assert.equal(sc.runAsNonRoot ?? psc.runAsNonRoot, true, `${w}: runAsNonRoot`);
    const uid = sc.runAsUser ?? psc.runAsUser;
    assert.ok(uid === undefined || uid > 0, `${w}: runAsUser 0`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${w}: allowPrivilegeEscalation must be false`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${w}: readOnlyRootFilesystem must be true`);
    assert.notEqual(sc.privileged, true, `${w}: privileged`);
    assert.deepEqual(sc.capabilities && sc.capabilities.drop, ['ALL'], `${w}: capabilities.drop must be [ALL]`);
    assert.ok(!(sc.capabilities && sc.capabilities.add && sc.capabilities.add.length), `${w}: capabilities added`);
    const seccomp = (sc.seccompProfile || psc.seccompProfile || {}).type;
    assert.equal(seccomp, 'RuntimeDefault', `${w}: seccompProfile must be RuntimeDefault`);
    assert.ok(c.resources && c.resources.limits && c.resources.limits.memory, `${w}: no memory limit`);
  }
}

function assertExporterPod(w, { port = 9980 } = {}) {
  const where = `${w.kind}/${w.metadata.name}`;
  const pod = w.spec.template.spec;
  assertRestricted(pod, where);
  assert.equal(pod.automountServiceAccountToken, false, `${where}: service account token mounted`);
  const c = exporterContainer(w);
  assert.ok(c, `${where}: no tigo-exporter container`);
  const http = (c.ports || []).find((p) => p.name === 'http');
  assert.ok(http && http.containerPort === port && http.protocol === 'TCP', `${where}: port http/${port}`);
  assert.ok(c.args.includes(`--web.listen-address=:${port}`), `${where}: listens on :${port}`);
  const probePort = (p) => p.httpGet.port === 'http' || p.httpGet.port === port;
  assert.equal(c.livenessProbe.httpGet.path, '/-/healthy', `${where}: liveness path`);
  assert.ok(probePort(c.livenessProbe), `${where}: liveness port`);
  assert.equal(c.readinessProbe.httpGet.path, '/-/ready', `${where}: readiness path`);
  assert.ok(probePort(c.readinessProbe), `${where}: readiness port`);
  const tmp = (c.volumeMounts || []).find((m) => m.mountPath === '/tmp');
  assert.ok(tmp && pod.volumes.find((v) => v.name === tmp.name && v.emptyDir), `${where}: writable /tmp emptyDir`);
  // Selector must match the pod template, and only labels the chart controls.
  for (const [k, v] of Object.entries(w.spec.selector.matchLabels)) {
    assert.equal(w.spec.template.metadata.labels[k], v, `${where}: selector ${k} does not match the pod`);
  }
  for (const a of c.args) assert.match(a, /^--[a-z]/, `${where}: argument "${a}" is not a flag`);
  return c;
}

const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => (labels || {})[k] === v);

// A metav1.LabelSelector as the API server evaluates it: matchLabels and matchExpressions, ANDed.
function selects(sel, labels = {}) {
  if (!matches(sel.matchLabels || {}, labels)) return false;
  return (sel.matchExpressions || []).every(({ key, operator, values = [] }) => {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (operator) {
      case 'In': return has && values.includes(labels[key]);
      case 'NotIn': return !has || !values.includes(labels[key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: throw new Error(`selector operator ${operator} unknown`);
    }
  });
}

// The release's Service: named like the release (the test pod, NOTES and users reach it by name).
function regularService(r, name = 'tigo-tigo-exporter') {
  const all = find(r, 'Service', name);
  assert.equal(all.length, 1, `expected one Service ${name}, found ${all.length}`);
  return all[0];
}

// The container port a Service port reaches (targetPort by name or number).
function targetContainerPort(svcPort, container) {
  const p = container.ports.find((x) => x.name === svcPort.targetPort || x.containerPort === svcPort.targetPort);
  return p && p.containerPort;
}

// Every Service selects the exporter pods and never the test pod; the regular one has a cluster
// IP, and with shards the StatefulSet's serviceName is a second, headless Service.
function assertServiceSelectsExporterOnly(r, name) {
  const w = workload(r);
  assert.equal(w.length, 1, 'one workload');
  const c = exporterContainer(w[0]);
  for (const svc of find(r, 'Service')) {
    const where = `Service ${svc.metadata.name}`;
    assert.ok(matches(svc.spec.selector, w[0].spec.template.metadata.labels), `${where} selects the exporter pods`);
    for (const p of find(r, 'Pod')) {
      assert.ok(!matches(svc.spec.selector, p.metadata.labels), `${where} also selects pod ${p.metadata.name}`);
    }
    const port = svc.spec.ports.find((p) => p.name === 'http');
    assert.ok(port, `${where}: port named http`);
    assert.equal(targetContainerPort(port, c), c.ports[0].containerPort, `${where} targets the http port`);
  }
  const svc = regularService(r, name);
  assert.notEqual(svc.spec.clusterIP, 'None', 'the regular Service is never headless');
  if (w[0].kind === 'StatefulSet') {
    assert.equal(find(r, 'Service').length, 2, 'the regular and the headless Service');
    const headless = find(r, 'Service', w[0].spec.serviceName)[0];
    assert.ok(headless, `no Service named as the StatefulSet's serviceName ${w[0].spec.serviceName}`);
    assert.notEqual(headless.metadata.name, svc.metadata.name, 'the StatefulSet is governed by a Service of its own');
    assert.equal(headless.spec.clusterIP, 'None', 'the governing Service is headless');
    assert.equal(headless.spec.ports[0].port, c.ports[0].containerPort, 'headless: DNS gives pod IPs, so its port is the pod\'s');
  } else {
    assert.equal(find(r, 'Service').length, 1, 'no headless Service without shards');
  }
  return svc;
}

// Credentials: the Secret holds them (base64), the pod references them, nothing inlines them.
function assertSecretReferenced(r, { secretName, usernameKey = 'username', passwordKey = 'password', password, username,
  mountPath = '/etc/tigo-exporter/secret', chartSecret = !!password }) {
  const w = workload(r)[0];
  const c = exporterContainer(w);
  const pod = w.spec.template.spec;
  const where = `${w.kind}/${w.metadata.name}`;
  assert.ok(c.args.includes(`--tigo.password-file=${mountPath}/password`), `${where}: --tigo.password-file`);
  assert.ok(!c.args.some((a) => /^--tigo\.(password|username)=/.test(a)), `${where}: credential in args`);
  const mount = c.volumeMounts.find((m) => m.mountPath === mountPath);
  assert.ok(mount && mount.readOnly === true, `${where}: credentials mounted read-only at ${mountPath}`);
  const vol = pod.volumes.find((v) => v.name === mount.name);
  assert.ok(vol && vol.secret, `${where}: credentials volume is a Secret`);
  assert.equal(vol.secret.secretName, secretName, `${where}: volume's Secret`);
  assert.deepEqual(vol.secret.items, [{ key: passwordKey, path: 'password' }], `${where}: only the password key is mounted`);
  assert.ok(vol.secret.defaultMode <= 0o440, `${where}: secret file mode ${vol.secret.defaultMode.toString(8)}`);
  const user = c.env.find((e) => e.name === 'TIGO_USERNAME');
  assert.deepEqual(user && user.valueFrom, { secretKeyRef: { name: secretName, key: usernameKey } }, `${where}: TIGO_USERNAME from the Secret`);
  for (const e of c.env) {
    assert.ok(!/PASSWORD|TOKEN/.test(e.name) || e.name === 'TIGO_PASSWORD_FILE', `${where}: env ${e.name} carries a secret`);
  }
  for (const d of r.docs) {
    if (d.obj.kind === 'Secret') continue;
    for (const lit of [password, username].filter(Boolean)) {
      assert.ok(!d.text.includes(lit), `${d.source}: credential inlined outside the Secret`);
      assert.ok(!d.text.includes(Buffer.from(lit).toString('base64')), `${d.source}: base64 credential outside the Secret`);
    }
  }
  if (chartSecret) {
    const s = find(r, 'Secret', secretName)[0];
    assert.ok(s, `Secret ${secretName} rendered`);
    assert.equal(Buffer.from(s.data[passwordKey], 'base64').toString(), password, 'Secret holds the password');
    assert.equal(Buffer.from(s.data[usernameKey], 'base64').toString(), username, 'Secret holds the username');
    assert.ok(!s.stringData, 'no stringData');
    assert.match(w.spec.template.metadata.annotations['checksum/secret'], /^[0-9a-f]{64}$/, 'pods roll on credential change');
  }
}

// fs.cpSync is still experimental in node 18 (Debian 12's): a plain recursive copy.
function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) copyDir(a, b);
    else fs.copyFileSync(a, b);
  }
}

const readValues = (f) => YAML.parse(fs.readFileSync(path.join(valuesDir, f), 'utf8'));
const creds = readValues('credentials.yaml').tigo;

// ---- values.schema.json ------------------------------------------------------------------------
const ajv = new Ajv({ allErrors: true, strict: false });
const schema = JSON.parse(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8'));
const validateValues = ajv.compile(schema);
const schemaErrors = (v) => (validateValues(v) ? '' : ajv.errorsText(validateValues.errors));

check('values.yaml is valid against values.schema.json', () => {
  const v = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  assert.equal(schemaErrors(v), '');
});
check('values.schema.json describes every key of values.yaml (and the schema rejects unknown ones)', () => {
  const v = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  for (const k of Object.keys(v)) assert.ok(schema.properties[k], `values.yaml key ${k} has no schema`);
  assert.equal(schema.additionalProperties, false);
});
check('values.schema.json rejects bad values', () => {
  const base = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  const bad = {
    'shards: 0': { shards: 0 },
    'shards: "3"': { shards: '3' },
    'tigo.rateLimit: 0': { tigo: { ...base.tigo, rateLimit: 0 } },
    'image.pullPolicy: Sometimes': { image: { ...base.image, pullPolicy: 'Sometimes' } },
    'replicaCount (unknown key)': { replicaCount: 2 },
    'tigo.pasword (misspelled)': { tigo: { ...base.tigo, pasword: 'x' } },
    'extraArgs not a flag': { extraArgs: ['refresh'] },
    'serviceMonitor.interval: 60': { serviceMonitor: { ...base.serviceMonitor, interval: 60 } },
    'env TIGO_PASSWORD': { env: [{ name: 'TIGO_PASSWORD', value: 'x' }] },
    'log.format: text': { log: { ...base.log, format: 'text' } },
  };
  for (const [name, patch] of Object.entries(bad)) {
    assert.notEqual(schemaErrors({ ...base, ...patch }), '', `accepted ${name}`);
  }
});

check('the chart-testing values (ci/*-values.yaml) render valid', () => {
  const ci = fs.readdirSync(path.join(chartDir, 'ci')).filter((f) => f.endsWith('-values.yaml'));
  assert.ok(ci.length > 0, 'no ci/*-values.yaml');
  for (const f of ci) {
    const r = mustRender({ files: [path.resolve(chartDir, 'ci', f)] });
    assert.equal(schemaErrors(r.values), '', f);
    validateAll(r);
    assertExporterPod(workload(r)[0]);
  }
});

// ---- default values: credentials are required ---------------------------------------------------
check('default values fail with the `required` message for the username', () => {
  const r = render();
  assert.notEqual(r.status, 0, 'rendered without credentials');
  assert.match(r.stderr, /execution error at \(tigo-exporter\/templates\/secret\.yaml:\d+:\d+\): tigo\.username is required \(or tigo\.token, or existingSecret\.name, or demo: true\)/);
});
check('a username without a password fails with the `required` message for the password', () => {
  const r = render({ values: { tigo: { username: 'alice@example.com' } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /tigo\.password is required/);
});
check('default values are valid against the schema', () => {
  assert.equal(schemaErrors(render().values), '');
});

// ---- credentials --------------------------------------------------------------------------------
check('credentials: a Deployment, Service, ServiceAccount, Secret and test pod, all valid', () => {
  const r = mustRender({ files: ['credentials.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  const kinds = r.docs.map((d) => d.obj.kind).sort();
  assert.deepEqual(kinds, ['Deployment', 'Pod', 'Secret', 'Service', 'ServiceAccount']);
  const d = one(r, 'Deployment');
  assert.equal(d.spec.replicas, 1);
  assert.equal(d.spec.strategy.type, 'Recreate', 'never two pollers on one account');
  assertExporterPod(d);
  const c = exporterContainer(d);
  assert.ok(c.args.includes('--tigo.rate-limit=100'));
  assert.ok(!c.args.includes('--demo'));
  assert.ok(!c.args.some((a) => a.startsWith('--shard.')), 'no shard flags with one pod');
  assert.equal(c.image, 'tigo-exporter:0.1.0', 'image tag defaults to appVersion');
  assert.equal(one(r, 'Service').spec.type, 'ClusterIP');
  assertServiceSelectsExporterOnly(r);
  assertSecretReferenced(r, { secretName: 'tigo-tigo-exporter', password: creds.password, username: creds.username });
});
check('credentials: the helm test pod is restricted and checks /-/ready and /metrics through the Service', () => {
  const r = mustRender({ files: ['credentials.yaml'] });
  const p = one(r, 'Pod');
  assert.equal(p.metadata.annotations['helm.sh/hook'], 'test');
  assertRestricted(p.spec, 'test pod');
  const script = p.spec.containers[0].command.join(' ');
  assert.match(script, /\/-\/ready/);
  assert.match(script, /\/metrics/);
  const svc = one(r, 'Service');
  assert.equal(p.spec.containers[0].env.find((e) => e.name === 'BASE').value,
    `http://${svc.metadata.name}.${svc.metadata.namespace}.svc:${svc.spec.ports[0].port}`);
});
check('credentials: NOTES.txt renders with the release names', () => {
  const r = mustRender({ files: ['credentials.yaml'] });
  assert.match(r.notes, /tigo-tigo-exporter in namespace monitoring/);
  assert.match(r.notes, /port-forward svc\/tigo-tigo-exporter 9980:9980/);
  assert.ok(!r.notes.includes(creds.password));
});

// ---- demo ---------------------------------------------------------------------------------------
check('demo: --demo, no Secret, no credentials anywhere', () => {
  const r = mustRender({ files: ['demo.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  assert.equal(find(r, 'Secret').length, 0);
  const d = one(r, 'Deployment');
  const c = assertExporterPod(d);
  assert.ok(c.args.includes('--demo'));
  assert.ok(!c.args.some((a) => a.startsWith('--tigo.password-file')));
  assert.ok(!(c.env || []).some((e) => e.name === 'TIGO_USERNAME'));
  assert.ok(!d.spec.template.spec.volumes.some((v) => v.secret), 'no secret volume');
  assert.ok(!(d.spec.template.metadata.annotations || {})['checksum/secret']);
  assertServiceSelectsExporterOnly(r);
  assert.match(r.notes, /DEMO MODE/);
});

// ---- existingSecret -----------------------------------------------------------------------------
check('existingSecret: no Secret rendered, the named one referenced with its keys', () => {
  const r = mustRender({ files: ['existing-secret.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  assert.equal(find(r, 'Secret').length, 0);
  assertExporterPod(one(r, 'Deployment'));
  assertSecretReferenced(r, { secretName: 'my-tigo-credentials', usernameKey: 'login', passwordKey: 'secret' });
  assert.ok(!(one(r, 'Deployment').spec.template.metadata.annotations || {})['checksum/secret']);
});
check('existingSecret wins over tigo.username/password (which are then not rendered)', () => {
  const r = mustRender({ files: ['credentials.yaml', 'existing-secret.yaml'] });
  assert.equal(find(r, 'Secret').length, 0);
  assertSecretReferenced(r, { secretName: 'my-tigo-credentials', usernameKey: 'login', passwordKey: 'secret',
    password: creds.password, username: creds.username, chartSecret: false });
});

// ---- a bearer token instead of username and password --------------------------------------------
function assertTokenReferenced(r, { secretName, tokenKey, token }) {
  const w = workload(r)[0];
  const c = exporterContainer(w);
  const pod = w.spec.template.spec;
  const where = `${w.kind}/${w.metadata.name}`;
  assert.ok(c.args.includes('--tigo.token-file=/etc/tigo-exporter/secret/token'), `${where}: --tigo.token-file`);
  assert.ok(!c.args.some((a) => a.startsWith('--tigo.password-file')), `${where}: no password file with a token`);
  assert.ok(!(c.env || []).some((e) => e.name === 'TIGO_USERNAME'), `${where}: no username with a token`);
  const mount = c.volumeMounts.find((m) => m.mountPath === '/etc/tigo-exporter/secret');
  const vol = pod.volumes.find((v) => v.name === mount.name);
  assert.equal(vol.secret.secretName, secretName);
  assert.deepEqual(vol.secret.items, [{ key: tokenKey, path: 'token' }], `${where}: only the token is mounted`);
  if (token) {
    for (const d of r.docs) {
      if (d.obj.kind !== 'Secret') assert.ok(!d.text.includes(token), `${d.source}: token inlined outside the Secret`);
    }
    const s = find(r, 'Secret', secretName)[0];
    assert.deepEqual(Object.keys(s.data), [tokenKey], 'the Secret holds the token only');
    assert.equal(Buffer.from(s.data[tokenKey], 'base64').toString(), token);
  }
}
check('tigo.token: the Secret holds the token, mounted as --tigo.token-file, no username needed', () => {
  const r = mustRender({ files: ['token.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  assertExporterPod(one(r, 'Deployment'));
  assertTokenReferenced(r, { secretName: 'tigo-tigo-exporter', tokenKey: 'token', token: readValues('token.yaml').tigo.token });
});
check('existingSecret.tokenKey: the user\'s token key is mounted as the token file', () => {
  const r = mustRender({ files: ['existing-secret.yaml'], values: { existingSecret: { tokenKey: 'bearer' } } });
  validateAll(r);
  assert.equal(find(r, 'Secret').length, 0);
  assertTokenReferenced(r, { secretName: 'my-tigo-credentials', tokenKey: 'bearer' });
});

// ---- shards -------------------------------------------------------------------------------------
check('shards: 3 gives a StatefulSet of 3 governed by a headless Service, rate limit divided', () => {
  const r = mustRender({ files: ['shards.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  assert.equal(find(r, 'Deployment').length, 0, 'no Deployment with shards');
  const s = one(r, 'StatefulSet');
  const headless = find(r, 'Service', 'tigo-tigo-exporter-headless')[0];
  assert.ok(headless, 'Service tigo-tigo-exporter-headless');
  assert.equal(s.spec.replicas, 3);
  assert.equal(s.spec.serviceName, headless.metadata.name, 'governed by the headless Service');
  assert.equal(headless.spec.clusterIP, 'None');
  assert.equal(s.spec.podManagementPolicy, 'Parallel');
  const c = assertExporterPod(s);
  assert.ok(c.args.includes('--shard.count=3'));
  assert.ok(c.args.includes('--tigo.rate-limit=33'), `floor(100/3) = 33: ${c.args}`);
  assert.ok(!c.args.some((a) => a.startsWith('--shard.index')), 'the index comes from the pod name');
  const pod = c.env.find((e) => e.name === 'HOSTNAME');
  assert.deepEqual(pod && pod.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  assertServiceSelectsExporterOnly(r);
  assertSecretReferenced(r, { secretName: 'tigo-tigo-exporter', password: creds.password, username: creds.username });
  assert.match(r.notes, /3 shards/);
});
check('shards: the regular Service is the same object whatever shards is (spec.clusterIP is immutable)', () => {
  // helm upgrade from 1 to N shards and back patches this Service: any change of clusterIP fails.
  for (const service of [{}, { type: 'NodePort' }, { type: 'LoadBalancer', port: 80 }]) {
    const [one_, three] = [1, 3].map((shards) =>
      regularService(mustRender({ files: ['credentials.yaml'], values: { shards, service } })));
    assert.deepEqual(three, one_, `shards 1 and 3 with service ${JSON.stringify(service)}`);
    assert.equal(three.spec.type, service.type || 'ClusterIP', 'service.type kept with shards');
    assert.equal(three.spec.clusterIP, undefined, 'no clusterIP: the API server assigns one');
    assert.equal(three.spec.ports[0].port, service.port || 9980);
  }
});
check('shards: 3 renders the headless Service as the StatefulSet\'s serviceName, the regular one beside it', () => {
  for (const values of [{}, { service: { type: 'NodePort', port: 80 }, containerPort: 9100 }]) {
    const r = mustRender({ files: ['shards.yaml'], values });
    validateAll(r);
    assertServiceSelectsExporterOnly(r);
    const headless = find(r, 'Service', one(r, 'StatefulSet').spec.serviceName)[0];
    assert.equal(headless.spec.publishNotReadyAddresses, true, 'shards have DNS names before they are ready');
    assert.equal(headless.spec.type, undefined, 'headless has no type but ClusterIP');
  }
});
check('ServiceMonitor: selects the regular Service and not the headless one (no shard scraped twice)', () => {
  for (const [files, values] of [[['shards.yaml'], { serviceMonitor: { enabled: true } }], [['all.yaml'], {}],
    [['shards.yaml'], { serviceMonitor: { enabled: true }, service: { labels: { team: 'solar' } }, commonLabels: { env: 'prod' } }]]) {
    const r = mustRender({ files, values });
    const sm = one(r, 'ServiceMonitor');
    const svc = regularService(r);
    const others = find(r, 'Service').filter((x) => x !== svc);
    assert.equal(others.length, 1, `${files}: a headless Service beside the regular one`);
    assert.ok(selects(sm.spec.selector, svc.metadata.labels), `${files}: ServiceMonitor does not select ${svc.metadata.name}`);
    for (const o of others) {
      assert.ok(!selects(sm.spec.selector, o.metadata.labels), `${files}: ServiceMonitor also selects ${o.metadata.name}`);
    }
  }
});
check('service.port != containerPort: the helm test pod and NOTES reach the exporter, sharded or not', () => {
  for (const values of [{ shards: 3, service: { port: 8080 } }, { shards: 3, service: { port: 80 }, containerPort: 9100 },
    { shards: 1, service: { port: 8080 } }, { shards: 2, service: { port: 8080, type: 'NodePort' } }]) {
    const what = JSON.stringify(values);
    const r = mustRender({ files: ['credentials.yaml'], values });
    validateAll(r);
    const w = workload(r)[0];
    const c = assertExporterPod(w, { port: values.containerPort || 9980 });
    const podPort = c.ports[0].containerPort;
    // The test pod's URL names a Service that translates its port to the pod's.
    const env = one(r, 'Pod').spec.containers[0].env.find((e) => e.name === 'BASE').value;
    const m = env.match(/^http:\/\/([a-z0-9-]+)\.monitoring\.svc:(\d+)$/);
    assert.ok(m, `${what}: BASE ${env}`);
    const svc = find(r, 'Service', m[1])[0];
    assert.ok(svc, `${what}: the test pod calls Service ${m[1]}, not rendered`);
    assert.notEqual(svc.spec.clusterIP, 'None', `${what}: the test pod calls a headless Service: its DNS gives pod IPs, port ${m[2]} unmapped`);
    const sp = svc.spec.ports.find((p) => p.port === Number(m[2]));
    assert.ok(sp, `${what}: Service ${m[1]} has no port ${m[2]}`);
    assert.equal(targetContainerPort(sp, c), podPort, `${what}: port ${m[2]} does not reach the container`);
    // NOTES: port-forward to a pod uses the container's port, to the Service a port of it.
    const pf = r.notes.match(/port-forward (pod|svc)\/(\S+) (\d+):(\d+)/);
    assert.ok(pf, `${what}: no port-forward in NOTES`);
    if (pf[1] === 'pod') {
      assert.match(pf[2], new RegExp(`^${w.metadata.name}-\\d+$`), `${what}: port-forward pod`);
      assert.equal(Number(pf[4]), podPort, `${what}: port-forward to a pod on ${pf[4]}, it listens on ${podPort}`);
    } else {
      const fsvc = find(r, 'Service', pf[2])[0];
      assert.ok(fsvc && fsvc.spec.clusterIP !== 'None', `${what}: port-forward svc/${pf[2]}`);
      assert.ok(fsvc.spec.ports.some((p) => p.port === Number(pf[4])), `${what}: Service ${pf[2]} has no port ${pf[4]}`);
    }
    assert.ok(r.notes.includes(`curl -s http://127.0.0.1:${pf[3]}/metrics`), `${what}: curl the forwarded port ${pf[3]}`);
  }
});
check('shards: the per-pod rate limit is floor(rateLimit / shards) for several splits', () => {
  for (const [limit, shards, want] of [[100, 2, 50], [100, 7, 14], [7, 3, 2], [5, 5, 1], [60, 1, 60]]) {
    const r = mustRender({ files: ['credentials.yaml'], values: { shards, tigo: { rateLimit: limit } } });
    const c = exporterContainer(workload(r)[0]);
    assert.ok(c.args.includes(`--tigo.rate-limit=${want}`), `${limit}/${shards}: ${c.args}`);
    assert.equal(workload(r)[0].kind, shards > 1 ? 'StatefulSet' : 'Deployment');
  }
});
check('shards: more shards than requests a minute fails with a clear message', () => {
  const r = render({ files: ['credentials.yaml'], values: { shards: 4, tigo: { rateLimit: 3 } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /tigo\.rateLimit \(3\) must be at least shards \(4\)/);
});
check('shards with demo: a StatefulSet of demo pods, no Secret', () => {
  const r = mustRender({ files: ['demo.yaml'], values: { shards: 2 } });
  validateAll(r);
  const c = assertExporterPod(one(r, 'StatefulSet'));
  assert.ok(c.args.includes('--demo') && c.args.includes('--shard.count=2'));
  assert.equal(find(r, 'Secret').length, 0);
});

// ---- webConfig: the exporter's --web.config.file ----------------------------------------------------
const webValues = readValues('webconfig.yaml');
const webSecretName = 'tigo-tigo-exporter-web-config';
const probesOf = (c) => ['livenessProbe', 'readinessProbe'].map((p) => [p, c[p]]);
function webConfigOf(r, name = webSecretName) {
  const s = find(r, 'Secret', name)[0];
  assert.ok(s, `Secret ${name} rendered`);
  assert.deepEqual(Object.keys(s.data), ['web-config.yml'], 'the web config Secret holds the file only');
  assert.ok(!s.stringData, 'no stringData');
  return YAML.parse(Buffer.from(s.data['web-config.yml'], 'base64').toString());
}
// The arg names the file in the mounted Secret (a directory mount: subPath mounts are never updated).
function assertWebConfigMounted(w, { secretName = webSecretName, tls = [] } = {}) {
  const c = exporterContainer(w);
  const pod = w.spec.template.spec;
  const where = `${w.kind}/${w.metadata.name}`;
  assert.ok(c.args.includes('--web.config.file=/etc/tigo-exporter/web/web-config.yml'), `${where}: ${c.args}`);
  const mount = c.volumeMounts.find((m) => m.mountPath === '/etc/tigo-exporter/web');
  assert.ok(mount && mount.readOnly === true && !mount.subPath, `${where}: web config mounted read-only, no subPath`);
  const vol = pod.volumes.find((v) => v.name === mount.name);
  assert.equal(vol.secret.secretName, secretName);
  assert.deepEqual(vol.secret.items, [{ key: 'web-config.yml', path: 'web-config.yml' }]);
  assert.ok(vol.secret.defaultMode <= 0o440);
  for (const t of tls) {
    const m = c.volumeMounts.find((x) => x.mountPath === t.mountPath);
    assert.ok(m && m.readOnly === true, `${where}: ${t.name} mounted read-only at ${t.mountPath}`);
    const v = pod.volumes.find((x) => x.name === m.name);
    assert.equal(v.secret.secretName, t.name);
    assert.ok(v.secret.defaultMode <= 0o440, `${where}: key file mode ${v.secret.defaultMode.toString(8)}`);
  }
  assert.ok(!Object.keys(w.spec.template.metadata.annotations || {}).some((k) => /web/.test(k)),
    'no checksum of the web config: the exporter re-reads it');
  return c;
}

check('webConfig: TLS, basic auth, headers, rate limit: the Secret round-trips the config, mounted with the TLS Secret', () => {
  const r = mustRender({ files: ['webconfig.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  assert.deepEqual(webConfigOf(r), webValues.webConfig.config);
  const d = one(r, 'Deployment');
  assertExporterPod(d);
  assertWebConfigMounted(d, { tls: webValues.webConfig.tlsSecrets });
  assertSecretReferenced(r, { secretName: 'tigo-tigo-exporter', password: creds.password, username: creds.username });
  // The bcrypt hashes live in the Secret only.
  for (const doc of r.docs.filter((x) => x.obj.kind !== 'Secret')) {
    for (const h of Object.values(webValues.webConfig.config.basic_auth_users)) assert.ok(!doc.text.includes(h), `${doc.source}: hash inlined`);
  }
});
check('webConfig with TLS and basic auth: probes over HTTPS with probeAuthorization; no helm test pod; NOTES say https', () => {
  const r = mustRender({ files: ['webconfig.yaml'] });
  const c = exporterContainer(one(r, 'Deployment'));
  for (const [name, p] of probesOf(c)) {
    assert.equal(p.httpGet.scheme, 'HTTPS', `${name} scheme`);
    assert.deepEqual(p.httpGet.httpHeaders, [{ name: 'Authorization', value: webValues.webConfig.probeAuthorization }], `${name} header`);
    assert.equal(p.httpGet.port, 'http');
  }
  assert.equal(c.livenessProbe.httpGet.path, '/-/healthy');
  assert.equal(c.readinessProbe.httpGet.path, '/-/ready');
  assert.equal(find(r, 'Pod').length, 0, 'busybox wget cannot pass TLS and basic auth: no test pod');
  assert.match(r.notes, /curl -sk -u USER https:\/\/127\.0\.0\.1:9980\/metrics/);
  assert.match(r.notes, /helm test` has no test pod/);
  assert.doesNotMatch(r.notes, /WARNING/);
});
check('webConfig: the ServiceMonitor scrapes with serviceMonitor.scheme, tlsConfig and basicAuth; NOTES warn on a mismatch', () => {
  const r = mustRender({ files: ['webconfig.yaml'] });
  const ep = assertServiceMonitor(r).spec.endpoints[0];
  assert.equal(ep.scheme, 'https');
  assert.deepEqual(ep.tlsConfig, webValues.serviceMonitor.tlsConfig);
  assert.deepEqual(ep.basicAuth, webValues.serviceMonitor.basicAuth);
  const bad = mustRender({ files: ['webconfig.yaml'], set: ['serviceMonitor.scheme=http'], values: { serviceMonitor: { basicAuth: null } } });
  assert.match(bad.notes, /WARNING: the exporter speaks TLS but serviceMonitor\.scheme is http/);
  assert.match(bad.notes, /WARNING: the exporter asks for basic auth but serviceMonitor\.basicAuth is empty/);
});
check('webConfig: basic auth without probeAuthorization, or required client certificates: tcpSocket probes on the same port', () => {
  const clientCerts = { webConfig: { config: { tls_server_config: { client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: '/etc/tigo-exporter/tls/ca.crt' } } } };
  for (const [what, values] of [['no probeAuthorization', { webConfig: { probeAuthorization: '' } }], ['client certificates', clientCerts]]) {
    const r = mustRender({ files: ['webconfig.yaml'], values });
    assert.equal(schemaErrors(r.values), '', what);
    validateAll(r);
    for (const [name, p] of probesOf(exporterContainer(one(r, 'Deployment')))) {
      assert.deepEqual(p.tcpSocket, { port: 'http' }, `${what}: ${name}`);
      assert.equal(p.httpGet, undefined, `${what}: ${name} keeps no httpGet`);
      assert.equal(p.periodSeconds, name === 'livenessProbe' ? 30 : 10, `${what}: ${name} keeps its timing`);
    }
    assert.match(r.notes, /probes: tcpSocket/);
  }
  // A probe of the user's own (exec) is left alone.
  const own = mustRender({ files: ['webconfig.yaml'], values: { livenessProbe: { httpGet: null, exec: { command: ['true'] } } } });
  assert.deepEqual(exporterContainer(one(own, 'Deployment')).livenessProbe.exec, { command: ['true'] });
});
check('webConfig with TLS only: HTTPS probes without a header; headers and rate limit only: plain probes and the helm test pod', () => {
  const tlsOnly = mustRender({ files: ['credentials.yaml'], values: { webConfig: { config: { tls_server_config: webValues.webConfig.config.tls_server_config }, tlsSecrets: webValues.webConfig.tlsSecrets } } });
  validateAll(tlsOnly);
  for (const [name, p] of probesOf(exporterContainer(one(tlsOnly, 'Deployment')))) {
    assert.equal(p.httpGet.scheme, 'HTTPS', name);
    assert.equal(p.httpGet.httpHeaders, undefined, name);
  }
  const plain = { http_server_config: webValues.webConfig.config.http_server_config, rate_limit: webValues.webConfig.config.rate_limit };
  const r = mustRender({ files: ['credentials.yaml'], values: { webConfig: { config: plain } } });
  validateAll(r);
  assert.deepEqual(webConfigOf(r), plain);
  const c = assertWebConfigMounted(one(r, 'Deployment'));
  for (const [name, p] of probesOf(c)) assert.deepEqual(p.httpGet, { path: name === 'livenessProbe' ? '/-/healthy' : '/-/ready', port: 'http' });
  assert.equal(one(r, 'Pod').metadata.annotations['helm.sh/hook'], 'test', 'plain HTTP: the test pod stays');
});
check('webConfig.existingSecret: no web config Secret rendered, the user\'s mounted; tls/basicAuth say what it holds', () => {
  const r = mustRender({ files: ['credentials.yaml'], values: { webConfig: { existingSecret: 'my-web-config', tls: true, basicAuth: true, probeAuthorization: 'Basic eDp5' } } });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  assert.equal(find(r, 'Secret', webSecretName).length, 0);
  const c = assertWebConfigMounted(one(r, 'Deployment'), { secretName: 'my-web-config' });
  for (const [name, p] of probesOf(c)) {
    assert.equal(p.httpGet.scheme, 'HTTPS', name);
    assert.deepEqual(p.httpGet.httpHeaders, [{ name: 'Authorization', value: 'Basic eDp5' }], name);
  }
  const tcp = mustRender({ files: ['credentials.yaml'], values: { webConfig: { existingSecret: 'my-web-config', basicAuth: true } } });
  assert.deepEqual(exporterContainer(one(tcp, 'Deployment')).readinessProbe.tcpSocket, { port: 'http' });
  const none = mustRender({ files: ['credentials.yaml'], values: { webConfig: { existingSecret: 'my-web-config' } } });
  assert.equal(exporterContainer(one(none, 'Deployment')).readinessProbe.httpGet.scheme, undefined, 'nothing said: plain HTTP');
});
check('webConfig with shards: every StatefulSet pod gets the file, the mounts and the HTTPS probes', () => {
  const r = mustRender({ files: ['webconfig.yaml'], values: { shards: 3 } });
  validateAll(r);
  const c = assertWebConfigMounted(one(r, 'StatefulSet'), { tls: webValues.webConfig.tlsSecrets });
  assert.equal(c.readinessProbe.httpGet.scheme, 'HTTPS');
  assert.ok(c.args.includes('--shard.count=3'));
});
check('webConfig off by default: no arg, no mount, no Secret; misuse fails with a clear message', () => {
  const r = mustRender({ files: ['credentials.yaml'] });
  const c = exporterContainer(one(r, 'Deployment'));
  assert.ok(!c.args.some((a) => a.startsWith('--web.config.file')));
  assert.ok(!c.volumeMounts.some((m) => m.name.startsWith('web-')));
  assert.equal(find(r, 'Secret', webSecretName).length, 0);
  for (const [files, values, message] of [
    [['webconfig.yaml'], { webConfig: { existingSecret: 'mine' } }, /webConfig\.config and webConfig\.existingSecret are both set: give the web config one way/],
    [['credentials.yaml'], { webConfig: { tls: true } }, /webConfig\.tls is set but there is no web config: set webConfig\.config or webConfig\.existingSecret/],
    [['credentials.yaml'], { webConfig: { tlsSecrets: [{ name: 'x', mountPath: '/x' }] } }, /webConfig\.tlsSecrets is set but there is no web config/],
    [['credentials.yaml'], { webConfig: { config: { rate_limit: { interval: '1s', burst: 5 } }, probeAuthorization: 'Basic eDp5' } },
      /webConfig\.probeAuthorization is set but the web config has no basic_auth_users/],
  ]) {
    const f = render({ files, values });
    assert.notEqual(f.status, 0, `rendered with ${JSON.stringify(values)}`);
    assert.match(f.stderr, message);
  }
});
check('values.schema.json: webConfig rejects both sources, unknown fields, plain passwords and a tlsSecret without mountPath', () => {
  const base = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  const wc = { ...base.webConfig, ...webValues.webConfig };
  assert.equal(schemaErrors({ ...base, webConfig: wc }), '');
  const bad = {
    'config and existingSecret': { ...wc, existingSecret: 'mine' },
    'config.tls_config (unknown)': { ...wc, config: { tls_config: {} } },
    'basic_auth_users plain password': { ...wc, config: { basic_auth_users: { prometheus: 'secret' } } },
    'tlsSecrets without mountPath': { ...wc, tlsSecrets: [{ name: 'x' }] },
    'tls: "yes"': { ...wc, tls: 'yes' },
    'webConfig.certFile (unknown)': { ...wc, certFile: '/x' },
  };
  for (const [name, w] of Object.entries(bad)) assert.notEqual(schemaErrors({ ...base, webConfig: w }), '', `accepted ${name}`);
});

// ---- everything enabled -------------------------------------------------------------------------
const chartFiles = (sub, ext) => {
  const dir = path.join(chartDir, 'files', sub);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort() : [];
};

function assertServiceMonitor(r) {
  const sm = one(r, 'ServiceMonitor');
  const svc = regularService(r);
  assert.ok(selects(sm.spec.selector, svc.metadata.labels), 'ServiceMonitor selects the Service by its labels');
  for (const o of find(r, 'Service').filter((x) => x !== svc)) {
    assert.ok(!selects(sm.spec.selector, o.metadata.labels), `ServiceMonitor also selects Service ${o.metadata.name}`);
  }
  assert.deepEqual(sm.spec.namespaceSelector.matchNames, [svc.metadata.namespace], 'in the Service namespace');
  const ep = sm.spec.endpoints[0];
  assert.ok(svc.spec.ports.some((p) => p.name === ep.port), `endpoint port ${ep.port} is a Service port name`);
  assert.equal(ep.path, '/metrics');
  // The selector must not also pick Services of other releases or the test pod's labels.
  assert.equal(sm.spec.selector.matchLabels['app.kubernetes.io/instance'], 'tigo');
  return sm;
}

check('everything enabled: every kind renders valid and consistent', () => {
  const r = mustRender({ files: ['all.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r, { extraNames: ['tigo-extra'] });
  const kinds = new Set(r.docs.map((d) => d.obj.kind));
  for (const k of ['StatefulSet', 'Service', 'ServiceAccount', 'Secret', 'ServiceMonitor', 'PrometheusRule', 'NetworkPolicy', 'Pod', 'ConfigMap']) {
    assert.ok(kinds.has(k), `no ${k}`);
  }
  const s = one(r, 'StatefulSet');
  const c = assertExporterPod(s);
  assert.equal(c.image, 'registry.example.com/tigo-exporter:1.2.3');
  for (const a of ['--tigo.rate-limit=45', '--shard.count=2', '--tigo.systems=1234567,42',
    '--tigo.api-url=https://api2.tigoenergy.com/api/v3/', '--refresh.panels-interval=120s',
    '--web.config.file=/etc/tigo-exporter/web/web-config.yml']) {
    assert.ok(c.args.includes(a), `missing ${a}: ${c.args}`);
  }
  assert.ok(c.env.some((e) => e.name === 'TZ' && e.value === 'UTC'));
  assert.equal(s.spec.template.metadata.annotations['example.com/owner'], 'solar');
  assert.equal(s.spec.template.metadata.labels.tier, 'monitoring');
  for (const d of r.docs.filter((x) => x.obj.metadata.name !== 'tigo-extra')) {
    assert.equal(d.obj.metadata.labels.team, 'solar', `${d.source}: commonLabels`);
  }
  assert.ok(c.volumeMounts.some((m) => m.name === 'ca') && s.spec.template.spec.volumes.some((v) => v.name === 'ca'));
  assert.ok(c.args.includes('--storage.path=/var/lib/tigo-exporter'), 'the state file');
  assert.equal(stateOf(s).template.spec.storageClassName, 'standard', 'a claim per shard');
  assertServiceSelectsExporterOnly(r);
  assertSecretReferenced(r, { secretName: 'tigo-tigo-exporter', password: creds.password, username: creds.username });
  assert.deepEqual(webConfigOf(r), readValues('all.yaml').webConfig.config);
  assertWebConfigMounted(s);
});
check('everything enabled: the ServiceMonitor selects the Service and its port', () => {
  const r = mustRender({ files: ['all.yaml'] });
  const sm = assertServiceMonitor(r);
  assert.equal(sm.metadata.labels.release, 'kube-prometheus-stack');
  assert.equal(sm.spec.endpoints[0].interval, '60s');
  assert.equal(sm.spec.endpoints[0].metricRelabelings[0].action, 'drop');
});
check('ServiceMonitor also selects the Deployment\'s Service (one shard) and the demo\'s', () => {
  for (const files of [['credentials.yaml'], ['demo.yaml']]) {
    assertServiceMonitor(mustRender({ files, values: { serviceMonitor: { enabled: true } } }));
  }
});
check('everything enabled: the PrometheusRule holds the chart\'s rule files and the extra groups, verbatim', () => {
  const r = mustRender({ files: ['all.yaml'] });
  const pr = one(r, 'PrometheusRule');
  assert.equal(pr.metadata.labels.release, 'kube-prometheus-stack');
  const shipped = chartFiles('rules', '.yaml').flatMap((f) =>
    (YAML.parse(fs.readFileSync(path.join(chartDir, 'files', 'rules', f), 'utf8')) || {}).groups || []);
  const extra = readValues('all.yaml').prometheusRule.additionalGroups;
  assert.deepEqual(pr.spec.groups, [...shipped, ...extra]);
  assert.equal(pr.spec.groups.at(-1).rules[0].annotations.summary, '{{ $labels.instance }} is down',
    'alert templates are not evaluated by Helm');
});
check('everything enabled: one dashboard ConfigMap per chart dashboard, labelled for the Grafana sidecar', () => {
  const r = mustRender({ files: ['all.yaml'] });
  const cms = find(r, 'ConfigMap').filter((c) => c.metadata.name !== 'tigo-extra');
  const files = chartFiles('dashboards', '.json');
  assert.equal(cms.length, files.length, `${cms.length} ConfigMaps for ${files.length} dashboards`);
  for (const cm of cms) {
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    assert.equal(cm.metadata.annotations.grafana_folder, 'Solar');
    const [key] = Object.keys(cm.data);
    assert.ok(files.includes(key), `ConfigMap key ${key}`);
    const want = fs.readFileSync(path.join(chartDir, 'files', 'dashboards', key), 'utf8');
    assert.equal(cm.data[key], want.replace(/\n+$/, ''), `${key} content`);
    JSON.parse(cm.data[key]);
  }
});
check('everything enabled: the NetworkPolicy admits scrapes from the given peers and the test pod only', () => {
  const r = mustRender({ files: ['all.yaml'] });
  const np = one(r, 'NetworkPolicy');
  const s = one(r, 'StatefulSet');
  assert.ok(matches(np.spec.podSelector.matchLabels, s.spec.template.metadata.labels), 'selects the exporter pods');
  assert.ok(!matches(np.spec.podSelector.matchLabels, one(r, 'Pod').metadata.labels), 'not the test pod');
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  const ing = np.spec.ingress[0];
  assert.deepEqual(ing.ports, [{ port: 'http', protocol: 'TCP' }]);
  assert.deepEqual(ing.from[0], readValues('all.yaml').networkPolicy.ingressFrom[0]);
  assert.ok(matches(ing.from[1].podSelector.matchLabels, one(r, 'Pod').metadata.labels), 'the helm test pod may connect');
  const egressPorts = np.spec.egress.flatMap((e) => e.ports.map((p) => `${p.protocol}/${p.port}`));
  assert.deepEqual(egressPorts.sort(), ['TCP/443', 'TCP/53', 'UDP/53']);
});
check('everything enabled: extraManifests go through tpl', () => {
  const r = mustRender({ files: ['all.yaml'] });
  const cm = find(r, 'ConfigMap', 'tigo-extra')[0];
  assert.ok(cm, 'tigo-extra rendered');
  assert.equal(cm.data.note, 'rendered with tpl');
});

// ---- the dashboard and rule file paths, exercised with fixture files ------------------------------
check('with dashboards and rule files in files/: ConfigMaps and PrometheusRule carry them verbatim', () => {
  const copy = path.join(scratch, 'chart');
  copyDir(chartDir, copy);
  fs.rmSync(path.join(copy, 'files'), { recursive: true, force: true });
  fs.mkdirSync(path.join(copy, 'files', 'dashboards'), { recursive: true });
  fs.mkdirSync(path.join(copy, 'files', 'rules'), { recursive: true });
  const dash = JSON.stringify({ title: 'Tigo fleet', panels: [{ type: 'timeseries', targets: [{ expr: 'sum(tigo_system_dc_power_watts)' }] }] }, null, 2) + '\n';
  fs.writeFileSync(path.join(copy, 'files', 'dashboards', 'tigo_fleet.json'), dash);
  fs.writeFileSync(path.join(copy, 'files', 'dashboards', 'tigo-panels.json'), dash);
  const rules = 'groups:\n  - name: tigo.alerts\n    rules:\n      - alert: TigoRefreshFailing\n        expr: tigo_refresh_success == 0\n        for: 30m\n        labels:\n          severity: warning\n        annotations:\n          summary: "{{ $labels.system }}: {{ $value }}"\n      - record: tigo:fleet_dc_power_watts:sum\n        expr: sum(tigo_system_dc_power_watts)\n';
  fs.writeFileSync(path.join(copy, 'files', 'rules', 'tigo.yaml'), rules);
  fs.writeFileSync(path.join(copy, 'files', 'rules', 'tigo_test.yaml'), 'rule_files: [tigo.yaml]\ntests: []\n');
  const r = mustRender({ chart: copy, files: ['demo.yaml'], values: { dashboards: { enabled: true }, prometheusRule: { enabled: true } } });
  validateAll(r);
  const cms = find(r, 'ConfigMap');
  assert.deepEqual(cms.map((c) => c.metadata.name).sort(), ['tigo-tigo-exporter-tigo-fleet', 'tigo-tigo-exporter-tigo-panels']);
  assert.equal(cms[0].data[Object.keys(cms[0].data)[0]], dash.trimEnd());
  const pr = one(r, 'PrometheusRule');
  assert.deepEqual(pr.spec.groups, YAML.parse(rules).groups, 'rule files without groups (promtool tests) are skipped');
  assert.equal(pr.spec.groups[0].rules[0].annotations.summary, '{{ $labels.system }}: {{ $value }}');
  // A 63-character fullname must not make two dashboards' ConfigMap names collide.
  const long = mustRender({ chart: copy, files: ['demo.yaml'], release: 'a-very-long-release-name-that-goes-on-and-on-and-on-for-a-while',
    values: { dashboards: { enabled: true } } });
  validateAll(long);
  assert.equal(find(long, 'ConfigMap').length, 2);
});
check('gated objects are off by default and PrometheusRule is omitted when there are no groups', () => {
  const r = mustRender({ files: ['credentials.yaml'] });
  for (const k of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'NetworkPolicy']) assert.equal(find(r, k).length, 0, k);
  const empty = path.join(scratch, 'chart-norules');
  copyDir(chartDir, empty);
  fs.rmSync(path.join(empty, 'files', 'rules'), { recursive: true, force: true });
  const e = mustRender({ chart: empty, files: ['demo.yaml'], values: { prometheusRule: { enabled: true } } });
  assert.equal(find(e, 'PrometheusRule').length, 0, 'no empty PrometheusRule');
});
check('testPod.enabled=false and serviceAccount.create=false drop those objects', () => {
  const r = mustRender({ files: ['demo.yaml'], values: { testPod: { enabled: false }, serviceAccount: { create: false, name: 'shared' } } });
  validateAll(r);
  assert.equal(find(r, 'Pod').length, 0);
  assert.equal(find(r, 'ServiceAccount').length, 0);
  assert.equal(one(r, 'Deployment').spec.template.spec.serviceAccountName, 'shared');
});
check('fullnameOverride and a long release name keep names within 63 characters', () => {
  const r = mustRender({ files: ['demo.yaml'], release: 'a-very-long-release-name-that-goes-on-and-on-and-on-for-a-while', values: { dashboards: { enabled: true } } });
  validateAll(r);
  const o = mustRender({ files: ['demo.yaml'], values: { fullnameOverride: 'solar' } });
  assert.equal(one(o, 'Deployment').metadata.name, 'solar');
  assert.equal(one(o, 'Service').metadata.name, 'solar');
  const sharded = mustRender({ files: ['demo.yaml'], values: { fullnameOverride: 'solar', shards: 2 } });
  assert.equal(assertServiceSelectsExporterOnly(sharded, 'solar').metadata.name, 'solar');
  assert.equal(one(sharded, 'StatefulSet').spec.serviceName, 'solar-headless');
  const long = mustRender({ files: ['demo.yaml'], values: { fullnameOverride: 'x'.repeat(70), shards: 2 } });
  validateAll(long);
  assert.equal(one(long, 'StatefulSet').spec.serviceName, `${'x'.repeat(54)}-headless`);
});

// ---- the state file (--storage.path) ------------------------------------------------------------
// The state volume of a workload: its mount in the exporter container, the pod volume of that
// name (absent when a volumeClaimTemplate provides it) and the --storage.path argument.
function stateOf(w) {
  const c = exporterContainer(w);
  const mount = (c.volumeMounts || []).find((m) => m.name === 'state');
  const volume = (w.spec.template.spec.volumes || []).find((v) => v.name === 'state');
  const arg = c.args.find((a) => a.startsWith('--storage.path='));
  const template = (w.spec.volumeClaimTemplates || []).find((t) => t.metadata.name === 'state');
  return { c, mount, volume, arg, template };
}
check('state: off by default, no --storage.path, no state volume, no claim', () => {
  for (const files of [['credentials.yaml'], ['shards.yaml'], ['demo.yaml']]) {
    const r = mustRender({ files });
    const st = stateOf(workload(r)[0]);
    assert.equal(st.arg, undefined, `${files}: --storage.path`);
    assert.equal(st.mount, undefined, `${files}: state mount`);
    assert.equal(st.volume, undefined, `${files}: state volume`);
    assert.equal(st.template, undefined, `${files}: claim template`);
    assert.equal(find(r, 'PersistentVolumeClaim').length, 0, `${files}: a claim`);
  }
});
check('state.enabled without persistence: an emptyDir at the mount path, which --storage.path names', () => {
  for (const shards of [1, 3]) {
    const r = mustRender({ files: ['credentials.yaml'], values: { shards, state: { enabled: true } } });
    validateAll(r);
    const w = workload(r)[0];
    assertExporterPod(w);
    const st = stateOf(w);
    assert.equal(st.arg, '--storage.path=/var/lib/tigo-exporter');
    assert.equal(st.mount.mountPath, '/var/lib/tigo-exporter');
    assert.ok(!st.mount.readOnly, 'the state volume is writable');
    assert.deepEqual(st.volume.emptyDir, { sizeLimit: '64Mi' });
    assert.equal(st.template, undefined);
    assert.equal(find(r, 'PersistentVolumeClaim').length, 0);
  }
});
check('state.persistence: a claim of the given size and class, mounted at the path; Recreate keeps one pod on it', () => {
  const r = mustRender({ files: ['credentials.yaml'], values: { state: { enabled: true, mountPath: '/data',
    persistence: { enabled: true, size: '128Mi', storageClass: 'fast', annotations: { 'example.com/backup': 'no' } } } } });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  const w = one(r, 'Deployment');
  assertExporterPod(w);
  assert.equal(w.spec.strategy.type, 'Recreate');
  const pvc = one(r, 'PersistentVolumeClaim');
  assert.equal(pvc.metadata.name, 'tigo-tigo-exporter-state');
  assert.equal(pvc.metadata.namespace, 'monitoring');
  assert.equal(pvc.metadata.annotations['example.com/backup'], 'no');
  assert.deepEqual(pvc.spec, { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '128Mi' } } });
  const st = stateOf(w);
  assert.equal(st.arg, '--storage.path=/data');
  assert.equal(st.mount.mountPath, '/data');
  assert.deepEqual(st.volume.persistentVolumeClaim, { claimName: pvc.metadata.name });
  // No class given: the cluster's default (no storageClassName key at all).
  const d = one(mustRender({ files: ['demo.yaml'], values: { state: { enabled: true, persistence: { enabled: true } } } }), 'PersistentVolumeClaim');
  assert.ok(!('storageClassName' in d.spec), 'storageClassName without a class');
  assert.equal(d.spec.resources.requests.storage, '64Mi');
});
check('state.persistence with shards: one claim per pod from volumeClaimTemplates, none rendered apart', () => {
  const r = mustRender({ files: ['shards.yaml'], values: { state: { enabled: true, persistence: { enabled: true } } } });
  validateAll(r);
  const s = one(r, 'StatefulSet');
  assertExporterPod(s);
  assert.equal(find(r, 'PersistentVolumeClaim').length, 0, 'no shared claim');
  const st = stateOf(s);
  assert.equal(st.volume, undefined, 'the pod volume comes from the template');
  assert.equal(st.mount.mountPath, '/var/lib/tigo-exporter');
  assert.ok(st.template, 'a volumeClaimTemplate named state');
  assert.deepEqual(st.template.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } });
  assert.ok(matches(st.template.metadata.labels, s.spec.template.metadata.labels), 'claims labelled like the pods');
  assert.equal(st.arg, '--storage.path=/var/lib/tigo-exporter');
});
check('state.persistence.existingClaim: the user\'s claim is mounted, none rendered; with shards it fails', () => {
  const r = mustRender({ files: ['credentials.yaml'], values: { state: { enabled: true, persistence: { enabled: true, existingClaim: 'my-state' } } } });
  validateAll(r);
  assert.equal(find(r, 'PersistentVolumeClaim').length, 0);
  assert.deepEqual(stateOf(one(r, 'Deployment')).volume.persistentVolumeClaim, { claimName: 'my-state' });
  const bad = render({ files: ['shards.yaml'], values: { state: { enabled: true, persistence: { enabled: true, existingClaim: 'my-state' } } } });
  assert.notEqual(bad.status, 0, 'rendered an existing claim for several shards');
  assert.match(bad.stderr, /existingClaim cannot hold the state of several shards/);
});
check('state: the schema rejects a relative mount path, a size that is no quantity, an unknown key', () => {
  const base = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  for (const state of [{ ...base.state, mountPath: 'var/lib' }, { ...base.state, sizeLimit: 'big' },
    { ...base.state, persistence: { ...base.state.persistence, size: 64 } }, { ...base.state, path: '/x' }]) {
    assert.notEqual(schemaErrors({ ...base, state }), '', JSON.stringify(state));
  }
});

// ---- the local bus (local.*: --local.taptap.command/address, --local.mapping-file, the sidecar) ----
const localValues = readValues('local.yaml');
const localArgs = (c) => c.args.filter((a) => a.startsWith('--local.'));
const egressPortsOf = (np) => np.spec.egress.flatMap((e) => e.ports.map((p) => `${p.protocol}/${p.port}`)).sort();
function mappingOf(r) {
  const cm = find(r, 'ConfigMap', 'tigo-tigo-exporter-local')[0];
  assert.ok(cm, 'ConfigMap tigo-tigo-exporter-local rendered');
  assert.deepEqual(Object.keys(cm.data), ['mapping.yaml'], 'the ConfigMap holds the mapping file only');
  return cm;
}
check('local: the sidecar, a TCP bus, a mapping file and stale-after: exact args, the sidecar, the mapping mounted', () => {
  const r = mustRender({ files: ['local.yaml'] });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  const d = one(r, 'Deployment');
  const c = assertExporterPod(d);  // every container restricted, with a memory limit
  assert.deepEqual(localArgs(c), ['--local.taptap.address=192.168.1.30:7160', '--local.taptap.address=127.0.0.1:7160',
    '--local.mapping-file=/etc/tigo-exporter/local/mapping.yaml', '--local.stale-after=90s']);
  // The sidecar: the user's image and command, the args through tpl (the port), nothing exposed.
  const pod = d.spec.template.spec;
  assert.deepEqual(pod.containers.map((x) => x.name), ['tigo-exporter', 'taptap']);
  const s = pod.containers[1];
  assert.equal(s.image, 'registry.example.com/taptap-socat:0.2.0');
  assert.deepEqual(s.command, ['socat']);
  assert.deepEqual(s.args, ['TCP-LISTEN:7160,bind=127.0.0.1,fork,reuseaddr', 'EXEC:taptap observe --tcp 192.168.1.20 --port 502']);
  assert.equal(s.ports, undefined, 'the sidecar serves loopback only: no container port');
  assert.deepEqual(s.securityContext, c.securityContext, 'the exporter\'s restricted securityContext by default');
  assert.deepEqual(s.resources, { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } });
  const tmp = s.volumeMounts.find((m) => m.mountPath === '/tmp');
  assert.ok(tmp && pod.volumes.find((v) => v.name === tmp.name && v.emptyDir), 'the sidecar has a writable /tmp');
  assert.ok(!c.volumeMounts.some((m) => m.name === tmp.name), 'its /tmp is not the exporter\'s');
  // The mapping: ConfigMap -> volume -> mount -> the flag's path, content as given.
  const cm = mappingOf(r);
  assert.deepEqual(YAML.parse(cm.data['mapping.yaml']), localValues.local.mappingFile);
  const mount = c.volumeMounts.find((m) => m.name === 'local-mapping');
  assert.ok(mount && mount.readOnly === true && !mount.subPath, 'mapping mounted read-only, no subPath');
  assert.equal(`${mount.mountPath}/mapping.yaml`, '/etc/tigo-exporter/local/mapping.yaml');
  const vol = pod.volumes.find((v) => v.name === 'local-mapping');
  assert.equal(vol.configMap.name, cm.metadata.name);
  assert.ok(vol.configMap.defaultMode <= 0o444);
  assert.ok(!s.volumeMounts.some((m) => m.name === 'local-mapping'), 'the sidecar needs no mapping');
  // The NetworkPolicy lets the pod out to the converter (502) and the other bus (7160).
  assert.deepEqual(egressPortsOf(one(r, 'NetworkPolicy')), ['TCP/443', 'TCP/502', 'TCP/53', 'TCP/7160', 'UDP/53']);
  assert.match(r.notes, /Local bus: the exporter reads taptap's lines from 192\.168\.1\.30:7160, from 127\.0\.0\.1:7160 \(container taptap serves 127\.0\.0\.1:7160\), panels named by ConfigMap tigo-tigo-exporter-local\./);
});
check('local: the sidecar\'s port is the address the exporter reads, whatever it is', () => {
  const r = mustRender({ files: ['local.yaml'], values: { local: { sidecar: { port: 9199 } } } });
  const pod = one(r, 'Deployment').spec.template.spec;
  assert.ok(exporterContainer(one(r, 'Deployment')).args.includes('--local.taptap.address=127.0.0.1:9199'));
  assert.equal(pod.containers[1].args[0], 'TCP-LISTEN:9199,bind=127.0.0.1,fork,reuseaddr');
});
check('local: pods roll when the mapping changes (checksum/local-mapping), not otherwise', () => {
  const sum = (values) => one(mustRender({ files: ['local.yaml'], values }), 'Deployment').spec.template.metadata.annotations['checksum/local-mapping'];
  const a = sum();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(sum({ local: { staleAfter: '3m' } }), a, 'stale-after is an argument: the args roll the pod');
  assert.notEqual(sum({ local: { mappingFile: { system: 1234568 } } }), a);
  const none = mustRender({ files: ['credentials.yaml'], values: { local: { taptap: { address: '10.0.0.9:7160' } } } });
  assert.equal(one(none, 'Deployment').spec.template.metadata.annotations['checksum/local-mapping'], undefined);
  assert.equal(find(none, 'ConfigMap').length, 0, 'no mapping, no ConfigMap');
});
check('local.taptap.command: one argument, run in the exporter\'s container; a text mapping kept verbatim', () => {
  const mapping = '# taptap-mqtt\'s MODULES, pasted\nmodules: "A:01:4-C3F23CR, A:02:4-C3F2ACK"\n';
  const r = mustRender({ files: ['credentials.yaml'], values: {
    local: { taptap: { command: 'taptap observe --tcp 192.168.1.20 --port 502' }, mappingFile: mapping },
    networkPolicy: { enabled: true } } });
  assert.equal(schemaErrors(r.values), '');
  validateAll(r);
  const d = one(r, 'Deployment');
  const c = assertExporterPod(d);
  assert.deepEqual(localArgs(c), ['--local.taptap.command=taptap observe --tcp 192.168.1.20 --port 502',
    '--local.mapping-file=/etc/tigo-exporter/local/mapping.yaml']);
  assert.equal(d.spec.template.spec.containers.length, 1, 'no sidecar');
  assert.equal(mappingOf(r).data['mapping.yaml'], mapping.trimEnd());
  assert.deepEqual(egressPortsOf(one(r, 'NetworkPolicy')), ['TCP/443', 'TCP/502', 'TCP/53', 'UDP/53']);
  assert.match(r.notes, /from `taptap observe --tcp 192\.168\.1\.20 --port 502`, run in its own container \(the image must contain taptap/);
});
check('local.taptap.address: a list; loopback and Unix sockets need no egress rule, other hosts their port', () => {
  const r = mustRender({ files: ['credentials.yaml'], values: {
    local: { taptap: { address: ['127.0.0.1:7161', 'unix:/run/taptap/bus.sock', '10.0.0.9:7170', 'bus.example.com:7171'] } },
    networkPolicy: { enabled: true } } });
  assert.equal(schemaErrors(r.values), '');
  const c = exporterContainer(one(r, 'Deployment'));
  assert.deepEqual(localArgs(c), ['--local.taptap.address=127.0.0.1:7161', '--local.taptap.address=unix:/run/taptap/bus.sock',
    '--local.taptap.address=10.0.0.9:7170', '--local.taptap.address=bus.example.com:7171']);
  assert.deepEqual(egressPortsOf(one(r, 'NetworkPolicy')), ['TCP/443', 'TCP/53', 'TCP/7170', 'TCP/7171', 'UDP/53'],
    'no 502: taptap does not run in this pod');
  const loop = mustRender({ files: ['credentials.yaml'], values: { local: { taptap: { address: '127.0.0.1:7161' } }, networkPolicy: { enabled: true } } });
  assert.equal(one(loop, 'NetworkPolicy').spec.egress.length, 2, 'DNS and the API only');
  const peers = mustRender({ files: ['local.yaml'], values: { networkPolicy: { localEgressTo: [{ ipBlock: { cidr: '192.168.1.0/24' } }] } } });
  assert.deepEqual(one(peers, 'NetworkPolicy').spec.egress[2].to, [{ ipBlock: { cidr: '192.168.1.0/24' } }]);
});
check('local: off by default: no --local.* flag, no ConfigMap, no second container, no egress to the bus', () => {
  for (const files of [['credentials.yaml'], ['demo.yaml'], ['shards.yaml'], ['all.yaml']]) {
    const r = mustRender({ files });
    const w = workload(r)[0];
    assert.deepEqual(localArgs(exporterContainer(w)), [], `${files}`);
    assert.equal(w.spec.template.spec.containers.length, 1, `${files}: one container`);
    assert.equal(find(r, 'ConfigMap', 'tigo-tigo-exporter-local').length, 0, `${files}`);
    for (const np of find(r, 'NetworkPolicy')) assert.ok(!egressPortsOf(np).includes('TCP/502'), `${files}: egress to 502`);
    assert.doesNotMatch(r.notes, /Local bus/);
  }
});
check('local: misuse fails with a clear message', () => {
  for (const [files, values, message] of [
    [['shards.yaml'], { local: { taptap: { command: 'taptap observe --tcp 192.168.1.20 --port 502' } } },
      /local\.\* reads one site's bus from one pod: with shards > 1/],
    [['credentials.yaml'], { local: { sidecar: { enabled: true } } }, /local\.sidecar\.enabled needs local\.sidecar\.image\.repository/],
    [['credentials.yaml'], { local: { mappingFile: { system: 3 } } }, /local\.mappingFile and local\.staleAfter need a local source/],
    [['credentials.yaml'], { local: { staleAfter: '1m' } }, /need a local source/],
    [['local.yaml'], { local: { sidecar: { name: 'tigo-exporter' } } }, /local\.sidecar\.name must differ from the exporter's container name/],
  ]) {
    const f = render({ files, values });
    assert.notEqual(f.status, 0, `rendered with ${JSON.stringify(values)}`);
    assert.match(f.stderr, message);
  }
});
check('values.schema.json: local rejects stdin, a host without port, a bad duration or port, unknown keys, a sidecar without image', () => {
  const base = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  const l = base.local;
  for (const ok of [localValues.local, { ...l, taptap: { command: '', address: ['10.0.0.1:7160', 'unix:/run/t.sock', '[fd00::1]:7160'] } },
    { ...l, mappingFile: 'modules: "A:01:4-C3F23CR"\n' }]) {
    assert.equal(schemaErrors({ ...base, local: ok }), '', JSON.stringify(ok));
  }
  const bad = {
    'address "-" (stdin)': { ...l, taptap: { ...l.taptap, address: '-' } },
    'address without port': { ...l, taptap: { ...l.taptap, address: '192.168.1.20' } },
    'address list with stdin': { ...l, taptap: { ...l.taptap, address: ['10.0.0.1:7160', '-'] } },
    'staleAfter: 90': { ...l, staleAfter: 90 },
    'staleAfter: "soon"': { ...l, staleAfter: 'soon' },
    'mappingFile.module (misspelled)': { ...l, mappingFile: { module: 'A:01:4-C3F23CR' } },
    'mappingFile panel without panel': { ...l, mappingFile: { panels: [{ barcode: '4-9A57A2L' }] } },
    'sidecar.port: 0': { ...l, sidecar: { ...l.sidecar, port: 0 } },
    'sidecar enabled without image': { ...l, sidecar: { ...l.sidecar, enabled: true } },
    'sidecar named like the exporter': { ...l, sidecar: { ...l.sidecar, name: 'tigo-exporter' } },
    'local.taptap.cmd (unknown)': { ...l, taptap: { ...l.taptap, cmd: 'taptap' } },
    'local.mapping (unknown)': { ...l, mapping: {} },
  };
  for (const [name, local] of Object.entries(bad)) assert.notEqual(schemaErrors({ ...base, local }), '', `accepted ${name}`);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
