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

/**
 * Replaces `object[key]` (when there is one) with `make(original)`: how pum
 * wraps fetch, XMLHttpRequest.prototype.open and history's methods.
 * Returns the undo: it puts the original back if nobody has replaced the
 * wrapper since, and otherwise leaves the wrapper in place as a
 * pass-through (putting the original back would also remove the later
 * wrapper).
 *
 * @param {any} object
 * @param {string} key
 * @param {(original: Function) => Function} make
 * @returns {() => void}
 */
export const wrap = (object, key, make) => {
  const original = object[key];
  const wrapped = original && (object[key] = make(original));
  return () => {
    if (wrapped && object[key] == wrapped) object[key] = original;
  };
};
