import { aggregator } from './aggregator.js';
import { safe } from './safe.js';
import { backoff, outcome } from './transport.js';
import { body, split } from './batch.js';
import { webVitals } from './auto/web-vitals.js';
import { navigation } from './auto/navigation.js';
import { api } from './auto/api.js';

const DROPPED = 'browser_client_dropped_events_total';

/**
 * createClient(options, g): one pum client; see pum.d.ts for the options and
 * the methods. `g` is the global object: window by default; tests pass a fake
 * with fetch, navigator, document, sessionStorage, location, crypto,
 * XMLHttpRequest, performance, addEventListener/removeEventListener and the
 * timer functions.
 *
 * The queue holds unacknowledged batches, oldest first, as
 * [body, promise while in flight]; at most maxQueue of them (an overflow
 * drops the oldest: queue_full).
 *
 * - tick(): the aggregated events are split into parts under 64 KiB; each
 *   part gets the next seq and joins the queue. Every `interval` ms the tick
 *   makes an empty batch (the heartbeat) when heartbeat is on, the page is
 *   visible and nothing else is queued, then pumps.
 * - pump(): when nothing is in flight and no backoff is pending, sends the
 *   oldest entry: one at a time, so the server sees a client's seqs in order
 *   and never one more than maxQueue ahead of an unacknowledged one.
 * - send(): fetch POST, keepalive, a string body (text/plain: a simple
 *   request, no CORS preflight). See transport.js for what an answer means;
 *   a batch to retry stays in the queue, the queue waits backoff() before the
 *   next attempt, which sends the same body (same client and seq).
 * - all(beacon): a tick, then sends every entry not in flight at once, in
 *   parallel, ignoring the backoff: with navigator.sendBeacon when `beacon`
 *   (when sendBeacon is missing, throws or returns false, with send()).
 *   flush() is all(); on visibilitychange to hidden and on pagehide,
 *   all(beacon), then the whole queue is saved to sessionStorage, which the
 *   next client for the same url in this tab takes over and sends first.
 * - A beacon has no answer: the browser may accept it and the server still
 *   fail (503 in an outage). So a beaconed entry is marked (e[2]) and KEPT:
 *   it is not beaconed twice, it is saved with the rest, and once the page is
 *   visible again pump() resends it by fetch with the same (client, seq) --
 *   the server acknowledges it again if the beacon got through, or applies
 *   it now. Back to visible, the saved copy is removed from sessionStorage.
 *
 * The session buffer: unacknowledged batches outlive the page in
 * sessionStorage (the tab's session; never localStorage, never cookies),
 * under the key 'pum:' + url. The queue (the bodies) is stored whenever the
 * page is hidden or unloaded, and taken out (and removed) when the next
 * client for that url starts in the same tab. The bodies keep their own
 * client id and seq, so a batch that was delivered after all is only
 * acknowledged again by the server, not counted twice. A storage failure
 * (disabled, quota, SecurityError, bad JSON) just means nothing is kept.
 *
 * The client id is random and new for every client (every page load): 128
 * bits from crypto.getRandomValues in base 36, about 26 characters of
 * [0-9a-z] (the server takes 1-64 characters of [A-Za-z0-9_-]); without Web
 * Crypto, Math.random and the time. It identifies no user and is kept
 * nowhere but in the page (and, inside unsent batches, in the tab's
 * sessionStorage).
 *
 * Errors: browser_errors_total{kind} counts the window's 'error' events
 * (uncaught exceptions; resource load errors do not bubble to window and are
 * not counted) and 'unhandledrejection' events. The event name is the kind.
 */
export const createClient = (o, g) => {
  o = o || {};
  g = g || globalThis;
  const run = (f) => safe(f)();
  const au = o.auto || {};
  const on = (k) => au[k] !== false;
  const url = o.url || '/record';
  const key = 'pum:' + url;
  const max = Math.min(o.maxQueue > 0 ? o.maxQueue : 32, 48);
  const d = g.document;
  const F = g.fetch;
  const offs = [];
  const q = [];
  const [agg, take] = aggregator();
  const id =
    run(() => [...g.crypto.getRandomValues(new Uint32Array(4))].map((x) => x.toString(36)).join('')) ||
    Math.random().toString(36).slice(2) + Date.now().toString(36);
  let seq = 0;
  let live = 1;
  let timer = 0;
  let fails = 0;

  const add = (h, n, l, v) => live && agg(h, n, l, v);
  // Counts the events of a batch given up, in the next batch. The batch's own
  // dropped-events counts are carried over, not lost (nor counted as events).
  const drop = safe((reason, e, n = 0) => {
    if (on('dropped')) {
      for (const x of JSON.parse(e[0]).events) x.metricName == DROPPED ? agg(0, DROPPED, x.labels, x.inc) : n++;
      n && agg(0, DROPPED, { reason }, n);
    }
  });
  const push = (e) => {
    q.push(e);
    while (q.length > max) drop('queue_full', q.shift());
  };
  const send = (e) =>
    (e[1] = new Promise((r) => r(F(url, { method: 'POST', body: e[0], keepalive: true }))).then(
      (r) => r.status,
      () => 0
    )).then(
      safe((s, i) => {
        e[1] = 0;
        if ((s = outcome(s))) {
          fails = 0;
          (i = q.indexOf(e)) < 0 || (q.splice(i, 1), s > 1 && drop(s > 2 ? 'too_old' : 'send_failed', e));
        } else timer ||= live && g.setTimeout(safe(() => ((timer = 0), pump())), backoff(fails++, Math.random()));
        pump();
      })
    );
  const pump = () => q.some((e) => e[1]) || (live && q[0] && !timer && !(q[0][2] && hidden()) && send(q[0]));
  const hidden = () => d.visibilityState == 'hidden';
  const tick = (hb) => {
    const ev = take();
    if (ev.length || (hb && o.heartbeat !== false && !q.length && !hidden()))
      split(ev).map((p) => push([body(id, seq++, p)]));
  };
  // returns the promises of the entries in flight and of the sends
  const all = (beacon) => {
    tick();
    return q.slice().map((e) => {
      if (e[1]) return e[1];
      if (beacon && (e[2] || run(() => g.navigator.sendBeacon(url, e[0])))) return (e[2] = 1);
      return send(e);
    });
  };
  const hide = () => {
    all(1);
    run(() => g.sessionStorage.setItem(key, JSON.stringify(q)));
  };
  const listen = safe((t, type, f) => {
    t.addEventListener(type, (f = safe(f)));
    offs.push(() => t.removeEventListener(type, f));
  });

  run(() => {
    const v = JSON.parse(g.sessionStorage.getItem(key)).map((e) => [e[0]]);
    g.sessionStorage.removeItem(key);
    v.map(push);
  });
  listen(d, 'visibilitychange', () => (hidden() ? hide() : run(() => g.sessionStorage.removeItem(key))));
  listen(g, 'pagehide', hide);
  run(() => {
    const iv = g.setInterval(safe(() => (tick(1), pump())), o.interval > 0 ? o.interval : 1e4);
    offs.push(() => g.clearInterval(iv));
  });
  on('pageViews') && add(0, 'browser_page_views_total', 0, 1);
  run(() => webVitals(add, on('webVitals'), (e) => navigation(e, add, on('pageLoad'), on('navigation'))));
  // browser_errors_total{kind}: see "Errors" above
  on('errors') && ['error', 'unhandledrejection'].map((k) => listen(g, k, () => add(0, 'browser_errors_total', { kind: k }, 1)));
  au.api && run(() => offs.push(api(g, au.api.hosts, add)));
  run(pump);

  const increment = safe((n, l, by) => add(0, n, l, by ?? 1));
  const observe = safe((n, l, v) => add(1, n, l, v));
  return {
    counter: (n) => ({ increment: (l, by) => increment(n, l, by) }),
    histogram: (n) => ({ observe: (v, l) => observe(n, l, v) }),
    increment,
    observe,
    flush: () => Promise.all(run(all) || []).then(() => {}),
    stop: safe(() => {
      live = 0;
      offs.splice(0).map(run);
      run(() => g.clearTimeout(timer));
    }),
  };
};
