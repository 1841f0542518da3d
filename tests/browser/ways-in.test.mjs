// The ways a page includes pum.js, each in real Chromium against real
// nginx, pum-ingest and pum-exporter: the seed's snippet unchanged, the
// plain script tag, pum's own snippet, and the ES module. For each, clicks
// record known values; the test closes the page as a user closes a tab and
// checks /metrics for the exact custom values and for the automatic
// metrics (page views, page-load time, every navigation phase, TTFB, FCP,
// LCP).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  accessLog, assertPhasesAddUp, autoMetricExpectations, bucketDeltas, closePage, delta, expectMetrics, openPage,
  PHASES, sleep, unexpectedErrors, useBrowserStack,
} from './browser.mjs';
import { buttons, CQ, FB, FB2, page, pumSnippet, seedSnippet } from './pages.mjs';

const T = { timeout: 60000 };

// The custom values every page of this file records (clicks below):
// usage_total{chrome,quickQuestion} 3, usage_total{firefox,blockStudent} 2,
// app_load_succeeded_total 1 (recorded before pum.js has loaded where the
// page has a queue), firebase_response_time{dev-1} 0.3 twice, {dev-2} 1.5.
function customExpectations(base) {
  const d = (name, labels) => (m) => delta(base, m, name, labels);
  return [
    ['usage_total{chrome,quickQuestion}', d('usage_total', CQ), 3],
    ['usage_total{firefox,blockStudent}', d('usage_total', { browser: 'firefox', feature: 'blockStudent' }), 2],
    ['usage_total, all series', (m) => sumDelta(base, m, 'usage_total'), 5],
    ['app_load_succeeded_total', d('app_load_succeeded_total'), 1],
    ['firebase_response_time_count{dev-1}', d('firebase_response_time_count', { firebaseHost: FB }), 2],
    ['firebase_response_time_sum{dev-1}', d('firebase_response_time_sum', { firebaseHost: FB }), 0.6],
    ['firebase_response_time_count{dev-2}', d('firebase_response_time_count', { firebaseHost: FB2 }), 1],
    ['firebase_response_time_sum{dev-2}', d('firebase_response_time_sum', { firebaseHost: FB2 }), 1.5],
  ];
}

function sumDelta(base, m, name) {
  let t = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) t += v - (base.get(k) || 0);
  return t;
}

function assertBuckets(base, m) {
  const b1 = bucketDeltas(base, m, 'firebase_response_time', { firebaseHost: FB });
  assert.equal(b1['0.2'], 0, 'dev-1 le=0.2');
  assert.equal(b1['0.5'], 2, 'dev-1 le=0.5');
  assert.equal(b1['+Inf'], 2, 'dev-1 le=+Inf');
  const b2 = bucketDeltas(base, m, 'firebase_response_time', { firebaseHost: FB2 });
  assert.equal(b2['1'], 0, 'dev-2 le=1');
  assert.equal(b2['2'], 1, 'dev-2 le=2');
}

async function clickAll(p) {
  for (let i = 0; i < 3; i++) await p.click('#qq');
  await p.click('#bs');
  await p.click('#fb1');
  await p.click('#fb1');
  await p.click('#fb2');
}

// The requests to /record went to `url`, were answered 204, and are
// pum's batch shape with one client id and seq counting from 0.
function assertBatches(t, url) {
  assert.ok(t.records.length > 0, 'no request to /record');
  for (const r of t.records) {
    assert.equal(r.url, url, 'where the batches go');
    // (null: the page closed before the test saw the answer)
    if (r.status !== null) assert.equal(r.status, 204, `answer to ${r.body}`);
  }
  const batches = t.records.map((r) => JSON.parse(r.body));
  const clients = new Set(batches.map((b) => b.client));
  assert.equal(clients.size, 1, `one client id per page load: ${[...clients]}`);
  assert.match([...clients][0], /^[A-Za-z0-9_-]{1,64}$/);
  const seqs = [...new Set(batches.map((b) => b.seq))].sort((a, b) => a - b);
  assert.deepEqual(seqs, seqs.map((_, i) => i), 'seq counts from 0 without gaps');
}

describe('the ways into pum.js, in Chromium', () => {
  const ref = useBrowserStack({ before, after });

  it("(a) the seed's snippet, unchanged, and prometheusAggregator('increment'|'observe')", T, async (tc) => {
    const { s, browser } = ref;
    const root = `http://127.0.0.1:${s.httpPort}`;
    const url = s.writePage('seed.html', page({
      title: "The seed's snippet",
      head: `<script>${seedSnippet(root)}</script>
<script>prometheusAggregator('increment', 'app_load_succeeded_total', {}, 1);</script>`,
      body: buttons({
        qq: "prometheusAggregator('increment', 'usage_total', {browser: 'chrome', feature: 'quickQuestion'}, 1)",
        bs: "prometheusAggregator('increment', 'usage_total', {browser: 'firefox', feature: 'blockStudent'}, 2)",
        fb1: `prometheusAggregator('observe', 'firebase_response_time', {firebaseHost: '${FB}'}, 0.3)`,
        fb2: `prometheusAggregator('observe', 'firebase_response_time', {firebaseHost: '${FB2}'}, 1.5)`,
      }) + "\n<script>document.getElementById('marker').textContent = 'ran';</script>",
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    // pum.js, loaded from the seed's path, took over the queue.
    await t.page.waitForFunction(() => typeof window.prometheusUserMonitoringClient === 'object' &&
      window.prometheusUserMonitoringClient !== null);
    assert.equal(await t.page.textContent('#marker'), 'ran');
    await clickAll(t.page);
    await closePage(t);
    const m = await expectMetrics(s, [...customExpectations(base), ...autoMetricExpectations(base, 1)]);
    assertBuckets(base, m);
    assertPhasesAddUp(base, m, 1);
    // Its only post was the beacon at the close (the seed's default interval
    // is 10 s), which the closed page no longer reports: nginx's log has it.
    const posts = accessLog(s).filter((l) => l.path === '/record');
    assert.ok(posts.length >= 1, 'a POST to <root>/record');
    assert.deepEqual(posts.filter((l) => l.method !== 'POST' || l.status !== 204), [], 'all POSTs answered 204');
    if (t.records.length) assertBatches(t, `${root}/record`);
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it('(b) a plain <script src="/pum.js"> with makeCounter and makeHistogram; interval sends and heartbeats', T, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('plain.html', page({
      title: 'A plain script tag',
      head: '<script src="/pum.js" data-interval="400"></script>',
      body: buttons({
        qq: "usage.increment({browser: 'chrome', feature: 'quickQuestion'})",
        bs: "usage.increment({browser: 'firefox', feature: 'blockStudent'}, 2)",
        fb1: `fb.observe(0.3, {firebaseHost: '${FB}'})`,
        fb2: `fb.observe(1.5, {firebaseHost: '${FB2}'})`,
      }) + `
<script>
  var c = window.prometheusUserMonitoringClient;
  var usage = c.makeCounter('usage_total');
  var fb = c.makeHistogram('firebase_response_time');
  c.makeCounter('app_load_succeeded_total').increment();
  document.getElementById('marker').textContent = 'ran';
</script>`,
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    assert.equal(await t.page.textContent('#marker'), 'ran');
    await clickAll(t.page);
    // Sent on the interval while the page is open (no hide, no flush).
    await expectMetrics(s, customExpectations(base), { settleMs: 0 });
    // Heartbeats: empty batches keep coming while the page is visible.
    const r0 = (await s.series()).get('pum_reports_total') || 0;
    await sleep(1600);
    const r1 = (await s.series()).get('pum_reports_total') || 0;
    assert.ok(r1 - r0 >= 2, `heartbeats in 1.6 s at a 400 ms interval: ${r1 - r0}`);
    const bodies = t.records.map((r) => JSON.parse(r.body));
    assert.ok(bodies.some((b) => Array.isArray(b.events) && b.events.length === 0), 'an empty heartbeat batch');
    // Privacy: pum set no cookie and stored nothing in localStorage; its
    // posts carried no user data but the events.
    assert.deepEqual(await t.page.evaluate(() => [document.cookie, localStorage.length]), ['', 0]);
    for (const b of bodies) assert.deepEqual(Object.keys(b).sort(), ['client', 'events', 'seq']);
    await closePage(t);
    const m = await expectMetrics(s, [...customExpectations(base), ...autoMetricExpectations(base, 1)]);
    assertBuckets(base, m);
    assertPhasesAddUp(base, m, 1);
    assertBatches(t, s.url('/record'));
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it("(c) pum's snippet with options (a name of its own, url, interval), calls queued before load", T, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('snippet.html', page({
      title: "pum's snippet",
      head: `<script>${pumSnippet({ name: 'metrics', options: { url: '/record', interval: 400 } })}</script>
<script>metrics('increment', 'app_load_succeeded_total', {}, 1);</script>`,
      body: buttons({
        qq: "metrics('increment', 'usage_total', {browser: 'chrome', feature: 'quickQuestion'}, 1)",
        bs: "metrics('increment', 'usage_total', {browser: 'firefox', feature: 'blockStudent'}, 2)",
        fb1: `metrics('observe', 'firebase_response_time', {firebaseHost: '${FB}'}, 0.3)`,
        fb2: `metrics('observe', 'firebase_response_time', {firebaseHost: '${FB2}'}, 1.5)`,
      }) + "\n<script>document.getElementById('marker').textContent = 'ran';</script>",
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    assert.equal(await t.page.textContent('#marker'), 'ran');
    await clickAll(t.page);
    // the queue function's 'flush' command sends at once
    await t.page.evaluate(() => window.metrics('flush'));
    await expectMetrics(s, customExpectations(base), { settleMs: 0, timeout: 5000 });
    await closePage(t);
    const m = await expectMetrics(s, [...customExpectations(base), ...autoMetricExpectations(base, 1)]);
    assertBuckets(base, m);
    assertPhasesAddUp(base, m, 1);
    assertBatches(t, s.url('/record'));
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it('(b2) the ES module: createClient, counter/histogram, increment/observe, flush() a Promise, stop()', T, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('esm.html', page({
      title: 'The ES module',
      body: buttons({ qq: '', bs: '', fb1: '', fb2: '' }) + `
<script type="module">
  import { createClient } from '/pum.esm.js';
  const c = createClient({ url: '/record', interval: 400 });
  window.pumClient = c;
  const usage = c.counter('usage_total');
  const fb = c.histogram('firebase_response_time');
  document.getElementById('qq').onclick = () => usage.increment({ browser: 'chrome', feature: 'quickQuestion' });
  document.getElementById('bs').onclick = () => c.increment('usage_total', { browser: 'firefox', feature: 'blockStudent' }, 2);
  document.getElementById('fb1').onclick = () => fb.observe(0.3, { firebaseHost: '${FB}' });
  document.getElementById('fb2').onclick = () => c.observe('firebase_response_time', { firebaseHost: '${FB2}' }, 1.5);
  c.increment('app_load_succeeded_total');
  document.getElementById('marker').textContent = 'ran';
</script>`,
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    await t.page.waitForFunction(() => document.getElementById('marker').textContent === 'ran');
    await clickAll(t.page);
    const isPromise = await t.page.evaluate(async () => {
      const p = window.pumClient.flush();
      const yes = p instanceof Promise;
      await p;
      return yes;
    });
    assert.equal(isPromise, true, 'flush() returns a Promise');
    // Once flush() has resolved, the batch has been answered.
    await expectMetrics(s, customExpectations(base), { settleMs: 0, timeout: 3000 });
    await closePage(t);
    const m = await expectMetrics(s, [...customExpectations(base), ...autoMetricExpectations(base, 1)]);
    assertBuckets(base, m);
    assertPhasesAddUp(base, m, 1);
    assertBatches(t, s.url('/record'));
    assert.deepEqual(unexpectedErrors(t), []);

    // stop(): no more batches (heartbeats) afterwards.
    const url2 = s.writePage('esm-stop.html', page({
      title: 'stop()',
      body: `<script type="module">
  import { createClient } from '/pum.esm.js';
  window.pumClient = createClient({ interval: 300 });
</script>`,
    }));
    const t2 = await openPage(browser, tc);
    await t2.page.goto(url2, { waitUntil: 'load' });
    await waitRecords(t2, 2);
    await t2.page.evaluate(() => window.pumClient.stop());
    await sleep(500);
    const n = t2.records.length;
    await sleep(1500);
    assert.equal(t2.records.length, n, 'requests to /record after stop()');
    await closePage(t2);
    assert.deepEqual(unexpectedErrors(t2), []);
  });

  it('every automatic metric can be turned off (data-auto-off), and heartbeats too (data-heartbeat="false")', T, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('off.html', page({
      title: 'Automatic metrics off',
      head: '<script src="/pum.js" data-interval="300" data-heartbeat="false" ' +
        'data-auto-off="pageViews,pageLoad,navigation,webVitals,errors,api,dropped"></script>',
      body: buttons({
        qq: "prometheusUserMonitoringClient.makeCounter('usage_total').increment({browser: 'chrome', feature: 'quickQuestion'})",
        boom: "throw new Error('the page throws on purpose')",
      }),
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    await t.page.click('#boom');
    await sleep(1500);
    assert.deepEqual(t.records, [], 'no heartbeat, nothing to send: no request');
    await t.page.click('#qq');
    await closePage(t);
    const zero = (name, labels) => [name, (m) => delta(base, m, name, labels), 0];
    await expectMetrics(s, [
      ['usage_total{chrome,quickQuestion}', (m) => delta(base, m, 'usage_total', CQ), 1],
      zero('browser_page_views_total'),
      zero('browser_page_load_seconds_count'),
      ...PHASES.map((phase) => zero('browser_navigation_phase_seconds_count', { phase })),
      ...['lcp', 'inp', 'fcp', 'ttfb'].map((v) => zero(`browser_web_vitals_${v}_seconds_count`)),
      zero('browser_web_vitals_cls_count'),
      zero('browser_errors_total', { kind: 'error' }),
      zero('browser_errors_total', { kind: 'unhandledrejection' }),
    ]);
    assert.deepEqual(unexpectedErrors(t, [/the page throws on purpose/]), []);
  });
});

async function waitRecords(t, n, timeout = 5000) {
  const deadline = Date.now() + timeout;
  while (t.records.length < n) {
    if (Date.now() > deadline) assert.fail(`fewer than ${n} requests to /record in ${timeout} ms`);
    await sleep(50);
  }
}
