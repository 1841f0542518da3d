// Scale-out, proven: two complete pum stacks ("two hosts": own SQLite
// database, nginx, pum-ingest workers and pum-exporter each) get different
// traffic; one real Prometheus scrapes both exporters as job "pum" (so the
// series differ only in `instance`) with the SHIPPED recording rules
// (deploy/prometheus/pum-recording-rules.yml). The checks: the counters
// summed `without (instance)` equal exactly what was sent, both instances'
// series exist, and the recording rules equal what the traffic implies.
//
// Why the recorded ratios are compared with a weighted expectation, not with
// the plain fraction: rate() extrapolates each series' increase to the whole
// window by a factor that depends only on that series' sample timestamps
// (and on the first sample being 0 here, which the test ensures). Every
// series of one target is scraped at the same instants, so within one host
// the factor is the same and a ratio of rates is exact (checked). The two
// targets are scraped at different offsets, so hosts A and B get factors
// fA != fB (a few percent apart) and `sum(rate(good)) / sum(rate(all))` is
// (good_A*fA + good_B*fB) / (all_A*fA + all_B*fB) exactly. The test reads
// fA and fB from Prometheus (rate(count[5m]) * 300 / count sent) at the
// rule's own evaluation time and checks the rule against that to 1e-9 — and
// where both hosts have the same fraction (FCP here) against the plain
// fraction, which then holds whatever the factors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { SHIPPED_METRICS_DIR, Stack, clientId } from '../integration/stack.mjs';
import { RECORDING_RULES, scalarOf, startPrometheus } from './prometheus.mjs';

const WINDOW = 300; // the rules' [5m]

const counter = (metricName, inc, labels) => ({ metricName, metricType: 'counter', ...(labels ? { labels } : {}), inc });
const histogram = (metricName, observations, labels) => ({ metricName, metricType: 'histogram', ...(labels ? { labels } : {}), observations });
const qq = (browser) => ({ browser, feature: 'quickQuestion' });

// What each host receives, batch by batch (pum's wire shape).
//   A: usage quickQuestion chrome 4 + firefox 3 = 7, 3 page views,
//      LCP 3 good (<= 2.5 s) + 1 poor (> 4 s), FCP 2 of 4 good, 1 of 4 poor
//   B: usage quickQuestion chrome 5, 2 page views,
//      LCP 1 good + 1 poor, FCP 4 of 8 good, 2 of 8 poor
const TRAFFIC = {
  A: [
    [counter('usage_total', 4, qq('chrome')), counter('browser_page_views_total', 1),
      histogram('browser_page_load_seconds', [0.8]), histogram('browser_web_vitals_lcp_seconds', [1.2]),
      histogram('browser_web_vitals_fcp_seconds', [1.0, 1.5])],
    [counter('usage_total', 3, qq('firefox')), counter('browser_page_views_total', 1),
      histogram('browser_page_load_seconds', [1.2]), histogram('browser_web_vitals_lcp_seconds', [2.0, 2.4]),
      histogram('browser_web_vitals_fcp_seconds', [2.0])],
    [counter('browser_page_views_total', 1), counter('browser_errors_total', 1, { kind: 'error' }),
      histogram('browser_page_load_seconds', [3.5]), histogram('browser_web_vitals_lcp_seconds', [4.5]),
      histogram('browser_web_vitals_fcp_seconds', [3.5])],
  ],
  B: [
    [counter('usage_total', 5, qq('chrome')), counter('browser_page_views_total', 1),
      histogram('browser_page_load_seconds', [0.9]), histogram('browser_web_vitals_lcp_seconds', [1.0]),
      histogram('browser_web_vitals_fcp_seconds', [0.5, 0.7, 1.1, 1.6])],
    [counter('browser_page_views_total', 1),
      histogram('browser_page_load_seconds', [6]), histogram('browser_web_vitals_lcp_seconds', [5.0]),
      histogram('browser_web_vitals_fcp_seconds', [2.1, 2.9, 3.2, 5.0])],
  ],
};

// Totals of what was sent to one host.
function sent(host) {
  const events = TRAFFIC[host].flat();
  const inc = (name, match = {}) => events
    .filter((e) => e.metricName === name && Object.entries(match).every(([k, v]) => e.labels?.[k] === v))
    .reduce((s, e) => s + e.inc, 0);
  const obs = (name) => events.filter((e) => e.metricName === name).flatMap((e) => e.observations);
  return { inc, obs, batches: TRAFFIC[host].length };
}

const byInstance = (result) => Object.fromEntries(result.map((s) => [s.metric.instance, Number(s.value[1])]));
const close = (actual, expected, tol, what) => assert.ok(Math.abs(actual - expected) <= tol,
  `${what}: ${actual} != ${expected} (tolerance ${tol})`);

describe('scale-out: two hosts, one Prometheus, the shipped recording rules', () => {
  const host = {};
  let prom;
  let inst; // {A: 'instance label', B: ...}
  let allScrapedAt; // unix seconds when Prometheus had every host's final values

  // (registered here: `after` called inside `before` would run right
  // after that hook)
  after(async () => {
    if (prom) await prom.stop();
    await Promise.all(Object.values(host).map((s) => s.stopAll()));
  });

  before(async () => {
    host.A = new Stack({ metricsDir: SHIPPED_METRICS_DIR, workers: 2 });
    host.B = new Stack({ metricsDir: SHIPPED_METRICS_DIR, workers: 2 });
    await Promise.all([host.A.start(), host.B.start()]);
    inst = { A: `127.0.0.1:${host.A.metricsPort}`, B: `127.0.0.1:${host.B.metricsPort}` };
    prom = await startPrometheus({
      targets: [inst.A, inst.B], ruleFiles: [RECORDING_RULES], scrapeInterval: '1s', evaluationInterval: '1s',
    });

    // Both hosts scraped at least once before any traffic: every counter's
    // first sample is then 0, and rate() sees the whole increase.
    await prom.waitForQuery('count(browser_web_vitals_lcp_seconds_count{job="pum"} == 0)',
      (r) => scalarOf(r) === 2, 15000);
    await prom.waitForQuery('count(pum_reports_total{job="pum"} == 0)', (r) => scalarOf(r) === 2, 5000);

    for (const h of ['A', 'B']) {
      const client = clientId(`host${h}`);
      for (const [seq, events] of TRAFFIC[h].entries()) {
        const r = await host[h].post({ client, seq, events }, { contentType: 'text/plain' });
        assert.equal(r.status, 204, `host ${h} batch ${seq}: ${r.text}`);
      }
    }
    // Until Prometheus has scraped both hosts' final values.
    const total = sent('A').obs('browser_web_vitals_lcp_seconds').length + sent('B').obs('browser_web_vitals_lcp_seconds').length;
    await prom.waitForQuery('sum(browser_web_vitals_lcp_seconds_count{job="pum"})', (r) => scalarOf(r) === total, 15000);
    await prom.waitForQuery('sum(pum_reports_total{job="pum"})',
      (r) => scalarOf(r) === sent('A').batches + sent('B').batches, 5000);
    allScrapedAt = Date.now() / 1000;
    // A few rule evaluations on the final data (and >= 2 samples in the
    // rate windows of both hosts).
    await sleep(3000);
  });

  it('scrapes both hosts as job "pum", told apart by instance', async () => {
    const targets = await prom.targets();
    assert.deepEqual(targets.map((t) => [t.labels.job, t.labels.instance, t.health]).sort(),
      [['pum', inst.A, 'up'], ['pum', inst.B, 'up']].sort());
    const pv = byInstance(await prom.query('browser_page_views_total{job="pum"}'));
    assert.deepEqual(pv, { [inst.A]: sent('A').inc('browser_page_views_total'), [inst.B]: sent('B').inc('browser_page_views_total') });
    const usage = byInstance(await prom.query('sum by (instance) (usage_total{job="pum",feature="quickQuestion"})'));
    assert.deepEqual(usage, { [inst.A]: 7, [inst.B]: 5 });
  });

  it('sum without (instance) equals exactly what was sent', async () => {
    const r = await prom.query('sum without (instance) (usage_total{job="pum",feature="quickQuestion"}) > 0');
    assert.deepEqual(Object.fromEntries(r.map((s) => [s.metric.browser, Number(s.value[1])])), { chrome: 9, firefox: 3 });
    for (const s of r) assert.equal(s.metric.instance, undefined);
    assert.equal(scalarOf(await prom.query('sum(usage_total{job="pum",feature="quickQuestion"})')), 12);

    const pv = await prom.query('sum without (instance) (browser_page_views_total{job="pum"})');
    assert.equal(pv.length, 1);
    assert.deepEqual(pv[0].metric, { job: 'pum' });
    assert.equal(Number(pv[0].value[1]), 5);

    assert.equal(scalarOf(await prom.query('sum without (instance) (pum_reports_total{job="pum"})')), 5);
    assert.equal(scalarOf(await prom.query('sum without (instance) (browser_web_vitals_lcp_seconds_count{job="pum"})')), 6);
    assert.equal(scalarOf(await prom.query('sum without (instance) (browser_web_vitals_lcp_seconds_bucket{job="pum",le="2.5"})')), 4);
    assert.equal(scalarOf(await prom.query('sum without (instance) (browser_errors_total{job="pum",kind="error"})')), 1);
    const sumObs = [...sent('A').obs('browser_page_load_seconds'), ...sent('B').obs('browser_page_load_seconds')]
      .reduce((a, b) => a + b, 0);
    close(scalarOf(await prom.query('sum without (instance) (browser_page_load_seconds_sum{job="pum"})')), sumObs, 1e-9,
      'page load _sum');
  });

  // Prometheus 2.x asks for OpenMetrics, where pum-exporter (like the
  // official clients) writes le="4.0", not le="4" as in the text format; and
  // 2.x stores the label as scraped. A rule selecting le="4" then matches
  // nothing and its ratio is silently absent.
  it('every bucket selector (le) in the shipped recording rules matches a scraped series', async () => {
    const text = fs.readFileSync(RECORDING_RULES, 'utf8');
    const selectors = [...new Set([...text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*_bucket)\{([^}]*\ble\s*=[^}]*)\}/g)]
      .map((m) => `${m[1]}{${m[2]}}`))];
    const unmatched = [];
    for (const sel of selectors) {
      const n = scalarOf(await prom.query(`count(${sel})`));
      if (!n) unmatched.push(sel);
    }
    const les = [...new Set((await prom.query('count by (le) (browser_web_vitals_lcp_seconds_bucket)')).map((x) => x.metric.le))];
    assert.deepEqual(unmatched, [], `selectors that match no series (the scraped le values are e.g. ${les.sort().join(' ')})`);
  });

  it('a ratio of rates within one host is exact (same scrape instants for all its series)', async () => {
    const q = (le) => `sum by (instance) (rate(browser_web_vitals_lcp_seconds_bucket{job="pum",le="${le}"}[5m]))
      / on (instance) sum by (instance) (rate(browser_web_vitals_lcp_seconds_count{job="pum"}[5m]))`;
    const good = byInstance(await prom.query(q('2.5')));
    close(good[inst.A], 3 / 4, 1e-12, 'host A LCP good share');
    close(good[inst.B], 1 / 2, 1e-12, 'host B LCP good share');
  });

  // rate()'s extrapolation factor of each host at time t (see the top).
  async function factors(t) {
    const r = byInstance(await prom.query('rate(browser_web_vitals_lcp_seconds_count{job="pum"}[5m])', t));
    const f = {
      A: (r[inst.A] * WINDOW) / sent('A').obs('browser_web_vitals_lcp_seconds').length,
      B: (r[inst.B] * WINDOW) / sent('B').obs('browser_web_vitals_lcp_seconds').length,
    };
    for (const h of ['A', 'B']) assert.ok(f[h] >= 1 && f[h] < 1.5, `host ${h}: extrapolation factor ${f[h]}`);
    return f;
  }

  it('FCP good and poor shares (the same on both hosts) equal the exact fractions', async () => {
    for (const [kind, expected] of [['good', 1 / 2], ['poor', 1 / 4]]) {
      const rule = `pum:browser_web_vitals_fcp:${kind}_ratio_5m`;
      const r = await prom.query(rule);
      assert.equal(r.length, 1, `${rule}: ${JSON.stringify(r)}`);
      assert.equal(r[0].metric.instance, undefined, `${rule} keeps no instance label`);
      close(Number(r[0].value[1]), expected, 1e-12, rule);
    }
  });

  it('page-load quantiles fall in the buckets the observations imply', async () => {
    // 0.8 0.9 1.2 3.5 6: the median is in (1, 1.5], p95 and p99 in (5, 7.5]
    for (const [rule, lo, hi] of [['pum:browser_page_load_seconds:p50_5m', 1, 1.5],
      ['pum:browser_page_load_seconds:p95_5m', 5, 7.5], ['pum:browser_page_load_seconds:p99_5m', 5, 7.5]]) {
      const r = await prom.query(rule);
      assert.equal(r.length, 1, `${rule}: ${JSON.stringify(r)}`);
      assert.equal(r[0].metric.instance, undefined);
      const v = Number(r[0].value[1]);
      assert.ok(v > lo && v <= hi, `${rule} = ${v}, expected in (${lo}, ${hi}]`);
    }
  });

  // The rules whose value depends on the hosts' different rate() factors are
  // compared at a rule evaluation against the factors at that same instant.
  // A scrape is stamped with its start time and appended a moment later, and
  // rule evaluations keep a fixed phase to the scrapes: an evaluation that
  // always falls just after a scrape's start would see one sample less than
  // a later query at its time. So the data is frozen first: both exporters
  // stop (their series' samples end; rate() ignores the staleness markers),
  // and only evaluations after that are compared.
  describe('on the data frozen after the traffic', () => {
    let frozenAt;
    before(async () => {
      await Promise.all([host.A.killExporter('SIGTERM'), host.B.killExporter('SIGTERM')]);
      await prom.waitForQuery('count(up{job="pum"} == 0)', (r) => scalarOf(r) === 2, 10000);
      await sleep(1500);
      frozenAt = Date.now() / 1000;
      await sleep(2500);
    });

    // The newest evaluation of `rule` on the frozen data: {t, value, labels}.
    async function frozenRuleSample(rule, match = () => true) {
      const r = (await prom.query(`${rule}[15s]`)).filter((x) => match(x.metric));
      assert.equal(r.length, 1, `${rule}: one series expected, got ${JSON.stringify(r)}`);
      const samples = r[0].values.filter(([t]) => t > frozenAt);
      assert.ok(samples.length > 0, `${rule}: no evaluation since ${frozenAt}: ${JSON.stringify(r)}`);
      const [t, v] = samples.at(-1);
      return { t, value: Number(v), labels: r[0].metric };
    }

    it('LCP good and poor shares (different on each host) equal the traffic, weighted as rate() weighs it', async () => {
      for (const [kind, isIn] of [['good', (v) => v <= 2.5], ['poor', (v) => v > 4]]) {
        const rule = `pum:browser_web_vitals_lcp:${kind}_ratio_5m`;
        const s = await frozenRuleSample(rule);
        assert.equal(s.labels.instance, undefined, `${rule} keeps no instance label`);
        const f = await factors(s.t);
        const lcp = { A: sent('A').obs('browser_web_vitals_lcp_seconds'), B: sent('B').obs('browser_web_vitals_lcp_seconds') };
        const expected = (lcp.A.filter(isIn).length * f.A + lcp.B.filter(isIn).length * f.B)
          / (lcp.A.length * f.A + lcp.B.length * f.B);
        close(s.value, expected, 1e-9, `${rule} at ${s.t} (factors ${f.A}, ${f.B})`);
        // and near the plain fraction of all observations (4/6 good, 2/6 poor)
        const plain = (lcp.A.filter(isIn).length + lcp.B.filter(isIn).length) / (lcp.A.length + lcp.B.length);
        close(s.value, plain, 0.05, `${rule} vs the plain fraction`);
      }
    });

    it('open pages, page views, usage and errors per page view equal the traffic', async () => {
      // pum:open_pages:estimate = rate(pum_reports_total[5m]) * 10, over both hosts
      let s = await frozenRuleSample('pum:open_pages:estimate');
      let f = await factors(s.t);
      assert.ok(s.value > 0);
      close(s.value, (10 * (sent('A').batches * f.A + sent('B').batches * f.B)) / WINDOW, 1e-9, 'open pages estimate');

      const pv = (h) => sent(h).inc('browser_page_views_total');
      s = await frozenRuleSample('pum:browser_page_views:rate5m');
      f = await factors(s.t);
      close(s.value, (pv('A') * f.A + pv('B') * f.B) / WINDOW, 1e-9, 'page views rate');

      for (const browser of ['chrome', 'firefox']) {
        s = await frozenRuleSample('pum:usage_total:rate5m', (m) => m.feature === 'quickQuestion' && m.browser === browser);
        assert.equal(s.labels.instance, undefined);
        f = await factors(s.t);
        const use = (h) => sent(h).inc('usage_total', qq(browser));
        close(s.value, (use('A') * f.A + use('B') * f.B) / WINDOW, 1e-9, `usage_total ${browser} quickQuestion rate`);
      }

      // 1 error, on host A only, over 3 + 2 page views
      s = await frozenRuleSample('pum:browser_errors_per_page_view:ratio_5m');
      f = await factors(s.t);
      const err = (h) => sent(h).inc('browser_errors_total');
      close(s.value, (err('A') * f.A + err('B') * f.B) / (pv('A') * f.A + pv('B') * f.B), 1e-9, 'errors per page view');
      s = await frozenRuleSample('pum:browser_errors:rate5m', (m) => m.kind === 'error');
      f = await factors(s.t);
      close(s.value, (err('A') * f.A + err('B') * f.B) / WINDOW, 1e-9, 'errors rate');
    });
  });
});
