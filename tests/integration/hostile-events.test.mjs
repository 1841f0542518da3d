// Hostile events, end to end through a real nginx -> one pum-ingest ->
// SQLite -> pum-exporter (issue 7, item 8): every class of invalid event
// gets 200 {"accepted", "rejected": [{index, reason}]} with the valid events
// of the batch applied and nothing else, the reason counted once, and the
// worker serving on; label values that try to inject series or an `le`
// into /metrics come out escaped: the exposition re-parsed by promtool and
// by a strict parser has exactly the expected series with exact values.
// max_inc / range (value_out_of_range) are at the end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { SEED_METRICS, counterEvent, histogramEvent, itStopsCleanly, seriesKey, useStack } from './stack.mjs';
import { assertServes, diff, expectAnswer, promtool, rej, req, snapshot, strictParse } from './hostile-lib.mjs';

const hooks = { before, after };
const T = { timeout: 60000 };
const CQ = { browser: 'chrome', feature: 'quickQuestion' };
const USAGE_CQ = seriesKey('usage_total', CQ);
const FB = { firebaseHost: 'pd-dev-1.firebaseio.com' };

const METRICS = {
  'seed.json': SEED_METRICS,
  'free.json': {
    allowedMetrics: [
      { name: 'free_text_total', help: 'any value up to max_label_value_bytes', type: 'counter',
        labels: [{ name: 'v', pattern: '[\\s\\S]*' }] },
      { name: 'x_total', help: 'a short name, for batches of 1000 events', type: 'counter', labels: [] },
      { name: 'inject_seconds', help: 'any value, a histogram', type: 'histogram',
        labels: [{ name: 'v', pattern: '[\\s\\S]*' }], buckets: [0.1, 1] },
    ],
  },
};

const post = (s, body) => () => s.post(body);
const X = { metricName: 'x_total', metricType: 'counter', inc: 1 };
const free = (v, inc = 1) => counterEvent({ v }, inc, 'free_text_total');

// What a 200 with `accepted` valid events and these reasons adds.
function rejectedChanges(accepted, reasons) {
  const c = { [req(200)]: 1, pum_reports_total: 1 };
  if (accepted) c.pum_ingest_events_accepted_total = accepted;
  for (const r of reasons) c[rej(r)] = (c[rej(r)] || 0) + 1;
  return c;
}

// [what, event (object or JSON text), reason]
const INVALID = [
  // not an event
  ['null as an event', 'null', 'bad_event'],
  ['a number as an event', '1', 'bad_event'],
  ['a string as an event', '"usage_total"', 'bad_event'],
  ['an array as an event', '[]', 'bad_event'],
  ['an empty object', '{}', 'bad_event'],
  ['no metricName', { metricType: 'counter', labels: CQ, inc: 1 }, 'bad_event'],
  ['metricName a number', { metricName: 1, metricType: 'counter', labels: CQ, inc: 1 }, 'bad_event'],
  ['metricName null', { metricName: null, metricType: 'counter', labels: CQ, inc: 1 }, 'bad_event'],
  ['no metricType', { metricName: 'usage_total', labels: CQ, inc: 1 }, 'bad_event'],
  // names
  ['an unknown metric', counterEvent(CQ, 1, 'nope_total'), 'unknown_metric'],
  ['an empty metric name', counterEvent(CQ, 1, ''), 'unknown_metric'],
  ['a metric name of 10000 characters', counterEvent(CQ, 1, 'u'.repeat(10000)), 'unknown_metric'],
  ['a metric name with \\u0000 at the end', counterEvent(CQ, 1, 'usage_total\u0000'), 'unknown_metric'],
  ['a metric name with \\u0000 inside', counterEvent(CQ, 1, 'usage\u0000_total'), 'unknown_metric'],
  ['a metric name in capitals', counterEvent(CQ, 1, 'USAGE_TOTAL'), 'unknown_metric'],
  ['a metric name with a space', counterEvent(CQ, 1, 'usage_total '), 'unknown_metric'],
  ['a metric name that injects a series', counterEvent(CQ, 1, 'usage_total{browser="chrome"} 1e9\nfoo'), 'unknown_metric'],
  // types
  ['a counter event for a histogram', { metricName: 'firebase_response_time', metricType: 'counter', labels: FB, inc: 1 },
    'type_mismatch'],
  ['a histogram event for a counter', { metricName: 'usage_total', metricType: 'histogram', labels: CQ, observations: [1] },
    'type_mismatch'],
  ['metricType gauge', { metricName: 'usage_total', metricType: 'gauge', labels: CQ, inc: 1 }, 'type_mismatch'],
  ['metricType Counter', { metricName: 'usage_total', metricType: 'Counter', labels: CQ, inc: 1 }, 'type_mismatch'],
  ['metricType a number', { metricName: 'usage_total', metricType: 1, labels: CQ, inc: 1 }, 'bad_event'],
  // label sets
  ['a label missing', counterEvent({ browser: 'chrome' }, 1), 'bad_labels'],
  ['no labels at all', { metricName: 'usage_total', metricType: 'counter', inc: 1 }, 'bad_labels'],
  ['a label too many', counterEvent({ ...CQ, os: 'linux' }, 1), 'bad_labels'],
  ['an le label on a counter', counterEvent({ ...CQ, le: '+Inf' }, 1), 'bad_labels'],
  ['an le label on a histogram', histogramEvent({ ...FB, le: '0.05' }, [0.01]), 'bad_labels'],
  ['a label name with \\u0000', counterEvent({ 'browser\u0000': 'chrome', feature: 'quickQuestion' }, 1), 'bad_labels'],
  ['a label name with a quote', counterEvent({ 'browser"': 'chrome', feature: 'quickQuestion' }, 1), 'bad_labels'],
  ['a label name of 10000 characters', counterEvent({ ...CQ, ['b'.repeat(10000)]: 'x' }, 1), 'bad_labels'],
  ['labels an array', { metricName: 'usage_total', metricType: 'counter', labels: ['chrome', 'quickQuestion'], inc: 1 },
    'bad_labels'],
  ['labels a string', { metricName: 'usage_total', metricType: 'counter', labels: 'browser=chrome', inc: 1 }, 'bad_labels'],
  ['a label value a number', counterEvent({ browser: 1, feature: 'quickQuestion' }, 1), 'bad_labels'],
  ['a label value null', counterEvent({ browser: null, feature: 'quickQuestion' }, 1), 'bad_labels'],
  ['a label value an object', counterEvent({ browser: { a: 1 }, feature: 'quickQuestion' }, 1), 'bad_labels'],
  // label values
  ['a value not in allowedValues', counterEvent({ browser: 'opera', feature: 'quickQuestion' }, 1), 'label_value_not_allowed'],
  ['an allowed value in other case', counterEvent({ browser: 'Chrome', feature: 'quickQuestion' }, 1), 'label_value_not_allowed'],
  ['an allowed value with \\u0000 after it', counterEvent({ browser: 'chrome\u0000', feature: 'quickQuestion' }, 1),
    'label_value_not_allowed'],
  ['an allowed value with a newline after it', counterEvent({ browser: 'chrome\n', feature: 'quickQuestion' }, 1),
    'label_value_not_allowed'],
  ['\\u0000 in a free label value', free('a\u0000b'), 'label_value_not_allowed'],
  ['only \\u0000 in a free label value', free('\u0000'), 'label_value_not_allowed'],
  ['a label value of 129 bytes', free('x'.repeat(129)), 'label_value_too_long'],
  ['a label value of 65 two-byte characters', free('é'.repeat(65)), 'label_value_too_long'],
  ['an enumerated label value of 60000 bytes', counterEvent({ browser: 'c'.repeat(60000), feature: 'quickQuestion' }, 1),
    'label_value_too_long'],
  // inc
  ['inc -1', counterEvent(CQ, -1), 'bad_value'],
  ['inc -1e-300', counterEvent(CQ, -1e-300), 'bad_value'],
  ['inc -5e-324', '{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","feature":"quickQuestion"},"inc":-5e-324}',
    'bad_value'],
  ['inc "1"', counterEvent(CQ, '1'), 'bad_value'],
  ['inc null', counterEvent(CQ, null), 'bad_value'],
  ['inc true', counterEvent(CQ, true), 'bad_value'],
  ['inc [1]', counterEvent(CQ, [1]), 'bad_value'],
  ['inc {}', counterEvent(CQ, {}), 'bad_value'],
  ['no inc', { metricName: 'usage_total', metricType: 'counter', labels: CQ }, 'bad_value'],
  // observations
  ['observations []', histogramEvent(FB, []), 'bad_value'],
  ['observations a number', histogramEvent(FB, 0.1), 'bad_value'],
  ['observations a string', histogramEvent(FB, '0.1'), 'bad_value'],
  ['observations {}', histogramEvent(FB, {}), 'bad_value'],
  ['observations [null]', histogramEvent(FB, [null]), 'bad_value'],
  ['observations ["NaN"]', histogramEvent(FB, ['NaN']), 'bad_value'],
  ['observations ["0.1"]', histogramEvent(FB, ['0.1']), 'bad_value'],
  ['observations [true]', histogramEvent(FB, [true]), 'bad_value'],
  ['observations [[0.1]]', histogramEvent(FB, [[0.1]]), 'bad_value'],
  ['a valid observation then a bad one', histogramEvent(FB, [0.1, 'x']), 'bad_value'],
  ['no observations', { metricName: 'firebase_response_time', metricType: 'histogram', labels: FB }, 'bad_value'],
  ['1001 observations (over max_observations_per_event)', histogramEvent(FB, new Array(1001).fill(0.1)), 'too_many_observations'],
];

describe('invalid events: 200 with the reason, only the valid events applied, the worker serves on', () => {
  const st = useStack(hooks, { workers: 1, metrics: METRICS });

  for (const [what, event, reason] of INVALID) {
    const text = typeof event === 'string' ? event : JSON.stringify(event);
    it(`${reason} for ${what}`, T, async () => {
      const s = st.s;
      await expectAnswer(s, `${what} alone`, post(s, `[${text}]`), {
        status: 200,
        json: { accepted: 0, rejected: [{ index: 0, reason }] },
        changes: rejectedChanges(0, [reason]),
      });
      // Beside a valid event: that one is applied, the bad one not.
      const good = JSON.stringify(counterEvent(CQ, 2));
      await expectAnswer(s, `${what} after a valid event`, post(s, `[${good},${text}]`), {
        status: 200,
        json: { accepted: 1, rejected: [{ index: 1, reason }] },
        changes: { ...rejectedChanges(1, [reason]), [USAGE_CQ]: 2 },
      });
    });
  }

  it('the edges that are valid: inc 0, inc -0, 1000 observations, a 128-byte value, a batch of 1000 events', T, async () => {
    const s = st.s;
    await expectAnswer(s, 'inc 0', post(s, [counterEvent(CQ, 0)]), {
      status: 204, changes: { [req(204)]: 1, pum_reports_total: 1, pum_ingest_events_accepted_total: 1 },
    });
    // -0: a valid zero; must not print as "-0", neither on an existing
    // series nor on a new one.
    const negZero = '[{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","feature":"quickQuestion"},"inc":-0},' +
      '{"metricName":"free_text_total","metricType":"counter","labels":{"v":"negzero"},"inc":-0}]';
    const { after: m } = await expectAnswer(s, 'inc -0', post(s, negZero), {
      status: 204,
      changes: { [req(204)]: 1, pum_reports_total: 1, pum_ingest_events_accepted_total: 2 },
      appeared: [seriesKey('free_text_total', { v: 'negzero' })],
    });
    assert.equal(m.raw.get(seriesKey('free_text_total', { v: 'negzero' })), '0');
    assert.ok(!/ -0$/m.test(m.text), 'a -0 in the exposition');
    await expectAnswer(s, '1000 observations', post(s, [histogramEvent(FB, new Array(1000).fill(0.5))]), {
      status: 204,
      changes: {
        [req(204)]: 1, pum_reports_total: 1, pum_ingest_events_accepted_total: 1,
        [seriesKey('firebase_response_time_count', FB)]: 1000,
        [seriesKey('firebase_response_time_sum', FB)]: 500,
        ...Object.fromEntries(['0.5', '1', '2', '5', '10', '20', '50', '100', '+Inf'].map((le) =>
          [seriesKey('firebase_response_time_bucket', { ...FB, le }), 1000])),
      },
    });
    const v128 = 'x'.repeat(127) + '!';
    await expectAnswer(s, 'a 128-byte value', post(s, [free(v128, 3)]), {
      status: 204,
      changes: { [req(204)]: 1, pum_reports_total: 1, pum_ingest_events_accepted_total: 1 },
      appeared: [seriesKey('free_text_total', { v: v128 })],
    });
    const events = new Array(1000).fill(X);
    await expectAnswer(s, '1000 events', post(s, events), {
      status: 204, changes: { [req(204)]: 1, pum_reports_total: 1, pum_ingest_events_accepted_total: 1000, x_total: 1000 },
    });
  });

  it('too_many_events past max_events_per_batch (1000): the first 1000 applied, the rest rejected', T, async () => {
    const s = st.s;
    const events = new Array(1003).fill(X);
    await expectAnswer(s, '1003 events', post(s, events), {
      status: 200,
      json: { accepted: 1000, rejected: [1000, 1001, 1002].map((index) => ({ index, reason: 'too_many_events' })) },
      changes: { ...rejectedChanges(1000, ['too_many_events', 'too_many_events', 'too_many_events']), x_total: 1000 },
    });
  });

  it('every reason in one batch: each counted once, by index', T, async () => {
    const s = st.s;
    // (Without the long ones, so that the batch stays under 64 KiB.)
    const cases = INVALID.map(([, e, reason]) => [typeof e === 'string' ? e : JSON.stringify(e), reason])
      .filter(([text]) => text.length < 5000);
    assert.ok(cases.length > 50);
    const body = `[${cases.map(([text]) => text).join(',')},${JSON.stringify(counterEvent(CQ, 7))}]`;
    await expectAnswer(s, 'all reasons', post(s, body), {
      status: 200,
      json: { accepted: 1, rejected: cases.map(([, reason], index) => ({ index, reason })) },
      changes: { ...rejectedChanges(1, cases.map(([, r]) => r)), [USAGE_CQ]: 7 },
    });
  });

  itStopsCleanly(st);
});

// Label values that try to end the value, the line or the series, or to
// add an `le`: each must come out as one series with exactly its value.
const HOSTILE_VALUES = [
  'a"b', 'a\\b', 'a\nb', '\\', '"', '\\"', '\\n', '\\\\"', '\n', '\n\n', '\r', '\r\n', '\t', ' ', '',
  '"} 1e9\nfoo{', '"} 1e9\nfree_text_total{v="x"} 1e9\n#', 'x",v="y', 'x",le="+Inf', 'le="+Inf"', '"}', '{', '}', '=', ',',
  '# TYPE foo counter', '# HELP free_text_total x', '\n# EOF\n', 'NaN', '+Inf', '\u2028\u2029', '\u00e9\ud83d\ude00',
  '\u007f', '\u0085', '\ufeff', '\\u0000',
];

describe('label values that try to inject into /metrics: escaped, no series injected, values exact', () => {
  const st = useStack(hooks, { workers: 1, metrics: METRICS });

  it('every hostile value of a counter label is one series with exactly its value, strictly parsed and promtool-clean', T, async () => {
    const s = st.s;
    const before = await snapshot(s);
    const expected = new Map();
    // One batch per value, then all of them in one batch, with values that
    // print exactly (k + 0.25 and 2 k + 0.5 read back as written).
    for (const [k, v] of HOSTILE_VALUES.entries()) {
      const r = await s.post([free(v, k + 0.25)]);
      assert.equal(r.status, 204, `${JSON.stringify(v)}: ${r.status} ${r.text}`);
      expected.set(seriesKey('free_text_total', { v }), k + 0.25);
    }
    const r = await s.post(HOSTILE_VALUES.map((v, k) => free(v, k + 0.25)));
    assert.equal(r.status, 204, r.text);
    for (const [key, v] of expected) expected.set(key, 2 * v);

    const m = await snapshot(s); // throws on any malformed line
    const d = diff(before, m);
    assert.deepEqual(d.appeared, [...expected.keys()].sort(), 'the series that appeared');
    assert.deepEqual(d.gone, []);
    for (const [key, v] of expected) {
      assert.equal(m.series.get(key), v, `${key}`);
      assert.equal(m.raw.get(key), String(v), `${key} as written`);
    }
    assert.deepEqual(d.changes, {
      [req(204)]: HOSTILE_VALUES.length + 1,
      pum_reports_total: HOSTILE_VALUES.length + 1,
      pum_ingest_events_accepted_total: 2 * HOSTILE_VALUES.length,
    });
    // No family but the allowlist's and pum's own.
    const families = [...m.types.keys()].filter((f) => !f.startsWith('pum_')).sort();
    assert.deepEqual(families, ['app_load_succeeded_total', 'firebase_response_time', 'free_text_total',
      'inject_seconds', 'usage_total', 'x_total']);
    // free_text_total has exactly one line per value, and no other line
    // starts with something that is not a family of the exposition.
    const lines = m.lines.filter((l) => l.startsWith('free_text_total'));
    assert.equal(lines.length, HOSTILE_VALUES.length);
    for (const l of m.lines) {
      assert.ok(l.startsWith('# ') || [...m.types.keys()].some((f) => l.startsWith(f)), `a stray line ${JSON.stringify(l)}`);
    }
    const p = promtool(m.text);
    assert.deepEqual(p.problems, [], `promtool check metrics: ${p.out}`);

    // OpenMetrics: the same lines, escaped the same way, one # EOF at the end.
    const om = await s.scrapeResponse({ accept: 'application/openmetrics-text; version=1.0.0' });
    assert.equal(om.status, 200);
    assert.match(om.headers.get('content-type') || '', /openmetrics/);
    assert.ok(om.text.endsWith('\n# EOF\n'), 'OpenMetrics ends with # EOF');
    assert.equal(om.text.split('\n').filter((l) => l === '# EOF').length, 1, '# EOF once');
    const omLines = om.text.split('\n').filter((l) => l.startsWith('free_text_total'));
    assert.deepEqual(omLines.sort(), [...expected].map(([k, v]) => `${k} ${v}`).sort());
  });

  it('hostile values of a histogram label: the buckets keep their own le, exact counts and sum', T, async () => {
    const s = st.s;
    const values = ['x",le="+Inf', '0.1"}', 'le', '"} 1\ninject_seconds_bucket{le="0.1"} 1e9\n', '\\', '\n'];
    const before = await snapshot(s);
    for (const v of values) {
      const r = await s.post([histogramEvent({ v }, [0.05, 0.5, 5], 'inject_seconds')]);
      assert.equal(r.status, 204, r.text);
    }
    const m = await snapshot(s);
    const want = [];
    for (const v of values) {
      for (const [le, n] of [['0.1', 1], ['1', 2], ['+Inf', 3]]) {
        const k = seriesKey('inject_seconds_bucket', { v, le });
        want.push(k);
        assert.equal(m.series.get(k), n, k);
      }
      assert.equal(m.series.get(seriesKey('inject_seconds_sum', { v })), 5.55);
      assert.equal(m.raw.get(seriesKey('inject_seconds_sum', { v })), '5.55');
      assert.equal(m.series.get(seriesKey('inject_seconds_count', { v })), 3);
      want.push(seriesKey('inject_seconds_sum', { v }), seriesKey('inject_seconds_count', { v }));
    }
    assert.deepEqual(diff(before, m).appeared, want.sort());
    // Every bucket line has exactly one le, and it is one of the bounds.
    for (const l of m.lines.filter((x) => x.startsWith('inject_seconds_bucket'))) {
      const les = [...l.matchAll(/(?:^|[{,])le="([^"]*)"/g)].map((x) => x[1]);
      assert.equal(les.length, 1, `${l}: le given ${les.length} times outside a value`);
      assert.ok(['0.1', '1', '+Inf'].includes(les[0]), l);
    }
    const p = promtool(m.text);
    assert.deepEqual(p.problems, [], `promtool check metrics: ${p.out}`);
  });

  it('the strict parser itself refuses what an injection would produce', () => {
    const ok = '# HELP a_total h\n# TYPE a_total counter\na_total{v="x"} 1\n';
    strictParse(ok);
    for (const bad of [
      '# TYPE a_total counter\na_total{v="x"} 1e9\nfoo{"} 1\n', // an injected line
      '# TYPE a_total counter\na_total{v="x"} 1\na_total{v="x"} 1\n', // a series twice
      '# TYPE a_total counter\na_total{v="x",v="y"} 1\n', // a label twice
      '# TYPE a_total counter\na_total{v="x\\q"} 1\n', // a bad escape
      '# TYPE a_total counter\na_total{v="x"} 1 2\n', // two numbers
      '# TYPE a_total counter\na_total{v="x",le="1"} 1\n', // le outside a bucket
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
      '# TYPE a_total counter\na_total +Inf\n', // a non-finite counter
      Buffer.from([0x23, 0x20, 0xff, 0x0a]), // not UTF-8
    ]) {
      assert.throws(() => strictParse(typeof bad === 'string' ? bad : new Uint8Array(bad)), undefined, JSON.stringify(String(bad)));
    }
  });

  itStopsCleanly(st);
});

// Needs max_inc / range and value_out_of_range (the lead's allowlist and
// store work): until then the allowlist below does not load.
describe('max_inc and range: value_out_of_range, nothing of the event applied, no total ever non-finite', () => {
  const st = useStack(hooks, {
    workers: 1,
    metrics: {
      'seed.json': SEED_METRICS,
      'bounded.json': {
        allowedMetrics: [
          { name: 'bounded_total', help: 'at most 100 per event', type: 'counter', labels: [], max_inc: 100 },
          { name: 'bounded_seconds', help: 'from 0 to 60', type: 'histogram', labels: [], buckets: [1, 10], range: [0, 60] },
        ],
      },
    },
  });
  const OOR = 'value_out_of_range';
  const cases = [
    ['inc over max_inc', counterEvent({}, 101, 'bounded_total')],
    ['inc over the default max_inc (1e6)', counterEvent(CQ, 1e6 + 1)],
    ['inc 1.7e308', counterEvent(CQ, 1.7e308)],
    ['inc 1e300', counterEvent(CQ, 1e300)],
    ['an observation over range', histogramEvent({}, [61], 'bounded_seconds')],
    ['an observation under range', histogramEvent({}, [-1], 'bounded_seconds')],
    ['one bad observation among good ones', histogramEvent({}, [1, 2, 60.5], 'bounded_seconds')],
    ['an observation over the default range (1e12)', histogramEvent(FB, [1e13])],
    ['an observation under the default range (-1e12)', histogramEvent(FB, [-1e13])],
    ['observations of 1e308', histogramEvent(FB, [1e308, 1e308])],
  ];
  for (const [what, event] of cases) {
    it(`${OOR} for ${what}`, T, async () => {
      const s = st.s;
      await expectAnswer(s, what, post(s, [event]), {
        status: 200, json: { accepted: 0, rejected: [{ index: 0, reason: OOR }] }, changes: rejectedChanges(0, [OOR]),
      });
    });
  }
  it('the bounds themselves are accepted: inc 100 and 1e6, observations 0 and 60', T, async () => {
    const s = st.s;
    for (const e of [counterEvent({}, 100, 'bounded_total'), counterEvent(CQ, 1e6), histogramEvent({}, [0, 60], 'bounded_seconds')]) {
      const r = await s.post([e]);
      assert.equal(r.status, 204, `${JSON.stringify(e)}: ${r.text}`);
    }
    await assertServes(s, 'bounds');
  });
  it('many batches at max_inc never make a total non-finite or lose precision', T, async () => {
    const s = st.s;
    for (let i = 0; i < 40; i++) {
      // 500 events of ~110 bytes: under the 64 KiB body limit.
      const r = await s.post(new Array(500).fill(counterEvent(CQ, 1e6)));
      assert.ok([200, 204].includes(r.status), r.text);
    }
    const m = await snapshot(s); // a non-finite counter fails the strict parse
    assert.ok(Number.isSafeInteger(m.series.get(USAGE_CQ)), `usage_total ${m.series.get(USAGE_CQ)}`);
  });
  itStopsCleanly(st);
});
