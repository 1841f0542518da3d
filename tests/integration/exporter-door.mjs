// Helpers for the tests of pum-exporter's door (idle and slow connections,
// --web.config.file with TLS and basic auth): a standalone pum-exporter on
// a free port in a temp dir, a self-signed certificate and a bcrypt hash
// made with the real tools (openssl, htpasswd), and raw idle / slowloris
// connections over TCP and TLS. (Requests: tests/support/http.mjs.)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import { EXPORTER_BIN, SEED_METRICS, waitFor } from './stack.mjs';

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

export function tempDir(prefix = 'pum-door-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function check(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// A self-signed certificate for 127.0.0.1 (openssl req -x509): {cert, key}
// paths in `dir`.
export function makeCertificate(dir, name = 'server') {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  check('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  return { cert, key };
}

// The bcrypt hash of `password` ($2y$, cost `cost`), from htpasswd.
export function bcryptHash(password, cost = 10) {
  const out = check('htpasswd', ['-bnBC', String(cost), 'u', password]).trim();
  const hash = out.slice(out.indexOf(':') + 1);
  if (!/^\$2y\$\d\d\$.{53}$/.test(hash)) throw new Error(`htpasswd gave ${out}`);
  return hash;
}

// Starts pum-exporter on 127.0.0.1:0 with an empty store and the seed's
// allowlist; `webConfig` (text) is written to DIR/web.yml and passed with
// --web.config.file. Returns {port, url(path), proc, stderr(), stop()};
// stop() sends SIGTERM and throws on a non-zero exit or a sanitizer report.
// `storagePath` and `metricsDir` use an existing store and allowlist
// (e.g. a Stack's) instead.
export async function startExporter({
  dir = tempDir(), webConfig, args = [], storagePath, metricsDir: givenMetricsDir,
} = {}) {
  let metricsDir = givenMetricsDir;
  if (!metricsDir) {
    metricsDir = path.join(dir, 'metrics.d');
    fs.mkdirSync(metricsDir, { recursive: true });
    fs.writeFileSync(path.join(metricsDir, 'seed.json'), JSON.stringify(SEED_METRICS));
  }
  const all = [`--storage.path=${storagePath || path.join(dir, 'pum.db')}`, `--metrics.dir=${metricsDir}`,
    '--web.listen-address=127.0.0.1:0', ...args];
  if (webConfig !== undefined) {
    const file = path.join(dir, 'web.yml');
    fs.writeFileSync(file, webConfig);
    all.push(`--web.config.file=${file}`);
  }
  const proc = spawn(EXPORTER_BIN, all, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let stderr = '';
  let exited = false;
  proc.stderr.on('data', (d) => { stderr += d; });
  proc.on('exit', () => { exited = true; live.delete(proc); });
  const m = await waitFor(() => {
    if (exited) throw new Error(`pum-exporter exited: ${stderr}`);
    return /listening on (https?):\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr);
  }, { timeout: 8000, what: `pum-exporter's listening line (${stderr})` }).catch((e) => {
    proc.kill('SIGKILL');
    throw e;
  });
  const scheme = m[1];
  const port = Number(m[2]);
  return {
    port,
    scheme,
    dir,
    proc,
    url: (p = '/metrics') => `${scheme}://127.0.0.1:${port}${p}`,
    stderr: () => stderr,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
      // Under `make asan`: a sanitizer report fails the test that stops it.
      const report = /(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)[^\n]*/.exec(stderr);
      if (report) throw new Error(`pum-exporter: ${report[0]}\n${stderr.slice(-4000)}`);
      if (proc.exitCode !== 0) throw new Error(`pum-exporter exited ${proc.exitCode} ${proc.signalCode} after SIGTERM: ${stderr.slice(-2000)}`);
    },
  };
}

// Opens `n` connections that do nothing; over TLS (`tlsOpts` = {ca}) each
// finishes its handshake first, then stays silent. Resolves once all are
// connected; close() destroys them. `alive()` counts those still open.
export async function idleConnections(port, n, tlsOpts) {
  const socks = [];
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = tlsOpts
      ? tls.connect({ host: '127.0.0.1', port, ca: tlsOpts.ca, servername: 'localhost' }, resolve)
      : net.connect({ host: '127.0.0.1', port }, resolve);
    s.on('error', (e) => { s.failed = e; resolve(); });
    s.on('close', () => { s.gone = true; });
    socks.push(s);
  })));
  const failed = socks.filter((s) => s.failed);
  if (failed.length) throw new Error(`${failed.length} idle connections failed: ${failed[0].failed.message}`);
  return {
    alive: () => socks.filter((s) => !s.gone).length,
    close: () => socks.forEach((s) => s.destroy()),
  };
}

// Opens `n` slowloris connections: each sends a request head one byte every
// `everyMs` and never finishes it (after the last byte of the text it keeps
// sending header bytes). Over TLS when `tlsOpts` is given.
export async function slowlorisConnections(port, n, tlsOpts, everyMs = 100) {
  const head = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
  const socks = [];
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = tlsOpts
      ? tls.connect({ host: '127.0.0.1', port, ca: tlsOpts.ca, servername: 'localhost' }, resolve)
      : net.connect({ host: '127.0.0.1', port }, resolve);
    s.on('error', (e) => { s.failed = e; resolve(); });
    s.on('close', () => { s.gone = true; });
    socks.push(s);
  })));
  const failed = socks.filter((s) => s.failed);
  if (failed.length) throw new Error(`${failed.length} slowloris connections failed: ${failed[0].failed.message}`);
  let i = 0;
  const sentBytes = () => i;
  const timer = setInterval(() => {
    const c = i < head.length ? head[i] : 'x';
    i++;
    for (const s of socks) if (!s.gone) s.write(c);
  }, everyMs);
  return {
    sentBytes,
    alive: () => socks.filter((s) => !s.gone).length,
    close: () => { clearInterval(timer); socks.forEach((s) => s.destroy()); },
  };
}

// Sends `n` requests (GET `path`) whose heads promise a body that never
// comes, cycling through Content-Length, chunked and Expect: 100-continue,
// and keeps each connection open (or, with `hangUp`, closes it right after
// the head). Resolves once every head is sent; `closed()` counts the
// connections the exporter has closed, `answered()` those with a status
// line, `close()` destroys them.
export async function bodyPromisingConnections(port, n, { tlsOpts, path = '/-/healthy', hangUp = false } = {}) {
  const promises = ['Content-Length: 1000', 'Transfer-Encoding: chunked', 'Expect: 100-continue\r\nContent-Length: 5'];
  const socks = [];
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve) => {
    const s = tlsOpts
      ? tls.connect({ host: '127.0.0.1', port, ca: tlsOpts.ca, servername: 'localhost' })
      : net.connect({ host: '127.0.0.1', port });
    s.answer = '';
    s.on(tlsOpts ? 'secureConnect' : 'connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${promises[i % promises.length]}\r\n\r\n`, () => {
        if (hangUp) s.destroy();
        resolve();
      });
    });
    s.on('data', (d) => { s.answer += d; });
    s.on('error', (e) => { s.failed = e; resolve(); });
    s.on('close', () => { s.gone = true; });
    socks.push(s);
  })));
  const failed = socks.filter((s) => s.failed);
  if (failed.length && !hangUp) throw new Error(`${failed.length} connections failed: ${failed[0].failed.message}`);
  return {
    closed: () => socks.filter((s) => s.gone).length,
    answered: () => socks.filter((s) => /^HTTP\/1\.[01] \d{3}/.test(s.answer)).length,
    close: () => socks.forEach((s) => s.destroy()),
  };
}
