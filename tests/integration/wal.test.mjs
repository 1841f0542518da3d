// The WAL stays bounded and shrinks back after a burst (regression: 10k new
// clients in 3 s grew it from 3 MB to 41 MB and it stayed there), also when
// a reader held a long read transaction meanwhile; writers are not held up
// by that reader or by the exporter's checkpoints.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { SEED_METRICS, counterEvent, clientId, holdSqlite, itStopsCleanly, sumOf, useStack, waitFor } from './stack.mjs';

const hooks = { before, after };
const MiB = 1 << 20;
// StoreOptions::wal_limit_bytes (journal_size_limit): the size the WAL is
// brought back to.
const WAL_LIMIT = 4 * MiB;
// 1000 pages of writers' autocheckpoint, plus what arrives while a
// checkpoint runs: the most the WAL may hold during a burst with no reader.
const WAL_BURST_BOUND = 16 * MiB;

const walBytes = (db) => {
  try {
    return fs.statSync(`${db}-wal`).size;
  } catch {
    return 0;
  }
};

// Posts `n` batches, each from a new client (a new row of de-duplication
// state), `parallel` at a time; returns the answers' statuses by count.
async function burst(s, prefix, n, parallel = 16) {
  const statuses = {};
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const body = { client: `${prefix}${i}`, seq: 0, events: [counterEvent({ browser: 'chrome', feature: 'showContent' })] };
      const r = await s.post(body);
      statuses[r.status] = (statuses[r.status] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return statuses;
}

// A sqlite3 shell holding a read transaction on `db` until release().
const holdReadTransaction = (db, stack) =>
  holdSqlite(db, stack, "BEGIN;\nSELECT 'reading', count(*) FROM clients;", 'reading', 'COMMIT;');

describe('the WAL under a burst of new clients', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers: 2, config: { upkeep_interval_seconds: 1 } });

  it('stays bounded during the burst and shrinks back after it', { timeout: 120000 }, async (t) => {
    const s = st.s;
    let largest = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        largest = Math.max(largest, walBytes(s.db));
        await s.scrape(); // the exporter reads all along
      }
    })();
    const statuses = await burst(s, clientId('b'), 4000);
    sampling = false;
    await sampler;
    assert.deepEqual(statuses, { 204: 4000 });
    assert.ok(largest <= WAL_BURST_BOUND, `WAL reached ${largest} bytes during the burst (bound ${WAL_BURST_BOUND})`);
    await waitFor(() => walBytes(s.db) <= WAL_LIMIT, { timeout: 10000, what: `the WAL to shrink to ${WAL_LIMIT}` });
    t.diagnostic(`WAL: at most ${largest} bytes during 4000 new clients, ${walBytes(s.db)} after`);
    const m = await s.series();
    assert.equal(sumOf(m, 'usage_total'), 4000);
  });

  it('shrinks back once a long reader ends, and writers are never refused meanwhile', { timeout: 120000 }, async (t) => {
    const s = st.s;
    const before = sumOf(await s.series(), 'usage_total');
    const reader = await holdReadTransaction(s.db, s);
    const statuses = await burst(s, clientId('r'), 3000);
    assert.deepEqual(statuses, { 204: 3000 }, 'a long reader does not make writers wait or fail');
    const held = walBytes(s.db);
    assert.ok(held > WAL_LIMIT, `the reader pins the WAL (${held} bytes): the test's premise`);
    await reader.release();
    await waitFor(() => walBytes(s.db) <= WAL_LIMIT, { timeout: 10000, what: 'the WAL to shrink after the reader' });
    t.diagnostic(`WAL: ${held} bytes while the reader held, ${walBytes(s.db)} after`);
    assert.equal(sumOf(await s.series(), 'usage_total'), before + 3000);
  });

  itStopsCleanly(st);
});
