/**
 * browser_errors_total{kind}: the window's 'error' events (uncaught
 * exceptions; resource load errors do not bubble to window and are not
 * counted) and 'unhandledrejection' events. The event name is the kind.
 */
export const errors = (g, add, listen) => {
  for (const k of ['error', 'unhandledrejection']) listen(g, k, () => add(0, 'browser_errors_total', { kind: k }, 1));
};
