// sampleRate in real Chromium against the real stack: many fresh sessions
// (browser contexts) at r = 0.25 — the share sampled in is binomially
// plausible, every batch of a sampled-in page carries "sample": 4, a
// sampled-out page sends nothing, and the totals on /metrics are 4 x what
// was sent; one session keeps its decision across page loads; r = 1 sends
// no "sample" field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { delta, expectMetrics, openPage, unexpectedErrors, useBrowserStack } from './browser.mjs';
import { page, pumSnippet } from './pages.mjs';

const T = { timeout: 180000 };

// A page with pum's snippet and these options; the test flushes by hand.
const samplingPage = (options) =>
  page({ head: `<script>${pumSnippet({ options: { interval: 600000, heartbeat: false, ...options } })}</script>` });

// Loads `url` in the context's page, waits for pum.js, flushes, and
// returns the bodies the page posted to /record (parsed) as the test saw
// them.
async function loadAndFlush(t, url) {
  const before = t.records.length;
  await t.page.goto(url);
  await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
  await t.page.evaluate(() => window.prometheusUserMonitoringClient.flush());
  // requestfinished reaches the test after flush() has resolved in the
  // page: wait for it (a sampled-out page waits the whole half second)
  for (let i = 0; i < 10 && t.records.length == before; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  return t.records.slice(before).map((r) => JSON.parse(r.body));
}

describe('sampleRate, in Chromium', () => {
  const ref = useBrowserStack({ before, after });

  it('r = 0.25 over 120 sessions: about 1 in 4 sampled in, each batch "sample": 4, totals 4 x sent', { timeout: 400000 }, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('sample25.html', samplingPage({ sampleRate: 0.25 }));
    const base = await s.series();
    // 120, not more: each session is a fresh context, and on a loaded 2-core
    // machine 200 of them outran the 180 s timeout (CI, 2026-12-02).
    const SESSIONS = 120;
    let sampledIn = 0;
    let sentViews = 0;
    const errors = [];
    const one = async () => {
      const t = await openPage(browser, tc);
      const batches = await loadAndFlush(t, url);
      const decision = await t.page.evaluate(() => sessionStorage.getItem('pum:sample'));
      assert.ok(+decision >= 0 && +decision < 1, `the session's draw is kept: ${decision}`);
      if (batches.length) {
        sampledIn++;
        assert.ok(+decision < 0.25, `sampled in with draw ${decision}`);
        for (const b of batches) {
          assert.equal(b.sample, 4, `every batch of a sampled-in page says sample 4: ${JSON.stringify(b)}`);
          for (const e of b.events) if (e.metricName === 'browser_page_views_total') sentViews += e.inc;
        }
        for (const r of t.records) assert.equal(r.status, 204, r.body);
      } else {
        assert.ok(+decision >= 0.25, `sampled out with draw ${decision}`);
      }
      errors.push(...unexpectedErrors(t));
      await t.context.close();
    };
    for (let i = 0; i < SESSIONS; i += 8) await Promise.all(Array.from({ length: 8 }, one));
    assert.deepEqual(errors, []);
    tc.diagnostic(`${sampledIn} of ${SESSIONS} sessions sampled in, ${sentViews} page views sent`);
    // Binomial(120, 0.25): mean 30, sd 4.7; 12..48 is beyond 3.8 sd either side.
    assert.ok(sampledIn >= 12 && sampledIn <= 48, `${sampledIn} of ${SESSIONS} sessions sampled in`);
    assert.equal(sentViews, sampledIn, 'one page view sent per sampled-in page');
    await expectMetrics(s, [
      ['browser_page_views_total = 4 x sent', (m) => delta(base, m, 'browser_page_views_total'), 4 * sentViews],
      ['pum_ingest_sampled_batches_total', (m) => delta(base, m, 'pum_ingest_sampled_batches_total'), (x) => x >= sampledIn],
    ]);
  });

  it('one session keeps its decision across page loads', T, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('sample50.html', samplingPage({ sampleRate: 0.5 }));
    // Several sessions, so that both decisions are seen (each is 1/2; 12
    // sessions all alike would be a 1 in 2048 event).
    const seen = new Set();
    for (let i = 0; i < 12; i++) {
      const t = await openPage(browser, tc);
      const counts = [];
      for (let p = 0; p < 4; p++) {
        const batches = await loadAndFlush(t, `${url}?p=${p}`);
        counts.push(batches.length);
        for (const b of batches) assert.equal(b.sample, 2);
      }
      const decision = counts[0] > 0;
      seen.add(decision);
      assert.ok(
        counts.every((c) => c > 0 === decision),
        `pages of one session decided alike: batches per page ${counts}`,
      );
      assert.deepEqual(unexpectedErrors(t), []);
      await t.context.close();
    }
    assert.equal(seen.size, 2, 'both decisions occurred over 12 sessions');
  });

  it('r = 1 (and invalid rates) send every session, with no "sample" field', T, async (tc) => {
    const { s, browser } = ref;
    for (const rate of [1, 0, -1, 2, 'x', null]) {
      const url = s.writePage(`sample-${rate}.html`, samplingPage({ sampleRate: rate }));
      for (let i = 0; i < 3; i++) {
        const t = await openPage(browser, tc);
        const batches = await loadAndFlush(t, url);
        assert.ok(batches.length > 0, `sampleRate ${rate}: the page sent`);
        for (const b of batches) assert.ok(!('sample' in b), `sampleRate ${rate}: ${JSON.stringify(b)}`);
        assert.equal(await t.page.evaluate(() => sessionStorage.getItem('pum:sample')), null, 'no draw is kept');
        assert.deepEqual(unexpectedErrors(t), []);
        await t.context.close();
      }
    }
  });
});
