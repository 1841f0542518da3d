/**
 * The delay in ms before retry number `n` (0-based) of a batch that got no
 * answer, 408, 429 or 5xx: 1 s doubling up to 60 s, times a random factor in
 * [0.5, 1) ("equal jitter", r in [0, 1)) so that pages do not retry in step.
 */
export const backoff = (n, r) => (Math.min(1e3 * 2 ** n, 6e4) * (1 + r)) / 2;

/**
 * What an answer means for a batch: 1 done (2xx), 3 dropped for good as
 * too old (409: its seq is older than the server's de-duplication window, so
 * a retry can never be applied; counted as too_old), 2 dropped for good (any
 * other status below 500 except 408 and 429: 400, 403, 413, 422...; counted
 * as send_failed), 0 keep and retry later (no answer: status 0; 408, 429,
 * 5xx).
 */
export const outcome = (s) =>
  s > 199 && s < 300 ? 1 : s == 409 ? 3 : s && s < 500 && s != 408 && s != 429 ? 2 : 0;
