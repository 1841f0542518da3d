import { safe } from '../safe.js';

/** The method label: upper-cased; none is GET; outside GET POST PUT PATCH DELETE HEAD OPTIONS it is OTHER. */
export const methodLabel = (m) =>
  /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/.test((m = ('' + (m || 'GET')).toUpperCase())) ? m : 'OTHER';

/** The status_class label: 2xx, 3xx, 4xx, 5xx; anything else (0: no response) is network_error. */
export const statusClass = (s) => (s > 199 && s < 600 ? ((s / 100) | 0) + 'xx' : 'network_error');

/**
 * browser_api_request_duration_seconds{host, method, status_class} for fetch
 * and XMLHttpRequest calls whose URL (resolved against the page) has a host
 * (URL.host: hostname, and :port when not the default) listed in `hosts`.
 *
 * fetch: from the call until the promise settles: resolved with a response
 * (its status; an opaque no-cors response, status 0, is not measured) or
 * rejected (network_error). XMLHttpRequest: from open() until 'loadend'
 * (status 0, that is a network error, an abort or a timeout: network_error).
 * An XMLHttpRequest re-opened before it was sent is counted once per open().
 *
 * The wrappers call the originals with the same `this` and arguments and
 * return what they return (fetch: a promise settling with the same response
 * or the same rejection reason; a rejection nobody handles is still reported
 * as unhandled); whatever the original throws is thrown unchanged. Returns
 * the uninstall function: it puts the originals back if nobody has wrapped
 * them since, and otherwise leaves the wrappers in place as pass-throughs.
 */
export const api = (g, hosts, add) => {
  let live = 1;
  const F = g.fetch;
  const P = (g.XMLHttpRequest || 0).prototype || {};
  const O = P.open;
  const now = () => g.performance.now();
  // for a request to measure, the function that records it given its status; else undefined
  const meta = safe(
    (i, m, h, t = now()) =>
      live &&
      hosts.includes((h = new URL(i.url || i, g.location.href).host)) &&
      safe((s) =>
        add(1, 'browser_api_request_duration_seconds', { host: h, method: methodLabel(m || i.method), status_class: statusClass(s) }, (now() - t) / 1e3)
      )
  );
  const f = function fetch(i, o) {
    const x = meta(i, o && o.method);
    const p = F.apply(this, arguments);
    return x && p.then
      ? p.then(
          (r) => (r.status && x(r.status), r),
          (e) => {
            throw (x(0), e);
          }
        )
      : p;
  };
  const o = function open(m, u) {
    const r = O.apply(this, arguments);
    let x = meta(u, m);
    x &&
      this.addEventListener('loadend', () => {
        x && x(this.status);
        x = 0;
      });
    return r;
  };
  F && (g.fetch = f);
  O && (P.open = o);
  return () => {
    live = 0;
    g.fetch == f && (g.fetch = F);
    P.open == o && (P.open = O);
  };
};
