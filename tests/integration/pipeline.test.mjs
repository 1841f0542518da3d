// The pipeline through real nginx: browser batch -> nginx -> FastCGI ->
// pum-ingest (x2, spawn-fcgi) -> SQLite -> pum-exporter -> /metrics.
// Covers the seed's own expectations and every answer of the table in docs/wire-format.md#answers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import {
  SEED_METRICS, clientId, counterEvent, histogramEvent, parseExposition, seriesKey, sumOf, itStopsCleanly, useStack, valueOf,
} from './stack.mjs';

const hooks = { before, after };
const T = { timeout: 30000 };

const BROWSERS = ['chrome', 'firefox', 'safari', 'edge'];
const FEATURES = ['quickQuestion', 'selfPacedMode', 'blockStudent', 'showContent'];
const HOSTS = ['pd-dev-1.firebaseio.com', 'pd-dev-2.firebaseio.com'];
const BUCKETS = ['0.05', '0.1', '0.2', '0.5', '1', '2', '5', '10', '20', '50', '100', '+Inf'];
const CQ = { browser: 'chrome', feature: 'quickQuestion' };

// What browsers' data adds up to: equal before and after a request means
// the request applied nothing.
function userTotals(m) {
  return {
    usage: sumOf(m, 'usage_total'),
    fbCount: sumOf(m, 'firebase_response_time_count'),
    fbSum: sumOf(m, 'firebase_response_time_sum'),
    fbBuckets: sumOf(m, 'firebase_response_time_bucket'),
    app: sumOf(m, 'app_load_succeeded_total'),
  };
}

function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, out: (r.stdout + r.stderr).trim() };
}

function code(m, c) {
  return valueOf(m, 'pum_ingest_requests_total', { code: String(c) }, 0);
}

function rejected(m, reason) {
  return valueOf(m, 'pum_ingest_events_rejected_total', { reason }, 0);
}

// The seed's expected exposition lines for usage_total with `usage` on
// chrome/quickQuestion, and firebase_response_time with the given buckets.
function seedLines(usage, dev1) {
  const lines = [];
  for (const b of BROWSERS) {
    for (const f of FEATURES) {
      const v = b === 'chrome' && f === 'quickQuestion' ? usage : 0;
      lines.push(`usage_total{browser="${b}",feature="${f}"} ${v}`);
    }
  }
  for (const h of HOSTS) {
    const d = h === HOSTS[0] ? dev1 : { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((le, i) => lines.push(`firebase_response_time_bucket{firebaseHost="${h}",le="${le}"} ${d.buckets[i]}`));
    lines.push(`firebase_response_time_sum{firebaseHost="${h}"} ${d.sum}`);
    lines.push(`firebase_response_time_count{firebaseHost="${h}"} ${d.count}`);
  }
  return lines;
}

function assertHasLines(text, expected) {
  const have = new Set(text.split('\n'));
  const missing = expected.filter((l) => !have.has(l));
  assert.deepEqual(missing, [], `lines missing from the exposition:\n${text}`);
}

const ZERO_HIST = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };

describe("the seed's own expectations (reportingTests.js), through nginx", () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS } });

  it('exports every enumerated combination at zero from the start', T, async () => {
    const text = await st.s.scrape();
    assertHasLines(text, seedLines(0, ZERO_HIST));
    assertHasLines(text, [
      '# TYPE usage_total counter',
      '# HELP usage_total counts of usage, like times a feature has been used, etc',
      '# TYPE firebase_response_time histogram',
      '# HELP firebase_response_time measures firebase response times in seconds',
      '# TYPE app_load_succeeded_total counter',
      'app_load_succeeded_total 0',
    ]);
  });

  it('inc 3.5 once reads 3.5, twice reads 7', T, async () => {
    const ev = counterEvent(CQ, 3.5);
    assert.equal((await st.s.post([ev])).status, 204);
    assertHasLines(await st.s.scrape(), seedLines(3.5, ZERO_HIST));
    assert.equal((await st.s.post([ev])).status, 204);
    assertHasLines(await st.s.scrape(), seedLines(7, ZERO_HIST));
  });

  it('observations 0.1, 0.3, 0.05 read 1, 2, 2, 3, ..., 3 with _sum 0.45 and _count 3', T, async () => {
    const r = await st.s.post([histogramEvent({ firebaseHost: HOSTS[0] }, [0.1, 0.3, 0.05])]);
    assert.equal(r.status, 204, r.text);
    const dev1 = { buckets: [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3], sum: 0.45, count: 3 };
    assertHasLines(await st.s.scrape(), seedLines(7, dev1));
  });

  itStopsCleanly(st);
});

describe('answers of pum-ingest through nginx (default pum.json)', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS } });

  it('204 for the seed array shape, as application/json and as text/plain', T, async () => {
    const s = st.s;
    const before = await s.series();
    const r1 = await s.post([counterEvent(CQ, 1), histogramEvent({ firebaseHost: HOSTS[1] }, [0.5, 7])]);
    assert.equal(r1.status, 204, r1.text);
    assert.equal(r1.text, '');
    const r2 = await s.post(JSON.stringify([counterEvent(CQ, 2)]), { contentType: 'text/plain;charset=UTF-8' });
    assert.equal(r2.status, 204, r2.text);
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ) - valueOf(before, 'usage_total', CQ), 3);
    const h = { firebaseHost: HOSTS[1] };
    assert.equal(valueOf(m, 'firebase_response_time_count', h) - valueOf(before, 'firebase_response_time_count', h), 2);
    assert.equal(valueOf(m, 'firebase_response_time_bucket', { ...h, le: '0.5' }) -
                 valueOf(before, 'firebase_response_time_bucket', { ...h, le: '0.5' }), 1);
    assert.equal(valueOf(m, 'firebase_response_time_bucket', { ...h, le: '10' }) -
                 valueOf(before, 'firebase_response_time_bucket', { ...h, le: '10' }), 2);
    assert.equal(code(m, 204) - code(before, 204), 2);
    assert.equal(valueOf(m, 'pum_reports_total') - valueOf(before, 'pum_reports_total', {}, 0), 2);
    assert.equal(valueOf(m, 'pum_ingest_events_accepted_total') -
                 valueOf(before, 'pum_ingest_events_accepted_total', {}, 0), 3);
  });

  it("204 for pum's {client, seq, events} shape; a repeated (client, seq) is acknowledged and counted once", T, async () => {
    const s = st.s;
    const client = clientId();
    const labels = { browser: 'firefox', feature: 'blockStudent' };
    const before = await s.series();
    const b0 = { client, seq: 0, events: [counterEvent(labels, 1)] };
    const b1 = { client, seq: 1, events: [counterEvent(labels, 10)] };
    for (const [body, what] of [[b0, 'seq 0'], [b0, 'seq 0 again'], [b1, 'seq 1'], [b0, 'seq 0 after 1'], [b1, 'seq 1 again']]) {
      const r = await s.post(body, { contentType: 'text/plain' });
      assert.equal(r.status, 204, `${what}: ${r.status} ${r.text}`);
    }
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', labels) - valueOf(before, 'usage_total', labels), 11);
    assert.equal(valueOf(m, 'pum_ingest_duplicate_batches_total') -
                 valueOf(before, 'pum_ingest_duplicate_batches_total', {}, 0), 3);
    assert.equal(valueOf(m, 'pum_reports_total') - valueOf(before, 'pum_reports_total', {}, 0), 2,
      'pum_reports_total counts applied batches, not duplicates');
    assert.equal(code(m, 204) - code(before, 204), 5);
    // Another client with the same seq is a different batch.
    const r = await s.post({ client: clientId(), seq: 0, events: [counterEvent(labels, 100)] });
    assert.equal(r.status, 204);
    const m2 = await s.series();
    assert.equal(valueOf(m2, 'usage_total', labels) - valueOf(m, 'usage_total', labels), 100);
  });

  it('200 with {accepted, rejected[{index, reason}]}: the valid events applied, each reason counted', T, async () => {
    const s = st.s;
    const before = await s.series();
    const events = [
      counterEvent(CQ, 1), // 0 ok
      counterEvent(CQ, 1, 'no_such_metric_total'), // 1
      { metricName: 'usage_total', metricType: 'histogram', labels: CQ, observations: [1] }, // 2
      counterEvent({ browser: 'chrome' }, 1), // 3 a label missing
      counterEvent({ browser: 'opera', feature: 'quickQuestion' }, 1), // 4
      counterEvent(CQ, -1), // 5
      histogramEvent({ firebaseHost: HOSTS[0] }, [0.2]), // 6 ok
      histogramEvent({ firebaseHost: HOSTS[0] }, new Array(1001).fill(0.1)), // 7
      counterEvent({ ...CQ, extra: 'x' }, 1), // 8 a label too many
      counterEvent(CQ, 'a lot'), // 9
    ];
    const want = [
      { index: 1, reason: 'unknown_metric' },
      { index: 2, reason: 'type_mismatch' },
      { index: 3, reason: 'bad_labels' },
      { index: 4, reason: 'label_value_not_allowed' },
      { index: 5, reason: 'bad_value' },
      { index: 7, reason: 'too_many_observations' },
      { index: 8, reason: 'bad_labels' },
      { index: 9, reason: 'bad_value' },
    ];
    const r = await s.post(events);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') || '', /application\/json/);
    assert.deepEqual(r.json, { accepted: 2, rejected: want });
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ) - valueOf(before, 'usage_total', CQ), 1);
    assert.equal(sumOf(m, 'usage_total') - sumOf(before, 'usage_total'), 1);
    const h = { firebaseHost: HOSTS[0] };
    assert.equal(valueOf(m, 'firebase_response_time_count', h) - valueOf(before, 'firebase_response_time_count', h), 1);
    const counts = {};
    for (const w of want) counts[w.reason] = (counts[w.reason] || 0) + 1;
    for (const [reason, n] of Object.entries(counts)) {
      assert.equal(rejected(m, reason) - rejected(before, reason), n, `rejected{reason="${reason}"}`);
    }
    assert.equal(sumOf(m, 'pum_ingest_events_rejected_total') - sumOf(before, 'pum_ingest_events_rejected_total'), want.length);
    assert.equal(code(m, 200) - code(before, 200), 1);
    assert.equal(valueOf(m, 'pum_reports_total') - valueOf(before, 'pum_reports_total', {}, 0), 1);

    // All events invalid: still 200, nothing applied.
    const r2 = await s.post([counterEvent(CQ, 1, 'nope_total')]);
    assert.equal(r2.status, 200, r2.text);
    assert.deepEqual(r2.json, { accepted: 0, rejected: [{ index: 0, reason: 'unknown_metric' }] });
    assert.deepEqual(userTotals(await s.series()), userTotals(m));
  });

  it('400 naming the problem, nothing applied: not JSON, invalid UTF-8, wrong shape, too deep', T, async () => {
    const s = st.s;
    const good = JSON.stringify(counterEvent(CQ, 1));
    const badUtf8 = Buffer.concat([
      Buffer.from(`[${good},{"metricName":"usage_total","metricType":"counter","labels":{"browser":"`),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('","feature":"quickQuestion"},"inc":1}]'),
    ]);
    const cases = [
      ['an empty body', ''],
      ['not JSON', 'hello'],
      ['truncated JSON', `[${good}`],
      ['trailing garbage', `[${good}] x`],
      ['invalid UTF-8', badUtf8],
      ['a number', '42'],
      ['a string', '"x"'],
      ['null', 'null'],
      ['an object without events', '{"foo": 1}'],
      ['events not an array', `{"client": "abc", "seq": 0, "events": ${good}}`],
      ['a client id with a space', `{"client": "a b", "seq": 0, "events": [${good}]}`],
      ['a client id of 65 characters', `{"client": "${'a'.repeat(65)}", "seq": 0, "events": [${good}]}`],
      ['an empty client id', `{"client": "", "seq": 0, "events": [${good}]}`],
      ['a negative seq', `{"client": "abc", "seq": -1, "events": [${good}]}`],
      ['a fractional seq', `{"client": "abc", "seq": 1.5, "events": [${good}]}`],
      ['too deep: nested arrays', `[${good},${'['.repeat(3000)}${']'.repeat(3000)}]`],
      ['too deep: nested objects', `[${good},{"metricName":"usage_total","labels":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}]`],
    ];
    const before = await s.series();
    for (const [what, body] of cases) {
      const r = await s.post(body);
      assert.equal(r.status, 400, `${what}: got ${r.status} ${r.text}`);
      assert.equal(typeof r.json?.error, 'string', `${what}: body ${r.text}`);
      assert.ok(r.json.error.length > 0, `${what}: empty error`);
    }
    const m = await s.series();
    assert.deepEqual(userTotals(m), userTotals(before));
    assert.equal(code(m, 400) - code(before, 400), cases.length);
    assert.equal(valueOf(m, 'pum_reports_total', {}, 0), valueOf(before, 'pum_reports_total', {}, 0));
  });

  it('413 from pum-ingest past --max-body-bytes (65536) with {"error"}, exactly 65536 accepted', T, async () => {
    const s = st.s;
    const body = JSON.stringify([counterEvent(CQ, 1)]);
    const pad = (n) => body + ' '.repeat(n - body.length);
    const before = await s.series();
    const big = await s.post(pad(65537));
    assert.equal(big.status, 413, big.text);
    assert.equal(typeof big.json?.error, 'string', big.text);
    const huge = await s.post(pad(300000));
    assert.equal(huge.status, 413, huge.text);
    let m = await s.series();
    assert.deepEqual(userTotals(m), userTotals(before));
    assert.equal(code(m, 413) - code(before, 413), 2);
    const exact = await s.post(pad(65536));
    assert.equal(exact.status, 204, exact.text);
    m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ) - valueOf(before, 'usage_total', CQ), 1);
  });

  it("413 from nginx's own client_max_body_size, nothing reaches pum-ingest", T, async () => {
    const s = st.s;
    const before = await s.series();
    const body = JSON.stringify([counterEvent(CQ, 1)]);
    const r = await s.post(body + ' '.repeat(4000), { path: '/record-small' });
    assert.equal(r.status, 413);
    const ok = await s.post(body, { path: '/record-small' });
    assert.equal(ok.status, 204, ok.text);
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ) - valueOf(before, 'usage_total', CQ), 1);
    assert.equal(code(m, 413), code(before, 413));
  });

  it('405 for GET, PUT, DELETE, HEAD, nothing applied', T, async () => {
    const s = st.s;
    const before = await s.series();
    for (const method of ['GET', 'PUT', 'DELETE', 'HEAD', 'PATCH']) {
      const r = await s.post(method === 'GET' || method === 'HEAD' ? undefined : [counterEvent(CQ, 1)], { method });
      assert.equal(r.status, 405, `${method}: ${r.status} ${r.text}`);
      if (method !== 'HEAD') assert.match(r.headers.get('allow') || '', /POST/, `${method}: Allow header`);
    }
    const m = await s.series();
    assert.deepEqual(userTotals(m), userTotals(before));
    assert.equal(code(m, 405) - code(before, 405), 5);
  });

  it('OPTIONS answers the CORS preflight; POST echoes an allowed Origin', T, async () => {
    const s = st.s;
    const origin = 'https://app.example.com';
    const r = await s.post(undefined, {
      method: 'OPTIONS', origin, contentType: null,
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.ok([200, 204].includes(r.status), `preflight: ${r.status} ${r.text}`);
    assert.ok([origin, '*'].includes(r.headers.get('access-control-allow-origin')),
      `Access-Control-Allow-Origin: ${r.headers.get('access-control-allow-origin')}`);
    assert.match(r.headers.get('access-control-allow-methods') || '', /POST/);
    assert.match(r.headers.get('access-control-allow-headers') || '', /content-type/i);
    const p = await s.post([counterEvent(CQ, 1)], { origin });
    assert.equal(p.status, 204);
    assert.ok([origin, '*'].includes(p.headers.get('access-control-allow-origin')));
  });

  it('pum_ingest_requests_total{code}, pum_reports_total and the event counters add up over a mixed sequence', T, async () => {
    const s = st.s;
    const before = await s.series();
    const client = clientId();
    const seq = [
      [[counterEvent(CQ, 1)], 204],
      [{ client, seq: 0, events: [counterEvent(CQ, 1), counterEvent(CQ, 1)] }, 204],
      [{ client, seq: 0, events: [counterEvent(CQ, 1), counterEvent(CQ, 1)] }, 204], // duplicate
      [[counterEvent(CQ, 1), counterEvent(CQ, 1, 'nope_total')], 200],
      ['{', 400],
      [[counterEvent(CQ, 1)], 405, 'PUT'],
    ];
    for (const [body, want, method] of seq) {
      const r = await s.post(body, { method: method || 'POST' });
      assert.equal(r.status, want, `${JSON.stringify(body)}: ${r.text}`);
    }
    const m = await s.series();
    const d = (name, labels = {}) => valueOf(m, name, labels, 0) - valueOf(before, name, labels, 0);
    assert.equal(d('pum_ingest_requests_total', { code: '204' }), 3);
    assert.equal(d('pum_ingest_requests_total', { code: '200' }), 1);
    assert.equal(d('pum_ingest_requests_total', { code: '400' }), 1);
    assert.equal(d('pum_ingest_requests_total', { code: '405' }), 1);
    assert.equal(sumOf(m, 'pum_ingest_requests_total') - sumOf(before, 'pum_ingest_requests_total'), 6);
    assert.equal(d('pum_reports_total'), 3);
    assert.equal(d('pum_ingest_duplicate_batches_total'), 1);
    assert.equal(d('pum_ingest_events_accepted_total'), 4);
    assert.equal(d('pum_ingest_events_rejected_total', { reason: 'unknown_metric' }), 1);
    assert.equal(d('usage_total', CQ), 4);
    assert.equal(m.types.get('pum_ingest_requests_total'), 'counter');
    assert.equal(m.types.get('pum_reports_total'), 'counter');
  });

  itStopsCleanly(st);
});

describe('pum.json with cors_allowed_origins and strict: true', () => {
  const GOOD = 'https://good.example';
  const st = useStack(hooks, {
    metrics: { 'seed.json': SEED_METRICS },
    config: `// a pum.json with comments\n{\n  "cors_allowed_origins": ["${GOOD}"],\n  "strict": true\n}\n`,
  });

  it('403 for an Origin not allowed (POST and preflight), nothing applied', T, async () => {
    const s = st.s;
    const before = await s.series();
    const r = await s.post([counterEvent(CQ, 1)], { origin: 'https://evil.example' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    const pf = await s.post(undefined, { method: 'OPTIONS', origin: 'https://evil.example', contentType: null,
      headers: { 'access-control-request-method': 'POST' } });
    assert.equal(pf.status, 403);
    const m = await s.series();
    assert.deepEqual(userTotals(m), userTotals(before));
    assert.equal(code(m, 403) - code(before, 403), 2);
  });

  it('an allowed Origin is echoed and applied', T, async () => {
    const s = st.s;
    const before = await s.series();
    const pf = await s.post(undefined, { method: 'OPTIONS', origin: GOOD, contentType: null,
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.ok([200, 204].includes(pf.status), `${pf.status}`);
    assert.equal(pf.headers.get('access-control-allow-origin'), GOOD);
    const r = await s.post([counterEvent(CQ, 2)], { origin: GOOD });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), GOOD);
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ) - valueOf(before, 'usage_total', CQ), 2);
  });

  it('422 in strict mode when any event is invalid: nothing applied, the reasons listed and counted', T, async () => {
    const s = st.s;
    const before = await s.series();
    const r = await s.post([counterEvent(CQ, 5), counterEvent({ browser: 'opera', feature: 'quickQuestion' }, 1)],
      { origin: GOOD });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json?.rejected, [{ index: 1, reason: 'label_value_not_allowed' }], r.text);
    const m = await s.series();
    assert.deepEqual(userTotals(m), userTotals(before));
    assert.equal(code(m, 422) - code(before, 422), 1);
    assert.equal(rejected(m, 'label_value_not_allowed') - rejected(before, 'label_value_not_allowed'), 1);
    assert.equal(valueOf(m, 'pum_reports_total', {}, 0), valueOf(before, 'pum_reports_total', {}, 0));
    const ok = await s.post([counterEvent(CQ, 5)], { origin: GOOD });
    assert.equal(ok.status, 204, ok.text);
    const m2 = await s.series();
    assert.equal(valueOf(m2, 'usage_total', CQ) - valueOf(m, 'usage_total', CQ), 5);
  });

  itStopsCleanly(st);
});

describe('pattern labels, maxValues and escaping, end to end', () => {
  const st = useStack(hooks, {
    workers: 2,
    metrics: {
      'p.json': {
        allowedMetrics: [
          { name: 'route_views_total', help: 'views by route', type: 'counter',
            labels: [{ name: 'route', pattern: '/[a-z0-9/]*', maxValues: 3 }] },
          { name: 'free_text_total', help: 'a "quoted" help\\with a backslash', type: 'counter',
            labels: [{ name: 'v', pattern: '[\\s\\S]*' }] },
        ],
      },
    },
  });

  it('values past maxValues are counted under __overflow__, so the sum stays the total', T, async () => {
    const s = st.s;
    const routes = ['/a', '/b', '/c', '/d', '/e', '/a', '/f/g'];
    for (const route of routes) {
      const r = await s.post([counterEvent({ route }, 1, 'route_views_total')]);
      assert.equal(r.status, 204, `${route}: ${r.text}`);
    }
    const bad = await s.post([counterEvent({ route: 'no-slash' }, 1, 'route_views_total')]);
    assert.deepEqual(bad.json, { accepted: 0, rejected: [{ index: 0, reason: 'label_value_not_allowed' }] });
    const m = await s.series();
    assert.equal(valueOf(m, 'route_views_total', { route: '/a' }), 2);
    assert.equal(valueOf(m, 'route_views_total', { route: '/b' }), 1);
    assert.equal(valueOf(m, 'route_views_total', { route: '/c' }), 1);
    assert.equal(valueOf(m, 'route_views_total', { route: '__overflow__' }), 3);
    assert.equal(valueOf(m, 'route_views_total', { route: '/d' }), undefined);
    assert.equal(sumOf(m, 'route_views_total'), routes.length);
  });

  it('label values with quotes, backslashes and newlines are escaped in the exposition', T, async () => {
    const s = st.s;
    const v = 'a"b\\c\nd é';
    const r = await s.post([counterEvent({ v }, 2, 'free_text_total')]);
    assert.equal(r.status, 204, r.text);
    const text = await s.scrape();
    assert.ok(text.includes('free_text_total{v="a\\"b\\\\c\\nd é"} 2\n'), text);
    assert.ok(text.includes('# HELP free_text_total a "quoted" help\\\\with a backslash\n'), text);
    assert.equal(valueOf(parseExposition(text), 'free_text_total', { v }), 2);
    const p = await promtoolCheck(text);
    assert.equal(p.code, 0, p.out);
  });

  itStopsCleanly(st);
});

// A check of the helpers themselves, so that a broken parser cannot make the
// tests above pass vacuously.
describe('exposition parser', () => {
  it('parses labels with escapes and special values', () => {
    const m = parseExposition('# TYPE a counter\na{x="q\\"\\\\\\n",y="2"} 1.5\nb +Inf\n');
    assert.equal(m.get(seriesKey('a', { y: '2', x: 'q"\\\n' })), 1.5);
    assert.equal(m.get('b'), Infinity);
    assert.equal(m.types.get('a'), 'counter');
  });
});
