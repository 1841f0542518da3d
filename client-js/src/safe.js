// @ts-check

/**
 * Wraps `fn` so that it never throws: an exception inside is swallowed and
 * the wrapper returns undefined. The arguments are passed through (not
 * `this`: nothing wrapped uses it).
 *
 * Every entry point of pum (public methods, listeners, timers, callbacks)
 * goes through this, because a monitoring script must never break the page
 * it monitors: losing a measurement is always better than an exception in
 * somebody else's code.
 *
 * @template {unknown[]} A
 * @template R
 * @param {(...args: A) => R} fn
 * @returns {(...args: A) => R | undefined}
 */
export const safe =
  (fn) =>
  (...args) => {
    try {
      return fn(...args);
    } catch {
      // swallowed on purpose: see above
    }
  };

/**
 * Runs `fn` once, never throwing: its result, or undefined if it threw.
 *
 * @template R
 * @param {() => R} fn
 * @returns {R | undefined}
 */
export const attempt = (fn) => safe(fn)();
