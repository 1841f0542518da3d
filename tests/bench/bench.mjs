// `make bench`: pum's ingest throughput as ratios against baselines measured
// in the same run, on the same machine, behind the same nginx.
//
// One nginx (worker_processes 1) on a free 127.0.0.1 port with three
// locations, each with the settings of the shipped deploy/nginx/pum.conf
// (client_max_body_size 64k, client_body_buffer_size 64k, fastcgi_params,
// access_log off):
//   /r204    `return 204`                       the upper bound
//   /null    null-fcgi (null_fcgi.c) x2          the FastCGI path, no work
//   /record  pum-ingest x2 (then x1), SQLite     the real thing
// Each line is `wrk -t1 -c32 -dNs -s post.lua` (N = PUM_BENCH_SECONDS,
// default 8); each location (and pum again after its workers change to
// -F 1) first gets a 1 s warm-up that is not counted. The bodies are a
// realistic ~2.4 KB batch of pum.js' own metrics (conf/metrics.d/browser.json):
//   array   the seed's shape (an array of events): applied every time
//   unique  pum's {"client", "seq", "events"} with a fresh (client, seq)
//           per request (post.lua): applied every time, plus de-duplication
//           state
//   dup     pum's shape with one fixed (client, seq), applied once before
//           the line: every request measured is a duplicate, acknowledged
//           (204) and not applied
// Before and after each pum line (once the workers are idle),
// pum-exporter's /metrics (read from the store) is read; it must
// show pum_reports_total grown by at least the 2xx answers wrk counted:
// every acknowledged batch is in the store. It may be larger by the
// requests still in flight when wrk stopped (at most -c of them, plus any
// wrk timed out), which pum applied but wrk never saw answered.
//
// Prints a table and writes $BUILD/bench.json. It asserts nothing about
// speed: the machine is shared, so only ratios within one run mean anything.
// It exits non-zero only if it could not measure (or a check of the store
// failed). Everything it starts it stops; its temporary directory is
// removed (PUM_KEEP_TMP=1 keeps it).
//
// Environment: BUILD (default build), PUM_BENCH_SECONDS (default 8),
// PUM_BENCH_CONNECTIONS (default 32), PUM_BENCH_WARMUP_SECONDS (default 1).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Stack, BUILD_DIR, SHIPPED_METRICS_DIR, REPO, readPidFile, waitFor, sumOf, valueOf,
} from '../integration/stack.mjs';
import { nginxConfig } from '../support/nginx.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = positiveInt('PUM_BENCH_SECONDS', 8);
const CONNECTIONS = positiveInt('PUM_BENCH_CONNECTIONS', 32);
const WARMUP = nonNegativeInt('PUM_BENCH_WARMUP_SECONDS', 1);
const NULL_FCGI = path.join(BUILD_DIR, 'bench', 'null-fcgi');
const POST_LUA = path.join(HERE, 'post.lua');
const JSON_OUT = path.join(BUILD_DIR, 'bench.json');
const RUN_ID = `b${Date.now().toString(36)}`;

function positiveInt(name, dflt) {
  const v = process.env[name] === undefined || process.env[name] === '' ? dflt : Number(process.env[name]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
}
function nonNegativeInt(name, dflt) {
  const v = process.env[name] === undefined || process.env[name] === '' ? dflt : Number(process.env[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be an integer >= 0`);
  return v;
}

// ------------------------------------------------------------------ bodies

// What pum.js sends after a page view and a few seconds of use: the page
// view, the page load and its ten phases, the five web vitals, an error and
// a handful of API calls. Every event is valid for browser.json (checked
// below: the answer must be 204).
function events() {
  const phases = {
    redirect: 0, cache: 0.002, dns: 0.013, connect: 0.041, request: 0.087, response: 0.034,
    dom_processing: 0.412, dom_content_loaded: 0.009, subresources: 0.623, load_event: 0.004,
  };
  const ev = [
    { metricName: 'browser_page_views_total', metricType: 'counter', inc: 1 },
    { metricName: 'browser_page_load_seconds', metricType: 'histogram', observations: [1.225] },
  ];
  for (const [phase, v] of Object.entries(phases)) {
    ev.push({ metricName: 'browser_navigation_phase_seconds', metricType: 'histogram', labels: { phase }, observations: [v] });
  }
  ev.push(
    { metricName: 'browser_web_vitals_lcp_seconds', metricType: 'histogram', observations: [1.84] },
    { metricName: 'browser_web_vitals_fcp_seconds', metricType: 'histogram', observations: [0.912] },
    { metricName: 'browser_web_vitals_ttfb_seconds', metricType: 'histogram', observations: [0.183] },
    { metricName: 'browser_web_vitals_cls', metricType: 'histogram', observations: [0.042] },
    { metricName: 'browser_web_vitals_inp_seconds', metricType: 'histogram', observations: [0.088, 0.152] },
    { metricName: 'browser_errors_total', metricType: 'counter', labels: { kind: 'error' }, inc: 1 },
    { metricName: 'browser_api_request_duration_seconds', metricType: 'histogram',
      labels: { host: 'api.example.com', method: 'GET', status_class: '2xx' }, observations: [0.093, 0.121, 0.078, 0.264] },
    { metricName: 'browser_api_request_duration_seconds', metricType: 'histogram',
      labels: { host: 'api.example.com', method: 'POST', status_class: '5xx' }, observations: [0.187] },
  );
  return ev;
}

// ------------------------------------------------------------------ stack

// The integration harness' Stack with the benchmark's nginx config and a
// second FastCGI pool, the null responder, on its own socket.
class BenchStack extends Stack {
  nginxConfig() {
    const d = this.dir;
    const shipped = fs.readFileSync(path.join(REPO, 'deploy', 'nginx', 'pum.conf'), 'utf8')
      .split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    if (!shipped.includes('unix:/run/pum/ingest.sock')) throw new Error('deploy/nginx/pum.conf: no fastcgi_pass unix:/run/pum/ingest.sock');
    const pumLoc = shipped.replace('unix:/run/pum/ingest.sock', `unix:${this.sock}`);
    const nullLoc = pumLoc.replace('location = /record', 'location = /null').replace(`unix:${this.sock}`, `unix:${this.nullSock}`);
    const r204Loc = pumLoc.replace('location = /record', 'location = /r204')
      .replace(/include \/etc\/nginx\/fastcgi_params;/, '').replace(/fastcgi_\w+ [^;]*;/g, '')
      .replace(/access_log off;/, 'access_log off; return 204;');
    return nginxConfig({
      writtenBy: 'tests/bench/bench.mjs',
      nginxDir: `${d}/nginx`,
      port: this.httpPort,
      errorLog: `${d}/log/nginx-error.log`,
      workerConnections: 1024,
      server: [pumLoc, nullLoc, r204Loc, 'location / { return 404; }'],
    });
  }

  async startNginx() {
    this.nullSock = path.join(this.dir, 'null.sock');
    return super.startNginx();
  }

  // spawn-fcgi -F n null-fcgi on this.nullSock; their pids are registered as
  // helpers so that every way out of this process kills them.
  async startNull(n) {
    const pidFile = path.join(this.dir, 'null.pid');
    const r = spawnSync('spawn-fcgi', ['-s', this.nullSock, '-M', '0666', '-F', String(n), '-P', pidFile, '--', NULL_FCGI],
      { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`spawn-fcgi null-fcgi failed (${r.status}): ${r.stderr}${r.stdout}`);
    const pids = await waitFor(() => {
      const p = fs.existsSync(pidFile) ? readPidFile(pidFile) : [];
      return p.length === n ? p : null;
    }, { timeout: 5000, what: 'the null-fcgi pid file' });
    for (const pid of pids) this.helpers.add({ pid, kill: (sig) => process.kill(pid, sig) });
    return pids;
  }
}

// ------------------------------------------------------------------ wrk

function wrkRun(stack, { urlPath, bodyFile, mode = 'fixed', seconds, label }) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', POST_LUA, `http://127.0.0.1:${stack.httpPort}${urlPath}`];
  const env = { ...process.env, PUM_BENCH_BODY: bodyFile, PUM_BENCH_MODE: mode, PUM_BENCH_RUN: `${RUN_ID}-${label}` };
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const helper = { pid: child.pid, kill: (sig) => child.kill(sig) };
    stack.helpers.add(helper);
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      stack.helpers.delete(helper);
      const m = /^PUM_BENCH_RESULT (.*)$/m.exec(out);
      if (code !== 0 || !m) {
        reject(new Error(`wrk ${args.join(' ')}: exit ${code ?? signal}\n${out}${err}`));
        return;
      }
      const r = JSON.parse(m[1]);
      r.rps = r.requests / (r.duration_us / 1e6);
      r.ok = r.requests - r.errors.status; // 2xx (and 3xx, which none answers)
      r.wrk_text = out.replace(/^PUM_BENCH_RESULT .*\n?/m, '').trimEnd();
      resolve(r);
    });
  });
}

// ------------------------------------------------------------------ main

function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}
function fmtMs(ms) {
  return ms.toFixed(2);
}
function fmtRatio(x) {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3);
}

async function pumCounters(stack) {
  const s = await stack.series();
  return {
    reports: valueOf(s, 'pum_reports_total', {}, 0),
    duplicates: valueOf(s, 'pum_ingest_duplicate_batches_total', {}, 0),
    requests: sumOf(s, 'pum_ingest_requests_total'),
  };
}

// Waits until the workers are idle: pum_ingest_requests_total unchanged
// over two reads 150 ms apart (the requests in flight when wrk stopped are
// finished or abandoned). Returns the counters then.
async function quiescentCounters(stack) {
  let prev = await pumCounters(stack);
  const deadline = Date.now() + 5000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    const cur = await pumCounters(stack);
    if (cur.requests === prev.requests || Date.now() > deadline) return cur;
    prev = cur;
  }
}

async function main() {
  for (const f of [NULL_FCGI]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run make bench (it builds it)`);
  }
  const started = Date.now();
  const nproc = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const stack = new BenchStack({
    workers: 2,
    metricsDir: SHIPPED_METRICS_DIR,
    config: { synchronous: 'normal' },
  });
  const results = [];
  const checks = [];
  let failed = false;
  try {
    await stack.start();
    await stack.startNull(2);

    // Bodies.
    const ev = events();
    const arrayBody = JSON.stringify(ev);
    const eventsFile = path.join(stack.dir, 'events.json');
    const arrayFile = path.join(stack.dir, 'body-array.json');
    const dupFile = path.join(stack.dir, 'body-dup.json');
    fs.writeFileSync(eventsFile, arrayBody);
    fs.writeFileSync(arrayFile, arrayBody);
    fs.writeFileSync(dupFile, JSON.stringify({ client: `${RUN_ID}-dup`, seq: 0, events: ev }));
    const sampleUnique = JSON.stringify({ client: `${RUN_ID}-unique-1-1023`, seq: 12345, events: ev });
    const sizes = {
      array: Buffer.byteLength(arrayBody),
      unique: Buffer.byteLength(sampleUnique),
      dup: fs.statSync(dupFile).size,
    };

    // Sanity: every location answers 204 to the body before anything is
    // measured (a 200 would mean the body has events pum rejects).
    for (const p of ['/r204', '/null', '/record']) {
      const r = await stack.post(arrayBody, { path: p });
      if (r.status !== 204) throw new Error(`POST ${p}: ${r.status} ${r.text}`);
    }

    const lines = [
      { id: 'nginx-204', target: 'nginx return 204', urlPath: '/r204', body: 'array' },
      { id: 'null-fcgi-F2', target: 'null FastCGI, spawn-fcgi -F 2', urlPath: '/null', body: 'array' },
      { id: 'pum-F2-array', target: 'pum-ingest -F 2, SQLite', urlPath: '/record', body: 'array', pum: 2 },
      { id: 'pum-F2-unique', target: 'pum-ingest -F 2, SQLite', urlPath: '/record', body: 'unique', pum: 2 },
      { id: 'pum-F2-dup', target: 'pum-ingest -F 2, duplicate acks', urlPath: '/record', body: 'dup', pum: 2 },
      { id: 'pum-F1-array', target: 'pum-ingest -F 1, SQLite', urlPath: '/record', body: 'array', pum: 1 },
    ];
    const bodyOf = {
      array: { file: arrayFile, mode: 'fixed' },
      unique: { file: eventsFile, mode: 'unique' },
      dup: { file: dupFile, mode: 'fixed' },
    };
    const warmed = new Set();
    process.stdout.write(`pum ingest benchmark: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s (+${WARMUP}s warm-up per target), nproc ${nproc}\n`);
    for (const line of lines) {
      if (line.pum && stack.workerPids.length !== line.pum) {
        await stack.restartWorkers(line.pum);
        warmed.delete('/record');
      }
      const b = bodyOf[line.body];
      const key = line.urlPath;
      if (WARMUP > 0 && !warmed.has(key)) {
        await wrkRun(stack, { urlPath: line.urlPath, bodyFile: b.file, mode: b.mode, seconds: WARMUP, label: `${line.id}-warm` });
        warmed.add(key);
        if (line.pum) await quiescentCounters(stack);
      }
      if (line.body === 'dup') {
        // Apply the fixed (client, seq) once, so that every request
        // measured is a duplicate.
        const first = await stack.post(fs.readFileSync(b.file, 'utf8'));
        if (first.status !== 204) throw new Error(`POST /record (dup body): ${first.status} ${first.text}`);
      }
      const before = line.pum ? await quiescentCounters(stack) : null;
      process.stdout.write(`  measuring ${line.id} ...\n`);
      const r = await wrkRun(stack, { urlPath: line.urlPath, bodyFile: b.file, mode: b.mode, seconds: SECONDS, label: line.id });
      const res = {
        id: line.id, target: line.target, body: line.body, body_bytes: sizes[line.body], workers: line.pum || (line.urlPath === '/null' ? 2 : 0),
        requests: r.requests, ok_2xx: r.ok, rps: r.rps, duration_s: r.duration_us / 1e6,
        errors: r.errors, wrk_output: r.wrk_text, latency_ms: Object.fromEntries(Object.entries(r.latency_us).map(([k, v]) => [k, v / 1000])),
      };
      if (line.pum) {
        const after = await quiescentCounters(stack);
        const stored = after.reports - before.reports;
        const dups = after.duplicates - before.duplicates;
        const slack = CONNECTIONS + r.errors.timeout;
        let check;
        if (line.body === 'dup') {
          // The batch was applied once before: each answer here is a
          // duplicate; none adds to pum_reports_total.
          const okDup = stored === 0 && dups >= r.ok && dups - r.ok <= slack;
          check = {
            what: 'duplicates: pum_reports_total unchanged, pum_ingest_duplicate_batches_total grew by the 2xx count',
            acknowledged: r.ok, stored_delta: stored, duplicates_delta: dups, in_flight_extra: dups - r.ok,
            pass: okDup,
          };
        } else {
          check = {
            what: 'every acknowledged batch is in the store: pum_reports_total grew by >= the 2xx count',
            acknowledged: r.ok, stored_delta: stored, duplicates_delta: dups, in_flight_extra: stored - r.ok,
            pass: stored >= r.ok && stored - r.ok <= slack && dups === 0,
          };
        }
        check.line = line.id;
        check.tolerance = `0..${slack} extra (requests in flight when wrk stopped)`;
        res.store_check = check;
        checks.push(check);
        if (!check.pass) failed = true;
      }
      results.push(res);
    }
  } finally {
    await stack.stopAll();
  }

  // Ratios.
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const nginx = byId['nginx-204'].rps;
  const nul = byId['null-fcgi-F2'].rps;
  for (const r of results) {
    r.ratio_vs_null_fcgi = r.rps / nul;
    r.ratio_vs_nginx_204 = r.rps / nginx;
  }

  // Table.
  const head = ['line', 'body', 'req/s', 'vs null-fcgi', 'vs nginx-204', 'p50 ms', 'p99 ms', '2xx', 'non-2xx', 'sock err'];
  const rows = results.map((r) => [
    r.id, `${r.body} ${r.body_bytes}B`, fmtInt(r.rps), fmtRatio(r.ratio_vs_null_fcgi), fmtRatio(r.ratio_vs_nginx_204),
    fmtMs(r.latency_ms.p50), fmtMs(r.latency_ms.p99), fmtInt(r.ok_2xx), String(r.errors.status),
    String(r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmtRow = (row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [];
  out.push('');
  out.push(`pum ingest throughput, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, nginx worker_processes 1, nproc ${nproc}`);
  out.push('The numbers are for comparison within this run only (shared, noisy machine); compare the ratios, not req/s across runs.');
  out.push('');
  out.push(fmtRow(head));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) out.push(fmtRow(row));
  out.push('');
  out.push('array  = the seed\'s shape (an array of events), applied every time (the main case)');
  out.push('unique = pum\'s {client, seq, events}, a fresh (client, seq) per request: applied, plus de-duplication state');
  out.push('dup    = pum\'s shape with one fixed (client, seq): acknowledged as a duplicate, not applied');
  out.push('');
  out.push('store check (pum-exporter /metrics after each pum line):');
  for (const c of checks) {
    const extra = c.in_flight_extra;
    out.push(`  ${c.pass ? 'PASS' : 'FAIL'} ${c.line}: wrk 2xx ${fmtInt(c.acknowledged)}, pum_reports_total +${fmtInt(c.stored_delta)}` +
      `, duplicates +${fmtInt(c.duplicates_delta)}` +
      (extra === 0 ? ' (exact)' : ` (${extra > 0 ? '+' : ''}${extra} vs 2xx; allowed ${c.tolerance})`));
  }
  out.push('');
  const json = {
    when: new Date(started).toISOString(),
    note: 'For comparison within this run only: the machine is shared and noisy. Compare ratios, not req/s across runs.',
    host: { nproc, cpu: os.cpus()[0]?.model || '', kernel: os.release() },
    wrk: { threads: 1, connections: CONNECTIONS, seconds: SECONDS, warmup_seconds: WARMUP },
    nginx: { worker_processes: 1, access_log: 'off' },
    pum: { synchronous: 'normal', metrics_dir: 'conf/metrics.d' },
    results,
    store_checks: checks,
    all_checks_pass: !failed,
    elapsed_s: (Date.now() - started) / 1000,
  };
  fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  fs.writeFileSync(JSON_OUT, `${JSON.stringify(json, null, 2)}\n`);
  out.push(`wrote ${path.relative(process.cwd(), JSON_OUT) || JSON_OUT} (${json.elapsed_s.toFixed(1)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (failed) {
    process.stderr.write('bench: a store check FAILED: an acknowledged batch is missing from the store (see above)\n');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack || e}\n`);
  process.exitCode = 2;
});
