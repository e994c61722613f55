'use strict';
// Runs the exporter the way the chart's rendered pods would: the exact arguments and environment
// of the rendered containers, on loopback. Catches a chart passing a flag the exporter does not
// know, the credentials path (Secret -> mounted file -> --tigo.password-file, username from the
// Secret) not working against tigo_sim, shards not splitting the fleet by pod name, the
// rendered probes failing against a web config with TLS and basic auth, and the local bus's
// address and mapping file (ConfigMap -> mounted file -> --local.mapping-file) not reaching it.
//
// Usage: node chart_run_test.js RENDERER CHART_DIR VALUES_DIR TIGO_EXPORTER TIGO_SIM

const assert = require('assert/strict');
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const os = require('os');
const path = require('path');
const YAML = require('yaml');

const [renderer, chartDir, valuesDir, exporterBin, simBin] = process.argv.slice(2);
if (!simBin) {
  console.error('usage: node chart_run_test.js RENDERER CHART_DIR VALUES_DIR TIGO_EXPORTER TIGO_SIM');
  process.exit(2);
}
for (const b of [renderer, exporterBin, simBin]) {
  if (!fs.existsSync(b)) {
    console.error(`${b} is missing: build the project first (cmake --build build)`);
    process.exit(1);
  }
}
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tigo-chart-run-'));
const children = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.on('exit', cleanup);

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL: ${name}\n  ${String(e && e.message ? e.message : e).split('\n').join('\n  ')}`);
  }
}

let n = 0;
function render(files, values) {
  const args = ['--name', 'tigo', '--namespace', 'monitoring'];
  for (const f of files) args.push('-f', path.join(valuesDir, f));
  if (values) {
    const f = path.join(scratch, `values-${++n}.yaml`);
    fs.writeFileSync(f, YAML.stringify(values));
    args.push('-f', f);
  }
  const r = spawnSync(renderer, [...args, chartDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`render failed: ${r.stderr}`);
  return r.stdout.split(/^---\n/m).filter((d) => d.trim()).map((d) => YAML.parse(d));
}
const workloadOf = (docs) => docs.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const containerOf = (docs) => workloadOf(docs).spec.template.spec.containers.find((c) => c.name === 'tigo-exporter');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// HTTPS as the kubelet probes: the certificate is not verified.
function get(url, headers = {}) {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(5000, () => req.destroy());
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the exporter with a rendered container's args and env, listening on a loopback port.
async function runContainer(container, { env = {}, files = {}, scheme = 'http' } = {}) {
  const port = await freePort();
  const args = container.args.map((a) => {
    if (a.startsWith('--web.listen-address=')) return `--web.listen-address=127.0.0.1:${port}`;
    // Mounted files (the Secret volume) live in the scratch dir here.
    for (const [from, to] of Object.entries(files)) if (a.endsWith(`=${from}`)) return a.replace(from, to);
    return a;
  });
  const childEnv = { PATH: process.env.PATH, ...env };
  const child = spawn(exporterBin, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `${scheme}://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exporter exited ${child.exitCode} with ${args.join(' ')}:\n${log.slice(-1500)}`);
    // The rendered readiness probe, as the kubelet runs it (scheme, headers).
    if ((await probe(container.readinessProbe, port)).status === 200) return { child, base, port, args, log: () => log };
    await sleep(200);
  }
  throw new Error(`not ready within 60 s with ${args.join(' ')}:\n${log.slice(-1500)}`);
}

// An httpGet probe of the pod spec, run as the kubelet would on the pod's port.
function probe(p, port) {
  const g = p.httpGet;
  const headers = Object.fromEntries((g.httpHeaders || []).map((h) => [h.name, h.value]));
  return get(`${(g.scheme || 'HTTP').toLowerCase()}://127.0.0.1:${port}${g.path}`, headers);
}

async function stop(run) {
  run.child.kill('SIGTERM');
  const t = Date.now();
  while (run.child.exitCode === null && run.child.signalCode === null && Date.now() - t < 10000) await sleep(50);
  assert.ok(run.child.exitCode !== null || run.child.signalCode !== null, 'exporter did not stop on SIGTERM');
}

// Resolves the container's env the way the kubelet would: Secret keys, the pod name.
function resolveEnv(container, docs, podName, existing = {}) {
  const env = {};
  for (const e of container.env || []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom && e.valueFrom.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const s = docs.find((o) => o.kind === 'Secret' && o.metadata.name === name);
      const data = s ? s.data : existing[name];
      assert.ok(data && data[key] !== undefined, `env ${e.name}: Secret ${name} key ${key} not found`);
      env[e.name] = Buffer.from(data[key], 'base64').toString();
    } else if (e.valueFrom && e.valueFrom.fieldRef) {
      assert.equal(e.valueFrom.fieldRef.fieldPath, 'metadata.name');
      env[e.name] = podName;
    }
  }
  return env;
}

// Writes the container's Secret volume items to scratch files; returns mountPath/item -> file.
function mountSecrets(container, docs, existing = {}) {
  const pod = workloadOf(docs).spec.template.spec;
  const files = {};
  for (const m of container.volumeMounts || []) {
    const vol = pod.volumes.find((v) => v.name === m.name);
    if (!vol.secret) continue;
    const s = docs.find((o) => o.kind === 'Secret' && o.metadata.name === vol.secret.secretName);
    const data = s ? s.data : existing[vol.secret.secretName];
    assert.ok(data, `volume ${vol.name}: Secret ${vol.secret.secretName} not found`);
    if (!vol.secret.items) {
      // The whole Secret as a directory, one file per key (the tlsSecrets).
      const dir = path.join(scratch, vol.name);
      fs.mkdirSync(dir);
      for (const [key, value] of Object.entries(data)) fs.writeFileSync(path.join(dir, key), Buffer.from(value, 'base64'), { mode: 0o400 });
      files[m.mountPath] = dir;
      continue;
    }
    for (const item of vol.secret.items) {
      const f = path.join(scratch, `${vol.name}-${item.path}`);
      fs.writeFileSync(f, Buffer.from(data[item.key], 'base64'), { mode: 0o400 });
      files[`${m.mountPath}/${item.path}`] = f;
    }
  }
  return files;
}

const systemIds = (metrics) =>
  new Set([...metrics.matchAll(/^tigo_system_info\{[^}]*system_id="(\d+)"/gm)].map((m) => m[1]));

async function startSim() {
  const port = await freePort();
  const sim = spawn(simBin, ['--listen', `127.0.0.1:${port}`, '--systems', '4', '--panels-per-system', '4', '--seed', '3'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(sim);
  let out = '';
  sim.stdout.on('data', (d) => (out += d));
  sim.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const m = out.match(/listening on (http:\/\/\S+)/);
    if (m) return { sim, url: m[1] };
    if (sim.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`tigo_sim did not start: ${out}`);
}

(async () => {
  const help = spawnSync(exporterBin, ['--help'], { encoding: 'utf8' });
  const known = new Set((help.stdout + help.stderr).match(/--[a-z][a-z0-9.-]*[a-z0-9]/g) || []);

  await check('every flag the chart passes (in every values file) is one tigo_exporter --help lists', () => {
    assert.ok(known.has('--web.listen-address'), `--help output not understood:\n${help.stdout.slice(0, 500)}`);
    for (const f of fs.readdirSync(valuesDir).filter((x) => x.endsWith('.yaml'))) {
      for (const a of containerOf(render([f])).args) {
        const flag = a.split('=')[0];
        assert.ok(known.has(flag), `${f}: the chart passes ${flag}, which tigo_exporter does not know`);
      }
    }
  });

  await check('demo: the rendered Deployment\'s args serve tigo_system_dc_power_watts', async () => {
    const docs = render(['demo.yaml']);
    const c = containerOf(docs);
    const run = await runContainer(c, { env: resolveEnv(c, docs, 'tigo-tigo-exporter-abc') });
    try {
      const m = await get(`${run.base}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.body, /^tigo_system_dc_power_watts\{/m);
      assert.equal((await get(`${run.base}/-/healthy`)).status, 200);
    } finally {
      await stop(run);
    }
  });

  await check('state: the rendered pod\'s --storage.path keeps the state across a restart', async () => {
    const docs = render(['demo.yaml'], { state: { enabled: true } });
    const c = containerOf(docs);
    const dir = path.join(scratch, 'state');  // the state volume
    const files = { [c.volumeMounts.find((m) => m.name === 'state').mountPath]: dir };
    const first = await runContainer(c, { env: resolveEnv(c, docs, 'x'), files });
    await stop(first);
    assert.ok(fs.existsSync(path.join(dir, 'state.json')), `no state.json in the volume:\n${first.log().slice(-1000)}`);
    const second = await runContainer(c, { env: resolveEnv(c, docs, 'x'), files });
    try {
      assert.match(second.log(), /msg="state restored"[^\n]* systems=6/, second.log().slice(-1500));
    } finally {
      await stop(second);
    }
  });

  await check('credentials: Secret -> password file and username env log in to tigo_sim', async () => {
    const { url } = await startSim();
    const docs = render(['credentials.yaml'], { tigo: { username: 'demo', password: 'demo', apiUrl: url } });
    const c = containerOf(docs);
    const files = mountSecrets(c, docs);
    assert.deepEqual(Object.keys(files), ['/etc/tigo-exporter/secret/password']);
    const run = await runContainer(c, { env: resolveEnv(c, docs, 'tigo-tigo-exporter-abc'), files });
    try {
      const m = await get(`${run.base}/metrics`);
      assert.equal(systemIds(m.body).size, 4, 'the 4 simulated systems');
      assert.ok(!run.log().includes('demo:demo'), 'credentials in the log');
    } finally {
      await stop(run);
    }
  });

  await check('existingSecret: the user\'s Secret keys reach the exporter', async () => {
    const { url } = await startSim();
    const docs = render(['existing-secret.yaml'], { tigo: { apiUrl: url } });
    const existing = { 'my-tigo-credentials': { login: Buffer.from('demo').toString('base64'), secret: Buffer.from('demo').toString('base64') } };
    const c = containerOf(docs);
    const run = await runContainer(c, { env: resolveEnv(c, docs, 'x', existing), files: mountSecrets(c, docs, existing) });
    try {
      assert.equal(systemIds((await get(`${run.base}/metrics`)).body).size, 4);
    } finally {
      await stop(run);
    }
  });

  await check('tigo.token: the Secret\'s token file logs in to tigo_sim without username or password', async () => {
    const { url } = await startSim();
    const login = await new Promise((resolve, reject) => {
      http.get(`${url}users/login`, { auth: 'demo:demo' }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    const token = JSON.parse(login).user.auth;
    assert.ok(token, `no token in ${login}`);
    const docs = render(['token.yaml'], { tigo: { token, apiUrl: url } });
    const c = containerOf(docs);
    const files = mountSecrets(c, docs);
    assert.deepEqual(Object.keys(files), ['/etc/tigo-exporter/secret/token']);
    const run = await runContainer(c, { env: resolveEnv(c, docs, 'x'), files });
    try {
      assert.equal(systemIds((await get(`${run.base}/metrics`)).body).size, 4);
    } finally {
      await stop(run);
    }
  });

  await check('shards: 3 pods of the rendered StatefulSet split the fleet by pod name, each within its rate limit', async () => {
    const { url } = await startSim();
    const docs = render(['shards.yaml'], { tigo: { username: 'demo', password: 'demo', apiUrl: url } });
    const sts = workloadOf(docs);
    const c = containerOf(docs);
    const runs = [];
    try {
      for (let i = 0; i < sts.spec.replicas; i++) {
        runs.push(await runContainer(c, { env: resolveEnv(c, docs, `${sts.metadata.name}-${i}`), files: mountSecrets(c, docs) }));
      }
      const sets = [];
      for (const r of runs) sets.push(systemIds((await get(`${r.base}/metrics`)).body));
      const all = new Set();
      for (const s of sets) for (const id of s) {
        assert.ok(!all.has(id), `system ${id} exported by two shards`);
        all.add(id);
      }
      assert.equal(all.size, 4, `the shards together export the whole fleet: ${[...all]}`);
      sets.forEach((s, i) => [...s].forEach((id) => assert.equal(Number(id) % 3, i, `shard ${i} exports system ${id}`)));
      for (const [i, r] of runs.entries()) {
        assert.ok(r.args.includes('--tigo.rate-limit=33'));
        // Well within a minute of starting, each shard has spent at most its 33 requests.
        const body = (await get(`${r.base}/metrics`)).body;
        const spent = [...body.matchAll(/^tigo_api_requests_total\{[^}]*\} (\S+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
        assert.ok(spent > 0 && spent <= 33, `shard ${i} spent ${spent} requests`);
        if (process.env.VERBOSE) console.log(`  shard ${i}: ${spent} requests`);
      }
    } finally {
      for (const r of runs) await stop(r);
    }
  });

  await check('webConfig: TLS (an openssl certificate in the TLS Secret), basic auth and headers; the rendered probes pass', async () => {
    const { url } = await startSim();
    const docs = render(['webconfig.yaml'], { tigo: { username: 'demo', password: 'demo', apiUrl: url } });
    const c = containerOf(docs);
    const crt = path.join(scratch, 'tls.crt');
    const key = path.join(scratch, 'tls.key');
    const ossl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=tigo-tigo-exporter.monitoring.svc'], { encoding: 'utf8' });
    assert.equal(ossl.status, 0, ossl.stderr);
    const existing = { 'tigo-exporter-tls': { 'tls.crt': fs.readFileSync(crt).toString('base64'), 'tls.key': fs.readFileSync(key).toString('base64') } };
    const files = mountSecrets(c, docs, existing);
    // The web config names files under the TLS Secret's mountPath: here, its scratch directory.
    const webFile = files['/etc/tigo-exporter/web/web-config.yml'];
    assert.ok(webFile && files['/etc/tigo-exporter/tls'], `mounts: ${Object.keys(files)}`);
    const web = fs.readFileSync(webFile, 'utf8').replaceAll('/etc/tigo-exporter/tls/', `${files['/etc/tigo-exporter/tls']}/`);
    fs.rmSync(webFile);
    fs.writeFileSync(webFile, web, { mode: 0o400 });
    const run = await runContainer(c, { env: resolveEnv(c, docs, 'x'), files, scheme: 'https' });
    try {
      assert.equal((await probe(c.livenessProbe, run.port)).status, 200, 'the rendered liveness probe');
      const anon = await get(`${run.base}/metrics`);
      assert.equal(anon.status, 401, 'no credentials: 401');
      assert.equal(anon.headers['x-content-type-options'], 'nosniff', 'headers on the 401 too');
      const auth = { Authorization: `Basic ${Buffer.from('prometheus:prom-not-a-real-password').toString('base64')}` };
      const m = await get(`${run.base}/metrics`, auth);
      assert.equal(m.status, 200);
      assert.equal(systemIds(m.body).size, 4, 'the 4 simulated systems over HTTPS with basic auth');
      assert.notEqual((await get(`http://127.0.0.1:${run.port}/-/healthy`)).status, 200, 'plain HTTP refused');
      assert.ok(!/not-a-real-password/.test(run.log()), 'a password in the log');
    } finally {
      await stop(run);
    }
  });

  await check('local: the rendered pod reads the sidecar\'s port (tigo_sim\'s bus in its place) and the mapping file of the ConfigMap', async () => {
    // The sidecar's place: a simulated bus on the loopback port the chart gives the exporter.
    const busPort = await freePort();
    const bus = spawn(simBin, ['--listen', '127.0.0.1:0', '--systems', '1', '--panels-per-system', '2', '--seed', '11',
      '--bus-listen', `127.0.0.1:${busPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(bus);
    let busOut = '';
    bus.stdout.on('data', (d) => (busOut += d));
    bus.stderr.on('data', (d) => (busOut += d));
    for (const t = Date.now(); !busOut.includes('bus on tcp://') && Date.now() - t < 20000;) await sleep(50);
    assert.ok(busOut.includes('bus on tcp://'), `tigo_sim's bus did not start: ${busOut}`);
    // Its infrastructure report (sent on connect) names a node's barcode: the mapping names that node.
    const infra = await new Promise((resolve, reject) => {
      const sock = net.connect(busPort, '127.0.0.1');
      let buf = '';
      sock.setTimeout(15000, () => { sock.destroy(); reject(new Error('no infrastructure report within 15 s')); });
      sock.on('data', (d) => {
        buf += d;
        for (const line of buf.split('\n').slice(0, -1)) {
          const e = JSON.parse(line);
          if (e.event_type === 'infrastructure_report') { sock.destroy(); resolve(e); }
        }
      });
      sock.on('error', reject);
    });
    const [, nodes] = Object.entries(infra.nodes)[0];
    const { barcode } = Object.values(nodes)[0];
    assert.match(barcode, /^\d-[0-9A-F]+[A-Z]$/, `barcode ${barcode}`);
    const values = { local: { sidecar: { enabled: true, port: busPort, image: { repository: 'registry.example.com/taptap-socat' } },
      mappingFile: { system: 4242, system_name: 'Garage', panels: [{ barcode, panel: 'G1', string: 'G' }] }, staleAfter: '90s' } };
    const docs = render(['demo.yaml'], values);
    const c = containerOf(docs);
    assert.ok(c.args.includes(`--local.taptap.address=127.0.0.1:${busPort}`), `${c.args}`);
    const cm = docs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'tigo-tigo-exporter-local');
    const mount = c.volumeMounts.find((m) => m.name === 'local-mapping').mountPath;
    const mapping = path.join(scratch, 'mapping.yaml');
    fs.writeFileSync(mapping, cm.data['mapping.yaml']);
    const run = await runContainer(c, { env: resolveEnv(c, docs, 'x'), files: { [`${mount}/mapping.yaml`]: mapping } });
    try {
      const want = [
        new RegExp(`^tigo_local_source_connected\\{source="tcp:127\\.0\\.0\\.1:${busPort}",kind="bus"\\} 1$`, 'm'),
        /^tigo_system_info\{system_id="4242",name="Garage",/m,  // the mapping's system, named by it
        /^tigo_panel_reporting\{system_id="4242",object_id="-\d+",inverter="",mppt="",string="G",panel="G1"\} /m,
      ];
      let body = '';
      for (const t = Date.now(); Date.now() - t < 30000; await sleep(500)) {
        body = (await get(`${run.base}/metrics`)).body;
        if (want.every((re) => re.test(body))) break;
      }
      for (const re of want) assert.match(body, re, `not in /metrics after 30 s:\n${body.split('\n').filter((l) => /local|4242/.test(l)).join('\n')}`);
    } finally {
      await stop(run);
      bus.kill('SIGTERM');
    }
    // The flag's path is the file the exporter reads: a mapping it refuses stops it (exit 2).
    fs.writeFileSync(mapping, 'panels:\n  - panel: G1\n');
    await assert.rejects(runContainer(c, { env: resolveEnv(c, docs, 'x'), files: { [`${mount}/mapping.yaml`]: mapping } }),
      /exporter exited 2[\s\S]*--local\.mapping-file/);
  });

  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
