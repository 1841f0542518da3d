// @ts-check
import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals';
import { safe } from '../safe.js';

/**
 * @typedef {import('../aggregator.js').Recorder} Recorder
 * @typedef {import('./navigation.js').NavigationEntry} NavigationEntry
 * @typedef {(report: (metric: {value: number, entries: unknown[]}) => void) => void} Subscribe
 *   the shape of web-vitals' onLCP, onINP...
 */

/**
 * The metric of each web-vitals function, in the order of `subscribe` below.
 * web-vitals reports times in milliseconds, and Prometheus' convention is
 * seconds; CLS has no unit. routes.js uses the first four, in this order.
 */
export const METRICS = ['lcp_seconds', 'inp_seconds', 'cls', 'fcp_seconds', 'ttfb_seconds'];

/**
 * Core Web Vitals from the web-vitals library (never measured by hand: its
 * authors track the browsers' corner cases), when `vitals`. LCP, CLS and INP
 * are reported when the page is hidden, from web-vitals' capture-phase
 * visibilitychange listener on window, that is before pum's own listener
 * sends them.
 *
 * The TTFB report also hands its navigation entry to `onNavigationEntry`
 * (for the page load and its phases), so onTTFB is subscribed even when the
 * vitals are off: it is the one moment pum knows the load event has ended.
 *
 * @param {Recorder} recorder
 * @param {boolean} vitals
 * @param {(entry: NavigationEntry | undefined) => void} onNavigationEntry
 * @param {Subscribe[]} subscribe replaces the library's functions in tests
 */
export const webVitals = (recorder, vitals, onNavigationEntry, subscribe = [onLCP, onINP, onCLS, onFCP, onTTFB]) => {
  // their indexes in METRICS (local: esbuild inlines local constants, not module-level ones)
  const CLS = 2;
  const TTFB = 4;
  subscribe.forEach((on, i) => {
    // safe(on): web-vitals throws where the browser lacks PerformanceObserver
    if (vitals || i == TTFB) {
      safe(on)(
        safe((/** @type {{value: number, entries: unknown[]}} */ metric) => {
          if (vitals)
            recorder.record('browser_web_vitals_' + METRICS[i], {}, i == CLS ? metric.value : metric.value / 1000);
          if (i == TTFB) onNavigationEntry(/** @type {NavigationEntry} */ (metric.entries[0]));
        }),
      );
    }
  });
};
