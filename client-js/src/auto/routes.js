// @ts-check
import { safe, wrap } from '../safe.js';

/**
 * @typedef {import('../client.js').Feature} Feature
 * @typedef {import('../../pum.js').Options} Options
 */

/** The route of every URL that no pattern matches (or that the function refuses). */
export const OTHER = 'other';
const SOFT = 'browser_soft_navigations_total';
const LCP = 'browser_web_vitals_lcp_seconds';
const ROUTE_LCP = 'browser_route_web_vitals_lcp_seconds';

/**
 * The route of a URL, from options.routes:
 * - an array of patterns, tried in order; the first that matches is the
 *   route (the pattern itself is the label value). A pattern is matched
 *   against the URL's path, or, when it starts with '#', against its hash
 *   (hash routers: '#/users/:id'). Within it, ':name' matches one segment
 *   (one or more characters other than '/'), '*' matches anything
 *   (including '/', or nothing; '/docs/*' also matches '/docs'), everything
 *   else matches itself; a trailing '/' in the URL is ignored. Query
 *   strings never take part.
 * - a function from the URL (a URL object) to the route: what it returns,
 *   when it is a non-empty string; else (or when it throws) 'other'.
 * Any URL no pattern matches is 'other', so the label's values are the
 * patterns and 'other': bounded whatever the URLs are.
 *
 * @param {NonNullable<Options['routes']>} routes
 * @returns {(href: string) => string}
 */
export function router(routes) {
  if (typeof routes == 'function') {
    return (href) => {
      try {
        const route = routes(new URL(href));
        if (typeof route == 'string' && route) return route;
      } catch {
        // a throwing function: 'other'
      }
      return OTHER;
    };
  }
  const compiled = /** @type {unknown[]} */ ([].concat(/** @type {any} */ (routes))).map((pattern) => {
    const p = '' + pattern;
    const source = p
      .split(/(:[^/]+|\*)/)
      .map((part, i) => (i % 2 ? (part == '*' ? '.*' : '[^/]+') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    // a trailing '/' is optional, and so is a trailing '/*' as a whole
    const tail = /\/\.\*$/.test(source) ? '(/.*)?' : '/?';
    return { p, hash: p[0] == '#', re: new RegExp('^' + source.replace(/\/(\.\*)?$/, '') + tail + '$') };
  });
  return (href) => {
    const url = new URL(href);
    for (const { p, hash, re } of compiled) if (re.test(hash ? url.hash.split('?')[0] : url.pathname)) return p;
    return OTHER;
  };
}

/**
 * Single-page apps (options.routes): counts the page's soft navigations in
 * browser_soft_navigations_total{route} by the route of the URL navigated
 * to: history.pushState, history.replaceState when the path changes (a
 * replaceState that only rewrites the query or the hash is no
 * navigation), popstate (back, forward) and hashchange. One navigation is
 * counted once: a change of the URL is what is counted, so a hash
 * traversal (popstate, then hashchange) counts 1, and a pushState to the
 * current URL counts 0. The initial page load is not a soft navigation
 * (browser_page_views_total counts it).
 *
 * Web Vitals by route, in browser_route_web_vitals_lcp_seconds{route}
 * (the label-less browser_web_vitals_* families stay as they are):
 * - the landing page's LCP, as web-vitals reports it, with the route of the
 *   URL the page was loaded at;
 * - the LCP of each soft navigation, where the browser reports soft
 *   navigations (Chromium's 'soft-navigation' and
 *   'interaction-contentful-paint' performance entries, on by default in
 *   Chromium 156): the time from the interaction that started the soft
 *   navigation to the largest paint of that navigation, with the route of
 *   the URL it went to. A soft navigation's value is reported when the next
 *   one starts and when the page is hidden. Elsewhere (Firefox, Safari,
 *   older Chromium) soft navigations are counted, and have no LCP.
 * INP, CLS, FCP and TTFB are not reported by route.
 *
 * history.pushState and replaceState are wrapped invisibly (same this,
 * arguments, result and exceptions); stop() puts them back when nobody
 * wrapped them since.
 *
 * @type {Feature}
 */
export const routes = (o, recorder, env, listen, cleanups) => {
  if (!o.routes) return;
  const route = router(o.routes);
  const location = env.location;
  let last = location.href;
  let lastPath = location.pathname;
  const landing = route(last);
  const observe = recorder.record;
  recorder.record = (name, labels, value) => {
    observe(name, labels, value);
    if (name == LCP) observe(ROUTE_LCP, { route: landing }, value);
  };

  /** @param {boolean} [replace] a replaceState: only a new path counts */
  const navigated = (replace) => {
    const href = location.href;
    if (replace ? location.pathname != lastPath : href != last) recorder.count(SOFT, { route: route(href) }, 1);
    last = href;
    lastPath = location.pathname;
  };
  const safeNavigated = safe(navigated);
  for (const method of ['pushState', 'replaceState']) {
    cleanups.push(
      wrap(
        env.history,
        method,
        (original) =>
          /** @this {unknown} */
          function () {
            const result = original.apply(this, arguments);
            safeNavigated(method == 'replaceState');
            return result;
          },
      ),
    );
  }
  listen(env, 'popstate', () => navigated());
  listen(env, 'hashchange', () => navigated());

  // Soft-navigation LCP. The browser may report a navigation's paints
  // before the navigation itself: both are kept by navigationId until the
  // navigation is reported.
  /** @type {Map<number, [string, number]>} navigationId -> [route, start] */
  const softs = new Map();
  /** @type {Map<number, number>} navigationId -> the latest largest paint */
  const paints = new Map();
  const report = () => {
    for (const [id, [softRoute, start]] of softs) {
      const paint = /** @type {number} */ (paints.get(id));
      if (paint >= start) observe(ROUTE_LCP, { route: softRoute }, (paint - start) / 1000);
      paints.delete(id);
    }
    softs.clear();
  };
  /** @param {any} entry */
  const onSoft = (entry) => {
    report();
    softs.set(entry.navigationId, [route(entry.name), entry.startTime]);
  };
  /** @param {any} entry */
  const onPaint = (entry) => {
    const lcp = entry.largestContentfulPaint;
    paints.set(entry.navigationId, lcp ? lcp.startTime : entry.startTime + entry.duration);
  };
  /**
   * @param {string} type
   * @param {(entry: any) => void} each
   */
  const watch = (type, each) => {
    const observer = new PerformanceObserver(safe((list) => list.getEntries().forEach(each)));
    observer.observe({ type, buffered: true });
    cleanups.push(() => observer.disconnect());
    return () => observer.takeRecords().forEach(each);
  };
  const types = PerformanceObserver.supportedEntryTypes;
  if (types.includes('soft-navigation') && types.includes('interaction-contentful-paint')) {
    const pendingPaints = watch('interaction-contentful-paint', onPaint);
    const pendingSofts = watch('soft-navigation', (entry) => {
      pendingPaints();
      onSoft(entry);
    });
    // Capture phase on window: before pum's own listener sends the batch.
    const onHidden = safe(() => {
      if (env.document.visibilityState == 'hidden') {
        pendingPaints();
        pendingSofts();
        report();
        paints.clear();
      }
    });
    env.addEventListener('visibilitychange', onHidden, true);
    cleanups.push(() => env.removeEventListener('visibilitychange', onHidden, true));
  }
};
