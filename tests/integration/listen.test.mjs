// pum-ingest opening its own socket (--listen=unix:PATH and
// --listen=127.0.0.1:PORT) behind nginx, instead of fd 0 from spawn-fcgi;
// and its exit status on SIGTERM, which only a parent can see.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { SEED_METRICS, counterEvent, itStopsCleanly, useStack, valueOf } from './stack.mjs';

const CQ = { browser: 'chrome', feature: 'quickQuestion' };

for (const listen of ['unix', 'tcp']) {
  describe(`pum-ingest --listen (${listen})`, () => {
    const st = useStack({ before, after }, { metrics: { 'seed.json': SEED_METRICS }, listen });

    it('answers through nginx, and exits 0 on SIGTERM', { timeout: 20000 }, async () => {
      const s = st.s;
      const r = await s.post([counterEvent(CQ, 2)]);
      assert.equal(r.status, 204, r.text);
      assert.equal(valueOf(await s.series(), 'usage_total', CQ), 2);
      const proc = s.workerProc;
      proc.kill('SIGTERM');
      const res = await Promise.race([proc.done, new Promise((ok) => setTimeout(() => ok('timeout'), 5000))]);
      assert.deepEqual(res, { code: 0, signal: null }, `pum-ingest on SIGTERM: ${s.log('ingest.log')}`);
      s.workerPids = [];
      // Started again on the same address, it serves the same totals.
      await s.startWorkers();
      assert.equal((await s.post([counterEvent(CQ, 1)])).status, 204);
      assert.equal(valueOf(await s.series(), 'usage_total', CQ), 3);
    });

    itStopsCleanly(st);
  });
}
