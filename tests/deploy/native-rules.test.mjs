// The native-histogram recording rules (deploy/prometheus/
// pum-recording-rules-native.yml) against a real pum and a real Prometheus.
//
// Debian's promtool 2.42 cannot write native histograms in `promtool test
// rules` input series, so the rules are checked end to end instead:
//
//   - one pum stack (nginx, pum-ingest, pum-exporter) whose allowlist is the
//     shipped browser.json with `native` turned on for every histogram (the
//     classic buckets kept; the API histogram {"schema": 5, "max_buckets":
//     40}, so its resolution is reduced);
//   - Prometheus A, 2.42 with --enable-feature=native-histograms (protobuf
//     scrape: it keeps the native histograms and ignores their classic
//     buckets, _sum and _count — the trap), loading the native rules;
//   - Prometheus B, the same binary without the feature (OpenMetrics
//     scrape: the classic buckets only), loading the classic rules of
//     pum-recording-rules.yml on the very same traffic;
//   both scraping every second and evaluating every second, from copies of
//   the rule files whose only change is the rate() window: [5m] -> [30s].
//
// Known traffic (the Web Vitals by route included, two routes each) is
// POSTed through nginx in pum's wire format, and every
// histogram rule of both files is compared with the truth computed here from
// what was sent:
//   - native quantiles: inside the native bucket of the true quantile, so
//     within the schema's relative error base - 1 (9.05 % at schema 3), and
//     equal to Prometheus 2.42's linear interpolation inside that bucket;
//   - native means: exact (1e-9);
//   - native good/poor ratios: within n_b / N of the exact share, n_b being
//     the observations in the native bucket the threshold cuts (0 for a
//     power-of-two threshold: exact), and equal to the interpolation;
//   - classic: ratios exact, means exact, quantiles inside the classic
//     bucket of the true quantile.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { SHIPPED_METRICS_DIR, Stack, clientId } from '../integration/stack.mjs';
import { RECORDING_RULES, RULES_DIR, startPrometheus } from './prometheus.mjs';
import { seededRandom } from '../support/random.mjs';

const NATIVE_RULES = path.join(RULES_DIR, 'pum-recording-rules-native.yml');
const WINDOW = '30s';
const T = { timeout: 30000 };
const ZERO_THRESHOLD = 2 ** -128;

// ------------------------------------------------------------ the traffic

const rand = seededRandom(20261203);
const round = (v, digits) => Number(v.toFixed(digits));
// n values log-uniform in [lo, hi], rounded to `digits` decimals.
const logUniform = (n, lo, hi, digits = 3) =>
  Array.from({ length: n }, () => round(lo * (hi / lo) ** rand(), digits));
// A threshold t and values just below and above it.
const around = (...ts) => ts.flatMap((t) => [round(t * 0.98, 4), t, round(t * 1.02, 4)]);

const VITALS = {
  lcp: { metric: 'browser_web_vitals_lcp_seconds', good: 2.5, poor: 4, values: [...logUniform(201, 0.6, 9), ...around(2.5, 4)] },
  inp: { metric: 'browser_web_vitals_inp_seconds', good: 0.2, poor: 0.5, values: [...logUniform(201, 0.02, 1.5), ...around(0.2, 0.5)] },
  // CLS: a third of the pages do not shift at all (0, the zero bucket)
  cls: {
    metric: 'browser_web_vitals_cls', good: 0.1, poor: 0.25,
    values: [...Array(67).fill(0), ...logUniform(134, 0.005, 0.6, 4), ...around(0.1, 0.25)],
  },
  fcp: { metric: 'browser_web_vitals_fcp_seconds', good: 1.8, poor: 3, values: [...logUniform(201, 0.3, 6), ...around(1.8, 3)] },
  ttfb: { metric: 'browser_web_vitals_ttfb_seconds', good: 0.8, poor: 1.8, values: [...logUniform(201, 0.05, 4), ...around(0.8, 1.8)] },
};
const PAGE_LOAD = logUniform(201, 0.4, 25);
const PHASES = {
  redirect: [...Array(120).fill(0), ...logUniform(81, 0.001, 0.2)],
  cache: logUniform(201, 0.0005, 0.02, 4),
  dns: logUniform(201, 0.001, 0.1),
  connect: logUniform(201, 0.005, 0.3),
  request: logUniform(201, 0.02, 0.5),
  response: logUniform(201, 0.01, 0.8),
  dom_processing: logUniform(201, 0.05, 2),
  dom_content_loaded: logUniform(201, 0.001, 0.2),
  subresources: logUniform(201, 0.1, 4),
  load_event: logUniform(201, 0.001, 0.05),
};
const API = [
  { labels: { host: 'api.example.com', method: 'GET', status_class: '2xx' }, values: logUniform(201, 0.03, 5) },
  { labels: { host: 'cdn.example.com', method: 'POST', status_class: '5xx' }, values: logUniform(201, 0.2, 8) },
];
const API_METRIC = 'browser_api_request_duration_seconds';
const API_NATIVE = { schema: 5, max_buckets: 40 };
// The Web Vitals by route (pum.spa.js with routes), two routes each.
const ROUTE_VITALS = {
  lcp: { metric: 'browser_route_web_vitals_lcp_seconds', routes: { '/users/:id': logUniform(201, 0.6, 9), '/docs/*': logUniform(201, 1.5, 25) } },
  inp: { metric: 'browser_route_web_vitals_inp_seconds', routes: { '/users/:id': logUniform(201, 0.02, 1.5), '/docs/*': logUniform(201, 0.1, 4) } },
  cls: {
    metric: 'browser_route_web_vitals_cls',
    routes: { '/users/:id': [...Array(100).fill(0), ...logUniform(101, 0.005, 0.6, 4)], '/docs/*': logUniform(201, 0.01, 2, 4) },
  },
  fcp: { metric: 'browser_route_web_vitals_fcp_seconds', routes: { '/users/:id': logUniform(201, 0.3, 6), '/docs/*': logUniform(201, 0.8, 15) } },
};
// Their series (a `pattern` label, like the API's) get one observation
// each before Prometheus' first scrape.
const ROUTE_FIRST = 0.01;

// The shipped browser.json, parsed afresh.
const shippedBrowserJson = () => JSON.parse(fs.readFileSync(path.join(SHIPPED_METRICS_DIR, 'browser.json'), 'utf8'));

// The shipped browser.json with `native` on for every histogram.
function nativeBrowserJson() {
  const shipped = shippedBrowserJson();
  for (const m of shipped.allowedMetrics) {
    if (m.type === 'histogram') m.native = m.name === API_METRIC ? API_NATIVE : true;
  }
  return shipped;
}

// A histogram's classic bucket bounds in the shipped browser.json.
function classicBuckets(name) {
  return shippedBrowserJson().allowedMetrics.find((m) => m.name === name).buckets;
}

// The events of the traffic, split into `parts` batches.
function batches(parts) {
  const out = Array.from({ length: parts }, () => []);
  const add = (metricName, labels, values) => {
    for (let p = 0; p < parts; p++) {
      const chunk = values.filter((_, i) => i % parts === p);
      if (chunk.length) out[p].push({ metricName, metricType: 'histogram', ...(labels ? { labels } : {}), observations: chunk });
    }
  };
  add('browser_page_load_seconds', null, PAGE_LOAD);
  for (const [phase, values] of Object.entries(PHASES)) add('browser_navigation_phase_seconds', { phase }, values);
  for (const v of Object.values(VITALS)) add(v.metric, null, v.values);
  for (const a of API) add(API_METRIC, a.labels, a.values);
  for (const v of Object.values(ROUTE_VITALS)) {
    for (const [route, values] of Object.entries(v.routes)) add(v.metric, { route }, values);
  }
  return out;
}

// --------------------------------------------------------------- the truth

const sorted = (values) => [...values].sort((a, b) => a - b);
// The q-quantile of the values: the ceil(q N)-th smallest, the observation
// histogram_quantile's rank q N falls on (q N is never an integer here).
function trueQuantile(values, q) {
  const s = sorted(values);
  const rank = q * s.length;
  assert.notEqual(rank, Math.floor(rank), 'q N is not an integer');
  return s[Math.ceil(rank) - 1];
}
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const share = (values, pred) => values.filter(pred).length / values.length;

// Native buckets at `schema`: bucket i holds (2^((i-1) 2^-s), 2^(i 2^-s)].
const nativeIndex = (v, schema) => Math.ceil(Math.log2(v) * 2 ** schema);
const nativeUpper = (i, schema) => 2 ** (i * 2 ** -schema);
// The histogram as Prometheus 2.42 iterates it (zero bucket first, treated
// as [0, zero threshold] when there are only positive buckets): [{lower,
// upper, count}], ascending.
function nativeBuckets(values, schema) {
  const counts = new Map();
  let zero = 0;
  for (const v of values) {
    if (v <= ZERO_THRESHOLD) { zero++; continue; }
    const i = nativeIndex(v, schema);
    // no observation sits so close to a computed boundary that the index
    // could differ from pum's (powers of two are exact)
    const near = Math.abs(Math.log2(v) * 2 ** schema - Math.round(Math.log2(v) * 2 ** schema));
    assert.ok(near > 1e-9 || Number.isInteger(Math.log2(v)), `observation ${v} on a schema ${schema} boundary`);
    counts.set(i, (counts.get(i) || 0) + 1);
  }
  const out = zero ? [{ lower: 0, upper: ZERO_THRESHOLD, count: zero }] : [];
  for (const i of [...counts.keys()].sort((a, b) => a - b)) {
    out.push({ lower: nativeUpper(i - 1, schema), upper: nativeUpper(i, schema), count: counts.get(i) });
  }
  return out;
}
// histogram_quantile(q) of a native histogram in Prometheus 2.42: the
// bucket where the cumulative count reaches q N, linear inside it.
function nativeQuantileEstimate(values, q, schema) {
  const rank = q * values.length;
  let cum = 0;
  for (const b of nativeBuckets(values, schema)) {
    if (cum + b.count >= rank) return { est: b.lower + (b.upper - b.lower) * ((rank - cum) / b.count), bucket: b };
    cum += b.count;
  }
  throw new Error('rank past the last bucket');
}
// The observations at or below t as histogram_fraction estimates them: whole
// buckets up to t, and the cut bucket's share by linear interpolation.
// Returns {estimate, cut} (cut: the observations in the bucket t cuts).
function nativeCountBelow(values, t, schema) {
  let below = 0;
  let cut = 0;
  for (const b of nativeBuckets(values, schema)) {
    if (b.upper <= t) below += b.count;
    else if (b.lower < t) {
      below += (b.count * (t - b.lower)) / (b.upper - b.lower);
      cut = b.count;
    }
  }
  return { estimate: below, cut };
}

// ----------------------------------------------------------------- helpers

const near = (got, want, rel = 1e-9) => Math.abs(got - want) <= rel * Math.max(1, Math.abs(want));
// The single value of a rule's result with the given labels.
function valueWith(result, labels = {}) {
  const hits = result.filter((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v));
  assert.equal(hits.length, 1, `one series with ${JSON.stringify(labels)} in ${JSON.stringify(result)}`);
  return Number(hits[0].value[1]);
}
// The copy of a rule file with every [5m] window replaced by [WINDOW].
function withWindow(ruleFile, dir) {
  const text = fs.readFileSync(ruleFile, 'utf8');
  const dest = path.join(dir, path.basename(ruleFile));
  fs.writeFileSync(dest, text.replaceAll('[5m]', `[${WINDOW}]`));
  return dest;
}
// The schema of a native histogram sample as the query API returns it
// ({count, sum, buckets: [[rule, lower, upper, count], ...]}): from a
// positive bucket's upper / lower = 2^(2^-schema).
function schemaOf(h) {
  const b = h.buckets.find((x) => Number(x[1]) > ZERO_THRESHOLD);
  return Math.round(-Math.log2(Math.log2(Number(b[2]) / Number(b[1]))));
}

// --------------------------------------------------------------- the test

describe('native-histogram recording rules: a real pum, Prometheus 2.42 native and classic, known traffic', () => {
  let stack;
  let promNative;
  let promClassic;
  let rulesDir;
  const started = Date.now();
  const figures = [];

  after(async () => {
    if (promNative) await promNative.stop();
    if (promClassic) await promClassic.stop();
    if (stack) await stack.stopAll();
    if (rulesDir) fs.rmSync(rulesDir, { recursive: true, force: true });
    process.stderr.write(`${figures.join('\n')}\nnative-rules test: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  before(async () => {
    stack = await new Stack({ metrics: { 'browser.json': nativeBrowserJson() }, workers: 2 }).start();
    const client = clientId('native');
    let seq = 0;
    const send = async (events) => {
      const r = await stack.post({ client, seq: seq++, events }, { contentType: 'text/plain' });
      assert.equal(r.status, 204, r.text);
    };
    // The API series (a `pattern` label: not exported before their first
    // observation) get one observation each before Prometheus' first
    // scrape; rate() leaves it out.
    await send([
      ...API.map((a) => ({ metricName: API_METRIC, metricType: 'histogram', labels: a.labels, observations: [0.1] })),
      ...Object.values(ROUTE_VITALS).flatMap((v) => Object.keys(v.routes).map((route) => (
        { metricName: v.metric, metricType: 'histogram', labels: { route }, observations: [ROUTE_FIRST] }))),
    ]);

    rulesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-native-rules-'));
    const nativeDir = path.join(rulesDir, 'native');
    const classicDir = path.join(rulesDir, 'classic');
    fs.mkdirSync(nativeDir);
    fs.mkdirSync(classicDir);
    const target = [`127.0.0.1:${stack.metricsPort}`];
    [promNative, promClassic] = await Promise.all([
      startPrometheus({
        targets: target, ruleFiles: [withWindow(NATIVE_RULES, nativeDir)],
        extraArgs: ['--enable-feature=native-histograms'],
      }),
      startPrometheus({ targets: target, ruleFiles: [withWindow(RECORDING_RULES, classicDir)] }),
    ]);
    // Both have a sample from before the traffic (a zero-filled histogram,
    // or the API's first observation).
    await Promise.all([
      promNative.waitForQuery(`histogram_count(${API_METRIC})`, (r) => r.length === 2 && r.every((s) => s.value[1] === '1'), 20000),
      promNative.waitForQuery('histogram_count(browser_page_load_seconds)', (r) => r.length === 1 && r[0].value[1] === '0', 20000),
      promClassic.waitForQuery(`${API_METRIC}_count`, (r) => r.length === 2 && r.every((s) => s.value[1] === '1'), 20000),
      ...Object.values(ROUTE_VITALS).flatMap((v) => [
        promNative.waitForQuery(`histogram_count(${v.metric})`, (r) => r.length === 2 && r.every((s) => s.value[1] === '1'), 20000),
        promClassic.waitForQuery(`${v.metric}_count`, (r) => r.length === 2 && r.every((s) => s.value[1] === '1'), 20000),
      ]),
      promClassic.waitForQuery('browser_page_load_seconds_count', (r) => r.length === 1 && r[0].value[1] === '0', 20000),
    ]);
    await sleep(1100);

    for (const events of batches(3)) await send(events);

    // Every histogram's total is in both, then two more evaluations.
    const totals = {
      browser_page_load_seconds: PAGE_LOAD.length,
      browser_navigation_phase_seconds: Object.values(PHASES).reduce((a, v) => a + v.length, 0),
      ...Object.fromEntries(Object.values(VITALS).map((v) => [v.metric, v.values.length])),
      [API_METRIC]: API.reduce((a, x) => a + x.values.length + 1, 0),
      ...Object.fromEntries(Object.values(ROUTE_VITALS).map((v) => [
        v.metric, Object.values(v.routes).reduce((a, values) => a + values.length + 1, 0)])),
    };
    await Promise.all(Object.entries(totals).flatMap(([name, n]) => [
      promNative.waitForQuery(`sum(histogram_count(${name}))`, (r) => r.length === 1 && Number(r[0].value[1]) === n, 20000),
      promClassic.waitForQuery(`sum(${name}_count)`, (r) => r.length === 1 && Number(r[0].value[1]) === n, 20000),
    ]));
    await sleep(2500);
  });

  it('the shipped browser.json keeps classic buckets (no "native" there)', () => {
    for (const f of fs.readdirSync(SHIPPED_METRICS_DIR).filter((x) => x.endsWith('.json'))) {
      assert.doesNotMatch(fs.readFileSync(path.join(SHIPPED_METRICS_DIR, f), 'utf8'), /"native"/, f);
    }
  });

  it('loads the rule files, changed only in their rate() window, and every rule evaluates', T, async () => {
    for (const [prom, file, dir, group] of [
      [promNative, NATIVE_RULES, 'native', 'pum-recording-native'],
      [promClassic, RECORDING_RULES, 'classic', 'pum-recording'],
    ]) {
      const copy = fs.readFileSync(path.join(rulesDir, dir, path.basename(file)), 'utf8');
      assert.equal(copy.replaceAll(`[${WINDOW}]`, '[5m]'), fs.readFileSync(file, 'utf8'));
      const groups = await prom.rules();
      assert.deepEqual(groups.map((g) => g.name), [group]);
      for (const r of groups[0].rules) {
        assert.equal(r.health, 'ok', `${group} ${r.name}: ${r.lastError}`);
        assert.equal(r.lastError || '', '');
      }
    }
  });

  it('the trap: the native Prometheus keeps no _bucket/_sum/_count, so the classic rules select nothing there', T, async () => {
    for (const sfx of ['_bucket', '_sum', '_count']) {
      assert.deepEqual(await promNative.query(`browser_page_load_seconds${sfx}`), [], `native Prometheus: ${sfx}`);
    }
    assert.deepEqual(await promNative.query(
      `histogram_quantile(0.95, sum without (instance) (rate(browser_page_load_seconds_bucket[${WINDOW}])))`), []);
    // while the classic one has no native series, only the classic buckets
    assert.deepEqual(await promClassic.query('histogram_count(browser_page_load_seconds)'), []);
    assert.equal((await promClassic.query('browser_page_load_seconds_bucket')).length, 16);
  });

  it('the API histogram: resolution reduced below schema 5 to at most 40 buckets, no count lost', T, async () => {
    const r = await promNative.query(API_METRIC);
    assert.equal(r.length, 2);
    for (const s of r) {
      const a = API.find((x) => x.labels.host === s.metric.host);
      assert.equal(Number(s.histogram[1].count), a.values.length + 1);
      assert.ok(near(Number(s.histogram[1].sum), a.values.reduce((x, y) => x + y, 0.1)));
      assert.ok(s.histogram[1].buckets.length <= API_NATIVE.max_buckets, `${s.histogram[1].buckets.length} buckets`);
      const schema = schemaOf(s.histogram[1]);
      assert.ok(schema < API_NATIVE.schema, `schema ${schema}`);
      figures.push(`API ${a.labels.host}: schema ${schema}, ${s.histogram[1].buckets.length} buckets`);
    }
  });

  // The quantile rules: [record, q, values per labels].
  async function quantileCases() {
    const apiSchema = {};
    for (const s of await promNative.query(API_METRIC)) apiSchema[s.metric.host] = schemaOf(s.histogram[1]);
    return [
      ...[0.5, 0.95, 0.99].map((q) => ({
        record: `pum:browser_page_load_seconds:p${Math.round(q * 100)}_5m`, q, labels: {}, values: PAGE_LOAD,
        schema: 3, classic: [0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 20, 30, 60],
      })),
      ...Object.entries(PHASES).map(([phase, values]) => ({
        record: 'pum:browser_navigation_phase_seconds:p95_5m', q: 0.95, labels: { phase }, values,
        schema: 3, classic: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      })),
      ...API.map((a) => ({
        record: 'pum:browser_api_request_duration_seconds:p95_5m', q: 0.95, labels: a.labels, values: a.values,
        schema: apiSchema[a.labels.host], classic: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      })),
      ...Object.entries(ROUTE_VITALS).flatMap(([v, { metric, routes }]) => Object.entries(routes).map(([route, values]) => ({
        record: `pum:browser_route_web_vitals_${v}:p75_5m`, q: 0.75, labels: { route }, values,
        schema: 3, classic: classicBuckets(metric),
      }))),
    ];
  }

  it('quantiles: native within base - 1 of the truth (inside its native bucket); classic inside its classic bucket', T, async () => {
    for (const c of await quantileCases()) {
      const truth = trueQuantile(c.values, c.q);
      const what = `${c.record} ${JSON.stringify(c.labels)}`;
      const native = valueWith(await promNative.query(c.record), c.labels);
      const classic = valueWith(await promClassic.query(c.record), c.labels);
      const { est, bucket } = nativeQuantileEstimate(c.values, c.q, c.schema);
      assert.ok(near(native, est, 1e-6), `${what}: native ${native}, Prometheus 2.42's interpolation gives ${est}`);
      if (truth === 0) {
        assert.ok(native <= ZERO_THRESHOLD, `${what}: truth 0 (zero bucket), native ${native}`);
      } else {
        const base = 2 ** (2 ** -c.schema);
        assert.ok(bucket.lower < truth && truth <= bucket.upper, `${what}: truth ${truth} in (${bucket.lower}, ${bucket.upper}]`);
        assert.ok(native >= bucket.lower * (1 - 1e-12) && native <= bucket.upper * (1 + 1e-12), `${what}: ${native} in its bucket`);
        const rel = Math.abs(native - truth) / truth;
        assert.ok(rel <= base - 1, `${what}: native ${native} vs truth ${truth}: ${rel} > ${base - 1}`);
        // classic: inside the classic bucket of the truth
        const hi = c.classic.find((b) => truth <= b);
        const lo = [0, ...c.classic].filter((b) => b < truth).pop();
        assert.ok(classic >= lo * (1 - 1e-12) && classic <= hi * (1 + 1e-12), `${what}: classic ${classic} in (${lo}, ${hi}]`);
        figures.push(`${what}: truth ${truth}, native ${native.toPrecision(5)} (${(rel * 100).toFixed(2)} %, bound ${((base - 1) * 100).toFixed(2)} % at schema ${c.schema}), classic ${classic.toPrecision(5)} (${(Math.abs(classic - truth) / truth * 100).toFixed(2)} %)`);
      }
    }
  });

  it('navigation phase means: exact in both', T, async () => {
    const native = await promNative.query('pum:browser_navigation_phase_seconds:mean_5m');
    const classic = await promClassic.query('pum:browser_navigation_phase_seconds:mean_5m');
    assert.equal(native.length, 10);
    assert.equal(classic.length, 10);
    for (const [phase, values] of Object.entries(PHASES)) {
      const want = mean(values);
      assert.ok(near(valueWith(native, { phase }), want), `native ${phase}: ${valueWith(native, { phase })} vs ${want}`);
      assert.ok(near(valueWith(classic, { phase }), want), `classic ${phase}: ${valueWith(classic, { phase })} vs ${want}`);
      assert.equal(native.find((s) => s.metric.phase === phase).metric.job, 'pum');
    }
  });

  it('Web Vitals good/poor: classic exact; native within the cut bucket\'s share (exact at a power of two)', T, async () => {
    for (const [v, { good, poor, values }] of Object.entries(VITALS)) {
      const N = values.length;
      for (const [kind, t, exact] of [
        ['good', good, share(values, (x) => x <= good)],
        ['poor', poor, share(values, (x) => x > poor)],
      ]) {
        const record = `pum:browser_web_vitals_${v}:${kind}_ratio_5m`;
        const native = valueWith(await promNative.query(record));
        const classic = valueWith(await promClassic.query(record));
        assert.ok(near(classic, exact, 1e-12), `${record}: classic ${classic} vs exact ${exact}`);
        const { estimate, cut } = nativeCountBelow(values, t, 3);
        const want = kind === 'good' ? estimate / N : 1 - estimate / N;
        assert.ok(near(native, want, 1e-9), `${record}: native ${native}, histogram_fraction's interpolation gives ${want}`);
        const bound = cut / N;
        assert.ok(Math.abs(native - exact) <= bound + 1e-12, `${record}: native ${native} vs exact ${exact}: off by more than ${bound}`);
        if (Number.isInteger(Math.log2(t))) assert.equal(cut, 0, `${t} is a native bucket boundary`);
        else assert.ok(cut > 0, `${record}: the traffic puts observations in the bucket ${t} cuts`);
        figures.push(`${record}: exact ${exact.toFixed(5)} (classic ${classic.toFixed(5)}), native ${native.toFixed(5)}, off ${Math.abs(native - exact).toFixed(5)} <= ${bound.toFixed(5)} (${cut}/${N})`);
      }
    }
  });
});
