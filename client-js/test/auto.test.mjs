import assert from 'node:assert/strict';
import test from 'node:test';
import { createClient } from '../src/client.js';
import { methodLabel, statusClass } from '../src/auto/api.js';
import { webVitals } from '../src/auto/web-vitals.js';
import { PHASES } from '../src/auto/navigation.js';
import { fakeEnv, navEntry, recorder, settle } from '../test-support/fake-env.mjs';

const off = { pageViews: false, pageLoad: false, navigation: false, webVitals: false, errors: false };
const events = async (env, c) => {
  await c.flush();
  return env.sent();
};

test('a page view is counted once per client', async () => {
  const env = fakeEnv();
  const c = createClient({ auto: { ...off, pageViews: true } }, env.g);
  assert.deepEqual(await events(env, c), [
    { metricName: 'browser_page_views_total', metricType: 'counter', labels: {}, inc: 1 },
  ]);
});

test('uncaught errors and unhandled rejections are counted by kind', async () => {
  const env = fakeEnv();
  const c = createClient({ auto: { ...off, errors: true } }, env.g);
  env.g.dispatch('error', { message: 'x' });
  env.g.dispatch('error', { message: 'y' });
  env.g.dispatch('unhandledrejection', { reason: 1 });
  assert.deepEqual(await events(env, c), [
    { metricName: 'browser_errors_total', metricType: 'counter', labels: { kind: 'error' }, inc: 2 },
    { metricName: 'browser_errors_total', metricType: 'counter', labels: { kind: 'unhandledrejection' }, inc: 1 },
  ]);
});

test('every automatic metric is on by default and each can be turned off', async () => {
  const env = fakeEnv();
  const c = createClient({}, env.g);
  env.g.dispatch('error');
  const names = new Set((await events(env, c)).map((e) => e.metricName));
  assert.ok(names.has('browser_page_views_total'));
  assert.ok(names.has('browser_errors_total'));
  const env2 = fakeEnv();
  const c2 = createClient({ auto: { pageViews: false, errors: false } }, env2.g);
  env2.g.dispatch('error');
  assert.deepEqual(await events(env2, c2), []);
  assert.equal(env2.g.listeners('error'), 0);
});

test('web vitals are recorded in seconds (CLS unitless) from the web-vitals callbacks', () => {
  const got = [];
  const cbs = [];
  const fns = [0, 1, 2, 3, 4].map((i) => (cb) => (cbs[i] = cb));
  webVitals(recorder(got), true, () => {}, fns);
  cbs[0]({ value: 2500 });
  cbs[1]({ value: 200 });
  cbs[2]({ value: 0.1 });
  cbs[3]({ value: 1800 });
  cbs[4]({ value: 800, entries: [] });
  assert.deepEqual(got, [
    ['observe', 'browser_web_vitals_lcp_seconds', {}, 2.5],
    ['observe', 'browser_web_vitals_inp_seconds', {}, 0.2],
    ['observe', 'browser_web_vitals_cls', {}, 0.1],
    ['observe', 'browser_web_vitals_fcp_seconds', {}, 1.8],
    ['observe', 'browser_web_vitals_ttfb_seconds', {}, 0.8],
  ]);
});

test('the TTFB report hands its navigation entry over for the page load and its phases', () => {
  const navs = [];
  const got = [];
  const cbs = [];
  const fns = [0, 1, 2, 3, 4].map((i) => (cb) => (cbs[i] = cb));
  webVitals(recorder(got), false, (e) => navs.push(e), fns);
  assert.deepEqual(Object.keys(cbs), ['4'], 'only onTTFB is called when web vitals are off');
  const e = navEntry();
  cbs[4]({ value: 200, entries: [e] });
  assert.deepEqual(navs, [e]);
  assert.deepEqual(got, []);
});

test('a throwing web-vitals function or callback breaks nothing', () => {
  const fns = [
    () => {
      throw new Error('no PerformanceObserver');
    },
    (cb) => cb(null),
    (cb) => cb({}),
    (cb) => cb({ value: 1 }),
    (cb) => cb({ value: 1, entries: null }),
  ];
  const got = [];
  assert.doesNotThrow(() => webVitals(recorder(got), true, () => {}, fns));
  assert.deepEqual(
    got.filter((a) => Number.isFinite(a[3])).map((a) => a[1]),
    ['browser_web_vitals_fcp_seconds', 'browser_web_vitals_ttfb_seconds'],
  );
});

test('page load and navigation phases go out as histograms', async () => {
  const env = fakeEnv();
  const c = createClient({ auto: { ...off, pageLoad: true, navigation: true } }, env.g);
  // the client calls web-vitals' onTTFB, which cannot run in Node; feed the entry through a fresh glue instead
  const got = [];
  const cbs = [];
  const { navigation } = await import('../src/auto/navigation.js');
  webVitals(
    recorder([]),
    false,
    (e) => navigation(e, recorder(got), true, true),
    [0, 1, 2, 3, 4].map((i) => (cb) => (cbs[i] = cb)),
  );
  cbs[4]({ value: 1, entries: [navEntry()] });
  assert.equal(got.length, 11);
  assert.deepEqual(new Set(got.slice(0, 10).map((a) => a[2].phase)), new Set(PHASES));
  assert.equal(got[10][1], 'browser_page_load_seconds');
  c.stop();
});

test('status_class and method labels', () => {
  assert.deepEqual([200, 204, 299, 301, 304, 404, 400, 500, 503, 599, 0, undefined, 600, 99].map(statusClass), [
    '2xx',
    '2xx',
    '2xx',
    '3xx',
    '3xx',
    '4xx',
    '4xx',
    '5xx',
    '5xx',
    '5xx',
    'network_error',
    'network_error',
    'network_error',
    'network_error',
  ]);
  assert.deepEqual(
    ['get', 'POST', 'put', 'Patch', 'delete', 'head', 'options', 'PROPFIND', 'connect', undefined, '', null].map(
      methodLabel,
    ),
    ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'OTHER', 'OTHER', 'GET', 'GET', 'GET'],
  );
});

// --- fetch and XMLHttpRequest

const apiEnv = (respond) => {
  const env = fakeEnv();
  const calls = [];
  const record = env.g.fetch; // the fake network: pum's own posts go there
  const pageFetch = async function (input, init) {
    if (String(input).endsWith('/record')) return record(input, init);
    calls.push({ self: this, args: [...arguments] });
    const r = await respond(input, init);
    if (r instanceof Error) throw r;
    return { status: r, type: r ? 'cors' : 'opaque' };
  };
  env.g.fetch = pageFetch;
  const P = {
    open(m, u) {
      this.m = m;
      this.u = u;
      return 'open-result';
    },
  };
  function XHR() {
    const L = {};
    this.addEventListener = (t, f) => (L[t] ||= []).push(f);
    this.finish = (status) => {
      this.status = status;
      for (const f of L.loadend || []) f();
    };
  }
  XHR.prototype = P;
  env.g.XMLHttpRequest = XHR;
  return { env, calls, pageFetch, P, origOpen: P.open };
};

test('fetch to a listed host is measured by host, method and status class', async () => {
  const { env } = apiEnv((u) =>
    String(u).includes('fail') ? new TypeError('Failed to fetch') : String(u).includes('missing') ? 404 : 200,
  );
  const c = createClient(
    { url: 'https://api.example/record', auto: { ...off, api: { hosts: ['api.example', 'localhost:8080'] } } },
    env.g,
  );
  env.posts.length = 0;
  await env.g.fetch('https://api.example/v1/items');
  await env.g.fetch(new URL('https://api.example/missing'), { method: 'post' });
  await env.g.fetch({ url: 'http://localhost:8080/x', method: 'PUT' });
  await env.g.fetch('https://other.example/x'); // not listed
  await env.g.fetch('/relative'); // shop.example, not listed
  await assert.rejects(env.g.fetch('https://api.example/fail'), TypeError);
  const ev = await events(env, c);
  const api = ev.filter((e) => e.metricName == 'browser_api_request_duration_seconds');
  assert.deepEqual(
    api.map((e) => [e.labels.host, e.labels.method, e.labels.status_class, e.observations.length]),
    [
      ['api.example', 'GET', '2xx', 1],
      ['api.example', 'POST', '4xx', 1],
      ['localhost:8080', 'PUT', '2xx', 1],
      ['api.example', 'GET', 'network_error', 1],
    ],
  );
  assert.ok(api.every((e) => e.observations.every((v) => v >= 0)));
});

test("pum's own posts are never measured, even to a listed host", async () => {
  const { env } = apiEnv(() => 204);
  const c = createClient(
    { url: 'https://api.example/record', auto: { ...off, api: { hosts: ['api.example'] } } },
    env.g,
  );
  await env.g.fetch('https://api.example/record'); // the page posting there itself is measured
  await c.flush();
  assert.equal(env.sent().filter((e) => e.metricName.startsWith('browser_api')).length, 1);
  env.posts.length = 0;
  c.increment('x');
  await c.flush();
  await c.flush();
  c.increment('y');
  await c.flush();
  assert.equal(env.posts.length, 2);
  assert.equal(env.sent().filter((e) => e.metricName.startsWith('browser_api')).length, 0);
});

test('the fetch wrapper keeps this, the arguments, the result and the error unchanged', async () => {
  const err = new RangeError('custom');
  const { env, calls } = apiEnv((u) => (u == 'https://api.example/throw' ? err : 201));
  createClient({ auto: { ...off, api: { hosts: ['api.example'] } } }, env.g);
  const self = { me: 1 };
  const init = { method: 'PATCH', body: 'b' };
  const r = await env.g.fetch.call(self, 'https://api.example/a', init, 'extra');
  assert.equal(r.status, 201);
  assert.equal(calls[0].self, self);
  assert.deepEqual(calls[0].args, ['https://api.example/a', init, 'extra']);
  assert.equal(calls[0].args[1], init);
  await assert.rejects(env.g.fetch('https://api.example/throw'), (e) => e === err);
  // a synchronous throw of the original is thrown unchanged
  const boom = new Error('sync');
  env.g.fetch = () => {
    throw boom;
  };
  const env2 = fakeEnv();
  env2.g.fetch = () => {
    throw boom;
  };
  createClient({ auto: { ...off, api: { hosts: ['api.example'] } } }, env2.g);
  assert.throws(
    () => env2.g.fetch('https://api.example/a'),
    (e) => e === boom,
  );
  // a non-listed request gets the very promise of the original
  const p = Promise.resolve({ status: 200 });
  const env3 = fakeEnv();
  env3.g.fetch = () => p;
  createClient({ auto: { ...off, api: { hosts: ['api.example'] } } }, env3.g);
  assert.equal(env3.g.fetch('https://elsewhere.example/'), p);
});

test('XMLHttpRequest to a listed host is measured at loadend, status 0 as network_error', async () => {
  const { env } = apiEnv(() => 200);
  const c = createClient({ auto: { ...off, api: { hosts: ['api.example'] } } }, env.g);
  const a = new env.g.XMLHttpRequest();
  assert.equal(a.open('get', 'https://api.example/a'), 'open-result');
  a.finish(200);
  a.finish(200); // a second loadend of the same open is not counted again
  const b = new env.g.XMLHttpRequest();
  b.open('DELETE', 'https://api.example/b');
  b.finish(0);
  const o = new env.g.XMLHttpRequest();
  o.open('GET', 'https://other.example/');
  o.finish(200);
  const api = (await events(env, c)).filter((e) => e.metricName == 'browser_api_request_duration_seconds');
  assert.deepEqual(
    api.map((e) => [e.labels.method, e.labels.status_class, e.observations.length]),
    [
      ['GET', '2xx', 1],
      ['DELETE', 'network_error', 1],
    ],
  );
});

test('stop() removes every listener and timer and restores fetch and XMLHttpRequest untouched', async () => {
  const { env, pageFetch, P, origOpen } = apiEnv(() => 200);
  const c = createClient({ auto: { api: { hosts: ['api.example'] } } }, env.g);
  assert.notEqual(env.g.fetch, pageFetch);
  assert.notEqual(P.open, origOpen);
  assert.ok(env.g.listeners() > 0 && env.timers.size > 0);
  c.stop();
  assert.equal(env.g.fetch, pageFetch);
  assert.equal(P.open, origOpen);
  assert.equal(env.g.listeners(), 0);
  assert.equal(env.g.document.listeners(), 0);
  assert.equal(env.timers.size, 0);
  // regression: flush() after stop() still sent what was aggregated before
  const n = env.posts.length;
  c.increment('x');
  await c.flush();
  await env.advance(60000);
  assert.equal(env.posts.length, n, 'nothing sent after stop, flush() included');
  assert.equal(env.beacons.length, 0);
});

test('stop() leaves a fetch wrapped by someone else in place, as a pass-through', async () => {
  const { env, pageFetch } = apiEnv(() => 200);
  const c = createClient({ auto: { ...off, api: { hosts: ['api.example'] } } }, env.g);
  const ours = env.g.fetch;
  const theirs = function () {
    return ours.apply(this, arguments);
  };
  env.g.fetch = theirs;
  c.stop();
  assert.equal(env.g.fetch, theirs);
  await env.g.fetch('https://api.example/a');
  assert.equal(env.sent().length, 0);
  assert.notEqual(pageFetch, theirs);
});

// --- never throws

test('bad input never throws and records nothing bad', async () => {
  const env = fakeEnv();
  const c = createClient({ auto: off }, env.g);
  const bad = [undefined, null, NaN, Infinity, -1, '3', {}, [], () => {}, Symbol('s'), 10n];
  for (const a of bad) {
    for (const b of bad) {
      assert.doesNotThrow(() => c.increment('x', a, b));
      assert.doesNotThrow(() => c.observe('h', a, b));
      assert.doesNotThrow(() => c.counter(a).increment(b, a));
      assert.doesNotThrow(() => c.histogram(a).observe(b, a));
      assert.doesNotThrow(() => c.increment(a, b));
    }
  }
  const evil = {
    get x() {
      throw new Error('getter');
    },
  };
  assert.doesNotThrow(() => c.increment('x', evil));
  assert.doesNotThrow(() => c.increment('x', { s: Symbol('s') }));
  const ev = await events(env, c);
  for (const e of ev) {
    if (e.inc !== undefined) assert.ok(Number.isFinite(e.inc) && e.inc >= 0);
    else assert.ok(e.observations.every(Number.isFinite));
  }
});

test('createClient never throws, even with a hostile or empty global', async () => {
  for (const o of [
    undefined,
    null,
    5,
    'x',
    { auto: null },
    { auto: 5 },
    { auto: { api: true } },
    { auto: { api: { hosts: 'x' } } },
    { interval: -1, maxQueue: NaN },
  ]) {
    for (const g of [{}, fakeEnv().g]) {
      let c;
      assert.doesNotThrow(() => (c = createClient(o, g)));
      assert.doesNotThrow(() => c.increment('x'));
      assert.equal(await c.flush(), undefined);
      assert.doesNotThrow(() => c.stop());
    }
  }
});

test('a throwing fetch does not throw and the batch is kept for later', async () => {
  const env = fakeEnv();
  let n = 0;
  const real = env.g.fetch;
  env.g.fetch = function () {
    if (n++ < 1) throw new Error('fetch exploded');
    return real.apply(this, arguments);
  };
  const c = createClient({ auto: off }, env.g);
  c.increment('x');
  await assert.doesNotReject(c.flush());
  await env.advance(5000);
  assert.equal(env.sent().length, 1);
});

test('a missing fetch, PerformanceObserver or crypto does not break the client', async () => {
  const env = fakeEnv();
  delete env.g.fetch;
  delete env.g.crypto;
  let c;
  assert.doesNotThrow(() => (c = createClient({}, env.g)));
  c.increment('x');
  env.hide();
  assert.equal(env.beacons.length, 1);
  assert.match(env.beacons[0].json.client, /^[A-Za-z0-9_-]{1,64}$/);
  await settle();
});

test('listeners never throw into the page', async () => {
  const env = fakeEnv();
  createClient({}, env.g);
  env.g.navigator = null;
  env.g.sessionStorage = null;
  assert.doesNotThrow(() => env.hide());
  assert.doesNotThrow(() => env.pagehide());
  assert.doesNotThrow(() => env.g.dispatch('error'));
  await env.advance(30000);
});
