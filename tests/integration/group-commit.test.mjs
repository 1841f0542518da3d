// pum-ingest with several threads (ingest_threads): requests are read,
// parsed and validated in parallel and the batches waiting at one moment
// are committed in one transaction. Behind real nginx, many concurrent
// POSTs: every acknowledged batch is counted exactly once, and a batch sent
// twice at the same moment (both copies in flight together, so possibly in
// one group) is applied once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  SEED_METRICS, clientId, counterEvent, histogramEvent, itStopsCleanly, sumOf, useStack, valueOf, waitFor,
} from './stack.mjs';

const hooks = { before, after };
const BROWSERS = ['chrome', 'firefox', 'safari', 'edge'];

for (const workers of [1, 2]) {
  describe(`${workers} pum-ingest worker(s) of 4 threads each`, () => {
    const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers, config: { ingest_threads: 4 } });

    it('counts every acknowledged batch once, duplicates in flight together once', { timeout: 120000 }, async () => {
      const s = st.s;
      const POSTERS = 8;
      const SEQS = 30;
      const WINDOW = 3; // seqs a poster has in flight at once, each sent twice
      let usage = 0;
      let observations = 0;
      const statuses = new Map();
      const poster = async (p) => {
        const client = clientId(`p${p}`);
        const browser = BROWSERS[p % BROWSERS.length];
        for (let first = 0; first < SEQS; first += WINDOW) {
          const sends = [];
          for (let seq = first; seq < Math.min(first + WINDOW, SEQS); seq++) {
            const body = {
              client, seq,
              events: [
                counterEvent({ browser, feature: 'showContent' }, seq + 1),
                histogramEvent({ firebaseHost: 'pd-dev-1.firebaseio.com' }, [0.07, seq % 5]),
              ],
            };
            usage += seq + 1;
            observations += 2;
            sends.push(s.post(body), s.post(body)); // the same batch twice at once
          }
          for (const r of await Promise.all(sends)) {
            statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
          }
        }
      };
      await Promise.all(Array.from({ length: POSTERS }, (_, p) => poster(p)));
      assert.deepEqual([...statuses], [[204, 2 * POSTERS * SEQS]], 'every answer 204');

      const batches = POSTERS * SEQS;
      let m;
      await waitFor(async () => {
        m = await s.series();
        return valueOf(m, 'pum_ingest_requests_total', { code: '204' }) === 2 * batches;
      }, { timeout: 10000, what: 'every request counted' });
      assert.equal(sumOf(m, 'usage_total'), usage, 'usage_total');
      assert.equal(sumOf(m, 'firebase_response_time_count'), observations, '_count');
      assert.equal(valueOf(m, 'firebase_response_time_bucket', { firebaseHost: 'pd-dev-1.firebaseio.com', le: '+Inf' }), observations);
      assert.equal(valueOf(m, 'pum_reports_total'), batches, 'pum_reports_total');
      assert.equal(valueOf(m, 'pum_ingest_duplicate_batches_total'), batches, 'duplicates');
    });

    itStopsCleanly(st);
  });
}
