// The api auto-metric in Chromium against the real stack:
// browser_api_request_duration_seconds{host, method, status_class} for
// fetch and XMLHttpRequest calls to the hosts the page lists. nginx
// answers /api/ok 200, /api/missing 404, /api/fail 500 and closes the
// connection for /api/drop (a network error); the page's own host
// (127.0.0.1:PORT) is listed, localhost:PORT (the same nginx, another
// origin) is not. pum's own posts to /record, on the listed host, are not
// measured; the page gets the same responses and errors as without pum; and
// with the metric off (or after stop()) fetch and XMLHttpRequest are the
// browser's own again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  closePage, delta, expectMetrics, openPage, seriesOf, sleep, unexpectedErrors, useBrowserStack,
} from './browser.mjs';
import { page, pumSnippet } from './pages.mjs';

const T = { timeout: 60000 };

const API = `location /api/ {
      add_header Access-Control-Allow-Origin "*" always;
      location = /api/ok { return 200 "ok"; }
      location = /api/missing { return 404; }
      location = /api/fail { return 500; }
      location = /api/drop { return 444; }
      return 404;
    }`;

// The page's requests, in order, once #go is clicked; the outcome of each
// (status, or 'error') is written into #marker as a JSON list.
const REQUESTS = `
async function go() {
  const other = 'http://localhost:' + location.port;
  const out = [];
  const f = async (label, ...args) => {
    try {
      const r = await fetch(...args);
      out.push(label + ' ' + r.status + ' ' + (await r.text()).slice(0, 2));
    } catch (e) {
      out.push(label + ' error ' + e.name);
    }
  };
  const x = (label, method, url, body, extra) => new Promise((resolve) => {
    const r = new XMLHttpRequest();
    r.open(method, url);
    r.addEventListener('loadend', () => { out.push(label + ' ' + r.status); resolve(); });
    if (extra) extra(r);
    r.send(body);
  });
  // listed host, fetch
  await f('f-ok-1', '/api/ok');
  await f('f-ok-2', location.origin + '/api/ok', { method: 'get' });
  await f('f-post', '/api/ok', { method: 'POST', body: 'x' });
  await f('f-missing', new Request('/api/missing'));
  await f('f-fail', new URL('/api/fail', location.href));
  await f('f-drop', '/api/drop');
  await f('f-put', '/api/ok', { method: 'PUT', body: 'x' });
  // listed host, XMLHttpRequest
  await x('x-ok', 'GET', '/api/ok');
  await x('x-post-fail', 'POST', '/api/fail', 'x');
  await x('x-missing', 'get', '/api/missing');
  await x('x-drop', 'GET', '/api/drop');
  // a page callback that throws does not stop the measurement
  await x('x-throws', 'GET', '/api/ok', null, (r) => r.addEventListener('load', () => { throw new Error('page xhr callback throws'); }));
  // not listed: another host (origin) of the same server
  await f('f-other', other + '/api/ok');
  await f('f-other-fail', other + '/api/fail');
  await x('x-other', 'GET', other + '/api/ok');
  document.getElementById('marker').textContent = JSON.stringify(out);
}
`;

const EXPECTED_OUTCOMES = [
  'f-ok-1 200 ok', 'f-ok-2 200 ok', 'f-post 200 ok', 'f-missing 404 <h', 'f-fail 500 <h', 'f-drop error TypeError',
  'f-put 200 ok', 'x-ok 200', 'x-post-fail 500', 'x-missing 404', 'x-drop 0', 'x-throws 200', 'f-other 200 ok',
  'f-other-fail 500 <h', 'x-other 200',
];

describe('browser_api_request_duration_seconds, in Chromium', () => {
  const ref = useBrowserStack({ before, after }, { nginxExtra: API });

  it('fetch and XHR to a listed host, by method and status class; other hosts and pum\'s own posts not measured', T, async (tc) => {
    const { s, browser } = ref;
    const host = `127.0.0.1:${s.httpPort}`;
    const url = s.writePage('api.html', page({
      title: 'API timings',
      head: `<script>${pumSnippet({ options: { interval: 300, auto: { api: { hosts: [host] } } } })}</script>`,
      body: `<button id="go" onclick="go()">go</button>\n<script>${REQUESTS}</script>`,
    }));
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    // pum has loaded and has posted (to /record, on the listed host) already
    await t.page.waitForFunction(() => window.prometheusUserMonitoringClient);
    await t.page.click('#go');
    await t.page.waitForFunction(() => document.getElementById('marker').textContent !== '', null, { timeout: 15000 });
    const outcomes = JSON.parse(await t.page.textContent('#marker'));
    assert.deepEqual(outcomes, EXPECTED_OUTCOMES, 'what the page got');
    await sleep(700); // a few more of pum's own posts (heartbeats)
    await closePage(t);
    const n = (method, sc) => [`{host="${host}",method="${method}",status_class="${sc}"}`,
      (m) => delta(base, m, 'browser_api_request_duration_seconds_count', { host, method, status_class: sc }), 0];
    const ex = [
      ['GET', '2xx', 4], ['POST', '2xx', 1], ['PUT', '2xx', 1], ['GET', '4xx', 2], ['GET', '5xx', 1], ['POST', '5xx', 1],
      ['GET', 'network_error', 2],
    ].map(([method, sc, v]) => { const e = n(method, sc); e[2] = v; return e; });
    ex.push(['every series of the listed host', (m) => seriesOf(m, 'browser_api_request_duration_seconds_count', { host })
      .reduce((a, x) => a + x.value, 0) - seriesOf(base, 'browser_api_request_duration_seconds_count', { host })
      .reduce((a, x) => a + x.value, 0), 12]);
    ex.push(['series of other hosts', (m) => seriesOf(m, 'browser_api_request_duration_seconds_count')
      .filter((x) => x.labels.host !== host).length, 0]);
    const m = await expectMetrics(s, ex);
    // durations: positive and below the test's own time
    const sum = delta(base, m, 'browser_api_request_duration_seconds_sum', { host, method: 'GET', status_class: '2xx' });
    assert.ok(sum > 0 && sum < 10, `sum of the GET 2xx durations: ${sum}`);
    assert.ok(t.records.length >= 2, "pum's own posts happened meanwhile");
    assert.deepEqual(unexpectedErrors(t, [/page xhr callback throws/]), []);
  });

  it('off by default, and stop() restores them: fetch and XMLHttpRequest are the browser\'s own', T, async (tc) => {
    const { s, browser } = ref;
    const natives = `
function natives() {
  return [window.fetch, XMLHttpRequest.prototype.open, XMLHttpRequest.prototype.send]
    .map((f) => /\\{\\s*\\[native code\\]\\s*\\}/.test(Function.prototype.toString.call(f)));
}`;
    const url = s.writePage('api-off.html', page({
      title: 'API metric off',
      head: '<script src="/pum.js" data-interval="300"></script>',
      body: `<script>${natives}</script>`,
    }));
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(await t.page.evaluate('natives()'), [true, true, true], 'without api hosts');
    await closePage(t);

    const url2 = s.writePage('api-stop.html', page({
      title: 'API metric stopped',
      body: `<script>${natives}
window.before = natives();
</script>
<script type="module">
  import { createClient } from '/pum.esm.js';
  const c = createClient({ interval: 300, auto: { api: { hosts: [location.host] } } });
  window.wrapped = natives();
  c.stop();
  window.after = natives();
</script>`,
    }));
    const t2 = await openPage(browser, tc);
    await t2.page.goto(url2, { waitUntil: 'load' });
    await t2.page.waitForFunction(() => window.after);
    const [b, w, a] = await t2.page.evaluate(() => [window.before, window.wrapped, window.after]);
    assert.deepEqual(b, [true, true, true], 'before createClient');
    assert.equal(w[0], false, 'fetch is wrapped while the api metric is on');
    assert.deepEqual(a, [true, true, true], 'after stop()');
    await closePage(t2);
    assert.deepEqual(unexpectedErrors(t), []);
    assert.deepEqual(unexpectedErrors(t2), []);
  });
});
