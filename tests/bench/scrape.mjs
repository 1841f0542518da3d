// The scrape part of `make bench` (tests/bench/bench.mjs): pum-exporter's
// /metrics against Debian's prometheus-pushgateway holding the same series,
// scraped as Prometheus scrapes, at several store sizes, in one run.
//
// The store: one histogram family, bench_latency_seconds{path="/page/J"},
// with 10 bounds (11 buckets with +Inf: 14 lines a series), filled through
// pum's real path: batches of 500 events in the seed's array shape, POSTed
// through nginx to pum-ingest (each 204), one new series per event. Sizes
// grow in one store (1k, then 8k, then 50k by default); at each size the
// exporter is restarted (so that its peak RSS is that size's) and
// Pushgateway gets the same series (PUT of the text format, group
// job="bench").
//
// Each case is N scrapes (PUM_BENCH_SCRAPES) of each server, alternating,
// each scrape after a write, never two scrapes of an unchanged store:
//   one     one event (one series) POSTed to pum-ingest between scrapes
//   spread  one batch of 400 events on 400 series spread evenly over all
//           of them (a different 400 each time)
// The write is acknowledged (204) before the scrape. Pushgateway cannot
// change one series of a group, so before each of its scrapes the whole
// group is PUT again with the same values pum holds (the push is not timed).
// Three encodings:
//   prometheus  the Accept, Accept-Encoding (gzip) and User-Agent headers
//               that Debian's prometheus sends, captured from it at the
//               start of the run (a recorded copy if that fails)
//   protobuf    the same from prometheus --enable-feature=native-histograms,
//               which asks for the protobuf format first (gzip)
//   plain       no Accept, no Accept-Encoding: text 0.0.4, uncompressed
// A scrape's time is curl's time_total (connect to last byte, the body not
// decompressed). Reported: median and p90 per case and server, the bytes,
// the ratio Pushgateway / pum (> 1: pum faster), the peak RSS (VmHWM) of
// both servers at each size, and a check that the store holds every
// observation written (sum of _count over the family == the model's).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Stack, freePort, waitFor } from '../integration/stack.mjs';
import { curlGet, median, percentile, procStatusKb, startServer, stopServer } from './common.mjs';

export const FAMILY = 'bench_latency_seconds';
export const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const FILL_BATCH = 500; // events per fill batch: ~55 KB, under max_body_bytes
const SPREAD = 400;

// What Debian's Prometheus 2.42 sent when this file was written (captured
// as below); used only if the capture fails.
export const RECORDED_PROMETHEUS_HEADERS = {
  'user-agent': 'Prometheus/2.42.0+ds',
  accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
    'text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'accept-encoding': 'gzip',
};
export const RECORDED_NATIVE_PROMETHEUS_HEADERS = {
  'user-agent': 'Prometheus/2.42.0+ds',
  accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,' +
    'application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,' +
    'text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'accept-encoding': 'gzip',
};

export const ALLOWLIST = {
  allowedMetrics: [{
    name: FAMILY,
    help: 'make bench: one histogram family, a series per path.',
    type: 'histogram',
    range: [0, 3600],
    labels: [{ name: 'path', pattern: '^/page/[0-9]{1,6}$', maxValues: 200000 }],
    buckets: BOUNDS,
  }],
};

// Runs Debian's prometheus against a one-shot HTTP listener and returns the
// headers of its first scrape: {headers, source}. With `native`, run with
// --enable-feature=native-histograms.
export async function capturePrometheusHeaders(stack, native = false) {
  const dir = fs.mkdtempSync(path.join(stack.dir, 'promcap-'));
  const port = await freePort();
  const webPort = await freePort();
  let got = null;
  const srv = http.createServer((req, res) => {
    got = got || req.headers;
    res.setHeader('Content-Type', 'text/plain; version=0.0.4');
    res.end('up_capture 1\n');
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: capture\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`);
  let prom;
  try {
    prom = startServer(stack, 'prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn',
      ...(native ? ['--enable-feature=native-histograms'] : [])]);
    await waitFor(() => got, { timeout: 15000, interval: 50, what: 'prometheus to scrape' });
  } catch (e) {
    process.stdout.write(`  (could not capture prometheus' headers, using the recorded ones: ${e.message.split('\n')[0]})\n`);
  } finally {
    await stopServer(stack, prom);
    srv.close();
  }
  if (!got) {
    return { headers: native ? RECORDED_NATIVE_PROMETHEUS_HEADERS : RECORDED_PROMETHEUS_HEADERS, source: 'recorded (capture failed)' };
  }
  const keep = {};
  for (const k of ['user-agent', 'accept', 'accept-encoding']) if (got[k]) keep[k] = got[k];
  return { headers: keep, source: `captured from ${got['user-agent'] || 'prometheus'} in this run` };
}

// ------------------------------------------------------------ the model

// What the store must hold: per series the non-cumulative bucket counts
// (the last slot is +Inf), the count and the sum, added to as pum is.
export class Model {
  constructor(capacity) {
    this.n = 0;
    this.buckets = new Float64Array(capacity * (BOUNDS.length + 1));
    this.count = new Float64Array(capacity);
    this.sum = new Float64Array(capacity);
    this.total = 0;
  }

  observe(j, v) {
    let b = BOUNDS.findIndex((x) => v <= x);
    if (b < 0) b = BOUNDS.length;
    this.buckets[j * (BOUNDS.length + 1) + b]++;
    this.count[j]++;
    this.sum[j] += v;
    this.total++;
  }

  // The Prometheus text format of every series (for Pushgateway).
  text() {
    const out = [`# HELP ${FAMILY} ${ALLOWLIST.allowedMetrics[0].help}`, `# TYPE ${FAMILY} histogram`];
    const les = [...BOUNDS.map(String), '+Inf'];
    for (let j = 0; j < this.n; j++) {
      const l = `path="/page/${j}"`;
      let c = 0;
      for (let b = 0; b < les.length; b++) {
        c += this.buckets[j * les.length + b];
        out.push(`${FAMILY}_bucket{${l},le="${les[b]}"} ${c}`);
      }
      out.push(`${FAMILY}_sum{${l}} ${this.sum[j]}`, `${FAMILY}_count{${l}} ${this.count[j]}`);
    }
    out.push('');
    return out.join('\n');
  }
}

// A value for observation r of series j, spread over every bucket.
function obs(j, r) {
  return (((j * 37 + r * 11) % 97) / 96) * 6;
}

function event(j, observations) {
  return { metricName: FAMILY, metricType: 'histogram', labels: { path: `/page/${j}` }, observations };
}

async function postEvents(stack, events) {
  const r = await stack.post(JSON.stringify(events));
  if (r.status !== 204) throw new Error(`POST /record (${events.length} events): ${r.status} ${r.text.slice(0, 300)}`);
}

// Grows the store and the model to `size` series, two observations each
// (one event a series).
export async function fill(stack, model, size) {
  while (model.n < size) {
    const end = Math.min(size, model.n + FILL_BATCH);
    const events = [];
    for (let j = model.n; j < end; j++) events.push(event(j, [obs(j, 0), obs(j, 1)]));
    await postEvents(stack, events);
    for (let j = model.n; j < end; j++) for (let r = 0; r < 2; r++) model.observe(j, obs(j, r));
    model.n = end;
  }
}

// The write before scrape k of a case, POSTed (and acknowledged) and
// applied to the model: one event on one series, or SPREAD events on
// series spread evenly over the store (a different set for each k).
export async function write(stack, model, kind, k) {
  const n = model.n;
  const idx = kind === 'one' ? [(k * 7919 + 13) % n]
    : Array.from({ length: SPREAD }, (_, i) => (Math.floor((i * n) / SPREAD) + k) % n);
  await postEvents(stack, idx.map((j) => event(j, [obs(j, k + 2)])));
  for (const j of idx) model.observe(j, obs(j, k + 2));
}

// ------------------------------------------------------------ pushgateway

async function startPushgateway(stack) {
  const port = await freePort();
  const child = startServer(stack, 'prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`,
    '--persistence.file=', '--log.level=warn'], { logFile: path.join(stack.logDir, 'pushgateway.log') });
  child.port = port;
  child.base = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`pushgateway exited: ${child.log}`);
    const r = await fetch(`${child.base}/-/ready`);
    await r.arrayBuffer();
    return r.status === 200;
  }, { timeout: 10000, what: 'pushgateway /-/ready' });
  return child;
}

async function putGroup(pgw, text) {
  const r = await fetch(`${pgw.base}/metrics/job/bench`, { method: 'PUT', body: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
  const t = await r.text();
  if (r.status < 200 || r.status > 299) throw new Error(`PUT pushgateway: ${r.status} ${t.slice(0, 300)}`);
}

// ------------------------------------------------------------ checks

// Sum of FAMILY_count over the family in a plain exposition.
function countSum(text) {
  let total = 0;
  const prefix = `${FAMILY}_count{`;
  for (const line of text.split('\n')) {
    if (line.startsWith(prefix)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function seriesCount(text) {
  let n = 0;
  const prefix = `${FAMILY}_count{`;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) n++;
  return n;
}

// ------------------------------------------------------------ main

// opts: {sizes, scrapes, scrapesLarge (for sizes > 10k), log(line)}.
// Returns the results for bench.json.
export async function runScrape({ sizes, scrapes, scrapesLarge, log }) {
  const stack = new Stack({ workers: 2, metrics: { 'bench.json': ALLOWLIST }, config: { synchronous: 'normal' } });
  const out = { sizes: [], family: FAMILY, buckets: BOUNDS.length + 1, spread: SPREAD, fill_batch: FILL_BATCH };
  try {
    await stack.start();
    const cap = await capturePrometheusHeaders(stack);
    out.prometheus_headers = cap.headers;
    out.prometheus_headers_source = cap.source;
    log(`  prometheus' scrape headers (${cap.source}): Accept: ${cap.headers.accept}`);
    const nativeCap = await capturePrometheusHeaders(stack, true);
    out.native_prometheus_headers = nativeCap.headers;
    out.native_prometheus_headers_source = nativeCap.source;
    log(`  with native histograms (${nativeCap.source}): Accept: ${nativeCap.headers.accept}`);
    const encodings = {
      prometheus: cap.headers,
      protobuf: nativeCap.headers,
      plain: {},
    };
    const pgw = await startPushgateway(stack);
    const model = new Model(Math.max(...sizes));
    for (const size of sizes) {
      const t0 = Date.now();
      await fill(stack, model, size);
      const fillS = (Date.now() - t0) / 1000;
      await stack.restartExporter();
      await putGroup(pgw, model.text());
      const n = size > 10000 ? scrapesLarge : scrapes;
      log(`  scrape: ${size} histograms (filled in ${fillS.toFixed(1)} s), ${n} scrapes per case ...`);
      const res = { size, scrapes: n, fill_seconds: fillS, cases: [], exporter_start_kb: procStatusKb(stack.exporterProc.pid) };
      // One untimed scrape of each after a write: first-touch costs out.
      let k = 0;
      const firstHwm = {};
      res.exporter_vmhwm_after_first_kb = firstHwm;
      for (const [e, h] of Object.entries(encodings)) {
        await write(stack, model, 'one', k++);
        curlGet(stack.metricsUrl, h);
        firstHwm[e] = procStatusKb(stack.exporterProc.pid);
        await putGroup(pgw, model.text());
        curlGet(`${pgw.base}/metrics`, h);
      }
      for (const kind of ['one', 'spread']) {
        for (const [enc, headers] of Object.entries(encodings)) {
          const c = { write: kind, encoding: enc, pum: [], pushgateway: [] };
          for (let i = 0; i < n; i++, k++) {
            await write(stack, model, kind, k);
            const p = curlGet(stack.metricsUrl, headers);
            if (p.code !== 200) throw new Error(`GET pum /metrics: ${p.code}`);
            c.pum.push(p);
            await putGroup(pgw, model.text());
            const g = curlGet(`${pgw.base}/metrics`, headers);
            if (g.code !== 200) throw new Error(`GET pushgateway /metrics: ${g.code}`);
            c.pushgateway.push(g);
          }
          c.summary = summarize(c);
          res.cases.push(c);
          log(`    ${kind.padEnd(6)} ${enc.padEnd(10)} pum ${ms(c.summary.pum.median)} ms (p90 ${ms(c.summary.pum.p90)}), ` +
            `pushgateway ${ms(c.summary.pushgateway.median)} ms (p90 ${ms(c.summary.pushgateway.p90)}): ` +
            `${c.summary.ratio.toFixed(2)}x`);
        }
      }
      res.rss_kb = { exporter: procStatusKb(stack.exporterProc.pid), pushgateway: procStatusKb(pgw.pid) };
      res.rss_now_kb = { exporter: procStatusKb(stack.exporterProc.pid, 'VmRSS'), pushgateway: procStatusKb(pgw.pid, 'VmRSS') };
      // The store holds every observation written; both expose every series.
      const plain = await stack.scrape();
      const pumTotal = countSum(plain);
      const pumSeries = seriesCount(plain);
      const g = await (await fetch(`${pgw.base}/metrics`)).text();
      res.check = {
        what: `sum of ${FAMILY}_count == observations written; series == size (pum and pushgateway)`,
        observations: model.total, pum_count_sum: pumTotal, pum_series: pumSeries,
        pushgateway_count_sum: countSum(g), pushgateway_series: seriesCount(g),
      };
      res.check.pass = pumTotal === model.total && pumSeries === size && res.check.pushgateway_count_sum === model.total &&
        res.check.pushgateway_series === size;
      log(`    RSS peak: pum-exporter ${mb(res.rss_kb.exporter)} MB, pushgateway ${mb(res.rss_kb.pushgateway)} MB; ` +
        `store check ${res.check.pass ? 'PASS' : 'FAIL'} (${pumTotal} of ${model.total} observations, ${pumSeries} series)`);
      out.sizes.push(res);
      await sleep(10);
    }
    await stopServer(stack, pgw);
  } finally {
    await stack.stopAll();
  }
  return out;
}

function stats(list) {
  const s = list.map((x) => x.seconds * 1000);
  return {
    median: median(s), p90: percentile(s, 90), min: Math.min(...s), max: Math.max(...s),
    bytes: median(list.map((x) => x.bytes)),
    content_type: list[0].contentType, content_encoding: list[0].contentEncoding || 'identity',
  };
}

function summarize(c) {
  const pum = stats(c.pum);
  const pushgateway = stats(c.pushgateway);
  return { pum, pushgateway, ratio: pushgateway.median / pum.median };
}

function ms(x) {
  return x.toFixed(1);
}
function mb(kb) {
  return kb === null ? '?' : (kb / 1024).toFixed(1);
}
