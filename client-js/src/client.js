// @ts-check
// The imports' order is the bundle's: this one gzips best (pum.core.js 8 to
// 16 bytes smaller than other orders), the aggregator next to the client.
import { webVitals } from './auto/web-vitals.js';
import { navigation } from './auto/navigation.js';
import { body, split } from './batch.js';
import { backoff, outcome } from './transport.js';
import { api } from './auto/api.js';
import { attempt, safe } from './safe.js';
import { createAggregator } from './aggregator.js';

/**
 * @typedef {import('../pum.js').Options} Options
 * @typedef {import('../pum.js').Client} Client
 * @typedef {import('../pum.js').Labels} Labels
 * @typedef {import('./aggregator.js').Recorder} Recorder
 *
 * The part of the window a client uses; tests pass a fake.
 * @typedef {Pick<Window & typeof globalThis, 'fetch' | 'navigator' | 'document' | 'sessionStorage' | 'location' |
 *   'crypto' | 'performance' | 'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval' | 'addEventListener' |
 *   'removeEventListener' | 'console' | 'history'> & {XMLHttpRequest?: {prototype: XMLHttpRequest}}} Env
 *
 * One batch waiting for its acknowledgement: a one-element array [body],
 * the layout the session buffer keeps (see below), so that the queue is
 * saved as it is (JSON.stringify leaves out the other properties). The body
 * has its client id and seq: a retry sends exactly this, so the server can
 * tell it has it already.
 * @typedef {[string] & {inFlight?: Promise<unknown> | 0, beaconed?: boolean}} Entry
 *   inFlight: the send under way (0 or none when there is none); beaconed: handed to sendBeacon (see
 *   "Beacons" below)
 *
 * An optional feature (src/auto/legacy-timing.js, src/auto/routes.js): the
 * IIFE builds pass the ones they include. Called once, while the client
 * starts (a sampled-out page calls none), with the options, the recorder
 * (whose `record` it may wrap), the window, and a way to listen to events
 * and to register what stop() must undo.
 * @typedef {(o: Options, recorder: Recorder, env: Env, listen: Listen, cleanups: (() => void)[]) => void} Feature
 * @typedef {(target: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>, type: string, listener: () => void) => void} Listen
 */

/**
 * createClient(options, g): one pum client; see pum.d.ts for the options
 * and the methods. `g` is the global object: window by default.
 *
 * The queue holds the unacknowledged batches, oldest first; at most
 * maxQueue of them (an overflow drops the oldest: queue_full), since the
 * server only de-duplicates seqs within a window behind a client's highest.
 *
 * - tick(): the aggregated events are split into parts under 64 KiB; each
 *   part gets the next seq and joins the queue. Every `interval` ms the tick
 *   makes an empty batch (the heartbeat) when heartbeat is on, the page is
 *   visible and nothing else is queued, then pumps.
 * - pump(): when nothing is in flight and no backoff is pending, sends the
 *   oldest entry. One at a time, so that the server sees a client's seqs in
 *   order and never one more than maxQueue ahead of an unacknowledged one.
 * - send(): fetch POST, keepalive (it may outlive the page), a string body
 *   (text/plain: a simple request, no CORS preflight). See transport.js for
 *   what an answer means; a batch to retry stays in the queue, the queue
 *   waits backoff() before the next attempt, which sends the same body
 *   (same client and seq).
 * - sendAll(beacon): a tick, then sends every entry not in flight at once,
 *   in parallel, ignoring the backoff (the page may be going away): with
 *   navigator.sendBeacon when `beacon` (when sendBeacon is missing, throws
 *   or returns false, with send()). flush() is sendAll(false); on
 *   visibilitychange to hidden and on pagehide, sendAll(true), then the
 *   whole queue is saved to sessionStorage, which the next client for the
 *   same url in this tab takes over and sends first.
 *
 * Beacons: a beacon has no answer, so the browser may accept it and the
 * server still fail (503 in an outage). A beaconed entry is therefore KEPT:
 * it is not beaconed twice, it is saved with the rest, and once the page is
 * visible again pump() resends it by fetch with the same (client, seq); the
 * server acknowledges it again if the beacon got through, or applies it
 * now. Back to visible, the saved copy is removed from sessionStorage.
 *
 * The session buffer: unacknowledged batches outlive the page in
 * sessionStorage (the tab's session; never localStorage, never cookies:
 * nothing that could follow a user), under the key 'pum:' + url, as a JSON
 * array of one-element arrays [body] (the layout of earlier versions, so a
 * tab keeps its batches across an update of pum.js). The queue is stored
 * whenever the page is hidden or unloaded, and taken out (and removed) when
 * the next client for that url starts in the same tab. The bodies keep
 * their own client id and seq, so a batch that was delivered after all is
 * only acknowledged again by the server, not counted twice. A storage
 * failure (disabled, quota, SecurityError, bad JSON) just means nothing is
 * kept.
 *
 * The client id is random and new for every client (every page load): 128
 * bits from crypto.getRandomValues, four 32-bit numbers in decimal joined
 * by '-', at most 43 characters of [0-9-] (the server takes 1-64
 * characters of [A-Za-z0-9_-]); without Web Crypto, the digits of
 * Math.random(). It identifies no user and is kept nowhere but in the page (and,
 * inside unsent batches, in the tab's sessionStorage).
 *
 * Debug mode (options.debug): every answer other than 204 — a 200 whose
 * `rejected` list names the events the allowlist refused ({index, reason}),
 * a 4xx or a 5xx — is shown with one console.warn: the url, the status, the
 * answer (or {} when it has no JSON body) and the batch's events, so that
 * `events[index]` is the refused event with its metric name. A page author
 * sees at once why a metric never shows up (the server counts the same
 * rejections in pum_ingest_events_rejected_total{reason}). Beacons have no
 * answer and show nothing. Without debug, pum.js never writes to the
 * console. (The size budget is why the warning prints the events beside the
 * answer rather than joining each rejection to its event.)
 *
 * Sampling (options.sampleRate r, 0 < r <= 1; anything else is 1): with
 * N = round(1/r) > 1, a tab's session is sampled in with probability 1/N
 * (so that N x what is sent is unbiased; r = 0.3 samples 1 in 3). The
 * decision is a random number u in [0, 1) drawn once per session and kept
 * in sessionStorage under 'pum:sample' (every page of the tab agrees, and a
 * page with another rate reuses the same u); in when u * N < 1. Without
 * sessionStorage each page draws its own. A sampled-in page's batches carry
 * "sample": N (the server multiplies what they add by N); a sampled-out
 * page records nothing, listens to nothing and sends nothing.
 *
 * Errors: browser_errors_total{kind} counts the window's 'error' events
 * (uncaught exceptions; resource load errors do not bubble to window and are
 * not counted) and 'unhandledrejection' events. The event name is the kind.
 *
 * @param {Options} [options]
 * @param {Env} [g]
 * @param {Feature[]} [features] the optional features to run (none by default)
 * @returns {Client}
 */
export const createClient = (options, g, features) => {
  const o = options || {};
  const env = /** @type {Env} */ (g || globalThis);
  const auto = o.auto || {};
  /** @param {Exclude<keyof NonNullable<Options['auto']>, 'api'>} name */
  const isOn = (name) => auto[name] !== false;
  const url = o.url || '/record';
  const storageKey = 'pum:' + url;
  const maxQueue = Math.min(/** @type {number} */ (o.maxQueue) > 0 ? /** @type {number} */ (o.maxQueue) : 32, 48);
  // Taken before auto.api wraps fetch: pum's own posts are never measured.
  const post = env.fetch;
  const aggregator = createAggregator();
  /** @type {Entry[]} */
  const queue = [];
  /** what stop() undoes: listeners, timers, the fetch/XHR wrappers */
  const cleanups = /** @type {(() => void)[]} */ ([]);
  const clientId =
    attempt(() => env.crypto.getRandomValues(new Uint32Array(4)).join('-')) || ('' + Math.random()).slice(2);
  let seq = 0;
  const rate = /** @type {number} */ (o.sampleRate);
  // N: how many sessions a sampled-in page stands for (1: no sampling), at
  // most the server's 10000
  const sample = rate > 0 && rate <= 1 ? Math.min(Math.round(1 / rate), 1e4) : 1;
  // Sampled in with probability 1/N, decided once per tab session (see
  // above). Storage's named properties are its items.
  let live =
    sample < 2 ||
    (attempt(() => +(/** @type {any} */ (env.sessionStorage['pum:sample'] ??= Math.random()))) ?? Math.random()) *
      sample <
      1;
  /** the pending backoff timer; 0 when none */
  let backoffTimer = 0;
  /** sends in a row without an answer, for the backoff */
  let failures = 0;

  /** The page's measurements: nothing once stopped (or sampled out). @type {Recorder} */
  const recorder = {
    count: (name, labels, by) => live && aggregator.count(name, labels, by),
    record: (name, labels, value) => live && aggregator.record(name, labels, value),
  };

  const isHidden = () => env.document.visibilityState == 'hidden';

  /**
   * Counts the events of a batch given up, in the next batch. The batch's
   * own dropped-events counts are carried over (not lost, and not counted
   * as dropped events themselves). Even after stop(): the events were
   * recorded while the client was live.
   */
  const drop = safe((/** @type {string} */ reason, /** @type {Entry} */ entry) => {
    if (!isOn('dropped')) return;
    // local: esbuild inlines local constants, not module-level ones
    const DROPPED = 'browser_client_dropped_events_total';
    let count = 0;
    for (const event of JSON.parse(entry[0]).events) {
      if (event.metricName == DROPPED) aggregator.count(DROPPED, event.labels, event.inc);
      else count++;
    }
    if (count) aggregator.count(DROPPED, { reason }, count);
  });

  /** @param {string} body */
  const enqueue = (body) => {
    queue.push([body]);
    while (queue.length > maxQueue) drop('queue_full', /** @type {Entry} */ (queue.shift()));
  };

  /**
   * @param {Entry} entry
   * @returns {Promise<unknown>} settles once the answer is handled
   */
  const send = (entry) =>
    (entry.inFlight = new Promise((resolve) => resolve(post(url, { method: 'POST', body: entry[0], keepalive: true })))
      // the Response; undefined when there was none (a network error)
      .catch(() => {})
      .then(
        safe((/** @type {Response | void} */ response) => {
          entry.inFlight = 0;
          const status = response ? response.status : 0;
          // 1: retry; 0: done; otherwise the reason it is dropped for
          const result = outcome(status);
          if (result == 1) {
            // One timer for the whole queue: the next attempt is whatever is oldest then.
            if (!backoffTimer && live) {
              backoffTimer = env.setTimeout(
                safe(() => {
                  backoffTimer = 0;
                  pump();
                }),
                backoff(failures++, Math.random()),
              );
            }
          } else {
            failures = 0;
            const i = queue.indexOf(entry);
            // not there: dropped as queue_full meanwhile
            if (i >= 0) {
              queue.splice(i, 1);
              if (result) drop(result, entry);
            }
          }
          pump();
          // Debug mode (see above), last: should it throw, only the warning is lost.
          if (o.debug && status && status != 204) {
            /** @type {Response} */ (response)
              .json()
              .catch(() => ({}))
              .then(safe((answer) => env.console.warn('pum:', url, status, answer, JSON.parse(entry[0]).events)));
          }
        }),
      ));

  const pump = () => {
    if (queue.some((entry) => entry.inFlight)) return;
    const oldest = queue[0];
    // A beaconed batch is resent only once the page is visible again: while
    // hidden the beacon may still be on its way, and the page may be gone.
    if (live && oldest && !backoffTimer && !(oldest.beaconed && isHidden())) send(oldest);
  };

  /** @param {boolean} heartbeat */
  const tick = (heartbeat) => {
    const events = aggregator.take();
    if (events.length || (heartbeat && o.heartbeat !== false && !queue.length && !isHidden())) {
      for (const part of split(events)) enqueue(body(clientId, seq++, part, sample));
    }
  };

  /**
   * @param {boolean} beacon
   * @returns {(Promise<unknown> | boolean)[]} the sends under way, to wait for
   */
  const sendAll = (beacon) => {
    tick(false);
    return queue.slice().map((entry) => {
      if (entry.inFlight) return entry.inFlight;
      if (beacon && (entry.beaconed || attempt(() => env.navigator.sendBeacon(url, entry[0])))) {
        return (entry.beaconed = true);
      }
      return send(entry);
    });
  };

  const onHide = () => {
    sendAll(true);
    attempt(() => env.sessionStorage.setItem(storageKey, JSON.stringify(queue)));
  };

  /** @type {Listen} */
  const listen = (target, type, listener) => {
    const guarded = safe(listener);
    attempt(() => {
      target.addEventListener(type, guarded);
      cleanups.push(() => target.removeEventListener(type, guarded));
    });
  };

  // A sampled-out page does nothing at all: no listener, no timer, no send.
  if (live) {
    cleanups.push(() => env.clearTimeout(backoffTimer));
    // The previous page's unsent batches go first: they are older.
    attempt(() => {
      const saved = /** @type {string[][]} */ (
        JSON.parse(/** @type {string} */ (env.sessionStorage.getItem(storageKey)))
      );
      const bodies = saved.map((entry) => entry[0]);
      env.sessionStorage.removeItem(storageKey);
      bodies.forEach(enqueue);
    });
    listen(env.document, 'visibilitychange', () => {
      if (isHidden()) onHide();
      else attempt(() => env.sessionStorage.removeItem(storageKey));
    });
    listen(env, 'pagehide', onHide);
    attempt(() => {
      const interval = env.setInterval(
        safe(() => {
          tick(true);
          pump();
        }),
        /** @type {number} */ (o.interval) > 0 ? o.interval : 10000,
      );
      cleanups.push(() => env.clearInterval(interval));
    });
    if (isOn('pageViews')) recorder.count('browser_page_views_total', {}, 1);
    // never throws: each subscription is safe
    webVitals(recorder, isOn('webVitals'), (entry) =>
      navigation(entry, recorder, isOn('pageLoad'), isOn('navigation')),
    );
    if (isOn('errors')) {
      for (const kind of ['error', 'unhandledrejection']) {
        listen(env, kind, () => recorder.count('browser_errors_total', { kind }, 1));
      }
    }
    for (const feature of features || []) attempt(() => feature(o, recorder, env, listen, cleanups));
    const apiOption = auto.api;
    if (apiOption) attempt(() => api(env, apiOption.hosts, recorder, cleanups));
    attempt(pump);
  }

  const increment = safe(
    (/** @type {string} */ name, /** @type {Labels | undefined} */ labels, /** @type {number | undefined} */ by) =>
      recorder.count(name, labels, by ?? 1),
  );
  const observe = safe(recorder.record);
  return {
    counter: (name) => ({ increment: (labels, by) => increment(name, labels, by) }),
    histogram: (name) => ({ observe: (value, labels) => observe(name, labels, value) }),
    increment,
    observe,
    // nothing once stopped (or sampled out): stop() promises that nothing more is sent
    flush: () => Promise.all((live && attempt(() => sendAll(false))) || []).then(() => {}),
    stop: safe(() => {
      live = false;
      cleanups.splice(0).forEach(attempt);
    }),
  };
};
