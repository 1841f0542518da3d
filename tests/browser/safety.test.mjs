// pum.js never breaks the page, in Chromium against the real stack: pages
// whose own code throws, that pass pum garbage, that broke sendBeacon or
// fetch before pum.js loaded. In each the page's own script runs to its
// end (a DOM marker set after the calls), no exception caused by pum
// reaches the page (pageerror, console errors), and the metrics still
// arrive where the browser leaves a way to send them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  autoMetricExpectations, closePage, delta, expectMetrics, openPage, sleep, unexpectedErrors, useBrowserStack,
} from './browser.mjs';
import { buttons, CQ, FB, page, pumSnippet } from './pages.mjs';

const T = { timeout: 60000 };

const MARK = "document.getElementById('marker').textContent = 'ran';";

// A page that breaks something before pum.js loads (`prelude`), then
// loads it with a plain script tag and records usage_total{chrome,
// quickQuestion} on each click of #qq.
function brokenPage(s, name, prelude, { interval = 60000 } = {}) {
  return s.writePage(name, page({
    title: name,
    head: `<script>${prelude}</script>\n<script src="/pum.js" data-interval="${interval}"></script>`,
    body: buttons({
      qq: "prometheusUserMonitoringClient.makeCounter('usage_total').increment({browser: 'chrome', feature: 'quickQuestion'})",
    }) + `\n<script>${MARK}</script>`,
  }));
}

async function clicks(p, n) {
  for (let i = 0; i < n; i++) await p.click('#qq');
}

const usage = (base, n) => ['usage_total{chrome,quickQuestion}', (m) => delta(base, m, 'usage_total', CQ), n];

describe('pum.js never breaks the page, in Chromium', () => {
  const ref = useBrowserStack({ before, after });

  it('a page whose own callbacks throw, and that passes pum garbage', T, async (tc) => {
    const { s, browser } = ref;
    const url = s.writePage('throwing.html', page({
      title: 'Throwing callbacks',
      head: `<script>${pumSnippet({ options: { interval: 300 } })}</script>`,
      body: buttons({
        boom: "throw new Error('page boom')",
        rej: "Promise.reject(new Error('page rejection'))",
      }) + `
<script>
  // The page's own handlers of the events pum also listens to throw.
  document.addEventListener('visibilitychange', function () { throw new Error('page visibilitychange throws'); });
  window.addEventListener('pagehide', function () { throw new Error('page pagehide throws'); });
  window.addEventListener('beforeunload', function () { throw new Error('page beforeunload throws'); });
  // Lets the test wait for the rejection event before it closes the page
  // (it fires in a later task; a close right after the click can beat it).
  window.addEventListener('unhandledrejection', function () { document.body.dataset.rejected = '1'; });

  // Garbage in the snippet's queue, replayed when pum.js has loaded.
  pum('noSuchCommand', 1, 2, 3);
  pum();
  pum('increment');
  pum('observe', 'firebase_response_time', null, {});
  pum('increment', 'usage_total', { browser: 'chrome', feature: 'quickQuestion' }, NaN);
  pum('increment', 'usage_total', { browser: 'chrome', feature: 'quickQuestion' }, 1);
  window.addEventListener('load', function () {
  var c = window.prometheusUserMonitoringClient;
  var evil = { browser: 'chrome' };
  Object.defineProperty(evil, 'feature', { enumerable: true, get: function () { throw new Error('label getter throws'); } });
  var cyclic = { browser: 'chrome', feature: 'quickQuestion' };
  cyclic.self = cyclic;
  var hostile = new Proxy({}, { ownKeys: function () { throw new Error('proxy throws'); } });
  var calls = [
    function () { c.makeCounter('usage_total').increment(evil); },
    function () { c.makeCounter('usage_total').increment(hostile); },
    function () { c.makeCounter('usage_total').increment(cyclic); },
    function () { c.makeCounter('usage_total').increment({ browser: 'chrome', feature: 'quickQuestion' }, NaN); },
    function () { c.makeCounter('usage_total').increment({ browser: 'chrome', feature: 'quickQuestion' }, -1); },
    function () { c.makeCounter('usage_total').increment({ browser: 'chrome', feature: 'quickQuestion' }, 'two'); },
    function () { c.makeCounter('usage_total').increment({ browser: 'chrome', feature: 'quickQuestion' }); },
    function () { c.makeCounter('usage_total').increment({ browser: 'chrome', feature: 'quickQuestion' }, Infinity); },
    function () { c.makeCounter(undefined).increment(); },
    function () { c.makeCounter({}).increment(null, {}); },
    function () { c.makeHistogram('firebase_response_time').observe('slow', { firebaseHost: '${FB}' }); },
    function () { c.makeHistogram('firebase_response_time').observe(NaN, { firebaseHost: '${FB}' }); },
    function () { c.makeHistogram('firebase_response_time').observe(0.25, { firebaseHost: '${FB}' }); },
    function () { c.makeHistogram('firebase_response_time').observe(Infinity, { firebaseHost: '${FB}' }); },
    function () { c.makeHistogram(null).observe(); },
    function () { pum('noSuchCommand', 1, 2, 3); },
    function () { pum(); },
    function () { pum('increment'); },
    function () { pum('observe', 'firebase_response_time', null, {}); },
    function () { pum('increment', 'usage_total', { browser: 'chrome', feature: 'quickQuestion' }, 1); },
  ];
  var threw = [];
  calls.forEach(function (f, i) { try { f(); } catch (e) { threw.push(i + ': ' + e); } });
  window.pumThrew = threw;
  ${MARK}
  });
</script>`,
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    await t.page.waitForFunction(() => document.getElementById('marker').textContent === 'ran');
    assert.deepEqual(await t.page.evaluate(() => window.pumThrew), [], 'calls into pum that threw');
    await t.page.click('#boom');
    await t.page.click('#boom');
    await t.page.click('#rej');
    await t.page.waitForFunction(() => document.body.dataset.rejected === '1');
    await closePage(t);
    const expected = [/page boom/, /page rejection/, /page visibilitychange throws/, /page pagehide throws/,
      /page beforeunload throws/];
    // The valid calls count exactly, whatever garbage came before and
    // after them in the same series.
    await expectMetrics(s, [
      usage(base, 3),
      ['firebase_response_time_count', (m) => delta(base, m, 'firebase_response_time_count', { firebaseHost: FB }), 1],
      ['firebase_response_time_sum', (m) => delta(base, m, 'firebase_response_time_sum', { firebaseHost: FB }), 0.25],
      ["browser_errors_total{kind='unhandledrejection'}",
        (m) => delta(base, m, 'browser_errors_total', { kind: 'unhandledrejection' }), 1],
      // the two clicks, and perhaps the throwing handlers at the close
      ["browser_errors_total{kind='error'}", (m) => delta(base, m, 'browser_errors_total', { kind: 'error' }),
        (x) => x >= 2 && x <= 5],
      ...autoMetricExpectations(base, 1),
    ]);
    assert.deepEqual(unexpectedErrors(t, expected), []);
  });

  it('navigator.sendBeacon deleted before pum.js loads: the last batch goes by fetch keepalive', T, async (tc) => {
    const { s, browser } = ref;
    const url = brokenPage(s, 'no-beacon.html', 'delete Navigator.prototype.sendBeacon; delete navigator.sendBeacon;');
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    assert.equal(await t.page.textContent('#marker'), 'ran');
    assert.equal(await t.page.evaluate(() => 'sendBeacon' in navigator), false);
    await clicks(t.page, 3);
    await closePage(t);
    await expectMetrics(s, [usage(base, 3), ...autoMetricExpectations(base, 1)]);
    // (the posts of a closed page are not reported to the test; any seen
    // before the close are fetches)
    assert.ok(t.records.every((r) => r.type === 'fetch'), `sent with fetch: ${t.records.map((r) => r.type)}`);
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it('navigator.sendBeacon that throws, or returns false: fetch keepalive takes over', T, async (tc) => {
    const { s, browser } = ref;
    const variants = {
      'beacon-throws.html': "navigator.sendBeacon = function () { throw new Error('sendBeacon is broken'); };",
      'beacon-false.html': 'navigator.sendBeacon = function () { return false; };',
    };
    for (const [name, prelude] of Object.entries(variants)) {
      const url = brokenPage(s, name, prelude);
      const base = await s.series();
      const t = await openPage(browser, tc);
      await t.page.goto(url, { waitUntil: 'load' });
      assert.equal(await t.page.textContent('#marker'), 'ran', name);
      await clicks(t.page, 2);
      await closePage(t);
      await expectMetrics(s, [usage(base, 2), ...autoMetricExpectations(base, 1)]);
      assert.deepEqual(unexpectedErrors(t), [], name);
    }
  });

  it('fetch patched to throw: periodic sends fail quietly, sendBeacon delivers at the close', T, async (tc) => {
    const { s, browser } = ref;
    const url = brokenPage(s, 'fetch-throws.html',
      "window.fetch = function () { throw new TypeError('fetch is patched to throw'); };", { interval: 300 });
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    assert.equal(await t.page.textContent('#marker'), 'ran');
    await clicks(t.page, 4);
    await sleep(1000); // several intervals whose sends could only fail (or go by beacon)
    await closePage(t);
    await expectMetrics(s, [usage(base, 4), ...autoMetricExpectations(base, 1)]);
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it('sendBeacon and fetch both gone: the page still runs, nothing is thrown', T, async (tc) => {
    const { s, browser } = ref;
    const url = brokenPage(s, 'nothing-works.html',
      'delete Navigator.prototype.sendBeacon; window.fetch = undefined;', { interval: 300 });
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    assert.equal(await t.page.textContent('#marker'), 'ran');
    await clicks(t.page, 2);
    await t.page.evaluate(() => window.prometheusUserMonitoringClient.flush());
    await sleep(800);
    await closePage(t);
    assert.deepEqual(unexpectedErrors(t), []);
  });
});
