// A fake browser global for unit tests of pum's client: fetch, sendBeacon,
// timers (virtual time), sessionStorage, document, performance, location,
// crypto, XMLHttpRequest and event targets. No DOM library.
import { webcrypto } from 'node:crypto';

export const eventTarget = (o = {}) => {
  const L = {};
  return Object.assign(o, {
    addEventListener(t, f) {
      (L[t] ||= []).push(f);
    },
    removeEventListener(t, f) {
      L[t] = (L[t] || []).filter((x) => x !== f);
    },
    dispatch(t, ev = {}) {
      for (const f of [...(L[t] || [])]) f.call(o, { type: t, ...ev });
    },
    listeners(t) {
      return t ? (L[t] || []).length : Object.values(L).reduce((n, a) => n + a.length, 0);
    },
  });
};

// As the DOM's Storage, its items are also its named properties
// (storage['k'] reads getItem('k'), or undefined; assigning sets it).
export const storage = () => {
  const m = new Map();
  const api = {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => void m.set(k, String(v)),
    removeItem: (k) => void m.delete(k),
    get size() {
      return m.size;
    },
  };
  return new Proxy(api, {
    get: (o, k) => (k in o ? o[k] : m.get(k)),
    set: (o, k, v) => (m.set(k, String(v)), true),
  });
};

/** Lets every pending promise callback run. */
export const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/**
 * fakeEnv({respond}) -> env. env.g is the global to hand to createClient.
 * respond(request) returns a status (number), {status, body} (an answer with
 * a body, text), 'network' (fetch rejects with a TypeError) or a promise of
 * those; default 204. env.warnings: the console.warn calls' arguments.
 * env.posts: the fetch requests {url, body, init, json}; env.beacons: the
 * sendBeacon calls {url, body, json}; env.advance(ms) runs the timers due.
 */
export const fakeEnv = (opts = {}) => {
  let now = 0;
  let nextId = 1;
  const timers = new Map();
  const env = {
    posts: [],
    beacons: [],
    warnings: [],
    respond: opts.respond || (() => 204),
    beaconResult: true,
    get now() {
      return now;
    },
    timers,
  };
  const addTimer = (fn, ms, repeat) => {
    const id = nextId++;
    timers.set(id, { at: now + Math.max(0, +ms || 0), fn, ms: +ms || 0, repeat });
    return id;
  };
  const document = eventTarget({ visibilityState: 'visible', readyState: 'complete' });
  const navigator = {
    sendBeacon(url, body) {
      // like a browser: false means it did not take the request
      if (env.beaconResult) env.beacons.push({ url, body, json: JSON.parse(body) });
      return env.beaconResult;
    },
  };
  const g = eventTarget({
    // what pum writes to the console (debug mode only): env.warnings
    console: { warn: (...args) => void env.warnings.push(args) },
    document,
    navigator,
    sessionStorage: storage(),
    crypto: webcrypto,
    location: { href: 'https://shop.example/app/page' },
    performance: { now: () => now, getEntriesByType: () => [] },
    setTimeout: (fn, ms) => addTimer(fn, ms, false),
    setInterval: (fn, ms) => addTimer(fn, ms, true),
    clearTimeout: (id) => void timers.delete(id),
    clearInterval: (id) => void timers.delete(id),
    async fetch(url, init = {}) {
      const req = { url: String(url.url || url), body: init.body, init };
      try {
        req.json = JSON.parse(init.body);
      } catch (e) {}
      env.posts.push(req);
      const answer = await env.respond(req);
      if (answer === 'network') throw new TypeError('Failed to fetch');
      // a status, or {status, body} for an answer with a body (text)
      const { status: r, body = '' } = typeof answer == 'object' ? answer : { status: answer };
      req.status = r;
      return { status: r, ok: r >= 200 && r < 300, type: 'cors', json: async () => JSON.parse(body) };
    },
  });
  g.window = g;
  env.g = g;
  env.hide = () => {
    document.visibilityState = 'hidden';
    document.dispatch('visibilitychange');
  };
  env.show = () => {
    document.visibilityState = 'visible';
    document.dispatch('visibilitychange');
  };
  env.pagehide = () => g.dispatch('pagehide', { persisted: false });
  /** Advances virtual time by ms, running due timers in order (and settling promises between). */
  env.advance = async (ms) => {
    const end = now + ms;
    await settle();
    for (;;) {
      let next;
      for (const [id, t] of timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      const [id, t] = next;
      now = t.at;
      if (t.repeat) t.at += Math.max(1, t.ms);
      else timers.delete(id);
      t.fn();
      await settle();
    }
    now = end;
    await settle();
  };
  /** Every event delivered so far: fetch answered 2xx, and beacons the browser took, flattened. */
  env.sent = () =>
    [...env.posts.filter((r) => r.status >= 200 && r.status < 300), ...env.beacons].flatMap(
      (r) => (r.json && r.json.events) || [],
    );
  return env;
};

/** A navigation entry with typical values (ms). */
export const navEntry = (over = {}) => ({
  startTime: 0,
  activationStart: 0,
  redirectStart: 0,
  redirectEnd: 0,
  fetchStart: 5.1,
  domainLookupStart: 10.2,
  domainLookupEnd: 30.3,
  connectStart: 30.3,
  secureConnectionStart: 40,
  connectEnd: 80.4,
  requestStart: 81,
  responseStart: 200.5,
  responseEnd: 250.6,
  domInteractive: 600.7,
  domContentLoadedEventStart: 610,
  domContentLoadedEventEnd: 650.8,
  domComplete: 1200,
  loadEventStart: 1200.9,
  loadEventEnd: 1210.123456,
  ...over,
});

/**
 * A Recorder (src/aggregator.js) that logs its calls into `got` as
 * [method, name, labels, value], for the automatic metrics' unit tests.
 */
export const recorder = (got) => ({
  count: (...a) => got.push(['count', ...a]),
  record: (...a) => got.push(['observe', ...a]),
});
