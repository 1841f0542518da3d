/**
 * Wraps `f` so that it never throws: an exception inside is swallowed and the
 * wrapper returns undefined. The arguments are passed through (not `this`:
 * nothing wrapped uses it). Every entry point of pum (public methods,
 * listeners, timers, callbacks) goes through this, so nothing pum does can
 * throw into the page.
 */
export const safe =
  (f) =>
  (...a) => {
    try {
      return f(...a);
    } catch (e) {}
  };
