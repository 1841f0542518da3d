// Issue 7 item 7: pum-exporter's --web.config.file (Prometheus
// exporter-toolkit format) with TLS and basic auth, for real: a
// self-signed certificate from `openssl req -x509`, a bcrypt hash from
// `htpasswd -bnBC 10`, a real stack (nginx, pum-ingest, SQLite) whose
// exporter serves HTTPS, and a real Prometheus that scrapes it with
// scheme https, basic_auth and tls_config.ca_file (up == 1, pum's series
// queryable), while jobs with a wrong password, no credentials and plain
// HTTP are refused (up == 0). Also: 401 with WWW-Authenticate, plain HTTP
// to the TLS port refused, min_version, client certificates
// (RequireAndVerifyClientCert), and bad web config files as startup and
// --check-config errors.
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { request } from '../support/http.mjs';
import { bcryptHash, makeCertificate, startExporter, tempDir } from './exporter-door.mjs';
import { logText } from './logfmt.mjs';
import {
  EXPORTER_BIN, SEED_METRICS, counterEvent, freePort, parseExposition, startStack, valueOf, waitFor,
} from './stack.mjs';

const T = { timeout: 60000 };
const PASSWORD = 'correct horse battery staple';

function startPrometheus(dir, config) {
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, config);
  return freePort().then(async (port) => {
    const logFile = path.join(dir, 'prometheus.log');
    const logFd = fs.openSync(logFile, 'a');
    const proc = spawn('prometheus', [`--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    let exited = false;
    proc.on('exit', () => { exited = true; });
    process.on('exit', () => { try { proc.kill('SIGKILL'); } catch { /* gone */ } });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => {
      if (exited) throw new Error(`prometheus exited: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      return (await fetch(`${url}/-/ready`)).status === 200;
    }, { timeout: 20000, interval: 100, what: 'prometheus /-/ready' });
    const query = async (q) => {
      const body = await (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: q })}`)).json();
      if (body.status !== 'success') throw new Error(`${q}: ${JSON.stringify(body)}`);
      return body.data.result;
    };
    return {
      url,
      query,
      log: () => fs.readFileSync(logFile, 'utf8'),
      async targets() {
        return (await (await fetch(`${url}/api/v1/targets`)).json()).data.activeTargets;
      },
      async stop() {
        if (exited) return;
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
        await done;
        clearTimeout(t);
      },
    };
  });
}

describe('pum-exporter --web.config.file: TLS and basic auth scraped by a real Prometheus', () => {
  const hooks = { before, after };
  let st;
  let exp;
  let prom;
  let dir;
  let ca;
  before(async () => {
    st = await startStack(after, { exporter: false, metrics: { '10-seed.json': SEED_METRICS } });
    dir = tempDir('pum-webcfg-');
    const { cert, key } = makeCertificate(dir);
    ca = fs.readFileSync(cert);
    // Relative names: resolved against the web config file's folder.
    const webConfig = [
      '# written by tests/integration/web-config.test.mjs',
      'tls_server_config:',
      `  cert_file: ${path.basename(cert)}`,
      `  key_file: ${path.basename(key)}`,
      '  min_version: TLS12',
      'basic_auth_users:',
      `  prom: '${bcryptHash(PASSWORD)}'`,
      `  other: '${bcryptHash('another one')}'`,
      'http_server_config:',
      '  headers:',
      '    X-Content-Type-Options: nosniff',
      '',
    ].join('\n');
    exp = await startExporter({ dir, webConfig, storagePath: st.db, metricsDir: st.metricsDir });
    const r = await st.post([counterEvent({ browser: 'chrome', feature: 'quickQuestion' }, 3)]);
    assert.equal(r.status, 204, r.text);
    const target = `127.0.0.1:${exp.port}`;
    const job = (name, extra) => `  - job_name: ${name}\n    static_configs: [{targets: ['${target}']}]\n${extra}`;
    prom = await startPrometheus(dir, [
      'global: {scrape_interval: 1s, scrape_timeout: 1s}',
      'scrape_configs:',
      job('pum', `    scheme: https\n    tls_config: {ca_file: ${cert}}\n    basic_auth: {username: prom, password: '${PASSWORD}'}\n`),
      job('pum_wrong_password', `    scheme: https\n    tls_config: {ca_file: ${cert}}\n    basic_auth: {username: prom, password: 'wrong'}\n`),
      job('pum_no_credentials', `    scheme: https\n    tls_config: {ca_file: ${cert}}\n`),
      job('pum_plain_http', '    scheme: http\n'),
      '',
    ].join('\n'));
  });
  after(async () => {
    if (prom) await prom.stop();
    if (exp) await exp.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints an https:// listening line', T, () => {
    assert.match(exp.stderr(), new RegExp(`listening on https://127\\.0\\.0\\.1:${exp.port}/metrics`));
  });

  it('Prometheus scrapes it over HTTPS with basic auth: up == 1 and pum\'s series are queryable', T, async () => {
    const up = await waitFor(async () => {
      const r = await prom.query('up');
      return r.length === 4 ? r : null;
    }, { timeout: 30000, interval: 250, what: `four up series (log: ${prom?.log().slice(-1500)})` });
    const byJob = Object.fromEntries(up.map((s) => [s.metric.job, s.value[1]]));
    assert.deepEqual(byJob, { pum: '1', pum_wrong_password: '0', pum_no_credentials: '0', pum_plain_http: '0' },
      JSON.stringify(await prom.targets(), null, 1));
    const usage = await waitFor(async () => {
      const r = await prom.query('usage_total{job="pum",browser="chrome",feature="quickQuestion"}');
      return r.length === 1 ? r : null;
    }, { timeout: 15000, interval: 250, what: 'usage_total in Prometheus' });
    assert.equal(usage[0].value[1], '3');
    const own = await prom.query('pum_exporter_store_size_bytes{job="pum"}');
    assert.equal(own.length, 1);
    assert.ok(Number(own[0].value[1]) > 0);
    const errors = Object.fromEntries((await prom.targets()).map((t) => [t.labels.job, t.lastError]));
    assert.match(errors.pum_wrong_password, /401/);
    assert.match(errors.pum_no_credentials, /401/);
    assert.equal(errors.pum, '');
  });

  it('answers 401 with WWW-Authenticate to a wrong password, an unknown user and no credentials, on every path', T, async () => {
    for (const p of ['/metrics', '/-/healthy', '/-/ready', '/nope']) {
      for (const auth of [undefined, 'prom:wrong', 'nobody:' + PASSWORD, 'prom:', 'other:' + PASSWORD.slice(1)]) {
        const r = await request(exp.url(p), { ca, auth });
        assert.equal(r.status, 401, `${p} with ${auth}`);
        assert.match(r.headers['www-authenticate'], /^Basic realm="pum-exporter"/);
        assert.ok(!r.body.includes('pum_exporter_'), r.body);
      }
    }
    const bad = await request(exp.url(), { ca, headers: { authorization: 'Basic !!!not-base64' } });
    assert.equal(bad.status, 401);
    const bearer = await request(exp.url(), { ca, headers: { authorization: 'Bearer abc' } });
    assert.equal(bearer.status, 401);
  });

  it('serves both users with the right passwords, with the configured header', T, async () => {
    for (const auth of [`prom:${PASSWORD}`, 'other:another one']) {
      const r = await request(exp.url(), { ca, auth });
      assert.equal(r.status, 200, auth);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      const m = parseExposition(r.body);
      assert.equal(valueOf(m, 'usage_total', { browser: 'chrome', feature: 'quickQuestion' }), 3);
    }
    const h = await request(exp.url('/-/healthy'), { ca, auth: `prom:${PASSWORD}` });
    assert.equal(h.status, 200);
  });

  it('refuses plain HTTP on the TLS port (400, no metrics)', T, async () => {
    const r = await request(`http://127.0.0.1:${exp.port}/metrics`, { auth: `prom:${PASSWORD}` });
    assert.equal(r.status, 400);
    assert.match(r.body, /HTTP request to an HTTPS server/);
    assert.ok(!r.body.includes('pum_exporter_'));
  });

  it('refuses a TLS client that does not trust the certificate, and TLS 1.1', T, async () => {
    await assert.rejects(request(exp.url(), { auth: `prom:${PASSWORD}` }), /self[- ]signed|certificate/i);
    await assert.rejects(new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: exp.port, ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    }));
  });
});

describe('pum-exporter --web.config.file: client certificates and min_version', () => {
  const cleanup = [];
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  it('RequireAndVerifyClientCert: a client without a certificate, or with one from another CA, is refused', T, async () => {
    const dir = tempDir('pum-mtls-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const server = makeCertificate(dir, 'server');
    const clientCa = makeCertificate(dir, 'client-ca');
    const other = makeCertificate(dir, 'other-ca');
    // A client certificate signed by client-ca.
    const run = (args) => {
      const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
      assert.equal(r.status, 0, r.stderr);
    };
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=prometheus']);
    run(['x509', '-req', '-in', 'client.csr', '-CA', clientCa.cert, '-CAkey', clientCa.key,
      '-CAcreateserial', '-out', 'client.crt', '-days', '2']);
    const exp = await startExporter({
      dir,
      webConfig: `tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n` +
        `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${clientCa.cert}\n  min_version: TLS13\n`,
    });
    cleanup.push(() => exp.stop());
    const ca = fs.readFileSync(server.cert);
    const get = (opts) => new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: exp.port, path: '/metrics', ca, agent: false, ...opts }, (res) => {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    });
    const ok = await get({ cert: fs.readFileSync(path.join(dir, 'client.crt')), key: fs.readFileSync(path.join(dir, 'client.key')) });
    assert.equal(ok.status, 200);
    assert.ok(ok.body.includes('pum_exporter_'));
    await assert.rejects(get({}), 'no client certificate');
    await assert.rejects(get({ cert: fs.readFileSync(other.cert), key: fs.readFileSync(other.key) }), 'a certificate from another CA');
    await assert.rejects(get({ maxVersion: 'TLSv1.2', cert: fs.readFileSync(path.join(dir, 'client.crt')), key: fs.readFileSync(path.join(dir, 'client.key')) }),
      'TLS 1.2 under min_version TLS13');
  });
});

describe('pum-exporter --web.config.file: a bad file is a clear startup error', () => {
  const dir = tempDir('pum-badweb-');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = makeCertificate(dir);
  const metricsDir = path.join(dir, 'metrics.d');
  fs.mkdirSync(metricsDir);
  fs.writeFileSync(path.join(metricsDir, 'seed.json'), JSON.stringify(SEED_METRICS));
  const cases = [
    { name: 'not YAML', text: 'tls_server_config: [\n', want: /web\.yml:\d+: not valid YAML/ },
    { name: 'an unknown key', text: 'tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n', want: /web\.yml:4: unknown key "tls_server_config\.certfile"/ },
    { name: 'a cert without a key', text: `tls_server_config:\n  cert_file: ${cert}\n`, want: /web\.yml:2: tls_server_config needs key_file/ },
    { name: 'a missing cert file', text: `tls_server_config:\n  cert_file: ${dir}/nope.crt\n  key_file: ${key}\n`, want: /web\.yml: tls_server_config: cannot load cert_file .*nope\.crt/ },
    { name: 'a key that is not the cert\'s', text: `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${cert}\n`, want: /cannot load key_file/ },
    { name: 'a plain-text password', text: 'basic_auth_users:\n  prom: hunter2\n', want: /web\.yml:2: basic_auth_users\.prom is not a bcrypt hash/ },
    { name: 'rate_limit (not supported)', text: 'rate_limit:\n  interval: 1s\n  burst: 2\n', want: /web\.yml:2: rate_limit is not supported/ },
    { name: 'a bad min_version', text: `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n  min_version: TLS9\n`, want: /web\.yml:4: tls_server_config\.min_version must be TLS10/ },
    { name: 'a missing file', file: path.join(dir, 'absent.yml'), want: /absent\.yml: cannot read the web config file/ },
  ];
  for (const c of cases) {
    it(`${c.name}: exits 1 at startup and under --check-config, naming the file and the problem`, T, () => {
      const file = c.file || path.join(dir, 'web.yml');
      if (!c.file) fs.writeFileSync(file, c.text);
      const common = [`--storage.path=${path.join(dir, 'pum.db')}`, `--metrics.dir=${metricsDir}`,
        `--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0'];
      for (const extra of [[], ['--check-config']]) {
        const r = spawnSync(EXPORTER_BIN, [...common, ...extra], { encoding: 'utf8', timeout: 10000 });
        assert.equal(r.status, 1, `${extra.join(' ')}: exit ${r.status} ${r.signal}, stderr ${r.stderr}`);
        // At startup the problem is a log line (logfmt, its quotes escaped).
        assert.match(extra.length ? r.stderr : logText(r.stderr), c.want, `${extra.join(' ')}: ${r.stderr}`);
        assert.ok(!r.stderr.includes('listening on'), r.stderr);
      }
    });
  }

  it('--check-config accepts a good web config and says what it holds', T, () => {
    const file = path.join(dir, 'good.yml');
    fs.writeFileSync(file, `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\nbasic_auth_users:\n  prom: '${bcryptHash('x', 4)}'\n`);
    const r = spawnSync(EXPORTER_BIN, [`--metrics.dir=${metricsDir}`, `--web.config.file=${file}`, '--check-config'],
      { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /web config OK: .*good\.yml \(TLS, 1 basic auth users\)/);
  });
});
