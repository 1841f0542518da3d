// `make bench-profile` (PUM_BENCH_PROFILE=1 tests/bench/bench.mjs):
// callgrind profiles of pum's two hot paths, for bench/results.md.
//
// - ingest: one pum-ingest under `valgrind --tool=callgrind`, started by
//   spawn-fcgi behind nginx as in `make bench`, the shipped allowlist,
//   synchronous=normal. Callgrind starts with its instrumentation off
//   (--instr-atstart=no: start-up is not counted); after
//   PUM_PROFILE_WARMUP (20) requests of the page-load batch (the seed's
//   array shape) `callgrind_control -i on` switches it on, the worker serves
//   PUM_PROFILE_REQUESTS (400) more, then SIGTERM ends it and callgrind
//   writes its profile. (Zeroing the counters with callgrind_control -z or
//   -d instead leaves the self costs of the frames active at that moment
//   wrong: everything lands in clone() or main().)
// - scrape: pum-exporter under callgrind, the same way, on a store of
//   PUM_PROFILE_SIZE (8000) histograms x 11 buckets (filled as scrape.mjs
//   does): one write and one scrape uncounted, then instrumentation on, one
//   write (one series, through pum-ingest, not profiled) and ONE scrape as
//   Prometheus scrapes (its Accept header, gzip), then SIGTERM.
// Each profile is summarized with callgrind_annotate: the total
// instructions (Ir), per request for the ingest, and the top
// PUM_PROFILE_TOP (15) functions by inclusive and by self cost. Frames that
// only wrap everything (main, libc's start, thread start) are left out of
// the inclusive list. The raw callgrind.out files stay in $BUILD/bench/
// for callgrind_annotate or kcachegrind.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Stack, BUILD_DIR, EXPORTER_BIN, INGEST_BIN, REPO, SHIPPED_METRICS_DIR, freePort, readPidFile, waitFor }
  from '../integration/stack.mjs';
import { envInt, runLoadgen } from './common.mjs';
import { ALLOWLIST, Model, capturePrometheusHeaders, fill, write } from './scrape.mjs';

const OUT_DIR = path.join(BUILD_DIR, 'bench');
const TOP = envInt('PUM_PROFILE_TOP', 15);

function valgrindArgs(outFile) {
  return ['--tool=callgrind', `--callgrind-out-file=${outFile}`, '--vgdb=yes', '--instr-atstart=no'];
}

// A Stack whose one pum-ingest runs under callgrind.
class CallgrindStack extends Stack {
  async startWorkers(n = this.opts.workers) {
    if (!this.profileOut) return super.startWorkers(n);
    fs.rmSync(this.pidFile, { force: true });
    const log = path.join(this.logDir, 'ingest.log');
    const args = ['-s', this.sock, '-M', '0666', '-F', '1', '-P', this.pidFile, '--',
      '/bin/sh', '-c', `exec "$0" "$@" 2>>'${log}'`, 'valgrind', ...valgrindArgs(this.profileOut),
      INGEST_BIN, ...this.commonArgs()];
    const r = spawnSync('spawn-fcgi', args, { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`spawn-fcgi valgrind pum-ingest failed (${r.status}): ${r.stderr}${r.stdout}`);
    this.workerPids = await waitFor(() => {
      const pids = fs.existsSync(this.pidFile) ? readPidFile(this.pidFile) : [];
      return pids.length === 1 ? pids : null;
    }, { timeout: 10000, what: 'the spawn-fcgi pid file' });
    return this.workerPids;
  }
}

function callgrindControl(args) {
  const r = spawnSync('callgrind_control', args, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${r.status} ${r.stderr}${r.stdout}`);
}

// Frames that contain everything and say nothing (the inclusive list
// leaves them out).
const WRAPPERS = /^(\(below main\)|main|__libc_start_main.*|libc_start_call_main|start_thread|clone3?)$/;

// "file:function [object]" as callgrind_annotate prints it, to
// {key, fn, obj}: the function with the standard templates' long names
// shortened, the object's base name. A function without a symbol (a
// static function of a library built without them) keeps its address.
export function prettyName(raw) {
  let obj = '';
  let s = raw;
  const m = /\s\[([^\]]+)\]$/.exec(s);
  if (m) {
    obj = path.basename(m[1]);
    s = s.slice(0, m.index);
  }
  const colon = s.indexOf(':');
  let fn = colon >= 0 ? s.slice(colon + 1) : s;
  fn = fn.replaceAll('std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >', 'std::string')
    .replaceAll('std::basic_string_view<char, std::char_traits<char> >', 'std::string_view')
    .replaceAll('rapidjson::GenericReader<rapidjson::UTF8<char>, rapidjson::UTF8<char>, rapidjson::CrtAllocator>', 'rapidjson::Reader')
    .replaceAll('rapidjson::UTF8<char>', 'UTF8').replaceAll('std::__cxx11::', 'std::').replaceAll('[abi:cxx11]', '')
    .replace(/\s+/g, ' ');
  const unnamed = /^0x[0-9a-f]+$/.test(fn);
  if (fn.length > 180) fn = `${fn.slice(0, 177)}...`;
  return { key: unnamed ? `${obj} ${fn}` : fn, fn: unnamed ? `(no symbol) ${fn.replace(/^0x0+/, '0x')}` : fn, obj };
}

// callgrind_annotate's table: {total, rows: [{ir, pct, fn, obj}]}, the
// rows merged by function (callgrind lists a function once per source file
// its code came from, inlined headers included): self costs summed,
// inclusive costs the largest.
function annotate(file, inclusive) {
  const r = spawnSync('callgrind_annotate', [`--inclusive=${inclusive ? 'yes' : 'no'}`, '--threshold=100', '--auto=no', file],
    { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`callgrind_annotate ${file}: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  const total = Number((/^([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS/m.exec(r.stdout) || [0, '0'])[1].replace(/,/g, ''));
  const start = lines.findIndex((l) => /^Ir\s+file:function/.test(l));
  const merged = new Map();
  for (const l of lines.slice(start + 2)) {
    if (l.startsWith('----')) break; // the end of the function table
    const m = /^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$/.exec(l);
    if (!m) continue;
    const ir = Number(m[1].replace(/,/g, ''));
    const name = prettyName(m[3]);
    if (inclusive && (WRAPPERS.test(name.fn) || (name.fn.startsWith('(no symbol)') && ir > 0.95 * total))) continue;
    const seen = merged.get(name.key);
    if (!seen) merged.set(name.key, { ...name, ir });
    else seen.ir = inclusive ? Math.max(seen.ir, ir) : seen.ir + ir;
  }
  const rows = [...merged.values()].sort((a, b) => b.ir - a.ir).slice(0, TOP)
    .map((x) => ({ ir: x.ir, pct: total ? (100 * x.ir) / total : 0, fn: x.fn, obj: x.obj }));
  return { total, rows };
}

function summarize(file) {
  return { file: path.relative(REPO, file), inclusive: annotate(file, true), self: annotate(file, false) };
}

async function waitForFile(file, timeoutMs = 60000) {
  await waitFor(() => fs.existsSync(file) && fs.statSync(file).size > 0, { timeout: timeoutMs, interval: 200, what: file });
}

async function profileIngest({ log, runId, arrayBody, warmup, requests }) {
  const out = path.join(OUT_DIR, 'callgrind.ingest.out');
  fs.rmSync(out, { force: true });
  const stack = new CallgrindStack({ workers: 1, metricsDir: SHIPPED_METRICS_DIR, config: { synchronous: 'normal' } });
  stack.profileOut = out;
  try {
    await stack.start();
    const body = path.join(stack.dir, 'body.json');
    fs.writeFileSync(body, arrayBody);
    await waitFor(async () => (await stack.post(arrayBody)).status === 204, { timeout: 60000, interval: 500, what: 'pum-ingest under valgrind to answer' });
    const lg = (count, run) => runLoadgen(stack, {
      port: stack.httpPort, urlPath: '/record', bodyFile: body, rate: 500, count, connections: 2, drainSeconds: 300, run,
    });
    const w = await lg(warmup, `${runId}-w`);
    if (w.ok !== warmup) throw new Error(`profile warm-up: ${w.ok} of ${warmup} answered 2xx`);
    callgrindControl(['-i', 'on', String(stack.workerPids[0])]);
    const t0 = Date.now();
    const r = await lg(requests, `${runId}-p`);
    if (r.ok !== requests) throw new Error(`profile: ${r.ok} of ${requests} answered 2xx`);
    log(`  ingest: ${requests} requests under callgrind in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await stack.killWorkers('SIGTERM');
    await waitForFile(out);
  } finally {
    await stack.stopAll();
  }
  const s = summarize(out);
  s.requests = requests;
  s.warmup = warmup;
  s.ir_per_request = s.inclusive.total / requests;
  s.body_bytes = Buffer.byteLength(arrayBody);
  return s;
}

async function profileScrape({ log, size }) {
  const out = path.join(OUT_DIR, 'callgrind.scrape.out');
  fs.rmSync(out, { force: true });
  const stack = new Stack({ workers: 1, metrics: { 'bench.json': ALLOWLIST }, config: { synchronous: 'normal' } });
  let exporter;
  try {
    await stack.start();
    const { headers } = await capturePrometheusHeaders(stack);
    const model = new Model(size);
    await fill(stack, model, size);
    await stack.killExporter('SIGTERM');
    const port = await freePort();
    const logFd = fs.openSync(path.join(stack.logDir, 'exporter-callgrind.log'), 'a');
    exporter = spawn('valgrind', [...valgrindArgs(out), EXPORTER_BIN, ...stack.commonArgs(), `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    const helper = { pid: exporter.pid, kill: (sig) => exporter.kill(sig) };
    stack.helpers.add(helper);
    const exited = new Promise((r) => exporter.once('exit', r));
    const url = `http://127.0.0.1:${port}/metrics`;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/healthy`)).status === 200,
      { timeout: 120000, interval: 500, what: 'pum-exporter under valgrind' });
    const scrape = async () => {
      const r = await fetch(url, { headers });
      const b = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200) throw new Error(`GET /metrics under valgrind: ${r.status}`);
      return { bytes: b.length, type: r.headers.get('content-type'), encoding: r.headers.get('content-encoding') };
    };
    await write(stack, model, 'one', 0);
    await scrape();
    await write(stack, model, 'one', 1);
    callgrindControl(['-i', 'on', String(exporter.pid)]);
    const t0 = Date.now();
    const got = await scrape();
    log(`  scrape: ${size} histograms under callgrind in ${((Date.now() - t0) / 1000).toFixed(1)} s (${got.bytes} B, ${got.type}, ${got.encoding})`);
    exporter.kill('SIGTERM');
    await exited;
    stack.helpers.delete(helper);
    await waitForFile(out);
    const s = summarize(out);
    s.size = size;
    s.response = got;
    s.accept = headers.accept;
    return s;
  } finally {
    if (exporter && exporter.exitCode === null) exporter.kill('SIGKILL');
    await stack.stopAll();
  }
}

export async function runProfiles({ log, runId, arrayBody }) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const v = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error('valgrind is missing: make bench-profile installs it (sh tests/deps.sh valgrind)');
  const warmup = envInt('PUM_PROFILE_WARMUP', 20);
  const requests = envInt('PUM_PROFILE_REQUESTS', 400);
  const size = envInt('PUM_PROFILE_SIZE', 8000);
  log(`profiles: ${v.stdout.trim()}; ingest ${requests} requests, scrape of ${size} histograms`);
  return {
    valgrind: v.stdout.trim(),
    ingest: await profileIngest({ log, runId, arrayBody, warmup, requests }),
    scrape: await profileScrape({ log, size }),
  };
}
