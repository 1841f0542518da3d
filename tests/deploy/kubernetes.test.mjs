// deploy/kubernetes/: the manifest (pum.yaml) and the image (Dockerfile).
//
// There is no cluster and no container engine here, so the manifest is
// checked in two ways:
//   - statically, parsed by PyYAML (every document): the kinds, the pod's
//     prometheus.io annotations against the exporter's port and
//     --web.listen-address, the probes on /-/ready and /-/healthy, the three
//     containers, the volumes (the store on the claim in /var/lib/pum for
//     the workers and the exporter, the socket's directory shared by nginx
//     and the workers), the Service against the pod's labels and ports, the
//     ConfigMaps' pum.json and metrics.d through the real `pum-exporter
//     --check-config`, nginx.conf's /record against the workers' socket;
//   - by running the pod's three containers as processes on this machine:
//     each container's own command and ConfigMaps from the manifest, with
//     every path of its volumeMounts (and of the image: /usr/bin/pum-*,
//     /usr/share/pum) mapped into a temporary directory and the two ports
//     moved to free loopback ports, as the user nobody when the test runs as
//     root (the pod runs as a non-root user). A batch posted to nginx shows
//     up on the exporter's /metrics; the worker script runs PUM_WORKERS
//     workers, exits when one dies (so that the kubelet restarts the
//     container) and stops them all on SIGTERM.
// The Dockerfile is checked as text (its base, its `make install` build
// step, that its runtime stage installs the packages of every library the
// binaries link); the image itself is not built.
//
// Environment: BUILD (default build); PUM_KEEP_TMP=1 keeps the temp dir.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  REPO, BUILD_DIR, EXPORTER_BIN, INGEST_BIN, childPids, freePort, parseExposition,
  pidAlive, run, valueOf, waitFor,
} from '../integration/stack.mjs';
import { parseJsonc } from './jsonc.mjs';

const K8S = path.join(REPO, 'deploy', 'kubernetes');
const MANIFEST = path.join(K8S, 'pum.yaml');
const DOCKERFILE = path.join(K8S, 'Dockerfile');
const PYTHON = '/usr/bin/python3';

// ------------------------------------------------------------- helpers

function loadManifest() {
  assert.ok(fs.existsSync(PYTHON), `${PYTHON} is missing (make deps installs python3-yaml)`);
  const r = spawnSync(PYTHON, ['-c',
    'import yaml,json,sys; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))'],
  { input: fs.readFileSync(MANIFEST), encoding: 'utf8' });
  assert.equal(r.status, 0, `PyYAML could not parse ${MANIFEST} (python3-yaml installed?):\n${r.stderr}`);
  return JSON.parse(r.stdout).filter((d) => d !== null);
}


// The body of the first `location = PATH { ... }` block of an nginx config.
function nginxLocation(conf, loc) {
  const start = conf.search(new RegExp(`location\\s*=\\s*${loc.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s*\\{`));
  assert.ok(start >= 0, `nginx.conf has no location = ${loc}`);
  let depth = 0;
  for (let i = conf.indexOf('{', start); i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    if (conf[i] === '}' && --depth === 0) return conf.slice(start, i + 1);
  }
  assert.fail(`unbalanced braces after location = ${loc}`);
}

// The value of a --name=value flag in argv, or undefined.
const flag = (argv, name) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
};

const M = {};
before(() => {
  M.docs = loadManifest();
  const byKind = (k) => M.docs.filter((d) => d.kind === k);
  M.configMaps = new Map(byKind('ConfigMap').map((d) => [d.metadata.name, d]));
  M.pvcs = new Map(byKind('PersistentVolumeClaim').map((d) => [d.metadata.name, d]));
  [M.deploy] = byKind('Deployment');
  [M.service] = byKind('Service');
  M.pod = M.deploy?.spec.template;
  M.container = (name) => {
    const c = M.pod.spec.containers.find((x) => x.name === name);
    assert.ok(c, `no container ${name}`);
    return c;
  };
  M.volume = (name) => {
    const v = M.pod.spec.volumes.find((x) => x.name === name);
    assert.ok(v, `no volume ${name} in the pod`);
    return v;
  };
  M.mountAt = (c, mountPath) => c.volumeMounts?.find((m) => m.mountPath === mountPath);
  // The containerPort a probe or Service port (number or name) means.
  M.portOf = (c, port) => (typeof port === 'number' ? port
    : c.ports?.find((p) => p.name === port)?.containerPort);
  M.exporterArgs = () => M.container('exporter').command.concat(M.container('exporter').args || []);
  M.ingestArgs = () => M.container('ingest').command.concat(M.container('ingest').args || []);
  // The unix socket spawn-fcgi creates in the ingest container.
  M.ingestSocket = () => {
    const argv = M.ingestArgs();
    assert.match(argv[0], /(^|\/)spawn-fcgi$/, 'the ingest container starts spawn-fcgi');
    const i = argv.indexOf('-s');
    assert.ok(i > 0 && i < argv.indexOf('--'), 'spawn-fcgi -s SOCKET');
    return argv[i + 1];
  };
  M.nginxConf = () => {
    const nginx = M.container('nginx');
    const c = nginx.command.concat(nginx.args || []);
    const conf = c[c.indexOf('-c') + 1];
    assert.ok(c.includes('-c') && conf, 'nginx -c CONF');
    const mount = nginx.volumeMounts.find((m) => conf.startsWith(m.mountPath + '/'));
    assert.ok(mount, `${conf} is on a volume of the nginx container`);
    const cm = M.configMaps.get(M.volume(mount.name).configMap?.name);
    assert.ok(cm, `${conf}: the volume ${mount.name} is a ConfigMap of the manifest`);
    const text = cm.data[path.relative(mount.mountPath, conf)];
    assert.ok(text, `ConfigMap ${cm.metadata.name} has ${path.basename(conf)}`);
    return text;
  };
});

// ------------------------------------------------------- static checks

describe('deploy/kubernetes/pum.yaml', () => {
  it('parses, and holds the ConfigMaps, the claim, the Deployment and the Service', () => {
    for (const d of M.docs) {
      assert.ok(d.apiVersion && d.kind && d.metadata?.name, `a document without apiVersion/kind/name: ${JSON.stringify(d).slice(0, 200)}`);
    }
    const kinds = [...new Set(M.docs.map((d) => d.kind))].sort();
    assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service']);
    assert.equal(M.docs.filter((d) => d.kind === 'Deployment').length, 1);
    assert.equal(M.docs.filter((d) => d.kind === 'Service').length, 1);
    assert.equal(M.deploy.apiVersion, 'apps/v1');
    const names = M.docs.map((d) => `${d.kind}/${d.metadata.name}`);
    assert.equal(new Set(names).size, names.length, `names are unique: ${names}`);
  });

  it('Deployment: one replica, Recreate, one pod with nginx, the workers and the exporter', () => {
    assert.equal(M.deploy.spec.replicas, 1, 'one SQLite store, one pod');
    assert.equal(M.deploy.spec.strategy.type, 'Recreate', 'the RWO volume must be released first');
    const labels = M.pod.metadata.labels;
    for (const [k, v] of Object.entries(M.deploy.spec.selector.matchLabels)) {
      assert.equal(labels[k], v, `the selector's ${k} is a label of the pod`);
    }
    assert.deepEqual(M.pod.spec.containers.map((c) => c.name).sort(), ['exporter', 'ingest', 'nginx']);
    const sc = M.pod.spec.securityContext;
    assert.equal(sc.runAsNonRoot, true);
    assert.ok(sc.runAsUser > 0);
    for (const c of M.pod.spec.containers) {
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`);
    }
  });

  it('the pod has the prometheus.io annotations of the exporter\'s port and path', () => {
    const ann = M.pod.metadata.annotations;
    assert.equal(ann['prometheus.io/scrape'], 'true', 'a string "true"');
    assert.equal(typeof ann['prometheus.io/port'], 'string', 'annotations are strings');
    assert.equal(ann['prometheus.io/path'], '/metrics');
    const exporter = M.container('exporter');
    const port = Number(ann['prometheus.io/port']);
    assert.ok(exporter.ports.some((p) => p.containerPort === port),
      `the exporter container declares port ${port}`);
    const listen = flag(M.exporterArgs(), 'web.listen-address');
    assert.ok(listen !== undefined, 'the exporter is given --web.listen-address');
    const m = /^(.*):(\d+)$/.exec(listen);
    assert.ok(m, `--web.listen-address=${listen}`);
    assert.ok(['', '0.0.0.0', '[::]'].includes(m[1]), `the exporter listens on every address of the pod, not ${m[1]}`);
    assert.equal(Number(m[2]), port, '--web.listen-address is the annotated port');
  });

  it('the exporter has a readiness probe on /-/ready and a liveness probe on /-/healthy at its port', () => {
    const exporter = M.container('exporter');
    const port = Number(M.pod.metadata.annotations['prometheus.io/port']);
    for (const [kind, want] of [['readinessProbe', '/-/ready'], ['livenessProbe', '/-/healthy']]) {
      const probe = exporter[kind];
      assert.ok(probe?.httpGet, `exporter ${kind} is an httpGet`);
      assert.equal(probe.httpGet.path, want, kind);
      assert.equal(M.portOf(exporter, probe.httpGet.port), port);
    }
  });

  it('volumes: the store on the claim at /var/lib/pum, the socket shared with nginx, the ConfigMaps', () => {
    const ingest = M.container('ingest');
    const exporter = M.container('exporter');
    const nginx = M.container('nginx');
    const dataMounts = [ingest, exporter].map((c) => M.mountAt(c, '/var/lib/pum'));
    assert.ok(dataMounts.every(Boolean), '/var/lib/pum is mounted in ingest and exporter');
    assert.equal(dataMounts[0].name, dataMounts[1].name, 'the same volume');
    assert.ok(!dataMounts.some((m) => m.readOnly), 'writable');
    const claim = M.volume(dataMounts[0].name).persistentVolumeClaim?.claimName;
    assert.ok(M.pvcs.has(claim), `the store's volume is the manifest's claim (${claim})`);
    assert.deepEqual(M.pvcs.get(claim).spec.accessModes, ['ReadWriteOnce']);

    // The workers' socket: its directory is one volume in ingest and nginx.
    const sockDir = path.dirname(M.ingestSocket());
    const [a, b] = [ingest, nginx].map((c) => M.mountAt(c, sockDir));
    assert.ok(a && b && a.name === b.name, `${sockDir} is one volume mounted in ingest and nginx`);
    assert.ok(M.volume(a.name).emptyDir, 'an emptyDir');

    // Every ConfigMap a volume names exists, with the keys mounted by subPath.
    for (const v of M.pod.spec.volumes.filter((x) => x.configMap)) {
      const cm = M.configMaps.get(v.configMap.name);
      assert.ok(cm, `ConfigMap ${v.configMap.name} is in the manifest`);
      for (const c of M.pod.spec.containers) {
        for (const m of (c.volumeMounts || []).filter((x) => x.name === v.name && x.subPath)) {
          assert.ok(m.subPath in cm.data, `${c.name}: ${cm.metadata.name} has the key ${m.subPath}`);
        }
      }
    }
    // Every container runs its config from its mounts: --config.file.
    for (const c of [ingest, exporter]) {
      const argv = c.command.join(' ');
      assert.match(argv, /--config\.file=\/etc\/pum\/pum\.json/, `${c.name} uses /etc/pum/pum.json`);
      assert.ok(M.mountAt(c, '/etc/pum/pum.json'), `${c.name} mounts /etc/pum/pum.json`);
      assert.ok(M.mountAt(c, '/etc/pum/metrics.d'), `${c.name} mounts /etc/pum/metrics.d`);
    }
  });

  it('the Service selects the pod and targets nginx (the ingest route) and the exporter', () => {
    const spec = M.service.spec;
    const labels = M.pod.metadata.labels;
    assert.ok(Object.keys(spec.selector).length > 0);
    for (const [k, v] of Object.entries(spec.selector)) assert.equal(labels[k], v, `selector ${k}=${v}`);
    const nginx = M.container('nginx');
    const exporter = M.container('exporter');
    const target = (p) => p.targetPort ?? p.port;
    const http = spec.ports.find((p) => M.portOf(nginx, target(p)) === nginx.ports[0].containerPort);
    assert.ok(http, 'a Service port targets nginx');
    assert.equal(http.port, 80);
    const listen = /listen\s+(?:[\d.]+:)?(\d+)\s*;/.exec(M.nginxConf());
    assert.equal(Number(listen[1]), nginx.ports[0].containerPort, "nginx listens on its container's port");
    const metricsPort = Number(M.pod.metadata.annotations['prometheus.io/port']);
    assert.ok(spec.ports.some((p) => M.portOf(exporter, target(p)) === metricsPort),
      'a Service port targets the exporter');
  });

  it("the ConfigMaps' pum.json and metrics.d pass the real pum-exporter --check-config", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-k8s-config-'));
    try {
      const exporter = M.container('exporter');
      const confMount = M.mountAt(exporter, '/etc/pum/pum.json');
      const confText = M.configMaps.get(M.volume(confMount.name).configMap.name).data[confMount.subPath];
      const metricsMount = M.mountAt(exporter, '/etc/pum/metrics.d');
      const metrics = M.configMaps.get(M.volume(metricsMount.name).configMap.name).data;
      const conf = parseJsonc(confText);
      assert.equal(conf.metrics_dir, metricsMount.mountPath, 'metrics_dir is where the allowlist is mounted');
      assert.equal(path.dirname(conf.storage_path), '/var/lib/pum', 'the store is on the volume');

      // The allowlist is the repository's conf/metrics.d, file for file.
      const shipped = fs.readdirSync(path.join(REPO, 'conf/metrics.d')).filter((f) => f.endsWith('.json')).sort();
      assert.deepEqual(Object.keys(metrics).sort(), shipped, 'the files of conf/metrics.d');
      for (const f of shipped) {
        assert.deepEqual(JSON.parse(metrics[f]),
          JSON.parse(fs.readFileSync(path.join(REPO, 'conf/metrics.d', f), 'utf8')),
          `${f} in the ConfigMap is conf/metrics.d/${f}`);
      }

      fs.mkdirSync(path.join(tmp, 'metrics.d'));
      fs.writeFileSync(path.join(tmp, 'pum.json'), confText);
      for (const [k, v] of Object.entries(metrics)) fs.writeFileSync(path.join(tmp, 'metrics.d', k), v);
      const r = await run(EXPORTER_BIN, ['--check-config', `--config.file=${path.join(tmp, 'pum.json')}`,
        `--metrics.dir=${path.join(tmp, 'metrics.d')}`]);
      assert.equal(r.code, 0, `pum-exporter --check-config:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /configuration OK/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("nginx.conf routes /record to the workers' socket and serves pum.js", () => {
    const conf = M.nginxConf();
    const record = nginxLocation(conf, '/record');
    const m = /fastcgi_pass\s+unix:([^;\s]+)\s*;/.exec(record);
    assert.ok(m, 'location = /record has fastcgi_pass unix:...');
    assert.equal(m[1], M.ingestSocket(), 'fastcgi_pass is the socket spawn-fcgi creates');
    assert.match(record, /include\s+\/etc\/nginx\/fastcgi_params\s*;/);
    assert.match(record, /client_max_body_size\s+64k\s*;/);
    for (const loc of ['/pum.js', '/static/aggregatorClient.js']) {
      assert.match(nginxLocation(conf, loc), /alias\s+\/usr\/share\/pum\/pum\.js\s*;/,
        `${loc} is the pum.js that make install PREFIX=/usr puts in the image`);
    }
  });
});

// ---------------------------------------------- the pod, as processes

const IS_ROOT = process.getuid() === 0;
const NOBODY = 65534;

class Pod {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-k8s-pod-'));
    fs.chmodSync(this.dir, 0o755);
    this.procs = new Map(); // container name -> {child, exit: Promise}
    this.killAll = () => {
      for (const { child } of this.procs.values()) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    };
    process.on('exit', this.killAll);
  }

  // Paths of the image that make install PREFIX=/usr would fill.
  imageMap() {
    const share = path.join(this.dir, 'image', 'share');
    if (!fs.existsSync(share)) {
      fs.mkdirSync(share, { recursive: true });
      for (const f of ['pum.js', 'pum.spa.js', 'pum.esm.js']) fs.copyFileSync(path.join(BUILD_DIR, f), path.join(share, f));
    }
    return { '/usr/share/pum': share, '/usr/bin/pum-ingest': INGEST_BIN, '/usr/bin/pum-exporter': EXPORTER_BIN };
  }

  // Materialises the volumes one container mounts and returns its map of
  // container paths to host paths. ConfigMaps are written per container,
  // through that container's map (their files name container paths).
  containerMap(c, adjustFile = (t) => t) {
    const map = this.imageMap();
    const cmFiles = [];
    for (const m of c.volumeMounts || []) {
      const vol = M.volume(m.name);
      let host;
      if (vol.configMap) {
        host = path.join(this.dir, 'containers', c.name, m.name);
        const data = M.configMaps.get(vol.configMap.name).data;
        fs.mkdirSync(host, { recursive: true });
        for (const [k, v] of Object.entries(data)) cmFiles.push([path.join(host, k), v]);
        if (m.subPath) host = path.join(host, m.subPath);
      } else {
        assert.ok(vol.emptyDir || vol.persistentVolumeClaim, `volume ${m.name}: emptyDir, claim or ConfigMap`);
        host = path.join(this.dir, 'volumes', m.name);
        fs.mkdirSync(host, { recursive: true });
      }
      map[m.mountPath] = host;
    }
    const rewrite = this.rewriter(map);
    for (const [file, text] of cmFiles) fs.writeFileSync(file, adjustFile(rewrite(text)));
    return rewrite;
  }

  // Replaces container paths by host paths (longest first, whole path
  // components only, in one pass).
  rewriter(map) {
    const keys = Object.keys(map).sort((a, b) => b.length - a.length);
    const re = new RegExp(`(${keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\w.-])`, 'g');
    return (s) => s.replace(re, (k) => map[k]);
  }

  // Starts a container's command (its own process group), as nobody when
  // root. `argv` and `file` may change the rewritten command and ConfigMap
  // files (the test's ports).
  start(name, { argv: adjustArgv = (a) => a, file: adjustFile = (t) => t } = {}) {
    const c = M.container(name);
    const rewrite = this.containerMap(c, adjustFile);
    const argv = adjustArgv(c.command.concat(c.args || []).map(rewrite));
    const env = { PATH: process.env.PATH, HOME: this.dir };
    for (const e of c.env || []) env[e.name] = e.value;
    if (IS_ROOT) this.chownAll();
    const [cmd, ...args] = IS_ROOT
      ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv] : argv;
    const log = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', log, log], env, detached: true });
    fs.closeSync(log);
    const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.procs.set(name, { child, exit, env });
    return { child, exit, argv, env, rewrite };
  }

  chownAll() {
    const rec = (p) => {
      fs.lchownSync(p, NOBODY, NOBODY);
      if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) rec(path.join(p, e));
    };
    rec(this.dir);
  }

  log(name) {
    try { return fs.readFileSync(path.join(this.dir, `${name}.log`), 'utf8'); } catch { return ''; }
  }

  async stop() {
    for (const { child, exit } of this.procs.values()) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      await Promise.race([exit, sleep(3000)]);
    }
    this.killAll();
    process.off('exit', this.killAll);
    if (process.env.PUM_KEEP_TMP === '1') console.log(`pod files kept in ${this.dir}`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// The pum-ingest processes among a pid's children.
function workersOf(pid) {
  return childPids(pid).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'pum-ingest'; } catch { return false; }
  });
}

describe('the pod of pum.yaml, run as processes', () => {
  let pod;
  let httpPort;
  let metricsPort;
  before(async () => {
    pod = new Pod();
    httpPort = await freePort();
    metricsPort = await freePort();
  });
  after(async () => { await pod?.stop(); });

  const post = (body) => fetch(`http://127.0.0.1:${httpPort}/record`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const usage = async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    return valueOf(parseExposition(await res.text()), 'usage_total', { browser: 'chrome', feature: 'quickQuestion' });
  };
  const event = (inc) => [{ metricName: 'usage_total', metricType: 'counter',
    labels: { browser: 'chrome', feature: 'quickQuestion' }, inc }];

  const startIngest = async () => {
    const ingest = pod.start('ingest');
    const hostSock = ingest.rewrite(M.ingestSocket());
    assert.notEqual(hostSock, M.ingestSocket(), 'the socket is on a volume');
    const n = Number(ingest.env.PUM_WORKERS);
    assert.ok(n >= 2, `PUM_WORKERS=${ingest.env.PUM_WORKERS}: several workers`);
    await waitFor(() => fs.existsSync(hostSock) && workersOf(ingest.child.pid).length === n,
      { timeout: 10000, what: `the socket and ${n} workers (log: ${pod.log('ingest')})` });
    return { ...ingest, n };
  };

  it('nginx, PUM_WORKERS workers and the exporter: a batch posted to /record shows on /metrics', async () => {
    // The two ports move to free loopback ports; nothing else changes.
    pod.start('exporter', { argv: (argv) => argv.map((a) => (a.startsWith('--web.listen-address=')
      ? `--web.listen-address=127.0.0.1:${metricsPort}` : a)) });
    const ingest = await startIngest();
    pod.start('nginx', { file: (t) => t.replace(/\blisten\s+\d+\s*;/g, `listen 127.0.0.1:${httpPort};`) });
    // What the kubelet's probes ask.
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      const { path: probePath } = M.container('exporter')[probe].httpGet;
      await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}${probePath}`)).status === 200,
        { timeout: 10000, what: `the exporter's ${probePath} (log: ${pod.log('exporter')})` });
    }
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/-/nginx-healthy`)).ok,
      { timeout: 10000, what: `nginx (log: ${pod.log('nginx')})` });

    assert.equal(await usage(), 0);
    const res = await post(event(3));
    assert.equal(res.status, 204, `POST /record through nginx: ${res.status} ${await res.text()}`);
    assert.equal(await usage(), 3);
    assert.equal(workersOf(ingest.child.pid).length, ingest.n);

    for (const p of ['/pum.js', '/static/aggregatorClient.js']) {
      const js = await fetch(`http://127.0.0.1:${httpPort}${p}`);
      assert.equal(js.status, 200, p);
      assert.match(js.headers.get('content-type'), /^text\/javascript/);
      assert.equal(await js.text(), fs.readFileSync(path.join(BUILD_DIR, 'pum.js'), 'utf8'));
    }
  });

  it('the worker script exits when a worker dies, starts again on the old socket, stops on SIGTERM', async () => {
    let { child, exit } = pod.procs.get('ingest');
    const [victim, ...others] = workersOf(child.pid);
    process.kill(victim, 'SIGKILL');
    const died = await Promise.race([exit, sleep(5000).then(() => 'timeout')]);
    assert.deepEqual(died, { code: 1, signal: null }, `the container exits non-zero (log: ${pod.log('ingest')})`);
    await waitFor(() => !others.some(pidAlive), { what: 'the other workers to stop' });

    // The kubelet starts the container again; the socket file is still there.
    const again = await startIngest();
    const res = await post(event(1));
    assert.equal(res.status, 204);
    assert.equal(await usage(), 4);

    ({ child, exit } = again);
    const workers = workersOf(child.pid);
    process.kill(child.pid, 'SIGTERM');
    const stopped = await Promise.race([exit, sleep(5000).then(() => 'timeout')]);
    assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM stops the container cleanly (log: ${pod.log('ingest')})`);
    await waitFor(() => !workers.some(pidAlive), { what: 'every worker to stop' });
  });
});

// ------------------------------------------------------------ Dockerfile

describe('deploy/kubernetes/Dockerfile', () => {
  const text = fs.readFileSync(DOCKERFILE, 'utf8');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text.replace(/\\\n/g, ' ').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('is built on Debian bookworm, with `make install PREFIX=/usr` as its build step', () => {
    const froms = instructions.filter((l) => /^FROM\s/i.test(l));
    assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
    for (const f of froms) assert.match(f, /^FROM\s+debian:bookworm(\s+AS\s+\w+)?$/i, f);
    const build = instructions.filter((l) => /^RUN\s/.test(l) && /\bmake install\b/.test(l));
    assert.equal(build.length, 1, 'one RUN with make install');
    assert.match(build[0], /\bmake install\b[^&;]*\bPREFIX=\/usr\b/);
    assert.match(build[0], /\bDESTDIR=(\S+)/);
    const destdir = /\bDESTDIR=(\S+)/.exec(build[0])[1];
    assert.ok(instructions.some((l) => new RegExp(`^COPY\\s+--from=\\w+\\s+${destdir}/?\\s+/$`).test(l)),
      `the runtime stage copies the installed tree (${destdir}) to /`);
  });

  it('runs as the non-root user the pod runs as', () => {
    const user = instructions.filter((l) => /^USER\s/.test(l)).pop();
    assert.ok(user, 'a USER instruction');
    const uid = /^USER\s+(\d+)/.exec(user)?.[1];
    assert.ok(uid && Number(uid) > 0, `a numeric non-root USER (Kubernetes' runAsNonRoot checks it): ${user}`);
    assert.equal(M.pod.spec.securityContext.runAsUser, Number(uid));
  });

  it("the runtime stage installs the package of every library the binaries link", async () => {
    const runtime = text.slice(text.search(/^FROM\s+debian:bookworm\s*$/m));
    const packages = new Set();
    for (const m of runtime.replace(/\\\n/g, ' ').matchAll(/apt-get install ([^&|;]*)/g)) {
      for (const w of m[1].split(/\s+/)) if (w && !w.startsWith('-')) packages.add(w);
    }
    for (const p of ['spawn-fcgi', 'nginx-light']) assert.ok(packages.has(p), `${p} is installed`);
    const essential = new Set(['libc6', 'libgcc-s1']); // in every Debian image
    // `make asan` runs this against sanitized binaries; the image never
    // builds those, so their sanitizer runtimes are not its business.
    const sanitizer = /^lib(asan|ubsan|lsan|tsan)\d*$/;
    for (const bin of [INGEST_BIN, EXPORTER_BIN]) {
      const ldd = await run('ldd', [bin]);
      assert.equal(ldd.code, 0, ldd.stderr);
      for (const m of ldd.stdout.matchAll(/=>\s+(\/\S+)/g)) {
        const lib = m[1];
        const owners = [lib, fs.realpathSync(lib), lib.replace(/^\/usr/, ''), `/usr${lib}`];
        let pkg;
        for (const o of owners) {
          const r = spawnSync('dpkg', ['-S', o], { encoding: 'utf8' });
          if (r.status === 0) { pkg = r.stdout.split(':')[0]; break; }
        }
        assert.ok(pkg, `the Debian package of ${lib}`);
        if (sanitizer.test(pkg)) continue;
        assert.ok(essential.has(pkg) || packages.has(pkg),
          `${path.basename(bin)} links ${lib} from ${pkg}, which the runtime stage does not install`);
      }
    }
  });
});
