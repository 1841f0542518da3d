// The client part of `make bench` (tests/bench/bench.mjs): what pum.js
// costs a page.
//
// - Sizes: every build/pum*.js that exists (pum.js, the script pages load;
//   pum.core.js, pum.js without web-vitals, pum's own code; pum.spa.js if
//   built; pum.esm.js), raw and gzipped at zlib level 9 (as
//   client-js/build.mjs and its size budget count them).
// - The main-thread time of flush() with 200 series waiting (100 counter
//   series, 100 histogram series of 3 observations each, all with labels),
//   in headless Chromium (Debian's /usr/bin/chromium through playwright-
//   core, as the browser tests launch it). The page loads build/pum.js from
//   a local HTTP server that answers every POST /record with 204; the
//   automatic metrics are off (data-auto-off) so that exactly the 200 series
//   are sent, the interval is an hour and the heartbeat off. Each round
//   records the 200 series, then times `prometheusUserMonitoringClient.
//   flush()` with performance.now() (its synchronous part: aggregating,
//   JSON, the fetch call; the network is not main-thread time), how much of
//   it was inside fetch() itself, and waits for the answer. Long tasks (PerformanceObserver 'longtask', >= 50 ms) are
//   counted. Reported: the first (cold) flush and the median and p90 of the
//   others, unthrottled and with 4x CPU throttling (DevTools'
//   Emulation.setCPUThrottlingRate, Lighthouse's mobile setting).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { BUILD_DIR } from '../integration/stack.mjs';
import { launchBrowser } from '../browser/browser.mjs';
import { median, percentile } from './common.mjs';

const FILES = ['pum.js', 'pum.core.js', 'pum.spa.js', 'pum.esm.js'];

export function clientSizes() {
  const out = [];
  for (const f of FILES) {
    const p = path.join(BUILD_DIR, f);
    if (!fs.existsSync(p)) continue;
    const data = fs.readFileSync(p);
    out.push({ file: f, bytes: data.length, gzip_bytes: gzipSync(data, { level: 9 }).length });
  }
  return out;
}

// The inline script before pum.js times the fetch() calls (pum.js keeps
// the window's fetch when it starts): how much of a flush is the call that
// hands the request to the browser.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>pum bench</title>
<script>
window.benchFetchMs = 0;
const realFetch = window.fetch;
window.fetch = function (...args) {
  const t = performance.now();
  try { return realFetch.apply(this, args); } finally { window.benchFetchMs += performance.now() - t; }
};
</script>
<script src="/pum.js" data-url="/record" data-interval="3600000" data-heartbeat="false"
  data-auto-off="pageViews,pageLoad,navigation,webVitals,errors,api,dropped"></script>
</head><body>bench</body></html>`;

// The page's round: records 200 series, times flush(), waits for the answer.
async function pageRound() {
  const c = window.prometheusUserMonitoringClient;
  window.benchLong = window.benchLong || [];
  if (!window.benchObserver && typeof PerformanceObserver === 'function') {
    try {
      window.benchObserver = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) window.benchLong.push(e.duration);
      });
      window.benchObserver.observe({ type: 'longtask', buffered: false });
    } catch { /* not supported */ }
  }
  const counter = c.makeCounter('bench_feature_usage_total');
  const histogram = c.makeHistogram('bench_api_seconds');
  for (let i = 0; i < 100; i++) counter.increment({ feature: `feature_${i}`, browser: 'chrome' }, 1 + (i % 3));
  for (let i = 0; i < 100; i++) {
    for (let r = 0; r < 3; r++) histogram.observe(0.01 * (i + 1) * (r + 1), { route: `/api/v1/items/${i}`, method: 'GET' });
  }
  const before = window.benchLong.length;
  const fetch0 = window.benchFetchMs;
  const t0 = performance.now();
  const done = c.flush();
  const t1 = performance.now();
  const fetchMs = window.benchFetchMs - fetch0;
  await done;
  const t2 = performance.now();
  await new Promise((r) => setTimeout(r, 20));
  return { sync_ms: t1 - t0, fetch_ms: fetchMs, answered_ms: t2 - t0, longtasks: window.benchLong.length - before };
}

async function measure(browser, url, flushes, throttle) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    if (throttle > 1) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    }
    await page.goto(url);
    await page.waitForFunction(() => window.prometheusUserMonitoringClient);
    const rounds = [];
    for (let i = 0; i < flushes; i++) rounds.push(await page.evaluate(pageRound));
    const warm = rounds.slice(1).map((r) => r.sync_ms);
    return {
      cpu_throttling: throttle, flushes, first_ms: rounds[0].sync_ms,
      median_ms: median(warm.length ? warm : [rounds[0].sync_ms]), p90_ms: percentile(warm.length ? warm : [rounds[0].sync_ms], 90),
      max_ms: Math.max(...rounds.map((r) => r.sync_ms)),
      fetch_median_ms: median(rounds.slice(1).map((r) => r.fetch_ms)),
      answered_median_ms: median(rounds.map((r) => r.answered_ms)),
      longtasks: rounds.reduce((s, r) => s + r.longtasks, 0),
    };
  } finally {
    await context.close();
  }
}

export async function runClient({ flushes, log }) {
  const out = { sizes: clientSizes(), series: 200 };
  for (const s of out.sizes) log(`  ${s.file}: ${s.bytes} B, ${s.gzip_bytes} B gzipped`);
  const script = fs.readFileSync(path.join(BUILD_DIR, 'pum.js'));
  let posts = 0;
  let lastBody = '';
  const srv = http.createServer((req, res) => {
    if (req.method === 'POST') {
      let b = '';
      req.on('data', (d) => { b += d; });
      req.on('end', () => {
        posts++;
        lastBody = b;
        res.writeHead(204, { 'access-control-allow-origin': '*' });
        res.end();
      });
      return;
    }
    if (req.url === '/pum.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
      res.end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
      res.end(PAGE);
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${srv.address().port}/`;
  let browser;
  try {
    browser = await launchBrowser();
    out.browser = `Chromium ${browser.version()}`;
    out.flush = [];
    for (const throttle of [1, 4]) {
      const m = await measure(browser, url, flushes, throttle);
      out.flush.push(m);
      log(`  flush of 200 series, CPU x${throttle}: median ${m.median_ms.toFixed(2)} ms, p90 ${m.p90_ms.toFixed(2)} ms, ` +
        `first ${m.first_ms.toFixed(2)} ms, in fetch() ${m.fetch_median_ms.toFixed(2)} ms, long tasks ${m.longtasks}`);
    }
    const events = JSON.parse(lastBody).events || [];
    out.posts = posts;
    out.batch = { events: events.length, bytes: Buffer.byteLength(lastBody) };
    if (events.length !== 200) throw new Error(`a flush sent ${events.length} events, not 200: ${lastBody.slice(0, 300)}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    srv.close();
  }
  return out;
}
