// A real pum stack for the integration tests: nginx (Debian's, with a config
// written here) routing /record over FastCGI to pum-ingest workers started by
// spawn-fcgi on a unix socket, and pum-exporter on a loopback port, all in a
// fresh temporary directory.
//
// Every process a Stack starts is stopped by stopAll() (call it from an
// `after` hook), and also, synchronously, from a process 'exit' handler if a
// test dies first. The temporary directory is removed by stopAll() unless
// PUM_KEEP_TMP=1 is set (then its path is printed, with the logs in it).
//
// The binaries are $BUILD/pum-ingest and $BUILD/pum-exporter, BUILD
// defaulting to "build", relative to the repository root.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { nginxConfig } from '../support/nginx.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = path.resolve(REPO, process.env.BUILD || 'build');
export const INGEST_BIN = path.join(BUILD_DIR, 'pum-ingest');
export const EXPORTER_BIN = path.join(BUILD_DIR, 'pum-exporter');
export const SHIPPED_METRICS_DIR = path.join(REPO, 'conf', 'metrics.d');
export const SHIPPED_CONFIG = path.join(REPO, 'conf', 'pum.json');
// The browser client (make builds them) and how nginx serves it.
export const CLIENT_JS = path.join(BUILD_DIR, 'pum.js');
export const CLIENT_ESM = path.join(BUILD_DIR, 'pum.esm.js');
export const CLIENT_SPA = path.join(BUILD_DIR, 'pum.spa.js');
export const CLIENT_NGINX_CONF = path.join(REPO, 'deploy', 'nginx', 'pum-client.conf');

// ---------------------------------------------------------------- helpers

// A TCP port on 127.0.0.1 that was free a moment ago.
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// True if something accepts connections on 127.0.0.1:port.
export function canConnect(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

// Polls `cond` (sync or async) until it returns a truthy value, which is
// returned. Bounded in time; an exception from `cond` counts as "not yet".
export async function waitFor(cond, { timeout = 5000, interval = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` +
                      (lastError ? ` (last error: ${lastError.message})` : ''));
    }
    await sleep(interval);
  }
}

// The canonical key of a series: name{a="x",b="y"} with the labels sorted by
// name and values escaped as in the exposition; just `name` without labels.
export function seriesKey(name, labels = {}) {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return name;
  const esc = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `${name}{${names.map((n) => `${n}="${esc(labels[n])}"`).join(',')}}`;
}

function parseNumber(s) {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`not a number: ${JSON.stringify(s)}`);
  return v;
}

// Parses one sample line: {name, labels, value, raw} (raw = the value text).
export function parseSampleLine(line) {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i])) i++;
  const name = line.slice(0, i);
  if (!name) throw new Error(`no metric name: ${line}`);
  const labels = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') { i++; break; }
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i])) i++;
      const lname = line.slice(start, i);
      if (!lname || line[i] !== '=' || line[i + 1] !== '"') throw new Error(`bad labels: ${line}`);
      i += 2;
      let v = '';
      for (;;) {
        if (i >= line.length) throw new Error(`unterminated label value: ${line}`);
        const c = line[i++];
        if (c === '"') break;
        if (c === '\\') {
          const n = line[i++];
          v += n === 'n' ? '\n' : n;
        } else {
          v += c;
        }
      }
      labels[lname] = v;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  return { name, labels, value: parseNumber(rest[0]), raw: rest[0] };
}

// Parses a text-format exposition into a Map of seriesKey -> value. The map
// also carries `.types` (family -> type), `.helps` (family -> help text) and
// `.raw` (seriesKey -> the value as written).
export function parseExposition(text) {
  const out = new Map();
  out.types = new Map();
  out.helps = new Map();
  out.raw = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
      if (m && m[1] === 'TYPE') out.types.set(m[2], m[3]);
      if (m && m[1] === 'HELP') out.helps.set(m[2], m[3]);
      continue;
    }
    const s = parseSampleLine(line);
    const k = seriesKey(s.name, s.labels);
    if (out.has(k)) throw new Error(`series twice in the exposition: ${k}`);
    out.set(k, s.value);
    out.raw.set(k, s.raw);
  }
  return out;
}

// The value of a series in a parsed exposition, or `dflt` if absent.
export function valueOf(series, name, labels = {}, dflt = undefined) {
  const k = seriesKey(name, labels);
  return series.has(k) ? series.get(k) : dflt;
}

// Sum of every series of `name` whose labels include `match`.
export function sumOf(series, name, match = {}) {
  let total = 0;
  for (const [k, v] of series) {
    const s = parseSampleLine(`${k} 0`);
    if (s.name !== name) continue;
    if (Object.entries(match).every(([ln, lv]) => s.labels[ln] === lv)) total += v;
  }
  return total;
}

// True while `pid` exists and is not a zombie.
export function pidAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// When the process `pid` started (clock ticks since boot, /proc/PID/stat
// field 22), or null if there is none: with the pid, it names one process
// even where pids are reused (pid_max is 32768 here).
export function processStart(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return null;
  }
}

// True while the process that had `start` as its processStart() lives.
export function sameProcessAlive(pid, start) {
  return pidAlive(pid) && processStart(pid) === start;
}

// The pids whose parent is `pid` (from /proc).
export function childPids(pid) {
  const kids = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) kids.push(Number(ent));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

function signalPid(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive) && Date.now() < deadline) await sleep(20);
  return pids.filter(pidAlive);
}

// Sends `sig`, waits up to graceMs, then SIGKILLs whatever is left.
async function terminate(pids, sig = 'SIGTERM', graceMs = 3000) {
  pids = pids.filter(pidAlive);
  for (const p of pids) signalPid(p, sig);
  const left = await waitGone(pids, sig === 'SIGKILL' ? 2000 : graceMs);
  for (const p of left) signalPid(p, 'SIGKILL');
  const stuck = await waitGone(left, 2000);
  if (stuck.length) throw new Error(`processes did not exit: ${stuck.join(' ')}`);
  return left; // those that needed SIGKILL
}

// Reads spawn-fcgi's pid file: one pid a line, no newline after the last.
export function readPidFile(file) {
  return fs.readFileSync(file, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean).map(Number);
}

// Runs a command to completion: {code, signal, stdout, stderr}.
export function run(cmd, args, { input, timeout = 20000, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env || process.env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input === undefined ? '' : input);
  });
}

// ------------------------------------------------------- cleanup on exit

const liveStacks = new Set();
let exitHooked = false;
function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const s of liveStacks) s.killAllSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => process.exit(128 + os.constants.signals[sig]));
  }
}

// ------------------------------------------------------------------ Stack

export class Stack {
  // opts:
  //   workers      number of pum-ingest workers (default 2)
  //   metrics      {"file.json": object-or-text} written to a fresh metrics.d
  //   metricsDir   an existing metrics.d to use instead (e.g. the shipped one)
  //   config       pum.json as an object or text (omitted: no --config.file)
  //   nginxMaxBody client_max_body_size of /record (default "1m", above
  //                pum-ingest's own limit so that pum-ingest answers 413);
  //                /record-small has 1k, to show nginx's own 413
  //   ingestArgs   extra flags for pum-ingest
  //   exporterArgs extra flags for pum-exporter
  //   nginx, exporter  false to not start that part
  //   listen       'unix' or 'tcp': instead of spawn-fcgi, one pum-ingest
  //                child with --listen=unix:PATH / --listen=127.0.0.1:PORT
  // For the browser tests (all off by default; the integration tests use
  // none of them):
  //   docroot      true (a fresh this.docroot = DIR/www, filled with
  //                writePage()) or a directory: served at / by nginx (else
  //                / is a 404), with Cache-Control: no-store
  //   clientJs     true: serve $BUILD/pum.js at /pum.js and at the seed's
  //                /static/aggregatorClient.js, $BUILD/pum.spa.js at /pum.spa.js and $BUILD/pum.esm.js at
  //                /pum.esm.js, with deploy/nginx/pum-client.conf (its
  //                install paths pointed at $BUILD)
  //   outageSwitch true: /record answers 503 from nginx while outage(true)
  //   nginxExtra   more nginx text for the server block (e.g. locations),
  //                or a function(stack) returning it (see fcgiPass())
  constructor(opts = {}) {
    this.opts = {
      workers: 2, metrics: null, metricsDir: null, config: null, nginxMaxBody: '1m',
      ingestArgs: [], exporterArgs: [], nginx: true, exporter: true,
      docroot: null, clientJs: false, outageSwitch: false, nginxExtra: '', ...opts,
    };
    this.workerPids = [];
    this.nginxProc = null;
    this.nginxWorkerPids = [];
    this.exporterProc = null;
    this.exporterStderr = '';
    this.helpers = new Set(); // other children (e.g. sqlite3) to kill at exit
    this.stopped = false;
  }

  // --- set-up

  async start() {
    for (const bin of [INGEST_BIN, EXPORTER_BIN]) {
      if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make (BUILD=${process.env.BUILD || 'build'})`);
    }
    hookExit();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-it-'));
    liveStacks.add(this);
    this.db = path.join(this.dir, 'pum.db');
    this.sock = path.join(this.dir, 'ingest.sock');
    this.pidFile = path.join(this.dir, 'ingest.pid');
    this.logDir = path.join(this.dir, 'log');
    fs.mkdirSync(this.logDir);
    if (this.opts.metricsDir) {
      this.metricsDir = this.opts.metricsDir;
    } else {
      this.metricsDir = path.join(this.dir, 'metrics.d');
      fs.mkdirSync(this.metricsDir);
      for (const [name, content] of Object.entries(this.opts.metrics || {})) this.writeMetricsFile(name, content);
    }
    if (this.opts.config !== null && this.opts.config !== undefined) {
      this.configFile = path.join(this.dir, 'pum.json');
      const c = this.opts.config;
      fs.writeFileSync(this.configFile, typeof c === 'string' ? c : JSON.stringify(c, null, 2));
    }
    if (this.opts.docroot === true) {
      this.docroot = path.join(this.dir, 'www');
      fs.mkdirSync(this.docroot);
    } else if (this.opts.docroot) {
      this.docroot = path.resolve(this.opts.docroot);
    }
    if (this.opts.clientJs) {
      for (const f of [CLIENT_JS, CLIENT_SPA, CLIENT_ESM]) {
        if (!fs.existsSync(f)) throw new Error(`${f} is missing: run make (BUILD=${process.env.BUILD || 'build'})`);
      }
    }
    await this.startWorkers();
    if (this.opts.nginx) await this.startNginx();
    if (this.opts.exporter) await this.startExporter();
    return this;
  }

  // Writes a file (e.g. a test page) into the docroot; returns its URL.
  writePage(name, content) {
    if (!this.docroot) throw new Error('writePage needs the docroot option');
    const file = path.join(this.docroot, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return this.url(`/${name}`);
  }

  // http://127.0.0.1:PORT + p, through nginx.
  url(p = '/') {
    return `http://127.0.0.1:${this.httpPort}${p}`;
  }

  // With outageSwitch: while on, nginx answers 503 for /record without
  // passing the request to a worker.
  outage(on) {
    if (!this.opts.outageSwitch) throw new Error('outage() needs the outageSwitch option');
    const f = path.join(this.dir, 'outage');
    if (on) fs.writeFileSync(f, '');
    else fs.rmSync(f, { force: true });
  }

  writeMetricsFile(name, content) {
    fs.writeFileSync(path.join(this.metricsDir, name),
      typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }

  commonArgs() {
    const a = [`--storage.path=${this.db}`, `--metrics.dir=${this.metricsDir}`];
    if (this.configFile) a.push(`--config.file=${this.configFile}`);
    return a;
  }

  log(name) {
    try {
      return fs.readFileSync(path.join(this.logDir, name), 'utf8');
    } catch {
      return '';
    }
  }

  // --- workers

  async startWorkers(n = this.opts.workers) {
    fs.rmSync(this.pidFile, { force: true });
    if (n === 0) return [];
    if (this.opts.listen) return this.startListeningWorker();
    // spawn-fcgi points the workers' stdout/stderr at /dev/null; a shell
    // that execs the worker keeps its stderr in a log (and the same pid).
    const log = path.join(this.logDir, 'ingest.log');
    const args = ['-s', this.sock, '-M', '0666', '-F', String(n), '-P', this.pidFile, '--',
      '/bin/sh', '-c', `exec "$0" "$@" 2>>'${log}'`, INGEST_BIN, ...this.commonArgs(), ...this.opts.ingestArgs];
    const r = spawnSync('spawn-fcgi', args, { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) {
      throw new Error(`spawn-fcgi failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
    this.workerPids = await waitFor(() => {
      const pids = fs.existsSync(this.pidFile) ? readPidFile(this.pidFile) : [];
      return pids.length === n ? pids : null;
    }, { timeout: 5000, what: 'the spawn-fcgi pid file' });
    return this.workerPids;
  }

  // One pum-ingest that opens its own socket (--listen=unix:PATH or
  // --listen=127.0.0.1:PORT, opts.listen 'unix' or 'tcp'), a child of this
  // process: this.workerProc.
  async startListeningWorker() {
    let where;
    if (this.opts.listen === 'unix') {
      fs.rmSync(this.sock, { force: true });
      where = `unix:${this.sock}`;
      this.fcgiAddress = `unix:${this.sock}`;
    } else {
      this.fcgiPort = this.fcgiPort || await freePort();
      where = `127.0.0.1:${this.fcgiPort}`;
      this.fcgiAddress = where;
    }
    const logFd = fs.openSync(path.join(this.logDir, 'ingest.log'), 'a');
    const proc = spawn(INGEST_BIN, [...this.commonArgs(), `--listen=${where}`, ...this.opts.ingestArgs],
      { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    this.workerProc = proc;
    proc.done = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    let exited = false;
    proc.on('exit', () => { exited = true; });
    await waitFor(async () => {
      if (exited) throw new Error(`pum-ingest --listen=${where} exited: ${this.log('ingest.log')}`);
      if (this.opts.listen === 'unix') {
        if (!fs.existsSync(this.sock)) return false;
        return new Promise((resolve) => {
          const c = net.connect(this.sock, () => { c.destroy(); resolve(true); });
          c.on('error', () => resolve(false));
        });
      }
      return canConnect(this.fcgiPort);
    }, { timeout: 5000, what: `pum-ingest to listen on ${where}` });
    this.workerPids = [proc.pid];
    return this.workerPids;
  }

  aliveWorkers() {
    return this.workerPids.filter(pidAlive);
  }

  // Stops the workers; returns the pids that ignored `sig` for 3 s and
  // needed SIGKILL.
  async killWorkers(sig = 'SIGTERM') {
    const forced = await terminate(this.workerPids, sig);
    this.workerPids = [];
    return forced;
  }

  async restartWorkers(n = this.opts.workers) {
    await this.killWorkers('SIGTERM');
    return this.startWorkers(n);
  }

  // --- nginx

  // The nginx directives that hand a request to the workers.
  fcgiPass() {
    return `include /etc/nginx/fastcgi_params; fastcgi_pass ${this.fcgiAddress || `unix:${this.sock}`};`;
  }

  nginxConfig() {
    const d = this.dir;
    const fcgi = this.fcgiPass();
    const outage = this.opts.outageSwitch ? `if (-f ${d}/outage) { return 503; } ` : '';
    return nginxConfig({
      writtenBy: 'tests/integration/stack.mjs',
      nginxDir: `${d}/nginx`,
      port: this.httpPort,
      errorLog: `${d}/log/nginx-error.log`,
      errorLevel: 'info',
      accessLog: `${d}/log/nginx-access.log`,
      http: 'client_body_buffer_size 128k;',
      server: [
        `location = /record { client_max_body_size ${this.opts.nginxMaxBody}; ${outage}${fcgi} }`,
        `location = /record-small { client_max_body_size 1k; ${fcgi} }`,
        this.browserLocations(),
      ],
    });
  }

  // What the browser tests' options add to the server block; without them
  // just the 404 for everything else.
  browserLocations() {
    let out = '';
    if (this.opts.clientJs) {
      const conf = fs.readFileSync(CLIENT_NGINX_CONF, 'utf8')
        .replaceAll('/usr/local/share/pum/pum.js', CLIENT_JS)
        .replaceAll('/usr/local/share/pum/pum.spa.js', CLIENT_SPA)
        .replaceAll('/usr/local/share/pum/pum.esm.js', CLIENT_ESM);
      out += conf.split('\n').map((l) => `    ${l}`).join('\n') + '\n';
    }
    const extra = typeof this.opts.nginxExtra === 'function' ? this.opts.nginxExtra(this) : this.opts.nginxExtra;
    if (extra) out += `    ${extra}\n`;
    if (this.docroot) {
      out += `    location / {
      root ${this.docroot};
      types { text/html html; text/javascript js mjs; application/json json; text/css css; }
      default_type application/octet-stream;
      add_header Cache-Control no-store always;
    }
`;
    } else {
      out += '    location / { return 404; }\n';
    }
    return out;
  }

  async startNginx() {
    fs.mkdirSync(path.join(this.dir, 'nginx'), { recursive: true });
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.httpPort = await freePort();
      this.nginxConf = path.join(this.dir, 'nginx', 'nginx.conf');
      fs.writeFileSync(this.nginxConf, this.nginxConfig());
      const out = fs.openSync(path.join(this.logDir, 'nginx-stderr.log'), 'a');
      const proc = spawn('nginx', ['-p', `${this.dir}/nginx/`, '-c', this.nginxConf, '-e', `${this.dir}/log/nginx-error.log`],
        { stdio: ['ignore', out, out] });
      fs.closeSync(out);
      let exited = false;
      proc.on('exit', () => { exited = true; });
      this.nginxProc = proc;
      try {
        await waitFor(async () => {
          if (exited) throw new Error('nginx exited');
          return canConnect(this.httpPort);
        }, { timeout: 5000, what: 'nginx to listen' });
        this.nginxWorkerPids = await waitFor(() => {
          const k = childPids(proc.pid);
          return k.length ? k : null;
        }, { timeout: 3000, what: 'nginx workers' });
        this.ingestUrl = `http://127.0.0.1:${this.httpPort}/record`;
        return;
      } catch (e) {
        lastErr = new Error(`${e.message}\n${this.log('nginx-error.log')}${this.log('nginx-stderr.log')}`);
        await this.killNginx('SIGKILL');
      }
    }
    throw lastErr;
  }

  // Kills nginx's master and its workers (SIGKILL leaves the workers alive
  // on their own, so they are killed too, as after a crash of the host).
  async killNginx(sig = 'SIGTERM') {
    const proc = this.nginxProc;
    if (!proc) return;
    const workers = childPids(proc.pid);
    const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve()
      : new Promise((r) => proc.once('exit', r));
    signalPid(proc.pid, sig === 'SIGTERM' ? 'SIGQUIT' : sig);
    if (sig === 'SIGKILL') for (const w of workers) signalPid(w, 'SIGKILL');
    const t = setTimeout(() => signalPid(proc.pid, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
    await terminate(workers, 'SIGKILL');
    this.nginxProc = null;
    this.nginxWorkerPids = [];
  }

  async restartNginx() {
    await this.killNginx('SIGTERM');
    await this.startNginx();
  }

  // --- exporter

  async startExporter(extraArgs = []) {
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.metricsPort = await freePort();
      const args = [...this.commonArgs(), `--web.listen-address=127.0.0.1:${this.metricsPort}`,
        ...this.opts.exporterArgs, ...extraArgs];
      const logFd = fs.openSync(path.join(this.logDir, 'exporter.log'), 'a');
      const proc = spawn(EXPORTER_BIN, args, { stdio: ['ignore', logFd, 'pipe'] });
      fs.closeSync(logFd);
      this.exporterProc = proc;
      this.exporterStderr = '';
      let exited = false;
      proc.on('exit', () => { exited = true; });
      proc.stderr.on('data', (d) => {
        this.exporterStderr += d;
        fs.appendFileSync(path.join(this.logDir, 'exporter.log'), d);
      });
      this.metricsUrl = `http://127.0.0.1:${this.metricsPort}/metrics`;
      this.baseMetricsUrl = `http://127.0.0.1:${this.metricsPort}`;
      try {
        await waitFor(async () => {
          if (exited) throw new Error('pum-exporter exited');
          const r = await fetch(`${this.baseMetricsUrl}/-/healthy`);
          await r.arrayBuffer();
          return r.status === 200;
        }, { timeout: 8000, what: 'pum-exporter /-/healthy' });
        return proc;
      } catch (e) {
        lastErr = new Error(`${e.message}\n${this.exporterStderr}`);
        await this.killExporter('SIGKILL');
      }
    }
    throw lastErr;
  }

  async killExporter(sig = 'SIGTERM') {
    const proc = this.exporterProc;
    if (!proc) return null;
    this.exporterProc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, signal: proc.signalCode };
    const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    signalPid(proc.pid, sig);
    const t = setTimeout(() => signalPid(proc.pid, 'SIGKILL'), 5000);
    const res = await exited;
    clearTimeout(t);
    return res;
  }

  async restartExporter() {
    await this.killExporter('SIGTERM');
    return this.startExporter();
  }

  // --- traffic

  // POSTs `body` (a string, a Buffer, or anything else as JSON) to /record
  // through nginx. Returns {status, headers, text, json}.
  async post(body, { contentType = 'application/json', origin, method = 'POST', path: p = '/record', headers = {} } = {}) {
    const h = { ...headers };
    if (contentType) h['content-type'] = contentType;
    if (origin) h.origin = origin;
    let payload = body;
    if (payload !== undefined && typeof payload !== 'string' && !(payload instanceof Uint8Array)) payload = JSON.stringify(payload);
    const init = { method, headers: h };
    if (payload !== undefined && method !== 'GET' && method !== 'HEAD') init.body = payload;
    const r = await fetch(`http://127.0.0.1:${this.httpPort}${p}`, init);
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  }

  async scrapeResponse(headers = {}) {
    const r = await fetch(this.metricsUrl, { headers });
    const text = await r.text();
    return { status: r.status, headers: r.headers, text };
  }

  // GET /metrics: the exposition text (throws unless 200).
  async scrape() {
    const r = await this.scrapeResponse();
    if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text}`);
    return r.text;
  }

  // GET /metrics, parsed (see parseExposition).
  async series() {
    return parseExposition(await this.scrape());
  }

  // --- everything

  async killAll(sig = 'SIGKILL') {
    await this.killWorkers(sig);
    await this.killExporter(sig);
    await this.killNginx(sig);
  }

  async startAll() {
    await this.startWorkers();
    if (this.opts.nginx) await this.startNginx();
    if (this.opts.exporter) await this.startExporter();
  }

  // What AddressSanitizer, LeakSanitizer or UBSan wrote into the logs of
  // the workers and the exporter (make asan), as excerpts; [] if nothing.
  sanitizerReports() {
    const found = [];
    for (const name of ['ingest.log', 'exporter.log']) {
      const text = this.log(name);
      const i = text.search(/ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/);
      if (i >= 0) found.push(`${name}:\n${text.slice(Math.max(0, i - 200), i + 3000)}`);
    }
    return found;
  }

  // Stops everything with SIGTERM and reports how it went:
  // {forcedWorkers, exporterExit, reports}; removes the directory unless a
  // sanitizer reported something.
  async stopChecked() {
    this.stopped = true;
    let out;
    try {
      for (const h of this.helpers) { try { h.kill('SIGKILL'); } catch { /* gone */ } }
      await this.killNginx('SIGTERM');
      const forcedWorkers = await this.killWorkers('SIGTERM');
      const exporterExit = await this.killExporter('SIGTERM');
      out = { forcedWorkers, exporterExit };
    } finally {
      this.killAllSync();
      liveStacks.delete(this);
      const reports = this.sanitizerReports();
      if (reports.length) process.stderr.write(`sanitizer reports: stack kept in ${this.dir}\n`);
      else this.removeDir();
      if (out) out.reports = reports;
    }
    return out;
  }

  // Stops every process and removes the temporary directory. Throws if a
  // sanitizer reported an error in a log (the directory is then kept).
  async stopAll() {
    if (this.stopped || !this.dir) return;
    this.stopped = true;
    let reports = [];
    try {
      for (const h of this.helpers) { try { h.kill('SIGKILL'); } catch { /* gone */ } }
      await this.killNginx('SIGTERM');
      await this.killExporter('SIGTERM');
      await this.killWorkers('SIGTERM');
    } finally {
      this.killAllSync();
      liveStacks.delete(this);
      reports = this.sanitizerReports();
      if (reports.length) process.stderr.write(`sanitizer reports: stack kept in ${this.dir}\n`);
      else this.removeDir();
    }
    if (reports.length) throw new Error(`sanitizer reports in ${this.dir}:\n${reports.join('\n')}`);
  }

  removeDir() {
    if (process.env.PUM_KEEP_TMP === '1') {
      process.stderr.write(`stack kept in ${this.dir}\n`);
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // Synchronous last resort (process 'exit'): SIGKILL everything started.
  killAllSync() {
    const pids = [...this.workerPids, ...this.nginxWorkerPids];
    if (this.nginxProc) pids.push(...childPids(this.nginxProc.pid), this.nginxProc.pid);
    if (this.exporterProc) pids.push(this.exporterProc.pid);
    for (const h of this.helpers) pids.push(h.pid);
    for (const p of pids) if (pidAlive(p)) signalPid(p, 'SIGKILL');
    if (!this.stopped && this.dir) {
      this.stopped = true;
      liveStacks.delete(this);
      this.removeDir();
    }
  }
}

// Starts a Stack and registers its stopAll() with the given `after` hook.
export async function startStack(after, opts) {
  const s = new Stack(opts);
  after(() => s.stopAll());
  await s.start();
  return s;
}

// ---------------------------------------------------------------- fixtures

// The seed's own test configuration (peardeck/prometheus-user-metrics,
// src/__tests__/reportingTests.js), in the seed's allowlist format.
export const SEED_METRICS = {
  allowedMetrics: [
    {
      name: 'usage_total',
      help: 'counts of usage, like times a feature has been used, etc',
      type: 'counter',
      labels: [
        { name: 'browser', allowedValues: ['chrome', 'firefox', 'safari', 'edge'] },
        { name: 'feature', allowedValues: ['quickQuestion', 'selfPacedMode', 'blockStudent', 'showContent'] },
      ],
    },
    {
      name: 'firebase_response_time',
      help: 'measures firebase response times in seconds',
      type: 'histogram',
      labels: [{ name: 'firebaseHost', allowedValues: ['pd-dev-1.firebaseio.com', 'pd-dev-2.firebaseio.com'] }],
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100],
    },
    {
      name: 'app_load_succeeded_total',
      help: 'pages that loaded',
      type: 'counter',
      labels: [],
    },
  ],
};

export function counterEvent(labels, inc = 1, metricName = 'usage_total') {
  return { metricName, metricType: 'counter', labels, inc };
}

export function histogramEvent(labels, observations, metricName = 'firebase_response_time') {
  return { metricName, metricType: 'histogram', labels, observations };
}

// A random client id for pum's wire shape.
export function clientId(prefix = 'c') {
  return `${prefix}-${Math.random().toString(36).slice(2, 12)}`;
}

// Registers before/after hooks (of node:test) that start a Stack for the
// enclosing describe() and stop it; returns {s} filled in by `before`.
// `StackClass` may be a subclass of Stack (e.g. one that supervises its
// workers).
export function useStack(hooks, opts, StackClass = Stack) {
  const ref = { s: null };
  hooks.before(async () => {
    ref.s = new StackClass(opts);
    try {
      await ref.s.start();
    } catch (e) {
      await ref.s.stopAll();
      throw e;
    }
  });
  hooks.after(async () => {
    if (ref.s) await ref.s.stopAll();
  });
  return ref;
}

// The last test of a describe() that uses a stack: everything stops on
// SIGTERM without SIGKILL, pum-exporter exits 0, and no sanitizer (make
// asan) reported anything in the logs.
export function itStopsCleanly(ref) {
  it('stops cleanly on SIGTERM, with no sanitizer report', { timeout: 30000 }, async () => {
    const r = await ref.s.stopChecked();
    assert.deepEqual(r.reports, [], 'sanitizer reports');
    assert.deepEqual(r.forcedWorkers, [], 'pum-ingest workers that needed SIGKILL after SIGTERM');
    if (r.exporterExit) assert.deepEqual(r.exporterExit, { code: 0, signal: null }, 'pum-exporter exit status');
  });
}

// Checks every histogram of a parsed exposition: buckets cumulative (never
// decreasing with le), a +Inf bucket equal to _count, a _sum. Returns a
// list of problems ([] when all is well).
export function histogramProblems(series) {
  const problems = [];
  for (const [family, type] of series.types) {
    if (type !== 'histogram') continue;
    const groups = new Map(); // labels without le -> [[le, v]]
    for (const [k, v] of series) {
      const s = parseSampleLine(`${k} 0`);
      if (s.name !== `${family}_bucket`) continue;
      const { le, ...rest } = s.labels;
      const g = seriesKey(family, rest);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push([parseNumber(le), v]);
    }
    for (const [g, buckets] of groups) {
      buckets.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i][1] < buckets[i - 1][1]) problems.push(`${g}: bucket le=${buckets[i][0]} < le=${buckets[i - 1][0]}`);
      }
      const last = buckets[buckets.length - 1];
      const labels = parseSampleLine(`${g} 0`).labels;
      const count = valueOf(series, `${family}_count`, labels);
      if (last[0] !== Infinity) problems.push(`${g}: no +Inf bucket`);
      else if (last[1] !== count) problems.push(`${g}: +Inf ${last[1]} != _count ${count}`);
      if (valueOf(series, `${family}_sum`, labels) === undefined) problems.push(`${g}: no _sum`);
    }
  }
  return problems;
}

// Runs the sqlite3 shell on `db` with `sql`, which ends by printing `marker`
// (e.g. "BEGIN IMMEDIATE; SELECT 'locked';"), and keeps it open, holding its
// lock or read transaction, until release() ends it with `endSql`.
export async function holdSqlite(db, stack, sql, marker, endSql = 'ROLLBACK;') {
  const sh = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  stack.helpers.add(sh);
  let out = '';
  let err = '';
  sh.stdout.on('data', (d) => { out += d; });
  sh.stderr.on('data', (d) => { err += d; });
  sh.stdin.write(`.timeout 2000\n${sql}\n`);
  await waitFor(() => out.includes(marker), { timeout: 5000, what: `sqlite3 to print ${marker} (${err})` });
  return {
    async release() {
      const exited = new Promise((r) => sh.once('exit', r));
      sh.stdin.end(`${endSql}\n.quit\n`);
      await exited;
      stack.helpers.delete(sh);
    },
  };
}
