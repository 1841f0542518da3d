// @ts-check
import { onCLS, onFCP, onINP, onLCP } from 'web-vitals';
import { safe, wrap } from '../safe.js';
import { METRICS } from './web-vitals.js';

/**
 * @typedef {import('../client.js').Feature} Feature
 * @typedef {import('../../pum.js').Options} Options
 */

/** The route of every URL that no pattern matches (or that the function refuses). */
export const OTHER = 'other';
const SOFT = 'browser_soft_navigations_total';

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
 * Web Vitals by route, in browser_route_web_vitals_lcp_seconds,
 * _inp_seconds, _cls and _fcp_seconds{route} (the label-less
 * browser_web_vitals_* families stay as they are: the page load's), from
 * web-vitals 6 with `reportSoftNavs` (never measured by hand), each with
 * the route of the URL it was measured for (web-vitals' navigationURL):
 * - the landing page's, with the route of the URL the page was loaded at;
 * - each soft navigation's, where the browser reports soft navigations
 *   (Chromium 151 and later, so Debian's 156: 'soft-navigation' entries):
 *   LCP and FCP from the interaction that started it to its largest and
 *   first contentful paint, and CLS and INP of what happened until the
 *   next soft navigation. The landing page's CLS and INP are therefore
 *   those until the first soft navigation. web-vitals reports a
 *   navigation's values when the next one starts and when the page is
 *   hidden. Elsewhere (Firefox, Safari) soft navigations are counted and
 *   only the landing page has Web Vitals by route.
 * TTFB is not reported by route (web-vitals gives 0 for a soft
 * navigation). Nothing by route when auto.webVitals is false.
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
  const landing = location.href;
  let last = landing;
  let lastPath = location.pathname;

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

  if (o.auto?.webVitals === false) return;
  // reportSoftNavs: a metric of its own for each soft navigation (see above);
  // METRICS' order: LCP, INP, CLS (no unit), FCP
  /** @type {((report: (metric: {value: number, navigationURL?: string}) => void, opts: object) => void)[]} */ ([
    onLCP,
    onINP,
    onCLS,
    onFCP,
  ]).forEach((on, i) => {
    // safe(on): web-vitals throws where the browser lacks PerformanceObserver
    safe(on)(
      safe((metric) =>
        recorder.record(
          'browser_route_web_vitals_' + METRICS[i],
          { route: route(metric.navigationURL || landing) },
          i == 2 ? metric.value : metric.value / 1000,
        ),
      ),
      { reportSoftNavs: true },
    );
  });
};
