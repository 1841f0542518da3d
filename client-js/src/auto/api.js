// @ts-check
import { safe, wrap } from '../safe.js';

/** @typedef {import('../aggregator.js').Recorder} Recorder */

const METHODS = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/;

/**
 * The method label: upper-cased; none is GET; outside GET POST PUT PATCH
 * DELETE HEAD OPTIONS it is OTHER, so that a page cannot grow the label's
 * values without bound.
 *
 * @param {unknown} method
 */
export const methodLabel = (method) => {
  const upper = ('' + (method || 'GET')).toUpperCase();
  return METHODS.test(upper) ? upper : 'OTHER';
};

/**
 * The status_class label: 2xx, 3xx, 4xx, 5xx; anything else (0: no
 * response) is network_error.
 *
 * @param {number} status
 */
export const statusClass = (status) => (status >= 200 && status < 600 ? ((status / 100) | 0) + 'xx' : 'network_error');

/**
 * @typedef {object} ApiGlobal the part of the window that api() uses
 * @property {typeof fetch} [fetch]
 * @property {{prototype: XMLHttpRequest}} [XMLHttpRequest]
 * @property {{now(): number}} performance
 * @property {{href: string}} location
 */

/**
 * browser_api_request_duration_seconds{host, method, status_class} for
 * fetch and XMLHttpRequest calls whose URL (resolved against the page) has
 * a host (URL.host: hostname, and :port when not the default) listed in
 * `hosts`. Only listed hosts: a page calls many third parties, and each
 * would be a new label value.
 *
 * fetch: from the call until the promise settles: resolved with a response
 * (its status; an opaque no-cors response, status 0, is not measured since
 * its status is unknown) or rejected (network_error). XMLHttpRequest: from
 * open() until 'loadend' (status 0, that is a network error, an abort or a
 * timeout: network_error). An XMLHttpRequest re-opened before it was sent
 * is counted once per open().
 *
 * The wrappers must be invisible to the page: they call the originals with
 * the same `this` and arguments and return what they return (fetch: a
 * promise settling with the same response or the same rejection reason; a
 * rejection nobody handles is still reported as unhandled); whatever the
 * original throws is thrown unchanged.
 *
 * Returns the uninstall function: it puts the originals back if nobody has
 * wrapped them since, and otherwise leaves the wrappers in place as
 * pass-throughs (unwrapping would also remove the later wrapper). A wrapper
 * left in place still hands its timings to `recorder`: the client's, which
 * drops everything once the client is stopped (one liveness flag, there).
 *
 * @param {ApiGlobal} g
 * @param {string[]} hosts
 * @param {Recorder} recorder
 * @param {(() => void)[]} cleanups gets the uninstall functions
 */
export const api = (g, hosts, recorder, cleanups) => {
  /**
   * Starts measuring one request: the function that records it given its
   * status, or undefined when it is not to be measured.
   */
  const start = safe((/** @type {any} */ input, /** @type {unknown} */ method) => {
    const startedAt = g.performance.now();
    const host = new URL(input.url || input, g.location.href).host;
    if (!hosts.includes(host)) return undefined;
    return safe((/** @type {number} */ status) => {
      recorder.record(
        'browser_api_request_duration_seconds',
        { host, method: methodLabel(method || input.method), status_class: statusClass(status) },
        (g.performance.now() - startedAt) / 1000,
      );
    });
  });

  cleanups.push(
    wrap(
      g,
      'fetch',
      (original) =>
        /**
         * @this {unknown}
         * @param {RequestInfo | URL} input
         * @param {RequestInit} [init]
         */
        function (input, init) {
          const finish = start(input, init?.method);
          const result = original.apply(this, arguments);
          if (!finish || !result.then) return result;
          return result.then(
            (/** @type {Response} */ response) => {
              if (response.status) finish(response.status);
              return response;
            },
            (/** @type {unknown} */ reason) => {
              finish(0);
              throw reason;
            },
          );
        },
    ),
    wrap(
      g.XMLHttpRequest?.prototype || {},
      'open',
      (original) =>
        /**
         * @this {XMLHttpRequest}
         * @param {string} method
         * @param {string | URL} url
         */
        function (method, url) {
          const result = original.apply(this, arguments);
          let finish = start(url, method);
          if (finish) {
            this.addEventListener('loadend', () => {
              finish?.(this.status);
              finish = undefined;
            });
          }
          return result;
        },
    ),
  );
};
