// Prometheus 2.42 (Debian's) with --enable-feature=native-histograms asks
// pum-exporter for the protobuf format first: the scrape goes through a
// recording proxy (what Prometheus asked, what pum answered), and the values
// Prometheus then holds of a counter and a classic histogram are what was
// stored. Proves that Prometheus accepts pum's protobuf exposition.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { SEED_METRICS, clientId, counterEvent, histogramEvent, itStopsCleanly, useStack, valueOf } from './stack.mjs';
import { startPrometheus } from '../deploy/prometheus.mjs';

const hooks = { before, after };
const T = { timeout: 60000 };

// Prometheus v2.42.0's scrapeAcceptHeaderWithProtobuf (scrape/scrape.go).
const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,'
  + 'application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,'
  + 'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROTOBUF_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const HOST = 'pd-dev-1.firebaseio.com';
const CQ = { browser: 'chrome', feature: 'quickQuestion' };
const OBSERVATIONS = [0.07, 0.3, 4, 150];
// The seed's bounds, as Prometheus' protobuf parser writes "le"
// (formatOpenMetricsFloat: "1.0", not the text format's "1"), with the
// cumulative counts of OBSERVATIONS.
const BUCKETS = {
  '0.05': 0, '0.1': 1, '0.2': 1, '0.5': 2, '1.0': 2, '2.0': 2, '5.0': 3,
  '10.0': 3, '20.0': 3, '50.0': 3, '100.0': 3, '+Inf': 4,
};

// A pass-through HTTP proxy to `target` that records each request's Accept
// header and the answer's status, Content-Type and Content-Encoding.
function recordingProxy(target) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const headers = {};
    for (const h of ['accept', 'accept-encoding']) if (req.headers[h]) headers[h] = req.headers[h];
    const up = http.request(`${target}${req.url}`, { method: req.method, headers, agent: false }, (answer) => {
      seen.push({
        accept: req.headers.accept,
        status: answer.statusCode,
        type: answer.headers['content-type'],
        encoding: answer.headers['content-encoding'],
      });
      const out = {};
      for (const h of ['content-type', 'content-encoding', 'content-length']) {
        if (answer.headers[h]) out[h] = answer.headers[h];
      }
      res.writeHead(answer.statusCode, out);
      answer.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    up.end();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, seen, port: server.address().port }));
  });
}

describe('Prometheus 2.42 with native histograms scrapes pum-exporter in protobuf', () => {
  const st = useStack(hooks, { metrics: { '10-seed.json': SEED_METRICS } });
  let proxy;
  let prom;

  before(async () => {
    const client = clientId('proto');
    const r1 = await st.s.post({ client, seq: 0, events: [counterEvent(CQ, 3), histogramEvent({ firebaseHost: HOST }, OBSERVATIONS)] },
      { contentType: 'text/plain' });
    assert.equal(r1.status, 204, r1.text);
    const r2 = await st.s.post({ client, seq: 1, events: [counterEvent(CQ, 2), counterEvent({}, 4, 'app_load_succeeded_total')] },
      { contentType: 'text/plain' });
    assert.equal(r2.status, 204, r2.text);
    proxy = await recordingProxy(st.s.baseMetricsUrl);
    prom = await startPrometheus({
      targets: [`127.0.0.1:${proxy.port}`], scrapeInterval: '1s',
      extraArgs: ['--enable-feature=native-histograms'],
    });
    await prom.waitForQuery(`firebase_response_time_count{firebaseHost="${HOST}"}`,
      (r) => r.length === 1 && r[0].value[1] === '4', 30000);
  });

  after(async () => {
    if (prom) await prom.stop();
    if (proxy) await new Promise((r) => proxy.server.close(r));
  });

  it('pum answers the native-histograms Accept header with protobuf (gzipped), and text without it', T, async () => {
    assert.ok(proxy.seen.length >= 1);
    for (const s of proxy.seen) {
      assert.equal(s.accept, PROTOBUF_ACCEPT, 'the Accept header Prometheus 2.42 sends');
      assert.equal(s.status, 200);
      assert.equal(s.type, PROTOBUF_TYPE);
      assert.equal(s.encoding, 'gzip');
    }
    const r = await st.s.scrapeResponse();
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('the target is up, with no scrape error', T, async () => {
    const targets = await prom.targets();
    assert.equal(targets.length, 1);
    assert.equal(targets[0].health, 'up', targets[0].lastError);
    assert.equal(targets[0].lastError, '');
    assert.doesNotMatch(prom.log(), /level=(error|warn)[^\n]*scrape/i);
  });

  it('counters: the stored values, zero-filled series too', T, async () => {
    const text = await st.s.series();
    const usage = await prom.query(`usage_total{browser="chrome",feature="quickQuestion"}`);
    assert.equal(usage.length, 1);
    assert.equal(Number(usage[0].value[1]), 5);
    assert.equal(Number(usage[0].value[1]), valueOf(text, 'usage_total', CQ));
    const loads = await prom.query('app_load_succeeded_total');
    assert.equal(loads.length, 1);
    assert.equal(Number(loads[0].value[1]), 4);
    // Every combination of the seed's enumerated labels, as in the text.
    const all = await prom.query('usage_total');
    assert.equal(all.length, 16);
    assert.equal(all.reduce((a, s) => a + Number(s.value[1]), 0), 5);
  });

  it('classic histogram: _count, _sum and every bucket as stored', T, async () => {
    const text = await st.s.series();
    const count = await prom.query(`firebase_response_time_count{firebaseHost="${HOST}"}`);
    assert.equal(Number(count[0].value[1]), 4);
    const sum = await prom.query(`firebase_response_time_sum{firebaseHost="${HOST}"}`);
    const want = OBSERVATIONS.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(Number(sum[0].value[1]) - want) < 1e-9, `${sum[0].value[1]} vs ${want}`);
    assert.equal(Number(sum[0].value[1]), valueOf(text, 'firebase_response_time_sum', { firebaseHost: HOST }));
    const buckets = await prom.query(`firebase_response_time_bucket{firebaseHost="${HOST}"}`);
    const got = Object.fromEntries(buckets.map((s) => [s.metric.le, Number(s.value[1])]));
    assert.deepEqual(got, BUCKETS);
    // The other host: zero-filled, all zero.
    const other = await prom.query('firebase_response_time_bucket{firebaseHost="pd-dev-2.firebaseio.com"}');
    assert.equal(other.length, Object.keys(BUCKETS).length);
    for (const s of other) assert.equal(s.value[1], '0');
  });

  it("pum's own gauges arrive too", T, async () => {
    const r = await prom.query('pum_exporter_allowlist_last_reload_successful');
    assert.equal(r.length, 1);
    assert.equal(r[0].value[1], '1');
  });

  itStopsCleanly(st);
});
