// legacyTiming in real Chromium, as a seed user deploys it: the seed's
// snippet unchanged (plus the one line that turns legacyTiming on), the
// build with legacyTiming (pum.spa.js) served at the seed's
// /static/aggregatorClient.js, the seed's performanceTimingMetricConfig.json
// (tests/browser/fixtures: 17 performance_timing_* histograms, labels [],
// buckets 0.01-10) beside pum's browser.json, real nginx, pum-ingest and
// pum-exporter. Every field the seed would send arrives with the seed's
// value, and nothing is rejected.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  REPO, browserMetrics, closePage, delta, expectMetrics, openPage, unexpectedErrors, useBrowserStack, waitForRecords,
} from './browser.mjs';
import { page, seedSnippet } from './pages.mjs';

const T = { timeout: 60000 };
const BUILD_DIR = path.resolve(REPO, process.env.BUILD || 'build');
const SEED_TIMING = fs.readFileSync(new URL('./fixtures/performanceTimingMetricConfig.json', import.meta.url), 'utf8');
const FIELDS = JSON.parse(SEED_TIMING).allowedMetrics.map((m) => m.name.replace('performance_timing_', ''));

// The build with legacyTiming at the seed's path, from the docroot.
const serveSpaBuild = (s) => s.writePage('static/aggregatorClient.js', fs.readFileSync(path.join(BUILD_DIR, 'pum.spa.js')));

describe('legacyTiming: the seed\'s performance_timing_* histograms, in Chromium', () => {
  const ref = useBrowserStack({ before, after }, {
    clientJs: false,
    metrics: { ...browserMetrics(), 'performanceTimingMetricConfig.json': SEED_TIMING },
  });

  it('the seed\'s snippet with pum.spa.js at /static/aggregatorClient.js reports every field the seed would', T, async (tc) => {
    const { s, browser } = ref;
    assert.equal(FIELDS.length, 17);
    serveSpaBuild(s);
    const root = s.url('').replace(/\/$/, '');
    const url = s.writePage('seed-legacy.html', page({
      head: `<script>${seedSnippet(root)}\nprometheusAggregator.o = { legacyTiming: true };</script>`,
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url);
    await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
    await t.page.waitForLoadState('load');
    const timing = await t.page.evaluate(() => performance.timing.toJSON());
    await t.page.evaluate(() => window.prometheusUserMonitoringClient.flush());
    await waitForRecords(t); // regression: the list was read before Playwright filled it
    await closePage(t);
    assert.deepEqual(unexpectedErrors(t), []);

    const sent = {};
    for (const r of t.records) {
      assert.ok(r.status === 204 || r.status === null, `answer ${r.status} to ${r.body}: nothing rejected`);
      for (const e of JSON.parse(r.body).events) {
        if (!e.metricName.startsWith('performance_timing_')) continue;
        assert.deepEqual(e.labels, {}, e.metricName);
        (sent[e.metricName.slice('performance_timing_'.length)] ||= []).push(...e.observations);
      }
    }
    // What the seed sends: every numeric field > 0 when the script runs,
    // (field - navigationStart) / 1000. Fields set before any script can run
    // must be there; later ones (loadEventStart...) only if they were set
    // by then; each value is the seed's formula on the page's timing.
    for (const f of ['navigationStart', 'fetchStart', 'domainLookupStart', 'domainLookupEnd', 'connectStart',
      'connectEnd', 'requestStart', 'responseStart', 'domLoading']) {
      assert.ok(sent[f], `performance_timing_${f} was sent: ${Object.keys(sent)}`);
    }
    for (const [f, obs] of Object.entries(sent)) {
      assert.ok(FIELDS.includes(f), `${f} is in the seed's allowlist`);
      assert.deepEqual(obs, [(timing[f] - timing.navigationStart) / 1000], f);
      assert.ok(timing[f] > 0, f);
    }
    tc.diagnostic(`sent ${Object.keys(sent).length} of 17: ${Object.keys(sent).join(' ')}`);

    await expectMetrics(s, [
      ...Object.keys(sent).map((f) => [`performance_timing_${f}_count`,
        (m) => delta(base, m, `performance_timing_${f}_count`), 1]),
      ...Object.entries(sent).map(([f, [v]]) => [`performance_timing_${f}_sum`,
        (m) => delta(base, m, `performance_timing_${f}_sum`), v]),
      ['nothing rejected', (m) => {
        let n = 0;
        for (const [k, v] of m) if (k.startsWith('pum_ingest_events_rejected_total')) n += v - (base.get(k) || 0);
        return n;
      }, 0],
    ]);
  });

  it('without legacyTiming nothing performance_timing_* is sent', T, async (tc) => {
    const { s, browser } = ref;
    const root = s.url('').replace(/\/$/, '');
    serveSpaBuild(s);
    const url = s.writePage('seed-plain.html', page({ head: `<script>${seedSnippet(root)}</script>` }));
    const t = await openPage(browser, tc);
    await t.page.goto(url);
    await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
    await t.page.evaluate(() => window.prometheusUserMonitoringClient.flush());
    await waitForRecords(t); // regression: the list was read before Playwright filled it
    await closePage(t);
    assert.ok(t.records.length > 0);
    for (const r of t.records) assert.ok(!r.body.includes('performance_timing_'), r.body);
  });
});
