/**
 * Wraps `f` so that it never throws: an exception inside is swallowed and the
 * wrapper returns undefined. `this` and the arguments are passed through.
 * Every entry point of pum (public methods, listeners, timers, callbacks) goes
 * through this, so nothing pum does can throw into the page.
 */
export const safe = (f) =>
  function () {
    try {
      return f.apply(this, arguments);
    } catch (e) {}
  };
