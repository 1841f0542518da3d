// Native histograms proven with a real Prometheus (issue 11, item 2):
// Debian's Prometheus 2.42 with --enable-feature=native-histograms scrapes
// (every second, through a TCP relay so that the exporter can be restarted
// behind one address) a real stack: nginx -> pum-ingest (x2) -> SQLite ->
// pum-exporter, whose allowlist (written here) has several native
// histograms. Thousands of values from a seeded generator are POSTed in
// batches through nginx, and then, of what Prometheus holds:
//
//  1. histogram_count() and histogram_sum() of each native series equal
//     exactly what was sent (the values are multiples of 2^-k small enough
//     that every partial sum is exact, in any order of addition), and so do
//     those of increase() over a window whose ends are two scrapes (no
//     extrapolation: factor 1); rate() over it is count / window.
//  2. Every bucket Prometheus shows ([rule, lower, upper, count] from
//     /api/v1/query) holds exactly the sent values within its bounds, by its
//     boundary rule: pum's bucket math agrees with Prometheus' to the last
//     value. histogram_quantile(q, x) on the raw cumulative series (the
//     histogram of every value sent, nothing extrapolated) lies inside the
//     bucket of the true quantile, hence within the schema's relative error
//     (derivation at quantileBound()); histogram_quantile over rate() gives
//     the same (the window starts at a zero scrape). The raw series is the
//     one compared with the truth because it is exactly the values sent;
//     rate() over an arbitrary window holds only part of them. Values
//     exactly on bucket bounds (every bound Prometheus reports, negated
//     too, ±2^-128 and 0) land in the bucket they close: this found
//     pum-ingest's JSON numbers an ulp off (batch_parser.cc).
//  3. histogram_fraction() is exact where both ends are bucket boundaries
//     (0, ±Inf, powers of two) and otherwise within the counts of the
//     buckets the ends fall in (fractionBound()).
//  4. A metric with max_buckets 10 receiving values over 20 octaves is
//     served at schema -1 (configured 8), in exactly the buckets that the
//     values have at -1, counts and sum exact, and increase() across the
//     schema change is exact (no false counter reset).
//  5. Restarting the exporter on the same store keeps the series: the same
//     histogram after the restart, then more POSTs add up exactly, and
//     increase() across the restart is exactly what was added.
//  6. A native histogram with "buckets" is served with both parts (the
//     text format's _bucket lines, the protobuf's classic buckets and
//     native spans, read here with a small protobuf decoder), and the trap:
//     Prometheus 2.42 ingests only the native part of such a histogram, so
//     x_bucket, x_count and x_sum do not exist in Prometheus (a classic-only
//     histogram's _bucket series do).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

import { clientId, itStopsCleanly, parseExposition, useStack, waitFor } from './stack.mjs';
import { startPrometheus } from '../deploy/prometheus.mjs';
import { seededRandom } from '../support/random.mjs';

const hooks = { before, after };
const T = { timeout: 30000 };

// Prometheus v2.42.0's scrapeAcceptHeaderWithProtobuf (scrape/scrape.go).
const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,'
  + 'application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,'
  + 'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const QUANTILES = [0.1, 0.5, 0.9, 0.99];

// ------------------------------------------------------------ the values

// mulberry32: a small seeded generator, so that a failure reproduces.
const SEED = 0x5eed2026;
const rand = seededRandom(SEED);

// x rounded to a multiple of 2^-k: with |every partial sum| < 2^(53-k),
// sums of such values are exact in any order.
const quantize = (x, k) => Math.round(x * 2 ** k) / 2 ** k;

// n values, non-zero, from draw(), as multiples of 2^-k.
function values(n, k, draw) {
  const out = [];
  while (out.length < n) {
    const v = quantize(draw(), k);
    if (v !== 0) out.push(v);
  }
  return out;
}
const logUniform = (lo, hi) => () => lo * (hi / lo) ** rand();
const uniform = (lo, hi) => () => lo + (hi - lo) * rand();

// The allowlist: every histogram without labels but nh_signed, whose
// first series ("idle", zero-filled, never observed) comes before the one
// that gets the values: Prometheus 2.42 decides from a family's first
// series whether it is native.
const CLASSIC_BOUNDS = [0.01, 0.1, 1, 10, 100];
const DEFS = [
  { name: 'nh_wide_s0', native: { schema: 0 }, schema: 0 },
  { name: 'nh_wide_s3', native: { schema: 3, max_buckets: 1000 }, schema: 3 },
  { name: 'nh_wide_s8', native: { schema: 8, max_buckets: 10000 }, schema: 8 },
  { name: 'nh_wide_sm2', native: { schema: -2 }, schema: -2 },
  { name: 'nh_signed', native: { schema: 3, max_buckets: 1000 }, schema: 3, labels: { part: 'busy' } },
  { name: 'nh_narrow', native: true, schema: 3 },
  { name: 'nh_classic', native: true, schema: 3, buckets: CLASSIC_BOUNDS },
  { name: 'nh_reduced', native: { schema: 8, max_buckets: 10 }, schema: 8 },
];
// Metrics that get values exactly on bucket boundaries: the bounds that
// Prometheus reports for the source metric's buckets, negated too, and the
// zero bucket's edges.
const EDGE_DEFS = [
  { name: 'nh_edges_s0', native: { schema: 0, max_buckets: 10000 }, schema: 0, source: 'nh_wide_s0' },
  { name: 'nh_edges_s3', native: { schema: 3, max_buckets: 10000 }, schema: 3, source: 'nh_wide_s3' },
  { name: 'nh_edges_s8', native: { schema: 8, max_buckets: 10000 }, schema: 8, source: 'nh_wide_s8' },
  { name: 'nh_edges_sm2', native: { schema: -2, max_buckets: 10000 }, schema: -2, source: 'nh_wide_sm2' },
];
const METRICS = {
  '10-native.json': {
    allowedMetrics: [
      ...EDGE_DEFS.map((d) => ({ name: d.name, help: 'bucket edges', type: 'histogram', labels: [], native: d.native })),
      ...DEFS.map((d) => ({
        name: d.name, help: `native histogram ${d.name}`, type: 'histogram',
        labels: d.labels ? [{ name: 'part', allowedValues: ['idle', 'busy'] }] : [],
        native: d.native,
        ...(d.buckets ? { buckets: d.buckets } : {}),
      })),
      { name: 'classic_only', help: 'a classic histogram', type: 'histogram', labels: [], buckets: CLASSIC_BOUNDS },
    ],
  },
};

// What each metric gets before the exporter restart (nh_reduced: phase A
// here, phase B in its own test). Log-uniform values over six orders of
// magnitude, uniform ones over -50..50, a narrow 100..101.
const N = 3000;
const WIDE = () => values(N, 30, logUniform(1e-3, 1e3));
const SENT = {
  nh_wide_s0: WIDE(),
  nh_wide_s3: WIDE(),
  nh_wide_s8: WIDE(),
  nh_wide_sm2: WIDE(),
  nh_signed: values(N, 30, uniform(-50, 50)),
  nh_narrow: values(N, 30, uniform(100, 101)),
  nh_classic: values(2000, 30, logUniform(1e-3, 1e2)), // 133 buckets at most: under the default 160
  nh_reduced: values(200, 20, uniform(1, 1.02)),
};
SENT.classic_only = SENT.nh_classic.slice();
// nh_reduced's phase B: 20 octaves, (1, 2^20).
const REDUCED_B = values(N, 20, logUniform(1, 2 ** 20)).filter((v) => v > 1 && v < 2 ** 20);

const sum = (vs) => vs.reduce((a, b) => a + b, 0);
const labelsOf = (name) => DEFS.find((d) => d.name === name)?.labels || {};
const selector = (name) => {
  const l = labelsOf(name);
  const inner = Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(',');
  return inner ? `${name}{${inner}}` : name;
};

// --------------------------------------------------------------- posting

// POSTs `sent` ({metric: [values]}) through nginx: events of at most 500
// observations (max_observations_per_event is 1000), batches under 60000
// bytes of JSON (max_body_bytes 65536), pum's shape with a fresh client.
async function postAll(stack, sent) {
  const client = clientId('native');
  let seq = 0;
  let events = [];
  let size = 0;
  let posts = 0;
  const flush = async () => {
    if (events.length === 0) return;
    const r = await stack.post({ client, seq: seq++, events }, { contentType: 'text/plain' });
    assert.equal(r.status, 204, r.text);
    posts++;
    events = [];
    size = 0;
  };
  for (const [name, vs] of Object.entries(sent)) {
    for (let i = 0; i < vs.length; i += 500) {
      const ev = { metricName: name, metricType: 'histogram', labels: labelsOf(name), observations: vs.slice(i, i + 500) };
      const n = JSON.stringify(ev).length + 1;
      if (size + n > 60000) await flush();
      events.push(ev);
      size += n;
    }
  }
  await flush();
  return posts;
}

// ------------------------------------------------- a protobuf /metrics

// Just enough of the protobuf wire format to read what pum-exporter sends
// (exporter/metrics.proto): varints, fixed64 and length-delimited fields.
function fields(buf) {
  const out = [];
  let pos = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const num = key >> 3;
    const wt = key & 7;
    if (wt === 0) out.push({ num, wt, v: varint() });
    else if (wt === 1) { out.push({ num, wt, d: buf.readDoubleLE(pos) }); pos += 8; }
    else if (wt === 2) { const n = Number(varint()); out.push({ num, wt, b: buf.subarray(pos, pos + n) }); pos += n; }
    else if (wt === 5) { pos += 4; }
    else throw new Error(`wire type ${wt}`);
  }
  return out;
}
const zigzag = (v) => Number((v >> 1n) ^ -(v & 1n));

// Packed or not, the sint64s of field `num`.
function sints(fs, num) {
  const out = [];
  for (const f of fs.filter((x) => x.num === num)) {
    if (f.wt === 0) {
      out.push(zigzag(f.v));
      continue;
    }
    let v = 0n;
    let shift = 0n;
    for (const byte of f.b) {
      v |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (!(byte & 0x80)) {
        out.push(zigzag(v));
        v = 0n;
        shift = 0n;
      }
    }
  }
  return out;
}

// Spans and deltas as [[index, count]] (empty buckets included).
function expand(spans, deltas) {
  const out = [];
  let index = 0;
  let count = 0;
  let d = 0;
  for (const s of spans) {
    index += s.offset;
    for (let j = 0; j < s.length; j++) {
      count += deltas[d++];
      out.push([index, count]);
      index++;
    }
  }
  assert.equal(d, deltas.length, 'as many deltas as the spans say');
  return out;
}

function decodeHistogram(b) {
  const fs = fields(b);
  const one = (num) => fs.find((f) => f.num === num);
  const spans = (num) => fs.filter((f) => f.num === num).map((f) => {
    const s = fields(f.b);
    const off = s.find((x) => x.num === 1);
    const len = s.find((x) => x.num === 2);
    return { offset: off ? zigzag(off.v) : 0, length: len ? Number(len.v) : 0 };
  });
  const h = {
    count: one(1) ? Number(one(1).v) : 0,
    sum: one(2) ? one(2).d : 0,
    classic: fs.filter((f) => f.num === 3).map((f) => {
      const s = fields(f.b);
      return [s.find((x) => x.num === 2).d, Number(s.find((x) => x.num === 1)?.v ?? 0n)];
    }),
    native: one(5) !== undefined || one(6) !== undefined,
    schema: one(5) ? zigzag(one(5).v) : 0,
    zeroThreshold: one(6) ? one(6).d : 0,
    zeroCount: one(7) ? Number(one(7).v) : 0,
  };
  h.negative = expand(spans(9), sints(fs, 10));
  h.positive = expand(spans(12), sints(fs, 13));
  return h;
}

// GET /metrics in protobuf: {family name: [{labels, histogram}]}.
async function scrapeProtobuf(stack) {
  const r = await fetch(stack.metricsUrl, { headers: { accept: PROTOBUF_ACCEPT } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/vnd\.google\.protobuf; proto=io\.prometheus\.client\.MetricFamily; encoding=delimited$/);
  const buf = Buffer.from(await r.arrayBuffer());
  const families = {};
  let pos = 0;
  while (pos < buf.length) {
    const [len, at] = readLength(buf, pos);
    const fam = fields(buf.subarray(at, at + len));
    pos = at + len;
    const name = fam.find((f) => f.num === 1).b.toString('utf8');
    families[name] = fam.filter((f) => f.num === 4).map((m) => {
      const mf = fields(m.b);
      const labels = Object.fromEntries(mf.filter((f) => f.num === 1).map((l) => {
        const lf = fields(l.b);
        return [lf.find((x) => x.num === 1).b.toString('utf8'), lf.find((x) => x.num === 2)?.b.toString('utf8') ?? ''];
      }));
      const hf = mf.find((f) => f.num === 7);
      return { labels, histogram: hf ? decodeHistogram(hf.b) : null };
    });
  }
  return families;
}
function readLength(buf, pos) {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (!(b & 0x80)) return [v, pos];
    mul *= 128;
  }
}

// The histogram of `name`'s series with `labels` in a protobuf scrape.
function seriesOf(families, name, labels = labelsOf(name)) {
  const s = (families[name] || []).find((m) => JSON.stringify(m.labels) === JSON.stringify(labels));
  assert.ok(s, `${name} ${JSON.stringify(labels)} in the protobuf exposition`);
  return s.histogram;
}

// ------------------------------------------------ what Prometheus holds

// The one native histogram an instant query returns: {count, sum, buckets}
// with buckets [rule, lower, upper, count] as numbers.
async function nativeOf(prom, expr, time) {
  let r = await prom.query(expr, time);
  // A scrape that failed (a loaded machine: the timeout is the 1 s
  // interval) marks the series stale until the next one; say so.
  for (let i = 0; r.length === 0 && time === undefined && i < 25; i++) {
    await new Promise((done) => setTimeout(done, 200));
    r = await prom.query(expr);
  }
  const targets = r.length === 1 ? [] : await prom.targets();
  assert.equal(r.length, 1, `${expr}: ${JSON.stringify(r).slice(0, 300)} (targets: ${JSON.stringify(targets)})`);
  assert.ok(r[0].histogram, `${expr} is a native histogram: ${JSON.stringify(r[0]).slice(0, 300)}`);
  const h = r[0].histogram[1];
  return {
    t: r[0].histogram[0],
    count: Number(h.count),
    sum: Number(h.sum),
    buckets: (h.buckets || []).map(([rule, lo, hi, c]) => [rule, Number(lo), Number(hi), Number(c)]),
  };
}

// The time (ms) of the latest sample of `sel` (a series selector).
async function lastSampleAt(prom, sel) {
  const r = await prom.query(`${sel}[10s]`);
  assert.equal(r.length, 1, `${sel}[10s]: ${JSON.stringify(r).slice(0, 300)}`);
  const points = r[0].histograms;
  return Math.round(points[points.length - 1][0] * 1000);
}

// A number as a PromQL literal.
const lit = (x) => (x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : String(x));

async function scalar(prom, expr, time) {
  let r = await prom.query(expr, time);
  for (let i = 0; r.length === 0 && time === undefined && i < 25; i++) {
    await new Promise((done) => setTimeout(done, 200)); // a failed scrape, as in nativeOf()
    r = await prom.query(expr);
  }
  assert.equal(r.length, 1, `${expr}: ${JSON.stringify(r)}`);
  return Number(r[0].value[1]);
}

// True if v is in a Prometheus bucket: rule 0 (lo, hi], 1 [lo, hi),
// 2 (lo, hi), 3 [lo, hi].
function inBucket([rule, lo, hi], v) {
  const lower = rule === 1 || rule === 3 ? v >= lo : v > lo;
  const upper = rule === 0 || rule === 3 ? v <= hi : v < hi;
  return lower && upper;
}

// The number of values in each bucket, by the bucket's own bounds.
const countIn = (bucket, vs) => vs.reduce((n, v) => n + (inBucket(bucket, v) ? 1 : 0), 0);

// The schema of a bucket from its bounds: upper / lower = 2^(2^-schema).
function schemaOf([, lo, hi]) {
  const a = Math.abs(lo);
  const b = Math.abs(hi);
  return Math.round(-Math.log2(Math.log2(Math.max(a, b) / Math.min(a, b)))) || 0; // not -0
}

// The exact bucket index of v > 0 at schema <= 0, as pum and Prometheus
// compute it: from the binary exponent e with 2^(e-1) < v <= 2^e.
function lowSchemaIndex(v, schema) {
  let e = Math.ceil(Math.log2(v));
  while (2 ** e < v) e++;
  while (2 ** (e - 1) >= v) e--;
  return Math.ceil(e / 2 ** -schema);
}

// Asserts that Prometheus' buckets for `name` hold exactly `vs` and are at
// `schema`; returns them.
function assertBucketsHold(h, vs, schema, what) {
  let total = 0;
  for (const b of h.buckets) {
    assert.equal(countIn(b, vs), b[3], `${what}: bucket ${JSON.stringify(b)} holds ${countIn(b, vs)} of the values sent`);
    total += b[3];
    // The zero bucket and a first bucket cut at the zero threshold aside.
    if (b[0] !== 3 && Math.min(Math.abs(b[1]), Math.abs(b[2])) > 1e-30) {
      assert.equal(schemaOf(b), schema, `${what}: bucket ${JSON.stringify(b)} at schema ${schema}`);
    }
  }
  assert.equal(total, vs.length, `${what}: the buckets hold every value`);
}

// The bound on histogram_quantile's relative error at `schema`.
//
// Prometheus 2.42 (promql/quantile.go histogramQuantile) walks the buckets
// in order (negative ones from -Inf, the zero bucket, positive ones), stops
// at the first whose cumulative count reaches rank = q * count, and
// interpolates linearly inside it: lower + (upper - lower) * (rank - the
// count below) / its count, a value in [lower, upper]. The bucket it stops
// at is the one of the ceil(rank)-th smallest value T (the count below it
// is < rank, through it >= rank), which is the true quantile here. A
// bucket is (u/b, u] (positive) or [-u, -u/b) (negative), b = 2^(2^-s);
// T and the estimate E both lie in it, so |E - T| < u - u/b = (u/b)(b - 1)
// < |T|(b - 1): the relative error is below b - 1 (0.0027 at schema 8,
// 0.0905 at 3, 1 at 0, 15 at -2). Asserted: E within the bucket of T as
// Prometheus reports it (a slack of 1e-12 relative for the interpolation's
// rounding), and |E - T| / |T| <= b - 1.
const quantileBound = (schema) => 2 ** (2 ** -schema) - 1;
const SLACK = 1e-12;

// The true quantile as histogramQuantile defines its bucket: the
// ceil(q * n)-th smallest value (q * n in binary64, as Go computes it).
function trueQuantile(sorted, q) {
  return sorted[Math.ceil(q * sorted.length) - 1];
}

// |histogram_fraction(lo, hi) - the true fraction| is at most (the count of
// the bucket strictly containing lo + that of hi's) / n, a bucket counted
// once: Prometheus 2.42 (histogramFraction) counts every bucket wholly
// inside (lo, hi] exactly and interpolates linearly in a bucket that an
// end cuts, giving between 0 and its whole count where the truth also is.
// An end on a bucket boundary (or in an empty bucket) adds no error.
function fractionBound(h, vs, lo, hi) {
  const cut = new Set();
  for (const x of [lo, hi]) {
    if (!Number.isFinite(x)) continue;
    const i = h.buckets.findIndex((b) => b[1] < x && x < b[2]);
    if (i >= 0) cut.add(i);
  }
  let n = 0;
  for (const i of cut) n += h.buckets[i][3];
  return n / vs.length;
}
const trueFraction = (vs, lo, hi) => vs.filter((v) => v > lo && v <= hi).length / vs.length;

// ------------------------------------------------------- the TCP relay

// Prometheus scrapes 127.0.0.1:port, relayed to whatever port the
// exporter listens on now (target()), so that a restarted exporter (on a
// new port) is the same target.
function relay(target) {
  const sockets = new Set();
  const server = net.createServer((c) => {
    sockets.add(c);
    const up = net.connect({ host: '127.0.0.1', port: target() });
    sockets.add(up);
    const done = () => { c.destroy(); up.destroy(); sockets.delete(c); sockets.delete(up); };
    c.on('error', done);
    up.on('error', done);
    c.on('close', done);
    up.on('close', done);
    c.pipe(up);
    up.pipe(c);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      close: () => new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(r);
      }),
    }));
  });
}

// ----------------------------------------------------------------- tests

describe('native histograms: Prometheus 2.42 (native-histograms) scraping pum', () => {
  const st = useStack(hooks, { metrics: METRICS });
  let prom;
  let proxy;
  let zeroAt; // ms: a scrape of every native series before any POST
  const figures = [];

  before(async () => {
    proxy = await relay(() => st.s.metricsPort);
    prom = await startPrometheus({
      targets: [`127.0.0.1:${proxy.port}`], scrapeInterval: '1s',
      extraArgs: ['--enable-feature=native-histograms'],
    });
    // Every native series is there, at zero, before anything is sent.
    const zero = await prom.waitForQuery('{__name__=~"nh_.*"}',
      (r) => r.length === DEFS.length + 1 + EDGE_DEFS.length && r.every((s) => s.histogram && s.histogram[1].count === '0'), 30000);
    zeroAt = Math.max(...zero.map((s) => Math.round(s.histogram[0] * 1000)));
    const posts = await postAll(st.s, SENT);
    figures.push(`${Object.values(SENT).reduce((a, v) => a + v.length, 0)} values in ${posts} POSTs`);
    for (const [name, vs] of Object.entries(SENT)) {
      if (name === 'classic_only') continue;
      await prom.waitForQuery(`histogram_count(${selector(name)})`, (r) => r.length === 1 && Number(r[0].value[1]) === vs.length, 30000);
    }
  });

  after(async () => {
    if (prom) await prom.stop();
    if (proxy) await proxy.close();
    if (figures.length) process.stderr.write(`# native-histograms figures:\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
  });

  it('the target is up without scrape errors, and every native family is ingested as native', T, async () => {
    const targets = await waitFor(async () => {
      const t = await prom.targets();
      return t.length === 1 && t[0].health === 'up' ? t : null;
    }, { timeout: 5000, what: 'the target to be up' });
    assert.equal(targets[0].lastError, '');
    assert.doesNotMatch(prom.log(), /level=(error|warn)[^\n]*scrape/i);
    for (const d of DEFS) await nativeOf(prom, selector(d.name));
    // nh_signed's first series, zero-filled and never observed, too.
    const idle = await nativeOf(prom, 'nh_signed{part="idle"}');
    assert.equal(idle.count, 0);
    assert.deepEqual(idle.buckets, []);
  });

  it('histogram_count and histogram_sum equal what was sent, exactly; so do those of increase() between two scrapes', T, async () => {
    for (const [name, vs] of Object.entries(SENT)) {
      if (name === 'classic_only') continue;
      const sel = selector(name);
      assert.equal(await scalar(prom, `histogram_count(${sel})`), vs.length, `${name} count`);
      assert.equal(await scalar(prom, `histogram_sum(${sel})`), sum(vs), `${name} sum`);
    }
    // The window [the last scrape at zero, the last scrape], both ends on
    // samples: extrapolatedRate's factor is exactly 1.
    // nh_wide_s0 is in the first batch: a scrape where it is at zero came
    // before any value was stored. The last scrape: after all of them.
    const r = await prom.query('nh_wide_s0[5m]');
    const points = r[0].histograms.map(([t, h]) => [Math.round(t * 1000), Number(h.count)]);
    const from = points.filter(([, c]) => c === 0).pop()[0];
    const to = points[points.length - 1][0];
    assert.ok(to > from && points[points.length - 1][1] === SENT.nh_wide_s0.length);
    const at = (to / 1000).toFixed(3);
    const win = `${to - from}ms`;
    for (const [name, vs] of Object.entries(SENT)) {
      if (name === 'classic_only') continue;
      const sel = selector(name);
      const c = await scalar(prom, `histogram_count(increase(${sel}[${win}]))`, at);
      const s = await scalar(prom, `histogram_sum(increase(${sel}[${win}]))`, at);
      assert.equal(c, vs.length, `${name}: histogram_count(increase())`);
      assert.equal(s, sum(vs), `${name}: histogram_sum(increase())`);
      const rate = await scalar(prom, `histogram_count(rate(${sel}[${win}]))`, at);
      const want = vs.length / ((to - from) / 1000);
      assert.ok(Math.abs(rate - want) <= 1e-12 * want, `${name}: rate ${rate} vs ${want}`);
    }
    figures.push(`counts and sums exact for ${DEFS.length} native series; increase() over [${from}, ${to}] ms exact`);
  });

  it("Prometheus' buckets hold exactly the values sent, at the configured schema, as pum's protobuf says", T, async () => {
    const families = await scrapeProtobuf(st.s);
    for (const d of DEFS) {
      const vs = SENT[d.name];
      const h = await nativeOf(prom, selector(d.name));
      assertBucketsHold(h, vs, d.schema, d.name);
      const p = seriesOf(families, d.name);
      assert.equal(p.schema, d.schema, `${d.name}: pum's schema`);
      assert.equal(p.zeroThreshold, 2 ** -128);
      assert.equal(p.zeroCount, 0);
      assert.equal(p.count, vs.length);
      assert.equal(p.sum, sum(vs));
      // The same non-empty buckets, in Prometheus' order (negative ones
      // from the most negative).
      const counts = [...p.negative.slice().reverse(), ...p.positive].map(([, c]) => c).filter((c) => c > 0);
      assert.deepEqual(counts, h.buckets.map((b) => b[3]), `${d.name}: protobuf buckets vs Prometheus'`);
      figures.push(`${d.name}: schema ${p.schema}, ${counts.length} non-empty buckets (${p.negative.length} negative, ${p.positive.length} positive in spans)`);
    }
  });

  it('values exactly on bucket boundaries land in the bucket they close (upper bounds inclusive), ±2^-128 and 0 in the zero bucket', T, async () => {
    const sent = {};
    for (const d of EDGE_DEFS) {
      const src = await nativeOf(prom, selector(d.source));
      const uppers = src.buckets.filter((b) => b[0] === 0).map((b) => b[2]);
      const lowers = src.buckets.filter((b) => b[0] === 0 && b[1] > 1e-30).map((b) => b[1]);
      const edges = [...new Set([...uppers, ...lowers])];
      sent[d.name] = [...edges, ...edges.map((v) => -v), 0, 2 ** -128, -(2 ** -128), 2 ** -129];
    }
    await postAll(st.s, sent);
    for (const d of EDGE_DEFS) {
      const vs = sent[d.name];
      await prom.waitForQuery(`histogram_count(${d.name})`, (r) => r.length === 1 && Number(r[0].value[1]) === vs.length);
      const h = await nativeOf(prom, d.name);
      assertBucketsHold(h, vs, d.schema, d.name);
      const zero = h.buckets.filter((b) => b[0] === 3);
      assert.deepEqual(zero, [[3, -(2 ** -128), 2 ** -128, 4]], `${d.name}: the zero bucket`);
      // Each edge is its bucket's upper end (positive) or lower end (negative).
      for (const b of h.buckets) {
        if (b[0] === 0) assert.ok(vs.includes(b[2]), `${d.name}: ${JSON.stringify(b)} holds its upper bound`);
        if (b[0] === 1) assert.ok(vs.includes(b[1]), `${d.name}: ${JSON.stringify(b)} holds its lower bound`);
      }
      figures.push(`${d.name}: ${vs.length} values on bucket boundaries, each in the bucket it closes`);
    }
  });

  it('histogram_quantile(q, x) lies in the bucket of the true quantile: relative error <= 2^(2^-s) - 1', T, async () => {
    for (const d of DEFS) {
      const vs = SENT[d.name];
      const sorted = vs.slice().sort((a, b) => a - b);
      const h = await nativeOf(prom, selector(d.name));
      const bound = quantileBound(d.schema);
      let worst = 0;
      for (const q of QUANTILES) {
        const est = await scalar(prom, `histogram_quantile(${q}, ${selector(d.name)})`);
        const t = trueQuantile(sorted, q);
        const b = h.buckets.find((x) => inBucket(x, t));
        assert.ok(b, `${d.name} q=${q}: a bucket holds ${t}`);
        const slack = SLACK * Math.max(Math.abs(b[1]), Math.abs(b[2]));
        assert.ok(est >= b[1] - slack && est <= b[2] + slack, `${d.name} q=${q}: ${est} in [${b[1]}, ${b[2]}] (true ${t})`);
        const rel = Math.abs(est - t) / Math.abs(t);
        assert.ok(rel <= bound, `${d.name} q=${q}: relative error ${rel} > ${bound}`);
        worst = Math.max(worst, rel);
        // Over rate(): the window starts at a scrape at zero, so it is the
        // same histogram scaled (the same quantile, up to rounding).
        const w = Math.ceil((Date.now() - zeroAt) / 1000) + 2;
        const viaRate = await scalar(prom, `histogram_quantile(${q}, rate(${selector(d.name)}[${w}s]))`);
        assert.ok(Math.abs(viaRate - est) <= 1e-9 * Math.abs(est), `${d.name} q=${q}: over rate ${viaRate} vs ${est}`);
      }
      figures.push(`${d.name} (schema ${d.schema}): worst quantile relative error ${worst.toPrecision(3)} <= bound ${bound.toPrecision(3)}`);
    }
  });

  it('histogram_fraction: exact at bucket boundaries, within the cut buckets elsewhere', T, async () => {
    const cases = {
      nh_wide_s0: [[0, Infinity, true], [-Infinity, 1, true], [1 / 16, 16, true], [0.2, 7]],
      nh_wide_s3: [[0, Infinity, true], [-Infinity, 1, true], [1 / 16, 16, true], [0.2, 7]],
      nh_wide_s8: [[0, Infinity, true], [-Infinity, 1, true], [1 / 16, 16, true], [0.2, 7], [0.0015, 450]],
      nh_wide_sm2: [[0, Infinity, true], [-Infinity, 1, true], [1 / 16, 16, true], [0.2, 7]],
      nh_signed: [[-Infinity, 0, true], [0, Infinity, true], [-16, 16, true], [-7.5, 33]],
      nh_narrow: [[0, Infinity, true], [100.25, 100.75]],
    };
    for (const [name, list] of Object.entries(cases)) {
      const vs = SENT[name];
      const h = await nativeOf(prom, selector(name));
      for (const [lo, hi, exact] of list) {
        // No value on a boundary used here.
        for (const x of [lo, hi]) assert.ok(!vs.includes(x));
        const f = await scalar(prom, `histogram_fraction(${lit(lo)}, ${lit(hi)}, ${selector(name)})`);
        const want = trueFraction(vs, lo, hi);
        const bound = fractionBound(h, vs, lo, hi);
        if (exact) {
          assert.equal(bound, 0, `${name} (${lo}, ${hi}]: ends on bucket boundaries`);
          assert.equal(f, want, `${name} histogram_fraction(${lo}, ${hi})`);
        } else {
          assert.ok(Math.abs(f - want) <= bound + SLACK, `${name} (${lo}, ${hi}]: ${f} vs ${want}, bound ${bound}`);
          figures.push(`${name} histogram_fraction(${lo}, ${hi}) = ${f.toFixed(5)}, true ${want.toFixed(5)}, |error| ${Math.abs(f - want).toPrecision(3)} <= bound ${bound.toPrecision(3)}`);
        }
      }
    }
  });

  it('a small max_buckets lowers the resolution (8 -> -1) and keeps counts exact, across the change too', T, async () => {
    // Phase A (in the first POSTs): 200 values in (1, 1.02], at schema 8.
    const fa = await scrapeProtobuf(st.s);
    const a = seriesOf(fa, 'nh_reduced');
    assert.equal(a.schema, 8);
    const pre = await nativeOf(prom, 'nh_reduced');
    assert.ok(pre.buckets.length <= 10 && pre.buckets.length >= 2, JSON.stringify(pre.buckets));
    const from = await lastSampleAt(prom, 'nh_reduced');
    // Phase B: 20 octaves. The expected schema: the highest one at which
    // all the values have at most 10 buckets (above 0 there are more than
    // at 0, which has 20).
    const all = [...SENT.nh_reduced, ...REDUCED_B];
    const distinct = (s) => new Set(all.map((v) => lowSchemaIndex(v, s))).size;
    assert.ok(distinct(0) > 10);
    let want = 0;
    while (distinct(want) > 10) want--;
    assert.equal(want, -1);
    await postAll(st.s, { nh_reduced: REDUCED_B });
    const h = await prom.waitForQuery('histogram_count(nh_reduced)', (r) => r.length === 1 && Number(r[0].value[1]) === all.length);
    assert.ok(h);
    const p = seriesOf(await scrapeProtobuf(st.s), 'nh_reduced');
    assert.equal(p.schema, want, "pum's schema after the reduction");
    const nonEmpty = p.positive.filter(([, c]) => c > 0);
    assert.ok(nonEmpty.length <= 10);
    // Exactly the buckets of the values at schema -1 (ceil(i / 2) applied
    // again and again from 8 loses nothing and misplaces nothing).
    const expected = new Map();
    for (const v of all) {
      const i = lowSchemaIndex(v, want);
      expected.set(i, (expected.get(i) || 0) + 1);
    }
    assert.deepEqual(nonEmpty, [...expected.entries()].sort((x, y) => x[0] - y[0]));
    assert.equal(p.count, all.length);
    assert.equal(p.sum, sum(all));
    // In Prometheus: the count, the sum, the buckets, the schema.
    const post = await nativeOf(prom, 'nh_reduced');
    assert.equal(post.count, all.length);
    assert.equal(await scalar(prom, 'histogram_sum(nh_reduced)'), sum(all));
    assertBucketsHold(post, all, want, 'nh_reduced');
    // increase() from a scrape at schema 8 to one at -1: exactly phase B.
    const to = await lastSampleAt(prom, 'nh_reduced');
    const at = (to / 1000).toFixed(3);
    assert.equal(await scalar(prom, `histogram_count(increase(nh_reduced[${to - from}ms]))`, at), REDUCED_B.length);
    assert.equal(await scalar(prom, `histogram_sum(increase(nh_reduced[${to - from}ms]))`, at), sum(REDUCED_B));
    // The quantiles, within the bound of the schema served.
    const sorted = all.slice().sort((x, y) => x - y);
    let worst = 0;
    for (const q of QUANTILES) {
      const est = await scalar(prom, `histogram_quantile(${q}, nh_reduced)`);
      const t = trueQuantile(sorted, q);
      const b = post.buckets.find((x) => inBucket(x, t));
      assert.ok(est >= b[1] && est <= b[2] * (1 + SLACK), `q=${q}: ${est} in ${JSON.stringify(b)}`);
      const rel = Math.abs(est - t) / t;
      assert.ok(rel <= quantileBound(want));
      worst = Math.max(worst, rel);
    }
    figures.push(`nh_reduced: schema 8 with ${pre.buckets.length} buckets -> ${p.schema} with ${nonEmpty.length} (max_buckets 10), ${all.length} values exact; worst quantile error ${worst.toPrecision(3)} <= ${quantileBound(want)}`);
  });

  it('a native histogram with buckets: both parts served; Prometheus 2.42 keeps only the native one (the trap)', T, async () => {
    const vs = SENT.nh_classic;
    const cumulative = (le) => vs.filter((v) => v <= le).length;
    // The text format: _bucket lines with le, then _sum and _count.
    const text = parseExposition(await st.s.scrape());
    for (const le of CLASSIC_BOUNDS) {
      assert.equal(text.get(`nh_classic_bucket{le="${le}"}`), cumulative(le), `le=${le}`);
    }
    assert.equal(text.get('nh_classic_bucket{le="+Inf"}'), vs.length);
    assert.equal(text.get('nh_classic_count'), vs.length);
    assert.equal(text.get('nh_classic_sum'), sum(vs));
    // The protobuf: the classic buckets (no +Inf) and the native part.
    const p = seriesOf(await scrapeProtobuf(st.s), 'nh_classic');
    assert.deepEqual(p.classic, CLASSIC_BOUNDS.map((le) => [le, cumulative(le)]));
    assert.ok(p.native && p.schema === 3 && p.positive.length > 10);
    // Prometheus: the native histogram only.
    assert.equal((await nativeOf(prom, 'nh_classic')).count, vs.length);
    for (const suffix of ['_bucket', '_count', '_sum']) {
      assert.deepEqual(await prom.query(`nh_classic${suffix}`), [], `nh_classic${suffix} is not in Prometheus 2.42`);
    }
    const names = (await prom.query('{__name__=~"nh_classic.*"}')).map((s) => s.metric.__name__);
    assert.deepEqual(names, ['nh_classic']);
    // Whereas the same values in a classic-only histogram are there as
    // _bucket series.
    const classic = await prom.query('classic_only_bucket');
    const le = (s) => (s === '+Inf' ? Infinity : Number(s));
    const got = Object.fromEntries(classic.map((s) => [le(s.metric.le), Number(s.value[1])]));
    assert.deepEqual(got, Object.fromEntries([...CLASSIC_BOUNDS.map((le) => [le, cumulative(le)]), [Infinity, vs.length]]));
  });

  it('a restart of the exporter keeps the series; later POSTs add up exactly, increase() across it too', { timeout: 60000 }, async () => {
    const names = ['nh_wide_s3', 'nh_signed', 'nh_wide_sm2'];
    const pre = {};
    const from = {};
    for (const n of names) {
      pre[n] = await nativeOf(prom, selector(n));
      from[n] = await lastSampleAt(prom, selector(n));
    }
    await st.s.killExporter('SIGTERM');
    await prom.waitForQuery('up', (r) => r.length === 1 && r[0].value[1] === '0', 15000);
    await st.s.startExporter();
    const restarted = Date.now();
    await prom.waitForQuery('up', (r) => r.length === 1 && r[0].value[1] === '1', 15000);
    // The same histogram as before, from the store.
    for (const n of names) {
      await waitFor(async () => (await lastSampleAt(prom, selector(n))) > restarted,
        { timeout: 10000, what: `${n} scraped after the restart` });
      const h = await nativeOf(prom, selector(n));
      assert.equal(h.count, SENT[n].length);
      assert.equal(h.sum, sum(SENT[n]));
      assert.deepEqual(h.buckets, pre[n].buckets);
    }
    const more = {
      nh_wide_s3: values(1500, 30, logUniform(1e-3, 1e3)),
      nh_signed: values(1500, 30, uniform(-50, 50)),
      nh_wide_sm2: values(1500, 30, logUniform(1e-3, 1e3)),
    };
    await postAll(st.s, more);
    for (const n of names) {
      const all = [...SENT[n], ...more[n]];
      await prom.waitForQuery(`histogram_count(${selector(n)})`, (r) => r.length === 1 && Number(r[0].value[1]) === all.length);
      const h = await nativeOf(prom, selector(n));
      assert.equal(h.count, all.length);
      assert.equal(h.sum, sum(all));
      assertBucketsHold(h, all, DEFS.find((d) => d.name === n).schema, `${n} after the restart`);
      // From the last scrape before the restart to now: exactly `more`.
      const sel = selector(n);
      const to = await lastSampleAt(prom, sel);
      const at = (to / 1000).toFixed(3);
      const win = `${to - from[n]}ms`;
      assert.equal(await scalar(prom, `histogram_count(increase(${sel}[${win}]))`, at), more[n].length, `${n} increase`);
      assert.equal(await scalar(prom, `histogram_sum(increase(${sel}[${win}]))`, at), sum(more[n]), `${n} increase sum`);
    }
    figures.push(`exporter restart: ${names.join(', ')} unchanged after it; +${more.nh_wide_s3.length} each exact, increase() across the restart exact`);
  });

  itStopsCleanly(st);
});
