/**
 * Batches on the wire: `{"client": id, "seq": n, "events": [...]}`.
 *
 * split(events) cuts a list of events into parts whose JSON (UTF-8, with the
 * commas) stays within MAX_BYTES, so that every body (a part plus the
 * envelope, under 120 bytes) is below 64 KiB: the browser's
 * keepalive/sendBeacon budget and pum-ingest's default --max-body-bytes. As
 * the smallest event is 60 bytes, a part also holds fewer than 1000 events
 * (the server's max_events_per_batch). It returns arrays of event JSON
 * strings, always at least one (possibly empty) part. An event larger than
 * MAX_BYTES by itself gets a part of its own (the server answers 413 and it
 * is counted as send_failed).
 *
 * body(id, seq, part): the request body of one part. `id` is
 * [A-Za-z0-9_-] only and needs no escaping.
 */
export const MAX_BYTES = 6e4;

export const split = (events) => {
  let p = [];
  let size = 0;
  const parts = [p];
  for (let e of events) {
    const n = new Blob([(e = JSON.stringify(e))]).size + 1;
    if ((size += n) > MAX_BYTES && p.length) parts.push((p = [])), (size = n);
    p.push(e);
  }
  return parts;
};

export const body = (id, seq, part) => '{"client":"' + id + '","seq":' + seq + ',"events":[' + part + ']}';
