// @ts-check

/**
 * Batches on the wire: `{"client": id, "seq": n, "events": [...]}`.
 *
 * Every body stays below 64 KiB, because that is both the browser's budget
 * for keepalive fetches and sendBeacon (over it the request is refused
 * outright) and pum-ingest's default --max-body-bytes.
 */

/**
 * The most bytes of event JSON (UTF-8, with the commas) in one batch. The
 * envelope adds under 120 bytes, so a body stays below 64 KiB. As the
 * smallest event is 60 bytes, a batch also holds fewer than 1000 events (the
 * server's max_events_per_batch).
 */
export const MAX_BYTES = 60000;

/**
 * Cuts a list of events into parts of at most MAX_BYTES of JSON each.
 * Returns the parts as arrays of event JSON strings; always at least one
 * part, possibly empty (a heartbeat). An event larger than MAX_BYTES by
 * itself gets a part of its own: the server answers 413 and it is counted as
 * send_failed, rather than holding up the events around it.
 *
 * @param {readonly object[]} events
 * @returns {string[][]}
 */
export const split = (events) => {
  let part = /** @type {string[]} */ ([]);
  const parts = [part];
  let size = 0;
  for (const event of events) {
    const json = JSON.stringify(event);
    // UTF-8 bytes, not characters: label values may be any text. Not
    // `new Blob([json]).size`: a Blob per event made flush() of 200 series
    // take 48 ms of main thread in Chromium (make bench), 5 ms with this.
    const bytes = new TextEncoder().encode(json).length + 1;
    size += bytes;
    if (size > MAX_BYTES && part.length > 0) {
      part = [];
      parts.push(part);
      size = bytes;
    }
    part.push(json);
  }
  return parts;
};

/**
 * The request body of one part. `client` is [A-Za-z0-9_-] only and the
 * events are JSON already, so plain concatenation is exact. `sample` N > 1
 * adds `"sample": N` (the batch stands for N sessions); 1 or none adds
 * nothing.
 *
 * @param {string} client
 * @param {number} seq
 * @param {readonly string[]} part
 * @param {number} sample
 */
export const body = (client, seq, part, sample) =>
  '{"client":"' +
  client +
  '","seq":' +
  seq +
  (sample > 1 ? ',"sample":' + sample : '') +
  ',"events":[' +
  part.join(',') +
  ']}';
