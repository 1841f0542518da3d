import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals';
import { safe } from '../safe.js';

/**
 * Core Web Vitals from the web-vitals library (never measured by hand), as
 * web-vitals reports them: browser_web_vitals_lcp_seconds, _inp_seconds,
 * _fcp_seconds, _ttfb_seconds (milliseconds / 1000) and
 * browser_web_vitals_cls (unitless), when `vitals`. LCP, CLS and INP are
 * reported when the page is hidden, from web-vitals' capture-phase
 * visibilitychange listener on window, that is before pum's own listener
 * sends. The TTFB report also hands its navigation entry to `nav` (the page
 * load and its phases). `fns` replaces the library's functions in tests.
 */
export const webVitals = (add, vitals, nav, fns = [onLCP, onINP, onCLS, onFCP, onTTFB]) =>
  fns.map(
    (f, i) =>
      (vitals || i > 3) &&
      safe(f)(
        safe((m) => {
          vitals && add(1, 'browser_web_vitals_' + ['lcp_seconds', 'inp_seconds', 'cls', 'fcp_seconds', 'ttfb_seconds'][i], 0, i == 2 ? m.value : m.value / 1e3);
          i > 3 && nav(m.entries[0]);
        })
      )
  );
