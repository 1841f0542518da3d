// @ts-check
import { createClient } from './client.js';
import { safe } from './safe.js';

/**
 * @typedef {import('../pum.js').Options} Options
 * @typedef {import('../pum.js').GlobalClient} GlobalClient
 * @typedef {import('../pum.js').CommandFunction} CommandFunction
 * @typedef {import('../pum.js').Labels} Labels
 * @typedef {import('./client.js').Feature} Feature
 *
 * What a snippet leaves in window[name] before pum.js has loaded: a
 * function that queues its calls.
 * @typedef {object} SnippetStub
 * @property {Iterable<any>[]} [q] the queued calls' arguments, in order
 * @property {string} [aggregatorServerRoot] the seed's snippet: where the collector is
 * @property {Options} [o] pum's snippet: the options
 */

/**
 * The IIFE builds (build/pum.js: src/global.js; build/pum.spa.js:
 * src/global.spa.js, with more features). Three ways in, one client per page:
 *
 * 1. The seed's snippet: window.PrometheusAggregatorObjectName = N, window[N]
 *    a queueing function with .q and .aggregatorServerRoot: posts go to
 *    aggregatorServerRoot + '/record'. Pages written for the seed keep
 *    working unchanged.
 * 2. pum's snippet (snippet.html): the same, with the options in window[N].o.
 * 3. A plain <script src=".../pum.js">, options in data attributes: data-url,
 *    data-interval (ms), data-heartbeat="false", data-api-hosts (comma
 *    separated), data-auto-off (comma separated: pageViews, pageLoad,
 *    navigation, webVitals, errors, api, dropped). The url defaults to
 *    /record on the origin the script came from, since that is where pum is
 *    served.
 *
 * The snippet's options win over the data attributes, key by key at the top
 * level. window[N] becomes the command function (command, name, labels,
 * value) for 'increment' (value defaults to 1), 'observe' and 'flush'
 * (other commands are ignored), and the queued calls are replayed in order.
 * window.prometheusUserMonitoringClient gets makeCounter(name) ->
 * {increment(labels?, by?)}, makeHistogram(name) -> {observe(value,
 * labels?)}, flush(), and the command function as `command`. A second copy
 * of the script (pages do include a tag twice) reuses the first client, so
 * page views are not counted twice, and takes over a snippet queue that
 * appeared since.
 */

const COMMANDS = /^(increment|observe|flush)$/;
/** the separator of the comma-separated data attributes */
const LIST = /\s*,\s*/;

/**
 * Starts (or joins) the page's client, with these optional features.
 *
 * @param {Feature[]} features
 */
export const install = safe((/** @type {Feature[]} */ features) => {
  const w = window;
  const name = w.PrometheusAggregatorObjectName;
  const stub = /** @type {SnippetStub} */ ((name && /** @type {any} */ (w)[name]) || {});
  // The page's first copy of pum.js starts the client; a second one joins it.
  if (!w.prometheusUserMonitoringClient) {
    const script = document.currentScript;
    const data = script?.dataset || {};
    /** @type {NonNullable<Options['auto']>} */
    const auto = {};
    if (data.apiHosts) auto.api = { hosts: data.apiHosts.split(LIST) };
    for (const name of (data.autoOff || '').split(LIST)) {
      /** @type {Record<string, unknown>} */ (auto)[name] = false;
    }
    const root = stub.aggregatorServerRoot;
    // '' for an inline script (a snippet that inlines pum.js): no origin to take
    const src = /** @type {HTMLScriptElement | null} */ (script)?.src;
    const client = createClient(
      {
        url: root ? root + '/record' : data.url || (src && new URL('/record', src).href),
        interval: +(/** @type {any} */ (data.interval)),
        heartbeat: data.heartbeat != 'false',
        auto,
        ...stub.o,
      },
      w,
      features,
    );
    w.prometheusUserMonitoringClient = {
      makeCounter: client.counter,
      makeHistogram: client.histogram,
      flush: client.flush,
      command: safe(
        /**
         * @param {string} name
         * @param {string} [metric]
         * @param {Labels} [labels]
         * @param {number} [value]
         */
        (name, metric, labels, value) => {
          // A pattern, not a lookup in `client`: 'toString', 'constructor'... are not commands.
          if (COMMANDS.test(name)) return /** @type {any} */ (client)[name](metric, labels, value);
        },
      ),
    };
  }
  const command = w.prometheusUserMonitoringClient.command;
  if (name && stub != command) {
    const queued = stub.q || [];
    /** @type {any} */ (w)[name] = command;
    for (const args of queued) /** @type {Function} */ (command)(...args);
  }
});
