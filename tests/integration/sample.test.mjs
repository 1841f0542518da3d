// Session-stable sampling, end to end through a real nginx -> pum-ingest
// (x2, spawn-fcgi) -> SQLite -> pum-exporter: a batch with "sample": N
// stands for N sessions, so every counter increment, histogram bucket
// count, _count and _sum it carries reaches /metrics multiplied by N
// (docs/wire-format.md#sampling). pum_reports_total and
// pum_ingest_events_accepted_total still count batches and events (not
// x N), pum_ingest_sampled_batches_total counts the applied batches with
// N > 1, a retry of the same (client, seq) is applied once, and a bad
// sample is a 400 that changes nothing but pum_ingest_requests_total.
// Every applied batch is checked by the whole diff of /metrics, series by
// series, strictly parsed (hostile-lib.mjs), and the exposition passes
// promtool check metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import {
  clientId, counterEvent, histogramEvent, histogramProblems, itStopsCleanly, parseExposition, seriesKey,
  useStack,
} from './stack.mjs';
import { diff as fullDiff, expectAnswer, req, snapshot } from './hostile-lib.mjs';

const hooks = { before, after };
const T = { timeout: 30000 };
const N = 4;

const CQ = { browser: 'chrome', feature: 'quickQuestion' };
const DEV1 = { host: 'pd-dev-1.firebaseio.com' };
const RT_BUCKETS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];
const TIMING_BUCKETS = [1, 10];

// The seed's kinds of metrics (with snake_case label names, which promtool
// wants), plus a pattern label, a histogram without labels with a tight
// range, and a counter whose max_inc is just under 2^53.
const METRICS = {
  'sample.json': {
    allowedMetrics: [
      {
        name: 'usage_total', help: 'feature usage', type: 'counter',
        labels: [
          { name: 'browser', allowedValues: ['chrome', 'firefox'] },
          { name: 'feature', allowedValues: ['quickQuestion', 'blockStudent'] },
        ],
      },
      {
        name: 'response_time_seconds', help: 'response times', type: 'histogram',
        labels: [{ name: 'host', allowedValues: ['pd-dev-1.firebaseio.com', 'pd-dev-2.firebaseio.com'] }],
        buckets: RT_BUCKETS,
      },
      { name: 'app_load_succeeded_total', help: 'pages that loaded', type: 'counter', labels: [] },
      {
        name: 'route_views_total', help: 'views by route', type: 'counter',
        labels: [{ name: 'route', pattern: '/[a-z]*', maxValues: 10 }],
      },
      { name: 'timing_seconds', help: 'a timing', type: 'histogram', range: [0, 3600], buckets: TIMING_BUCKETS },
      { name: 'big_total', help: 'huge increments', type: 'counter', max_inc: 9e15 },
    ],
  },
};
const RT = 'response_time_seconds';
const BUCKETS_OF = { [RT]: RT_BUCKETS, timing_seconds: TIMING_BUCKETS };

// Observations whose sums are exact in binary, so totals compare exactly.
const MANY = [...Array(60).fill(0.5), ...Array(30).fill(7), ...Array(10).fill(3600)];
const EVENTS = [
  counterEvent({}, 1, 'app_load_succeeded_total'), // a counter without labels
  counterEvent(CQ, 2.5), // enumerated labels
  counterEvent({ route: '/users' }, 3, 'route_views_total'), // a pattern label
  histogramEvent(DEV1, [0.125, 0.25, 3], RT), // a histogram with a label
  histogramEvent({}, MANY, 'timing_seconds'), // many observations in one event
  counterEvent(CQ, 0.5), // the same series again, in the same batch
];

// hostile-lib's diff of two snapshots, without the exporter's own gauges
// (pum_exporter_dedup_clients grows with each new client).
function diff(before, after) {
  const d = fullDiff(before, after);
  for (const k of Object.keys(d.changes)) if (k.startsWith('pum_exporter_')) delete d.changes[k];
  return d;
}

// What `events` add to /metrics times `n`: {seriesKey: delta}, only the
// series that change (cumulative buckets, as exported).
function userChanges(events, n) {
  const out = {};
  const add = (k, v) => {
    if (v !== 0) out[k] = (out[k] ?? 0) + v;
  };
  for (const e of events) {
    const labels = e.labels ?? {};
    if (e.metricType === 'counter') {
      add(seriesKey(e.metricName, labels), e.inc * n);
      continue;
    }
    for (const le of [...BUCKETS_OF[e.metricName], Infinity]) {
      const count = e.observations.filter((o) => o <= le).length;
      const key = seriesKey(`${e.metricName}_bucket`, { ...labels, le: le === Infinity ? '+Inf' : String(le) });
      add(key, count * n);
    }
    add(seriesKey(`${e.metricName}_count`, labels), e.observations.length * n);
    add(seriesKey(`${e.metricName}_sum`, labels), e.observations.reduce((a, b) => a + b, 0) * n);
  }
  return out;
}

// What one applied batch of `accepted` events adds to pum's own counters.
function ownChanges(accepted, { code = 204, sampled = true } = {}) {
  const c = { [req(code)]: 1, pum_reports_total: 1 };
  if (accepted) c.pum_ingest_events_accepted_total = accepted;
  if (sampled) c.pum_ingest_sampled_batches_total = 1;
  return c;
}

function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, out: (r.stdout + r.stderr).trim() };
}

// The exposition's histograms are well formed and promtool accepts it.
async function assertExpositionValid(s) {
  const text = await s.scrape();
  assert.deepEqual(histogramProblems(parseExposition(text)), []);
  assert.deepEqual(promtoolCheck(text), { code: 0, out: '' });
}

describe('"sample": N multiplies what a batch carries (real nginx, pum-ingest, pum-exporter)', () => {
  const st = useStack(hooks, { metrics: METRICS });

  it('pum_ingest_sampled_batches_total is exported from the start at 0, with HELP', T, async () => {
    const m = await st.s.series();
    assert.equal(m.types.get('pum_ingest_sampled_batches_total'), 'counter');
    assert.match(m.helps.get('pum_ingest_sampled_batches_total'), /sample/);
    assert.equal(m.get('pum_ingest_sampled_batches_total'), 0);
    await assertExpositionValid(st.s);
  });

  it(`a batch with "sample": ${N} adds ${N} x every increment, bucket, _count and _sum`, T, async () => {
    const s = st.s;
    const before = await snapshot(s);
    // route_views_total{route="/users"} is new: it appears (not a change).
    const r = await s.post({ client: clientId(), seq: 0, sample: N, events: EVENTS }, { contentType: 'text/plain' });
    assert.equal(r.status, 204, r.text);
    const after = await snapshot(s);
    const d = diff(before, after);
    const routeKey = seriesKey('route_views_total', { route: '/users' });
    const want = { ...userChanges(EVENTS, N), ...ownChanges(EVENTS.length) };
    delete want[routeKey];
    assert.deepEqual(d.changes, want);
    assert.deepEqual(d.appeared, [routeKey]);
    assert.equal(after.series.get(routeKey), 3 * N);
    // Spelled out for two of them: 2.5 + 0.5 on chrome/quickQuestion, and
    // the 100 observations of timing_seconds.
    assert.equal(d.changes[seriesKey('usage_total', CQ)], 12);
    assert.equal(d.changes[seriesKey('timing_seconds_count')], 400);
    assert.equal(d.changes[seriesKey('timing_seconds_bucket', { le: '1' })], 240);
    assert.equal(d.changes[seriesKey('timing_seconds_bucket', { le: '10' })], 360);
    assert.equal(d.changes[seriesKey('timing_seconds_sum')], (30 + 210 + 36000) * N);
    await assertExpositionValid(s);
  });

  it('a retry of the same (client, seq) is acknowledged and counted once (x N)', T, async () => {
    const s = st.s;
    const client = clientId('retry');
    const events = [counterEvent(CQ, 1), histogramEvent(DEV1, [0.5, 2], RT)];
    const before = await snapshot(s);
    const body = { client, seq: 3, sample: N, events };
    for (const what of ['first', 'retry', 'retry again']) {
      const r = await s.post(body);
      assert.equal(r.status, 204, `${what}: ${r.status} ${r.text}`);
    }
    // A retry whose sample differs is still the same batch.
    const r = await s.post({ ...body, sample: 9 });
    assert.equal(r.status, 204, r.text);
    const d = diff(before, await snapshot(s));
    const want = { ...userChanges(events, N), ...ownChanges(events.length) };
    want[req(204)] = 4;
    want.pum_ingest_duplicate_batches_total = 3;
    assert.deepEqual(d.changes, want);
    assert.deepEqual(d.appeared, []);
  });

  it('without "sample", or with 1, nothing is multiplied and the batch is not counted as sampled', T, async () => {
    const s = st.s;
    const client = clientId('one');
    const events = [counterEvent(CQ, 1), histogramEvent(DEV1, [0.25], RT)];
    for (const [what, body] of [
      ['the seed array', events],
      ['no sample', { client, seq: 0, events }],
      ['sample 1', { client, seq: 1, sample: 1, events }],
    ]) {
      const before = await snapshot(s);
      const r = await s.post(body);
      assert.equal(r.status, 204, `${what}: ${r.text}`);
      const d = diff(before, await snapshot(s));
      assert.deepEqual(d.changes, { ...userChanges(events, 1), ...ownChanges(events.length, { sampled: false }) }, what);
    }
  });

  it('a sample of 10000 and a rejected event: the rest x 10000, max_inc and range judged as sent', T, async () => {
    const s = st.s;
    const events = [
      counterEvent(CQ, 1),
      histogramEvent({}, [3600], 'timing_seconds'), // at the edge of range: accepted
      histogramEvent({}, [3600.5], 'timing_seconds'), // outside: rejected
      counterEvent({}, 1, 'not_allowed_total'),
    ];
    const before = await snapshot(s);
    const r = await s.post({ client: clientId('max'), seq: 0, sample: 10000, events });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      accepted: 2,
      rejected: [{ index: 2, reason: 'value_out_of_range' }, { index: 3, reason: 'unknown_metric' }],
    });
    const d = diff(before, await snapshot(s));
    assert.deepEqual(d.changes, {
      ...userChanges(events.slice(0, 2), 10000),
      ...ownChanges(2, { code: 200 }),
      [seriesKey('pum_ingest_events_rejected_total', { reason: 'value_out_of_range' })]: 1,
      [seriesKey('pum_ingest_events_rejected_total', { reason: 'unknown_metric' })]: 1,
    });
  });

  it('an increment that is in range as sent but past 2^53 x N is value_out_of_range; the rest is applied', T, async () => {
    const s = st.s;
    // 5e15 <= max_inc (9e15); 2 x 5e15 is past 2^53 (9.007e15).
    const big = counterEvent({}, 5e15, 'big_total');
    const before = await snapshot(s);
    const r = await s.post({ client: clientId('big'), seq: 0, sample: 2, events: [big, counterEvent(CQ, 1)] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { accepted: 1, rejected: [{ index: 0, reason: 'value_out_of_range' }] });
    const after = await snapshot(s);
    const d = diff(before, after);
    assert.deepEqual(d.changes, {
      [seriesKey('usage_total', CQ)]: 2,
      ...ownChanges(1, { code: 200 }),
      [seriesKey('pum_ingest_events_rejected_total', { reason: 'value_out_of_range' })]: 1,
    });
    assert.equal(after.series.get('big_total'), 0);
    // The same event as sent is applied, then 1.5e15 x 3 would take the
    // stored total past 2^53: refused by the store, the total unchanged.
    assert.equal((await s.post([big])).status, 204);
    const r3 = await s.post({ sample: 3, events: [counterEvent({}, 1.5e15, 'big_total')] });
    assert.equal(r3.status, 200, r3.text);
    assert.deepEqual(r3.json, { accepted: 0, rejected: [{ index: 0, reason: 'value_out_of_range' }] });
    const r2 = await s.post({ sample: 2, events: [counterEvent({}, 1.5e15, 'big_total')] });
    assert.equal(r2.status, 204, r2.text);
    assert.equal((await snapshot(s)).series.get('big_total'), 8e15);
  });

  // [what, the sample as JSON text]
  const bad = [['0', '0'], ['10001', '10001'], ['2.5', '2.5'], ['"4" (a string)', '"4"'], ['-4', '-4'],
    ['4.0', '4.0'], ['null', 'null']];
  for (const [what, sample] of bad) {
    it(`"sample": ${what} is a 400 naming it, and changes nothing`, T, async () => {
      const s = st.s;
      const client = clientId('bad');
      const events = JSON.stringify([counterEvent(CQ, 1), histogramEvent(DEV1, [0.5], RT)]);
      await expectAnswer(s, `sample ${what}`,
        () => s.post(`{"client": "${client}", "seq": 0, "sample": ${sample}, "events": ${events}}`),
        { status: 400, error: /^bad sample: must be an integer from 1 to 10000/ });
      // Nothing recorded the (client, seq): the batch with a good sample is
      // applied.
      const before = await snapshot(s);
      const r = await s.post(`{"client": "${client}", "seq": 0, "sample": ${N}, "events": ${events}}`);
      assert.equal(r.status, 204, r.text);
      const d = diff(before, await snapshot(s));
      assert.deepEqual(d.changes, { ...userChanges(JSON.parse(events), N), ...ownChanges(2) });
    });
  }

  it('pum_ingest_sampled_batches_total counted every applied sampled batch, pum_reports_total every batch', T, async () => {
    const m = await st.s.series();
    // Applied with N > 1: 1 (kinds) + 1 (retry) + 1 (10000) + 3 (big) +
    // 1 per bad sample (its good retry). Not sampled: 3 (N = 1), 1 (big as
    // sent) and 1 per bad sample (expectAnswer's canary batch).
    const sampled = 1 + 1 + 1 + 3 + bad.length;
    assert.equal(m.get('pum_ingest_sampled_batches_total'), sampled);
    assert.equal(m.get('pum_reports_total'), sampled + 3 + 1 + bad.length);
    assert.equal(m.get('pum_ingest_duplicate_batches_total'), 3);
    await assertExpositionValid(st.s);
  });

  itStopsCleanly(st);
});
