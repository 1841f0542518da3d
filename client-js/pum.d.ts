// TypeScript declarations of pum-client, the browser client of pum
// (Prometheus User Monitoring). `import { createClient } from 'pum-client'`.

/** Label names to label values. Values are sent as strings (String(v)). */
export type Labels = Record<string, string | number | boolean>;

/** Options of {@link createClient}; every one is optional. */
export interface Options {
  /**
   * Where batches are POSTed (fetch, sendBeacon). Default `'/record'`
   * (relative to the page). The IIFE build (pum.js) defaults to `/record` on
   * the origin pum.js was loaded from, or `aggregatorServerRoot + '/record'`
   * with the seed's snippet.
   */
  url?: string;
  /** Milliseconds between two sends while the page is open. Default `10000`. */
  interval?: number;
  /**
   * Send an empty batch every interval while the page is visible and nothing
   * else is waiting, so that `rate(pum_reports_total[5m]) * interval_seconds`
   * estimates the open pages. Default `true`.
   */
  heartbeat?: boolean;
  /**
   * The most unacknowledged batches kept for retries. Default `32`; values
   * above 48 are taken as 48, to stay well inside the server's
   * de-duplication window (the last 1024 seqs of each client). When a new
   * batch would exceed it, the oldest is dropped and its events are counted
   * in browser_client_dropped_events_total{reason="queue_full"}.
   */
  maxQueue?: number;
  /**
   * Debug mode, for the page's author while writing the page: every answer
   * of the server other than 204 (a 200 whose `rejected` list names events
   * the allowlist refused, or a 4xx/5xx) is printed with `console.warn`:
   * `pum: <url> <status> <answer> <events>`, where `answer.rejected` holds
   * `{index, reason}` and `events[index]` is the event it names (its
   * `metricName`, labels and value). The server counts the same rejections
   * in `pum_ingest_events_rejected_total{reason}`. Beacons (sent when the
   * page is hidden) have no answer to show. Default `false`: pum.js never
   * writes to the console.
   */
  debug?: boolean;
  /**
   * Session sampling: `r` with 0 < r <= 1 (default `1`: every session; other
   * values are ignored). With N = round(1 / r) > 1, a tab's session is
   * sampled in with probability 1/N, decided once (a random number kept in
   * sessionStorage under `pum:sample`, so every page of the tab agrees; per
   * page where sessionStorage is unavailable). A sampled-in page's batches
   * carry `"sample": N` and pum-ingest multiplies what they add by N; a
   * sampled-out page records, listens to and sends nothing. N is at most
   * 10000. Example: `sampleRate: 0.25` sends 1 session in 4.
   */
  sampleRate?: number;
  /**
   * Only in the `pum.spa.js` build and the ES module (the default `pum.js`
   * ignores it). Also report the seed client's (peardeck/prometheus-user-metrics)
   * page timing, as it computed it: once, when pum starts, for every numeric
   * `performance.timing` field greater than 0, the histogram
   * `performance_timing_<field>` with no labels and the value
   * `(field - navigationStart) / 1000` seconds, so that the seed's
   * `performanceTimingMetricConfig.json` and dashboards keep working.
   * Default `false`.
   */
  legacyTiming?: boolean;
  /**
   * Only in the `pum.spa.js` build and the ES module (the default `pum.js`
   * ignores it). Single-page apps: count soft navigations (pushState,
   * replaceState that changes the path, popstate, hashchange) in
   * `browser_soft_navigations_total{route}`, and report LCP, INP, CLS and
   * FCP by route in `browser_route_web_vitals_lcp_seconds{route}`,
   * `..._inp_seconds`, `..._cls` and `..._fcp_seconds` (the landing page,
   * and soft navigations where the browser reports them: Chromium 151+),
   * from web-vitals 6 with `reportSoftNavs`.
   * Either patterns, tried in order, matched against the URL's path (or its
   * hash, for a pattern starting with `#`): `:name` is one path segment,
   * `*` anything; the matching pattern is the route. Or a function from
   * the URL to its route. A URL nothing matches has the route `'other'`.
   * Example: `['/', '/users/:id', '/docs/*']`. Default: none (nothing is
   * counted).
   */
  routes?: string[] | ((url: URL) => string | null | undefined);
  /** The automatic metrics; each is on unless set to `false` (`api` is off unless given hosts). */
  auto?: {
    /** browser_page_views_total: 1 per page view (per client). */
    pageViews?: boolean;
    /** browser_page_load_seconds: navigation start (activationStart when prerendered) to loadEventEnd. */
    pageLoad?: boolean;
    /**
     * browser_navigation_phase_seconds{phase}: the ten non-overlapping phases
     * (redirect, cache, dns, connect, request, response, dom_processing,
     * dom_content_loaded, subresources, load_event) that add up to the page
     * load; see src/auto/navigation.js for their exact boundaries.
     */
    navigation?: boolean;
    /**
     * browser_web_vitals_{lcp,inp,fcp,ttfb}_seconds and browser_web_vitals_cls,
     * from the web-vitals library.
     */
    webVitals?: boolean;
    /** browser_errors_total{kind="error"|"unhandledrejection"}. */
    errors?: boolean;
    /**
     * browser_api_request_duration_seconds{host, method, status_class} for
     * fetch and XMLHttpRequest calls to the listed hosts (URL.host:
     * `'api.example.com'`, `'localhost:8080'`). Default `false`: nothing is
     * wrapped. pum's own posts are never measured.
     */
    api?: false | { hosts: string[] };
    /** browser_client_dropped_events_total{reason="queue_full"|"send_failed"|"too_old"}. */
    dropped?: boolean;
  };
}

export interface Counter {
  /** Adds `by` (default 1; a finite number >= 0, else ignored) to the series with these labels. */
  increment(labels?: Labels, by?: number): void;
}

export interface Histogram {
  /** Records one observation (a finite number, else ignored; seconds for durations). */
  observe(value: number, labels?: Labels): void;
}

export interface Client {
  /** A counter bound to `name` (for example `'usage_total'`). */
  counter(name: string): Counter;
  /** A histogram bound to `name` (for example `'firebase_response_time_seconds'`). */
  histogram(name: string): Histogram;
  /** Adds `by` (default 1) to counter `name`. */
  increment(name: string, labels?: Labels, by?: number): void;
  /** Records `value` in histogram `name`. */
  observe(name: string, labels: Labels | undefined, value: number): void;
  /**
   * Sends what has been aggregated, and every batch still waiting, now
   * (ignoring a retry backoff). Resolves, never rejects, when these
   * attempts have ended (answered or failed; failed ones stay queued).
   */
  flush(): Promise<void>;
  /**
   * Stops the client: removes every listener and timer it added and puts
   * back the original fetch and XMLHttpRequest.prototype.open (when nobody
   * has wrapped them since; otherwise pum's wrappers stay as pass-throughs).
   * Nothing more is recorded or sent; call `await flush()` first to send
   * what is left.
   */
  stop(): void;
}

/**
 * Creates a client: it records page views, page load, navigation phases,
 * Core Web Vitals and errors (unless turned off), aggregates in the page and
 * sends one batch `{"client", "seq", "events"}` every interval, and at once
 * (navigator.sendBeacon) when the page is hidden or unloaded. Failed batches
 * are retried with the same (client, seq); what is left at unload is kept in
 * sessionStorage for the next page of the tab. No method ever throws.
 *
 * Create one client per page: each client adds its own listeners and page
 * view, and wraps fetch/XMLHttpRequest when `auto.api` is given.
 */
export function createClient(options?: Options): Client;

/**
 * The command function that pum.js puts in `window[name]` for the snippets
 * (the seed's `prometheusAggregator(...)`, pum's `pum(...)`); calls made
 * before pum.js has loaded are queued by the snippet and replayed in order.
 * Other commands are ignored; nothing ever throws.
 */
export interface CommandFunction {
  /** Adds `by` (default 1) to counter `name`. */
  (command: 'increment', name: string, labels?: Labels, by?: number): void;
  /** Records `value` in histogram `name`. */
  (command: 'observe', name: string, labels: Labels | undefined, value: number): void;
  /** Sends now what has been aggregated and every batch still waiting. */
  (command: 'flush'): void;
}

/** `window.prometheusUserMonitoringClient`: the page's single client of pum.js (the IIFE build). */
export interface GlobalClient {
  /** A counter bound to `name`. */
  makeCounter(name: string): Counter;
  /** A histogram bound to `name`. */
  makeHistogram(name: string): Histogram;
  /** As {@link Client.flush}. */
  flush(): Promise<void>;
  /** The snippet's command function (also in `window[PrometheusAggregatorObjectName]`). */
  command: CommandFunction;
}

declare global {
  interface Window {
    /** Defined by pum.js (the IIFE build), bound to the page's single client. */
    prometheusUserMonitoringClient?: GlobalClient;
    /** Set by a snippet: the name of its command function in `window`. */
    PrometheusAggregatorObjectName?: string;
    /**
     * The seed's snippet's command function (its default name). With another
     * name, declare it the same way: `declare var pum: CommandFunction;`.
     */
    prometheusAggregator?: CommandFunction;
  }
}
