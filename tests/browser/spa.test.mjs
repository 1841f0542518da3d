// routes in real Chromium against the real stack (pum.spa.js from the
// docroot, the shipped browser.json): a single-page app that navigates
// with pushState, replaceState, popstate (back), hashchange and a clicked
// link (a soft navigation Chromium reports, with its LCP); the counts by
// route on the wire and on /metrics; the landing page's LCP by route; and
// nothing counted without routes (pum.spa.js and pum.js), history left
// native.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  REPO, closePage, delta, expectMetrics, openPage, seriesOf, sleep, unexpectedErrors, useBrowserStack, valueOf,
  waitForRecords,
} from './browser.mjs';
import { page, pumSnippet } from './pages.mjs';

const T = { timeout: 60000 };
const BUILD_DIR = path.resolve(REPO, process.env.BUILD || 'build');
const ROUTES = ['#/tab/:name', '/', '/users/:id', '/docs/*'];

// A page whose link #user9 is a soft navigation to `to` (a click, a new URL, a paint)
const spaPage = (src, options, to = '/users/9') => page({
  head: `<script>${pumSnippet({ src, options: { interval: 600000, heartbeat: false, ...options } })}</script>`,
  body: `<a id="user9" href="${to}">user 9</a><div id="view"></div>
<script>
document.getElementById('user9').addEventListener('click', (ev) => {
  ev.preventDefault();
  history.pushState({}, '', '${to}');
  document.getElementById('view').innerHTML = '<h2>User 9</h2><p style="font-size: 32px">The page of user 9, ' +
    'rendered by the app after its soft navigation, large enough to be its largest contentful paint.</p>';
});
</script>`,
});

// Every counter event of `name` the page sent: {route: total inc}.
function sentCounts(t, name) {
  const out = {};
  for (const r of t.records) {
    for (const e of JSON.parse(r.body).events) {
      if (e.metricName === name) out[e.labels.route] = (out[e.labels.route] || 0) + e.inc;
    }
  }
  return out;
}

// {route: n} of the observations a histogram family gained since `base`
// (a JSON string with sorted keys, so that expectMetrics compares it exactly).
function newByRoute(base, m, family) {
  const out = {};
  for (const { labels, value } of seriesOf(m, `${family}_count`)) {
    const n = value - valueOf(base, `${family}_count`, labels, 0);
    if (n) out[labels.route] = n;
  }
  return JSON.stringify(Object.fromEntries(Object.entries(out).sort()));
}

describe('routes (single-page apps), in Chromium', () => {
  const ref = useBrowserStack({ before, after });

  it('pushState, replaceState, popstate, hashchange and a clicked soft navigation are counted by route', T, async (tc) => {
    const { s, browser } = ref;
    s.writePage('pum.spa.js', fs.readFileSync(path.join(BUILD_DIR, 'pum.spa.js')));
    const url = s.writePage('index.html', spaPage('/pum.spa.js', { routes: ROUTES }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url.replace(/index\.html$/, '')); // the landing route is '/'
    await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
    await t.page.waitForLoadState('load');
    await t.page.evaluate(async () => {
      const tick = () => new Promise((r) => setTimeout(r, 50));
      history.pushState({}, '', '/users/1'); // /users/:id
      history.pushState({}, '', '/users/2'); // /users/:id
      history.pushState({}, '', '/users/2'); // same URL: none
      history.replaceState({}, '', '/users/2?tab=posts'); // same path: none
      history.replaceState({}, '', '/docs/intro/setup'); // /docs/*
      history.pushState({}, '', '/nowhere/at/all'); // other
      const popped = new Promise((r) => addEventListener('popstate', r, { once: true }));
      history.back(); // popstate to /docs/intro/setup: /docs/*
      await popped;
      await tick();
      location.hash = '#/tab/settings'; // popstate + hashchange: one, #/tab/:name
      await new Promise((r) => addEventListener('hashchange', r, { once: true }));
      await tick();
    });
    assert.equal(await t.page.evaluate(() => location.pathname + location.hash), '/docs/intro/setup#/tab/settings');
    await t.page.click('#user9'); // /users/:id, a soft navigation Chromium sees (a click, a new URL, a paint)
    await sleep(1500);
    const soft = await t.page.evaluate(() => performance.getEntriesByType('soft-navigation').map((e) => e.name));
    await t.page.evaluate(() => window.prometheusUserMonitoringClient.flush());
    await waitForRecords(t);
    await closePage(t);
    assert.deepEqual(unexpectedErrors(t), []);
    for (const r of t.records) assert.ok(r.status === 204 || r.status === null, `answer ${r.status} to ${r.body}`);

    const want = { '/users/:id': 3, '/docs/*': 2, other: 1, '#/tab/:name': 1 };
    assert.deepEqual(sentCounts(t, 'browser_soft_navigations_total'), want);
    // LCP goes out when the page is hidden (a beacon the test does not
    // see): read it on /metrics. The landing page's ('/') and the clicked
    // soft navigation's ('/users/:id'), which Chromium reported:
    tc.diagnostic(`soft-navigation entries: ${JSON.stringify(soft)}`);
    assert.ok(soft.some((n) => n.endsWith('/users/9')), 'Chromium reported the clicked soft navigation');
    await expectMetrics(s, [
      ...Object.entries(want).map(([route, n]) => [`browser_soft_navigations_total{route="${route}"}`,
        (m) => delta(base, m, 'browser_soft_navigations_total', { route }), n]),
      ['browser_route_web_vitals_lcp_seconds by route: the landing page and the clicked soft navigation',
        (m) => newByRoute(base, m, 'browser_route_web_vitals_lcp_seconds'), JSON.stringify({ '/': 1, '/users/:id': 1 })],
      ['browser_route_web_vitals_lcp_seconds_sum{route="/users/:id"}',
        (m) => delta(base, m, 'browser_route_web_vitals_lcp_seconds_sum', { route: '/users/:id' }), (x) => x > 0 && x < 10],
      ['browser_web_vitals_lcp_seconds_count (label-less, unchanged)',
        (m) => delta(base, m, 'browser_web_vitals_lcp_seconds_count'), 1],
    ]);
  });

  it('Web Vitals by route: the landing page\'s and a soft navigation\'s LCP, FCP, CLS and INP (web-vitals 6)', T, async (tc) => {
    const { s, browser } = ref;
    s.writePage('pum.spa.js', fs.readFileSync(path.join(BUILD_DIR, 'pum.spa.js')));
    // routes of its own, so that the late reports of the other tests' pages cannot count here
    const url = s.writePage('vitals.html', spaPage('/pum.spa.js', { routes: ['/vitals/:id', '/vitals.html'] }, '/vitals/9'));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url); // the landing route is '/vitals.html'
    await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
    await t.page.waitForLoadState('load');
    await t.page.click('#user9'); // the soft navigation to /vitals/9
    await sleep(1000); // past the 500 ms in which a layout shift counts as caused by the input
    // on the soft navigation's page: a layout shift (no input) and a slow interaction (a 200 ms handler)
    await t.page.evaluate(async () => {
      const banner = document.createElement('div');
      banner.style.height = '300px';
      banner.textContent = 'a late banner';
      document.body.prepend(banner);
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 100)));
      const slow = document.createElement('button');
      slow.id = 'slow';
      slow.textContent = 'slow';
      slow.onclick = () => {
        const until = performance.now() + 200;
        while (performance.now() < until);
        slow.textContent = 'clicked';
      };
      document.body.append(slow);
      // what the page's performance observers are told of the click
      window.slowClick = 0;
      window.eventEntries = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          window.eventEntries.push(`${e.name} ${e.duration}`);
          if (e.name == 'click') window.slowClick = Math.max(window.slowClick, e.duration);
        }
      }).observe({ type: 'event', durationThreshold: 16 });
    });
    // Hidden too early, the soft navigation's INP is reported without the
    // slow click: only its 8 ms pointerdown (regression: seen in 4 runs of
    // 5 when hidden 1 s after the click, and in CI on a loaded machine 2.5 s
    // after it). Chromium hands the click's event entry to the observers
    // only after the next frame, later still on a busy machine; web-vitals
    // then handles it in a requestIdleCallback (1 s timeout, which headless
    // Chromium runs only at the timeout). So: wait until the observers have
    // the entry, then until an idle callback queued after web-vitals' ran.
    // The wait polls on a timer, not in animation frames (Playwright's
    // default), which a loaded machine may not produce for seconds. And on
    // a loaded machine Chromium has delivered the click's hover events (224
    // ms: the handler ran) but never its pointerdown, pointerup or click
    // entry (fresh-clone CI, twice): the click is then made again, up to
    // three times; the soft navigation's INP is the slowest, 200 ms either way.
    for (let attempt = 1; ; attempt++) {
      await t.page.click('#slow');
      const seen = await t.page.waitForFunction(() => window.slowClick >= 200, null, { timeout: 7000, polling: 100 })
        .then(() => true, () => false);
      if (seen) break;
      const entries = await t.page.evaluate(() => window.eventEntries).catch(() => 'unreadable');
      tc.diagnostic(`click ${attempt}: the observers have no slow click entry yet: ${JSON.stringify(entries)}`);
      if (attempt == 3) throw new Error(`the observers never had the slow click (event entries: ${JSON.stringify(entries)})`);
    }
    await t.page.evaluate(() => new Promise((r) => requestIdleCallback(() => setTimeout(r, 50), { timeout: 1000 })));
    const soft = await t.page.evaluate(() => performance.getEntriesByType('soft-navigation').map((e) => e.name));
    tc.diagnostic(`soft-navigation entries: ${JSON.stringify(soft)}`);
    assert.ok(soft.some((n) => n.endsWith('/vitals/9')), 'Chromium reported the clicked soft navigation');
    await closePage(t); // hidden: web-vitals reports the soft navigation's values
    assert.deepEqual(unexpectedErrors(t), []);
    // the sum a family gained for one route
    const sum = (m, family, route) => delta(base, m, `${family}_sum`, { route });
    const both = JSON.stringify({ '/vitals.html': 1, '/vitals/:id': 1 });
    const F = 'browser_route_web_vitals_';
    await expectMetrics(s, [
      // INP too: the landing page's is the click that started the soft navigation
      ...['lcp_seconds', 'fcp_seconds', 'cls', 'inp_seconds'].map((f) => [`${F}${f} by route`, (m) => newByRoute(base, m, F + f), both]),
      ['the soft navigation\'s LCP, in seconds', (m) => sum(m, `${F}lcp_seconds`, '/vitals/:id'), (x) => x > 0 && x < 10],
      ['the soft navigation\'s FCP, in seconds', (m) => sum(m, `${F}fcp_seconds`, '/vitals/:id'), (x) => x > 0 && x < 10],
      ['the soft navigation\'s CLS: the late banner', (m) => sum(m, `${F}cls`, '/vitals/:id'), (x) => x > 0.05],
      ['the landing page\'s CLS: none', (m) => sum(m, `${F}cls`, '/vitals.html'), 0],
      ['the soft navigation\'s INP: the 200 ms handler', (m) => sum(m, `${F}inp_seconds`, '/vitals/:id'), (x) => x >= 0.2 && x < 2],
      ['the label-less families: one observation each, as without routes', (m) => ['lcp_seconds', 'fcp_seconds', 'cls']
        .map((f) => delta(base, m, `browser_web_vitals_${f}_count`)).join(), '1,1,1'],
    ]);
  });

  for (const build of ['pum.spa.js', 'pum.js']) {
    it(`without routes (${build}) nothing is counted and history stays native`, T, async (tc) => {
      const { s, browser } = ref;
      s.writePage(build, fs.readFileSync(path.join(BUILD_DIR, build)));
      // pum.js is also served by pum-client.conf at /pum.js; the docroot copy is the same file
      const url = s.writePage(`plain-${build}.html`, spaPage(`/${build}`, build === 'pum.js' ? { routes: ROUTES } : {}));
      const t = await openPage(browser, tc);
      await t.page.goto(url);
      await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
      const native = await t.page.evaluate(async () => {
        history.pushState({}, '', '/users/1');
        const popped = new Promise((r) => addEventListener('popstate', r, { once: true }));
        history.back();
        await popped;
        location.hash = '#/tab/x';
        await new Promise((r) => addEventListener('hashchange', r, { once: true }));
        return [history.pushState, history.replaceState].every((f) => /\[native code\]/.test(String(f)));
      });
      assert.ok(native, 'history.pushState and replaceState are the browser\'s');
      await t.page.evaluate(() => window.prometheusUserMonitoringClient.flush());
      await waitForRecords(t); // regression: the list was read before Playwright filled it ('no batch')
      await closePage(t);
      assert.ok(t.records.length > 0, `no batch: ${t.console} ${t.pageErrors}`);
      for (const r of t.records) {
        assert.ok(!/browser_soft_navigations_total|browser_route_web_vitals/.test(r.body), r.body);
      }
      assert.deepEqual(unexpectedErrors(t), []);
    });
  }
});
