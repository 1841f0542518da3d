// Helpers of the browser tests: real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core from client-js/node_modules)
// loading pages from real nginx (tests/integration/stack.mjs with a docroot
// and pum.js), which routes /record to real pum-ingest workers; the totals
// are read from pum-exporter's /metrics.
//
// Every browser and stack a test file starts is stopped by its `after`
// hooks (and the stack's processes also at process exit).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  REPO, SEED_METRICS, SHIPPED_METRICS_DIR, Stack, parseExposition, parseSampleLine, seriesKey, valueOf,
} from '../integration/stack.mjs';

export { REPO, SEED_METRICS, sleep, valueOf, seriesKey };

// playwright-core is a devDependency of client-js (npm ci there: make deps).
export function loadPlaywright() {
  const req = createRequire(path.join(REPO, 'client-js', 'package.json'));
  try {
    return req('playwright-core');
  } catch (e) {
    throw new Error('playwright-core is missing from client-js/node_modules: run `make deps` ' +
      `(npm ci in client-js/) first (${e.message.split('\n')[0]})`);
  }
}

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: make deps installs Debian's chromium`);
  const { chromium } = loadPlaywright();
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
}

// The allowlist of the browser tests: the seed's test metrics and the
// shipped browser.json (the metrics pum.js collects by itself).
export function browserMetrics() {
  return {
    'seed.json': SEED_METRICS,
    'browser.json': fs.readFileSync(path.join(SHIPPED_METRICS_DIR, 'browser.json'), 'utf8'),
  };
}

// before: a Stack serving a docroot, pum.js and /record, and a Chromium;
// after: both stopped. Returns {s, browser}, filled in by `before`.
export function useBrowserStack({ before, after }, opts = {}) {
  const ref = { s: null, browser: null };
  before(async () => {
    ref.s = new Stack({ docroot: true, clientJs: true, metrics: browserMetrics(), ...opts });
    try {
      await ref.s.start();
      ref.browser = await launchBrowser();
    } catch (e) {
      if (ref.browser) await ref.browser.close().catch(() => {});
      await ref.s.stopAll();
      throw e;
    }
  });
  after(async () => {
    try {
      if (ref.browser) await ref.browser.close();
    } finally {
      if (ref.s) await ref.s.stopAll();
    }
  });
  return ref;
}

// A fresh browser context (own sessionStorage, cookies, cache) with one
// page; records the page's uncaught errors (pageerror), its console
// messages and every request to /record with its outcome: {url, status,
// body, type}, status null when the page went away before the test could
// see the answer, 'failed' for a network error. With the test's
// context `tc`, the browser context is closed when the test ends, passed or
// failed (so that a failed test leaves no page sending batches).
export async function openPage(browser, tc) {
  const context = await browser.newContext();
  if (tc) tc.after(() => context.close().catch(() => {}));
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const t = { context, page, pageErrors: [], console: [], records: [] };
  page.on('pageerror', (e) => t.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('console', (m) => t.console.push(`${m.type()}: ${m.text()}`));
  context.on('requestfinished', async (r) => {
    if (!new URL(r.url()).pathname.startsWith('/record')) return;
    let status = null;
    try {
      const resp = await r.response();
      status = resp ? resp.status() : null;
    } catch { /* page gone */ }
    t.records.push({ url: r.url(), status, body: r.postData(), type: r.resourceType() });
  });
  context.on('requestfailed', (r) => {
    if (!new URL(r.url()).pathname.startsWith('/record')) return;
    t.records.push({ url: r.url(), status: 'failed', error: r.failure() && r.failure().errorText, body: r.postData(), type: r.resourceType() });
  });
  return t;
}

// Waits (at most `ms`) until the test has seen at least `n` /record
// requests of `t`: Playwright reports a request finished after the page's
// flush() has already resolved, so a test that reads t.records right after
// flush() may find them not there yet.
export async function waitForRecords(t, n = 1, ms = 5000) {
  for (const end = Date.now() + ms; t.records.length < n && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Closes the page as a user closing the tab does (beforeunload, pagehide,
// visibilitychange -> hidden: pum sends its last batch with sendBeacon),
// gives the beacon a moment, then closes the context.
export async function closePage(t, { settleMs = 700 } = {}) {
  if (!t.page.isClosed()) await t.page.close({ runBeforeUnload: true });
  await sleep(settleMs);
  await t.context.close();
}

// The errors of the page that are not in `expected` (a list of regexps):
// uncaught exceptions, and console errors (a failed /record shows up in the
// console as a network error, which is expected during an outage, so
// messages about failed resources are left out).
export function unexpectedErrors(t, expected = []) {
  const out = [];
  for (const e of t.pageErrors) if (!expected.some((re) => re.test(e))) out.push(`pageerror: ${e}`);
  for (const c of t.console) {
    if (!c.startsWith('error:')) continue;
    if (/Failed to load resource|net::ERR_/.test(c)) continue;
    if (!expected.some((re) => re.test(c))) out.push(`console ${c}`);
  }
  return out;
}

// The requests nginx logged so far: [{method, path, status}].
export function accessLog(s) {
  const out = [];
  for (const line of s.log('nginx-access.log').split('\n')) {
    const m = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d+)/.exec(line);
    if (m) out.push({ method: m[1], path: m[2], status: Number(m[3]) });
  }
  return out;
}

// --------------------------------------------------------------- metrics

// The value of series `name{labels}` in `now` minus in `base` (0 if absent).
export function delta(base, now, name, labels = {}) {
  return valueOf(now, name, labels, 0) - valueOf(base, name, labels, 0);
}

// Every series of `name` whose labels include `match`: [{labels, value}].
export function seriesOf(series, name, match = {}) {
  const out = [];
  for (const [k, v] of series) {
    const s = parseSampleLine(`${k} 0`);
    if (s.name !== name) continue;
    if (Object.entries(match).every(([ln, lv]) => s.labels[ln] === lv)) out.push({ labels: s.labels, value: v });
  }
  return out;
}

// Polls /metrics until every expectation holds, then (settleMs later)
// checks that they still hold — a late duplicate would break them. An
// expectation is [description, fn(series) -> actual, expected] with
// `expected` a number (exact) or a function(actual) -> bool. Fails with
// the list of expectations that do not hold.
export async function expectMetrics(s, expectations, { timeout = 20000, settleMs = 1200, interval = 150 } = {}) {
  const check = (m) => {
    const bad = [];
    for (const [what, fn, want] of expectations) {
      let got;
      try {
        got = fn(m);
      } catch (e) {
        got = `threw ${e.message}`;
      }
      const ok = typeof want === 'function' ? want(got) : Object.is(round(got), round(want));
      if (!ok) bad.push(`${what}: got ${got}, want ${typeof want === 'function' ? want.toString() : want}`);
    }
    return bad;
  };
  const deadline = Date.now() + timeout;
  let bad;
  let m;
  for (;;) {
    m = await s.series();
    bad = check(m);
    if (bad.length === 0) break;
    if (Date.now() > deadline) {
      assert.fail(`after ${timeout} ms, /metrics does not show:\n  ${bad.join('\n  ')}`);
    }
    await sleep(interval);
  }
  if (settleMs > 0) {
    await sleep(settleMs);
    m = await s.series();
    bad = check(m);
    if (bad.length) assert.fail(`${settleMs} ms after the expected values showed, /metrics changed:\n  ${bad.join('\n  ')}`);
  }
  return m;
}

// Float sums: compare at 9 significant decimals.
function round(v) {
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1e9) / 1e9 : v;
}

export const PHASES = ['redirect', 'cache', 'dns', 'connect', 'request', 'response', 'dom_processing',
  'dom_content_loaded', 'subresources', 'load_event'];

// Expectations for the automatic metrics of `views` page loads since
// `base`: page views and page-load observations exact, one observation of
// every navigation phase per page load (phases stack up to the page load),
// and TTFB, FCP, LCP at least once.
export function autoMetricExpectations(base, views) {
  const d = (name, labels) => (m) => delta(base, m, name, labels);
  const ex = [
    ['browser_page_views_total', d('browser_page_views_total'), views],
    ['browser_page_load_seconds_count', d('browser_page_load_seconds_count'), views],
  ];
  for (const phase of PHASES) {
    ex.push([`browser_navigation_phase_seconds_count{phase="${phase}"}`,
      d('browser_navigation_phase_seconds_count', { phase }), views]);
  }
  for (const v of ['ttfb', 'fcp', 'lcp']) {
    ex.push([`browser_web_vitals_${v}_seconds_count`, d(`browser_web_vitals_${v}_seconds_count`), (x) => x >= views]);
  }
  return ex;
}

// The navigation phases of the page loads since `base` add up to their
// page-load times (they are non-overlapping and cover the load): checked
// on the sums, allowing a millisecond of rounding per phase and load.
export function assertPhasesAddUp(base, m, views) {
  const load = delta(base, m, 'browser_page_load_seconds_sum');
  let phases = 0;
  for (const phase of PHASES) phases += delta(base, m, 'browser_navigation_phase_seconds_sum', { phase });
  assert.ok(load > 0, `page load sum ${load}`);
  assert.ok(Math.abs(phases - load) <= 0.001 * PHASES.length * views + 1e-9,
    `the phases add up to ${phases} s, the page loads to ${load} s`);
}

// The exposition lines of a histogram's cumulative buckets since `base`,
// as {le: count} for the given labels.
export function bucketDeltas(base, m, name, labels = {}) {
  const out = {};
  for (const { labels: l, value } of seriesOf(m, `${name}_bucket`, labels)) {
    const { le, ...rest } = l;
    if (Object.keys(rest).length !== Object.keys(labels).length) continue;
    out[le] = value - valueOf(base, `${name}_bucket`, l, 0);
  }
  return out;
}

export { parseExposition };
