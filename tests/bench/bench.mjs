// `make bench`: pum's speed as ratios to baselines measured in the same run,
// on the same machine; writes bench/results.md (see bench/README.md) and
// $BUILD/bench.json (every number). It asserts nothing about speed: the
// machine may be shared, so only ratios within one run mean anything. It
// exits non-zero only if it could not measure or a correctness check
// failed (an acknowledged batch missing from the store, a scrape missing
// observations). Everything it starts it stops; its temporary directories
// are removed (PUM_KEEP_TMP=1 keeps them).
//
// Parts (PUM_BENCH_PARTS, default "ingest,scrape,client"):
//
// ingest (this file). One nginx (worker_processes 1) on a free 127.0.0.1
//   port with three locations, each with the settings of the shipped
//   deploy/nginx/pum.conf (client_max_body_size 64k, client_body_buffer_size
//   64k, fastcgi_params, access_log off):
//     /r204    `return 204`                          the upper bound
//     /null    null-fcgi (null_fcgi.c) x1, x2, x4     the FastCGI path, no work
//     /record  pum-ingest x1, x2, x4, SQLite          the real thing
//   Bodies: a realistic 2.4 KB page-load batch of 20 events of pum.js' own
//   metrics (conf/metrics.d/browser.json: 2 counters, 18 histograms):
//     array   the seed's shape (an array of events): applied every time
//     unique  pum's {"client", "seq", "events"} with a fresh (client, seq)
//             per request: applied every time, plus de-duplication state
//     dup     pum's shape with one fixed (client, seq), applied once before
//             the line: every request measured is a duplicate (x2 only)
//   pum runs with "synchronous": "normal" and "full" (pum.json). Each line
//   is measured twice, S = PUM_BENCH_SECONDS (default 5) seconds each:
//     peak  wrk -t1 -c32 (closed loop: the most it answers; its latency is
//           with 32 requests in flight)
//     half  loadgen (loadgen.c: open loop, a constant rate of half the
//           peak just measured, keep-alive connections, latency from the
//           scheduled send time, so a stall counts for every request it
//           delays: no coordinated omission)
//   Each target first gets a PUM_BENCH_WARMUP_SECONDS (1) wrk warm-up that
//   is not counted. Before and after each measurement (once the workers are
//   idle) pum-exporter's /metrics is read: pum_reports_total must have grown
//   by at least the 2xx answers counted (every acknowledged batch is in the
//   store), and by at most that plus the requests in flight when the
//   measurement stopped. Every non-2xx answer and socket error is counted.
//   The CPU time the workers and nginx used per request (from /proc) and
//   the workers' peak RSS (VmHWM) are recorded.
// scrape (scrape.mjs): pum-exporter vs prometheus-pushgateway at
//   PUM_BENCH_SIZES (1000,8000,50000) histograms x 11 buckets.
// client (client.mjs): pum.js' gzipped sizes and the main-thread time of a
//   flush of 200 series in headless Chromium.
// PUM_BENCH_PROFILE=1 (make bench-profile) runs profile.mjs instead:
//   callgrind profiles of the ingest path and of a scrape.
//
// Environment: BUILD (default build), PUM_BENCH_SECONDS (5),
// PUM_BENCH_CONNECTIONS (wrk's, 32), PUM_BENCH_WARMUP_SECONDS (1),
// PUM_BENCH_WORKERS (1,2,4), PUM_BENCH_SIZES (1000,8000,50000),
// PUM_BENCH_SCRAPES (scrapes per scrape case, 11; PUM_BENCH_SCRAPES_LARGE,
// 5, above 10k histograms), PUM_BENCH_FLUSHES (21), PUM_BENCH_PARTS,
// PUM_BENCH_SECTION (the name of the section of bench/results.md that the
// run writes, default "latest"; the baseline is "before"),
// PUM_BENCH_RESULTS (the file, default bench/results.md),
// PUM_BENCH_SMOKE=1 (a quick check that the harness works: 1 s lines, one
// worker count, 1k histograms, 3 scrapes; writes
// $BUILD/bench/results-smoke.md unless PUM_BENCH_RESULTS is set).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Stack, BUILD_DIR, SHIPPED_METRICS_DIR, REPO, readPidFile, waitFor, sumOf, valueOf, pidAlive,
} from '../integration/stack.mjs';
import { nginxConfig } from '../support/nginx.mjs';
import {
  LOADGEN, NULL_FCGI, envFlag, envInt, envIntList, procStatusKb, runLoadgen, sumCpuSeconds,
} from './common.mjs';
import { runScrape } from './scrape.mjs';
import { runClient } from './client.mjs';
import { runProfiles } from './profile.mjs';
import { machineInfo, renderNumbers, renderProfiles, writeSection } from './results.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SMOKE = envFlag('PUM_BENCH_SMOKE');
const SECONDS = envInt('PUM_BENCH_SECONDS', SMOKE ? 1 : 5);
const CONNECTIONS = envInt('PUM_BENCH_CONNECTIONS', 32);
const WARMUP = envInt('PUM_BENCH_WARMUP_SECONDS', SMOKE ? 0 : 1, 0);
const WORKERS = envIntList('PUM_BENCH_WORKERS', SMOKE ? [2] : [1, 2, 4]);
const SIZES = envIntList('PUM_BENCH_SIZES', SMOKE ? [1000] : [1000, 8000, 50000]);
const SCRAPES = envInt('PUM_BENCH_SCRAPES', SMOKE ? 3 : 11);
const SCRAPES_LARGE = envInt('PUM_BENCH_SCRAPES_LARGE', SMOKE ? 3 : 5);
const FLUSHES = envInt('PUM_BENCH_FLUSHES', SMOKE ? 3 : 21);
const PARTS = (process.env.PUM_BENCH_PARTS || 'ingest,scrape,client').split(',').map((s) => s.trim());
const PROFILE = envFlag('PUM_BENCH_PROFILE');
const SECTION = process.env.PUM_BENCH_SECTION || 'latest';
const RESULTS = path.resolve(REPO, process.env.PUM_BENCH_RESULTS ||
  (SMOKE ? path.join(BUILD_DIR, 'bench', 'results-smoke.md') : path.join('bench', 'results.md')));
const POST_LUA = path.join(HERE, 'post.lua');
const JSON_OUT = path.join(BUILD_DIR, PROFILE ? 'bench-profile.json' : 'bench.json');
const RUN_ID = `b${Date.now().toString(36)}`;

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
    this.nullHelpers = pids.map((pid) => ({ pid, kill: (sig) => process.kill(pid, sig) }));
    for (const h of this.nullHelpers) this.helpers.add(h);
    return pids;
  }

  // Stops the null responders (SIGTERM, then SIGKILL after 3 s).
  async stopNull() {
    const hs = this.nullHelpers || [];
    for (const h of hs) {
      try { h.kill('SIGTERM'); } catch { /* gone */ }
    }
    const deadline = Date.now() + 3000;
    while (hs.some((h) => pidAlive(h.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const h of hs) {
      if (pidAlive(h.pid)) { try { h.kill('SIGKILL'); } catch { /* gone */ } }
      this.helpers.delete(h);
    }
    this.nullHelpers = [];
    fs.rmSync(path.join(this.dir, 'null.pid'), { force: true });
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

// ------------------------------------------------------------------ ingest

async function pumCounters(stack) {
  const s = await stack.series();
  return {
    reports: valueOf(s, 'pum_reports_total', {}, 0),
    duplicates: valueOf(s, 'pum_ingest_duplicate_batches_total', {}, 0),
    requests: sumOf(s, 'pum_ingest_requests_total'),
  };
}

// Waits until the workers are idle: pum_ingest_requests_total unchanged
// over two reads 150 ms apart (the requests in flight when the load
// stopped are finished or abandoned). Returns the counters then.
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

// The store check of one measurement: `ok` 2xx answers were counted, up to
// `slack` more requests may have been applied unseen (in flight when the
// load stopped, or answered on a connection that then failed).
function storeCheck(body, before, after, ok, slack) {
  const stored = after.reports - before.reports;
  const dups = after.duplicates - before.duplicates;
  if (body === 'dup') {
    // The batch was applied once before: each answer here is a duplicate;
    // none adds to pum_reports_total.
    return {
      what: 'duplicates: pum_reports_total unchanged, pum_ingest_duplicate_batches_total grew by the 2xx count',
      acknowledged: ok, stored_delta: stored, duplicates_delta: dups, in_flight_extra: dups - ok, slack,
      pass: stored === 0 && dups >= ok && dups - ok <= slack,
    };
  }
  return {
    what: 'every acknowledged batch is in the store: pum_reports_total grew by >= the 2xx count',
    acknowledged: ok, stored_delta: stored, duplicates_delta: dups, in_flight_extra: stored - ok, slack,
    pass: stored >= ok && stored - ok <= slack && dups === 0,
  };
}

function ingestLines() {
  const lines = [{ id: 'nginx-204', kind: 'r204', target: 'nginx return 204', urlPath: '/r204', body: 'array', workers: 0 }];
  for (const w of WORKERS) {
    lines.push({ id: `null-F${w}`, kind: 'null', target: `null FastCGI x${w}`, urlPath: '/null', body: 'array', workers: w });
    for (const sync of ['normal', 'full']) {
      for (const body of ['array', 'unique']) {
        lines.push({ id: `pum-F${w}-${sync}-${body}`, kind: 'pum', target: `pum-ingest x${w}, ${sync}`, urlPath: '/record', body, workers: w, sync });
      }
    }
    if (w === 2 || (WORKERS.length === 1 && !SMOKE)) {
      lines.push({ id: `pum-F${w}-normal-dup`, kind: 'pum', target: `pum-ingest x${w}, normal, duplicates`, urlPath: '/record', body: 'dup', workers: w, sync: 'normal' });
    }
  }
  return ONLY ? lines.filter((l) => ONLY.test(l.id)) : lines;
}

// PUM_BENCH_CONFIG: JSON merged into the bench's pum.json (experiments,
// e.g. '{"ingest_threads": 8}'); PUM_BENCH_ONLY: a regular expression on
// the line ids (e.g. 'null-F1|pum-F1-normal-array') to run only those.
const EXTRA_CONFIG = JSON.parse(process.env.PUM_BENCH_CONFIG || '{}');
const ONLY = process.env.PUM_BENCH_ONLY ? new RegExp(process.env.PUM_BENCH_ONLY) : null;

function benchConfig(sync) {
  return { ...EXTRA_CONFIG, synchronous: sync };
}

async function runIngest(log) {
  const stack = new BenchStack({ workers: WORKERS[0], metricsDir: SHIPPED_METRICS_DIR, config: benchConfig('normal'),
    ingestArgs: (process.env.PUM_BENCH_INGEST_ARGS || '').split(' ').filter(Boolean) });
  const results = [];
  const checks = [];
  let sync = 'normal';
  let nullPids = [];
  const workerRss = []; // {workers, sync, kb} per set of workers, read before they stop
  const noteRss = () => {
    const kb = Math.max(0, ...stack.workerPids.map((p) => procStatusKb(p) || 0));
    if (!stack.workerPids.length) return;
    const seen = workerRss.find((x) => x.workers === stack.workerPids.length && x.sync === sync);
    if (seen) seen.vmhwm_kb_max = Math.max(seen.vmhwm_kb_max, kb);
    else workerRss.push({ workers: stack.workerPids.length, sync, vmhwm_kb_max: kb });
  };
  try {
    await stack.start();
    nullPids = await stack.startNull(WORKERS[0]);

    const ev = events();
    const arrayBody = JSON.stringify(ev);
    const eventsFile = path.join(stack.dir, 'events.json');
    const arrayFile = path.join(stack.dir, 'body-array.json');
    const dupFile = path.join(stack.dir, 'body-dup.json');
    fs.writeFileSync(eventsFile, arrayBody);
    fs.writeFileSync(arrayFile, arrayBody);
    fs.writeFileSync(dupFile, JSON.stringify({ client: `${RUN_ID}-dup`, seq: 0, events: ev }));
    const sampleUnique = JSON.stringify({ client: `${RUN_ID}-pum-F4-normal-unique-h-1-1023`, seq: 12345, events: ev });
    const sizes = { array: Buffer.byteLength(arrayBody), unique: Buffer.byteLength(sampleUnique), dup: fs.statSync(dupFile).size };
    const counts = { events: ev.length, counters: ev.filter((e) => e.metricType === 'counter').length };
    counts.histograms = counts.events - counts.counters;

    // Sanity: every location answers 204 to the body before anything is
    // measured (a 200 would mean the body has events pum rejects).
    for (const p of ['/r204', '/null', '/record']) {
      const r = await stack.post(arrayBody, { path: p });
      if (r.status !== 204) throw new Error(`POST ${p}: ${r.status} ${r.text}`);
    }
    const bodyOf = {
      array: { file: arrayFile, mode: 'fixed' },
      unique: { file: eventsFile, mode: 'unique' },
      dup: { file: dupFile, mode: 'fixed' },
    };
    const warmed = new Set();
    log(`ingest: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s at the peak, loadgen at half of it for ${SECONDS} s, +${WARMUP} s warm-up per target`);
    for (const line of ingestLines()) {
      if (line.kind === 'null' && nullPids.length !== line.workers) {
        await stack.stopNull();
        nullPids = await stack.startNull(line.workers);
      }
      if (line.kind === 'pum' && (stack.workerPids.length !== line.workers || sync !== line.sync)) {
        noteRss();
        sync = line.sync;
        fs.writeFileSync(stack.configFile, JSON.stringify(benchConfig(sync), null, 2));
        await stack.restartWorkers(line.workers);
      }
      const b = bodyOf[line.body];
      const key = `${line.urlPath} ${line.workers} ${line.sync}`;
      if (WARMUP > 0 && !warmed.has(key)) {
        await wrkRun(stack, { urlPath: line.urlPath, bodyFile: b.file, mode: b.mode, seconds: WARMUP, label: `${line.id}-w` });
        warmed.add(key);
      }
      if (line.body === 'dup') {
        // Apply the fixed (client, seq) once, so that every request
        // measured is a duplicate.
        const first = await stack.post(fs.readFileSync(b.file, 'utf8'));
        if (first.status !== 204) throw new Error(`POST /record (dup body): ${first.status} ${first.text}`);
      }
      const pids = line.kind === 'pum' ? stack.workerPids : line.kind === 'null' ? nullPids : [];
      const isPum = line.kind === 'pum';
      const c0 = isPum ? await quiescentCounters(stack) : null;
      log(`  ${line.id} ...`);
      const cpu0 = sumCpuSeconds(pids);
      const ncpu0 = sumCpuSeconds(stack.nginxWorkerPids);
      const peak = await wrkRun(stack, { urlPath: line.urlPath, bodyFile: b.file, mode: b.mode, seconds: SECONDS, label: `${line.id}-p` });
      const cpu1 = sumCpuSeconds(pids);
      const ncpu1 = sumCpuSeconds(stack.nginxWorkerPids);
      const c1 = isPum ? await quiescentCounters(stack) : null;
      const rate = Math.max(1, Math.round(peak.rps / 2));
      const half = await runLoadgen(stack, {
        port: stack.httpPort, urlPath: line.urlPath, bodyFile: b.file, mode: b.mode, run: `${RUN_ID}-${line.id}-h`, rate, seconds: SECONDS,
      });
      const c2 = isPum ? await quiescentCounters(stack) : null;
      const res = {
        id: line.id, kind: line.kind, target: line.target, body: line.body, body_bytes: sizes[line.body], workers: line.workers,
        sync: line.sync || null,
        peak: {
          tool: `wrk -t1 -c${CONNECTIONS}`, requests: peak.requests, ok_2xx: peak.ok, non_2xx: peak.errors.status,
          socket_errors: peak.errors.connect + peak.errors.read + peak.errors.write + peak.errors.timeout,
          errors: peak.errors, rps: peak.rps, duration_s: peak.duration_us / 1e6,
          latency_ms: Object.fromEntries(Object.entries(peak.latency_us).map(([k, v]) => [k, v / 1000])),
          worker_cpu_us_per_req: pids.length ? ((cpu1 - cpu0) / peak.requests) * 1e6 : null,
          nginx_cpu_us_per_req: ((ncpu1 - ncpu0) / peak.requests) * 1e6,
        },
        half: {
          tool: 'loadgen (open loop)', rate, requests: half.sent, ok_2xx: half.ok, non_2xx: half.non2xx, status: half.status,
          errors: half.errors, unsent: half.unsent, unfinished: half.unfinished, late_1ms: half.late_1ms,
          max_backlog: half.max_backlog, achieved_rps: half.completed / half.elapsed_s, loadgen_cpu_s: half.cpu_s,
          latency_ms: Object.fromEntries(Object.entries(half.latency_us).map(([k, v]) => [k, v / 1000])),
          service_ms: Object.fromEntries(Object.entries(half.service_us).map(([k, v]) => [k, v / 1000])),
        },
      };
      if (isPum) {
        const slackPeak = CONNECTIONS + peak.errors.timeout + peak.errors.read + peak.errors.write;
        const slackHalf = half.unfinished + half.errors.io + half.errors.parse;
        res.store_check = {
          peak: storeCheck(line.body, c0, c1, peak.ok, slackPeak),
          half: storeCheck(line.body, c1, c2, half.ok, slackHalf),
        };
        for (const [phase, c] of Object.entries(res.store_check)) {
          c.line = `${line.id} ${phase}`;
          checks.push(c);
        }
        res.worker_vmhwm_kb_max = Math.max(0, ...pids.map((p) => procStatusKb(p) || 0));
      }
      results.push(res);
      log(`    peak ${Math.round(peak.rps)} req/s (p50 ${res.peak.latency_ms.p50.toFixed(2)}, p99 ${res.peak.latency_ms.p99.toFixed(2)} ms),` +
        ` half ${rate}/s: p50 ${res.half.latency_ms.p50.toFixed(2)}, p99 ${res.half.latency_ms.p99.toFixed(2)} ms;` +
        ` non-2xx ${res.peak.non_2xx + res.peak.socket_errors}+${res.half.non_2xx}` +
        (isPum ? `; store ${Object.values(res.store_check).every((c) => c.pass) ? 'PASS' : 'FAIL'}` : '') +
        (pids.length ? `; cpu/req worker ${res.peak.worker_cpu_us_per_req.toFixed(0)} us, nginx ${res.peak.nginx_cpu_us_per_req.toFixed(0)} us` : ''));
    }
    noteRss();
    const nullRss = Math.max(0, ...nullPids.map((p) => procStatusKb(p) || 0));
    // Ratios: pum to the null responder with the same worker count.
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    for (const r of results) {
      const nul = byId[`null-F${r.workers}`];
      r.ratio_vs_null = nul && r.kind !== 'r204' ? r.peak.rps / nul.peak.rps : null;
      r.ratio_vs_nginx_204 = byId['nginx-204'] ? r.peak.rps / byId['nginx-204'].peak.rps : null;
    }
    return {
      wrk: { threads: 1, connections: CONNECTIONS, seconds: SECONDS, warmup_seconds: WARMUP },
      loadgen: { connections: 64, seconds: SECONDS, rate: 'half of the line\'s wrk peak' },
      nginx: { worker_processes: 1, access_log: 'off', config: 'deploy/nginx/pum.conf\'s location' },
      bodies: sizes, events: counts, results, store_checks: checks, worker_rss: workerRss, null_fcgi_vmhwm_kb: nullRss,
      all_checks_pass: checks.every((c) => c.pass),
    };
  } finally {
    await stack.stopAll();
  }
}

// ------------------------------------------------------------------ main

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function main() {
  for (const f of [NULL_FCGI, LOADGEN]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run make bench (it builds it)`);
  }
  const started = Date.now();
  const json = { when: new Date(started).toISOString(), section: SECTION, smoke: SMOKE };
  json.machine_before = machineInfo();
  log(`pum benchmark (${PROFILE ? 'profiles' : PARTS.join(', ')}), section "${SECTION}"; ${json.machine_before.uptime}`);
  let failed = [];
  if (PROFILE) {
    json.profiles = await runProfiles({ log, runId: RUN_ID, arrayBody: JSON.stringify(events()) });
  } else {
    if (PARTS.includes('ingest')) {
      json.ingest = await runIngest(log);
      if (!json.ingest.all_checks_pass) failed.push('an ingest store check (an acknowledged batch missing from the store)');
    }
    if (PARTS.includes('scrape')) {
      log(`scrape: ${SIZES.join(', ')} histograms, pum-exporter vs prometheus-pushgateway`);
      json.scrape = await runScrape({ sizes: SIZES, scrapes: SCRAPES, scrapesLarge: SCRAPES_LARGE, log });
      if (!json.scrape.sizes.every((s) => s.check.pass)) failed.push('a scrape check (observations missing from /metrics)');
    }
    if (PARTS.includes('client')) {
      log('client: gzipped sizes, flush of 200 series in headless Chromium');
      json.client = await runClient({ flushes: FLUSHES, log });
    }
  }
  json.machine_after = machineInfo();
  json.elapsed_s = (Date.now() - started) / 1000;
  fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  fs.writeFileSync(JSON_OUT, `${JSON.stringify(json, null, 2)}\n`);
  const md = PROFILE ? renderProfiles(json) : renderNumbers(json);
  writeSection(RESULTS, SECTION, PROFILE ? 'profiles' : 'numbers', md);
  log(`\n${md}`);
  log(`wrote ${path.relative(process.cwd(), RESULTS) || RESULTS} (section "${SECTION}") and ` +
    `${path.relative(process.cwd(), JSON_OUT)} in ${json.elapsed_s.toFixed(0)} s; ${json.machine_after.uptime}`);
  if (failed.length) {
    process.stderr.write(`bench: FAILED: ${failed.join('; ')} (see above)\n`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack || e}\n`);
  process.exitCode = 2;
});
