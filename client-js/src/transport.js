// @ts-check

/**
 * What the answer to one batch means for it:
 * - 0 (done): accepted (2xx).
 * - 'too_old': dropped for good, its seq is older than the server's
 *   de-duplication window (409), so no retry can ever be applied; its events
 *   are counted as dropped with reason too_old.
 * - 'send_failed': dropped for good (any other status below 500 except 408
 *   and 429: 400, 403, 413, 422...), since sending the same body again would
 *   get the same answer; counted as send_failed.
 * - 1 (retry): kept and sent again later with the same (client, seq): no answer
 *   (status 0: network error, blocked, offline), 408, 429 or 5xx, all of
 *   which may succeed later.
 * The two reasons are strings, the labels they are counted under; done and
 * retry are numbers (shorter in pum.js than two more strings).
 *
 * @typedef {0 | 'too_old' | 'send_failed' | 1} Outcome
 */

/**
 * @param {number} status the HTTP status; 0 when there was no answer
 * @returns {Outcome}
 */
export const outcome = (status) => {
  if (status >= 200 && status < 300) return 0;
  if (status == 409) return 'too_old';
  if (status && status < 500 && status != 408 && status != 429) return 'send_failed';
  return 1;
};

/**
 * The delay in ms before retry number `attempt` (0-based) of a batch: 1 s
 * doubling up to 60 s, times a factor in [0.5, 1) taken from `random` in
 * [0, 1) ("equal jitter"), so that the pages of a whole site that lost their
 * collector at the same moment do not all retry in step when it comes back.
 *
 * @param {number} attempt
 * @param {number} random
 */
export const backoff = (attempt, random) => (Math.min(1000 * 2 ** attempt, 60000) * (1 + random)) / 2;
