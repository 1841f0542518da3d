// Counts survive restarts: kill -9 every process, at rest and under load,
// and a store that stays locked answers 503 with nothing applied.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  SEED_METRICS, clientId, holdSqlite, counterEvent, histogramEvent, pidAlive, sumOf, itStopsCleanly, useStack, valueOf, waitFor,
} from './stack.mjs';

const hooks = { before, after };
const BROWSERS = ['chrome', 'firefox', 'safari', 'edge'];

describe('kill -9 of every process at rest', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers: 2 });

  it('keeps every acknowledged batch, none twice, and the de-duplication state', { timeout: 60000 }, async () => {
    const s = st.s;
    const K = 40;
    const client = clientId('rest');
    let usage = 0;
    let obs = 0;
    let reports = 0;
    for (let i = 0; i < K; i++) {
      const labels = { browser: BROWSERS[i % 4], feature: 'showContent' };
      const events = [counterEvent(labels, i + 1), histogramEvent({ firebaseHost: 'pd-dev-2.firebaseio.com' }, [i % 7, 0.01])];
      const body = i % 2 ? events : { client, seq: i, events };
      const r = await s.post(body);
      assert.equal(r.status, 204, r.text);
      usage += i + 1;
      obs += 2;
      reports++;
    }
    const check = async (what) => {
      const m = await s.series();
      assert.equal(sumOf(m, 'usage_total'), usage, `${what}: usage_total`);
      assert.equal(sumOf(m, 'firebase_response_time_count'), obs, `${what}: _count`);
      assert.equal(valueOf(m, 'firebase_response_time_bucket', { firebaseHost: 'pd-dev-2.firebaseio.com', le: '+Inf' }), obs);
      assert.equal(valueOf(m, 'pum_reports_total'), reports, `${what}: pum_reports_total`);
      assert.equal(valueOf(m, 'pum_ingest_requests_total', { code: '204' }), reports, `${what}: requests{204}`);
      return m;
    };
    await check('before the kill');
    const old = [...s.workerPids];
    await s.killAll('SIGKILL');
    assert.deepEqual(old.filter(pidAlive), []);
    await s.startAll();
    await check('after kill -9 and restart');

    // The de-duplication state survived: a replay of an acknowledged batch
    // is acknowledged and not applied again.
    const r = await s.post({ client, seq: 0, events: [counterEvent({ browser: 'chrome', feature: 'showContent' }, 1000)] });
    assert.equal(r.status, 204);
    const m = await s.series();
    assert.equal(sumOf(m, 'usage_total'), usage);
    assert.equal(valueOf(m, 'pum_ingest_duplicate_batches_total'), 1);
  });

  itStopsCleanly(st);
});

describe('kill -9 of the workers during a concurrent load', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers: 3 });

  it('loses nothing and counts nothing twice when unacknowledged batches are retried', { timeout: 90000 }, async (t) => {
    const s = st.s;
    const ROUNDS = 3; // kill -9 of every worker, then a restart, this often
    const PER_ROUND = 80; // acknowledged batches between two kills
    const MAX_PENDING = 8; // a poster's offline buffer
    const MAX_PER_POSTER = 3000;
    let stop = false;

    // Four posters, each with its own client id and browser label, send
    // batches {client, seq, [usage_total{browser} += 1]} one at a time. A
    // batch not acknowledged with 204 (502 from nginx while the workers are
    // dead, a reset connection) stays in the poster's buffer and is retried
    // later with the same (client, seq), oldest first, between new ones.
    const posters = BROWSERS.map((browser) => ({
      browser, client: clientId(browser), next: 0, acked: new Set(), pending: [], failures: 0, retried: new Set(),
    }));
    const body = (p, seq) => ({ client: p.client, seq, events: [counterEvent({ browser: p.browser, feature: 'quickQuestion' }, 1)] });
    const send = async (p, seq) => {
      try {
        return (await s.post(body(p, seq), { contentType: 'text/plain' })).status;
      } catch {
        return 0; // connection reset by a dying worker
      }
    };
    const step = async (p) => {
      let seq;
      if (p.pending.length >= MAX_PENDING || (p.pending.length && p.next % 2)) {
        seq = p.pending.shift();
        p.retried.add(seq);
      } else {
        seq = p.next++;
      }
      const status = await send(p, seq);
      if (status === 204) {
        p.acked.add(seq);
      } else {
        p.pending.push(seq);
        p.failures++;
        await sleep(5);
      }
    };
    const runPoster = async (p) => {
      while (!stop && p.next < MAX_PER_POSTER) await step(p);
    };
    const running = posters.map(runPoster);
    const total = () => posters.reduce((n, p) => n + p.acked.size, 0);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const target = total() + PER_ROUND;
        await waitFor(() => total() >= target, { timeout: 20000, what: `${target} acknowledged batches` });
        await s.killWorkers('SIGKILL');
        await sleep(150); // the posters meet the dead workers
        await s.startWorkers();
      }
      const target = total() + PER_ROUND;
      await waitFor(() => total() >= target, { timeout: 20000, what: `${target} acknowledged batches` });
    } finally {
      stop = true;
      await Promise.all(running);
    }
    // Drain every buffer (bounded).
    for (const p of posters) {
      for (let i = 0; p.pending.length && i < 200; i++) await step(p);
      assert.deepEqual(p.pending, [], `${p.browser}: batches never acknowledged`);
    }

    const m = await s.series();
    let sent = 0;
    let retried = 0;
    for (const p of posters) {
      assert.equal(p.acked.size, p.next, `${p.browser}: every batch acknowledged in the end`);
      assert.equal(valueOf(m, 'usage_total', { browser: p.browser, feature: 'quickQuestion' }), p.next,
        `${p.browser}: usage_total equals the distinct batches sent (${p.retried.size} retried)`);
      sent += p.next;
      retried += p.retried.size;
    }
    assert.equal(valueOf(m, 'pum_reports_total'), sent, 'pum_reports_total');
    const dups = valueOf(m, 'pum_ingest_duplicate_batches_total', {}, 0);
    t.diagnostic(`batches: ${sent}, retried: ${retried}, of which already applied before the kill (duplicates): ${dups}`);
    assert.ok(retried > 0, 'the kills should have left batches unacknowledged');
    // Every batch was applied once; a duplicate is a retry whose first
    // answer was lost after the commit.
    assert.ok(dups <= retried);
  });

  itStopsCleanly(st);
});

describe('clients that go away before the answer', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers: 2 });

  it('the workers survive, and retries count each batch once', { timeout: 60000 }, async (t) => {
    const s = st.s;
    const N = 60;
    const client = clientId('abort');
    const labels = { browser: 'safari', feature: 'selfPacedMode' };
    const body = (seq) => JSON.stringify({ client, seq, events: [counterEvent(labels, 1)] });
    const workers = [...s.workerPids];
    // Abort each request a moment after sending it: nginx closes the
    // FastCGI connection, the worker may have applied the batch or not, and
    // its answer goes to a closed socket.
    let answered = 0;
    await Promise.all(Array.from({ length: N }, (_, seq) => new Promise((resolve) => {
      const b = Buffer.from(body(seq));
      const sock = net.connect(s.httpPort, '127.0.0.1', () => {
        sock.write(`POST /record HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n` +
                   `Content-Length: ${b.length}\r\nConnection: close\r\n\r\n`);
        sock.write(b, () => setTimeout(() => sock.destroy(), seq % 3));
      });
      sock.on('data', () => { answered++; });
      sock.on('error', () => {});
      sock.on('close', resolve);
    })));
    const aborted = N - answered;
    // Every batch is retried until acknowledged.
    for (let seq = 0; seq < N; seq++) {
      let status = 0;
      for (let i = 0; i < 50 && status !== 204; i++) {
        status = (await s.post(body(seq))).status;
        if (status !== 204) await sleep(20);
      }
      assert.equal(status, 204, `batch ${seq}`);
    }
    const m = await s.series();
    t.diagnostic(`aborted by the client: ${aborted} of ${N}; duplicates: ${valueOf(m, 'pum_ingest_duplicate_batches_total', {}, 0)}`);
    assert.equal(valueOf(m, 'usage_total', labels), N);
    assert.deepEqual(workers.filter((p) => !pidAlive(p)), [], 'workers died (SIGPIPE on a closed connection?)');
  });

  itStopsCleanly(st);
});

// The sqlite3 shell on `db` holding a write lock until release().
const holdWriteLock = (db, stack) => holdSqlite(db, stack, "BEGIN IMMEDIATE;\nSELECT 'locked';", 'locked');

describe('store locked from outside past busy_timeout_ms', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers: 2, config: { busy_timeout_ms: 200 } });

  it('answers 503 with nothing applied, then 204 once the lock is released', { timeout: 30000 }, async () => {
    const s = st.s;
    const CQ = { browser: 'chrome', feature: 'quickQuestion' };
    const client = clientId('busy');
    assert.equal((await s.post({ client, seq: 0, events: [counterEvent(CQ, 1)] })).status, 204);
    const lock = await holdWriteLock(s.db, s);
    let r;
    try {
      const t0 = Date.now();
      r = await s.post({ client, seq: 1, events: [counterEvent(CQ, 1)] });
      const ms = Date.now() - t0;
      assert.equal(r.status, 503, r.text);
      assert.ok(ms < 3000, `503 after ${ms} ms with busy_timeout_ms 200`);
      const r2 = await s.post([counterEvent(CQ, 1)]);
      assert.equal(r2.status, 503, r2.text);
      // The exporter reads while a writer holds the lock (WAL).
      const m = await s.series();
      assert.equal(valueOf(m, 'usage_total', CQ), 1);
    } finally {
      await lock.release();
    }
    // The client retries the same batch: now applied, once.
    r = await s.post({ client, seq: 1, events: [counterEvent(CQ, 1)] });
    assert.equal(r.status, 204, r.text);
    r = await s.post({ client, seq: 1, events: [counterEvent(CQ, 1)] });
    assert.equal(r.status, 204, r.text);
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ), 2, 'only the acknowledged batches');
    assert.equal(sumOf(m, 'usage_total'), 2);
    assert.equal(valueOf(m, 'pum_reports_total'), 2);
  });

  it('counts the 503s and the duplicate once the store is free', { timeout: 30000 }, async () => {
    const s = st.s;
    // The 503s above could not be written while the store was locked, nor,
    // by pum-ingest's design, a duplicate's counter within a second of a
    // store failure: the workers keep them in memory and add them to a later
    // transaction. Give every worker requests (bounded) and they show up.
    const CQ = { browser: 'edge', feature: 'quickQuestion' };
    let m;
    await waitFor(async () => {
      await s.post([counterEvent(CQ, 1)]);
      m = await s.series();
      return valueOf(m, 'pum_ingest_requests_total', { code: '503' }, 0) === 2 &&
        valueOf(m, 'pum_ingest_duplicate_batches_total', {}, 0) === 1;
    }, { timeout: 10000, interval: 50, what: 'requests_total{code="503"} == 2 and duplicate_batches_total == 1' });
    assert.equal(valueOf(m, 'usage_total', { browser: 'chrome', feature: 'quickQuestion' }), 2);
  });

  itStopsCleanly(st);
});

describe('SIGTERM', () => {
  const st = useStack(hooks, { metrics: { 'seed.json': SEED_METRICS }, workers: 2 });

  it('pum-ingest workers and pum-exporter exit cleanly on SIGTERM, and the counts stay', { timeout: 30000 }, async () => {
    const s = st.s;
    const CQ = { browser: 'safari', feature: 'blockStudent' };
    for (let i = 0; i < 5; i++) assert.equal((await s.post([counterEvent(CQ, 1)])).status, 204);
    const pids = [...s.workerPids];
    for (const p of pids) process.kill(p, 'SIGTERM');
    await waitFor(() => !pids.some(pidAlive), { timeout: 3000, what: 'the workers to exit on SIGTERM' });
    s.workerPids = [];
    const res = await s.killExporter('SIGTERM');
    assert.deepEqual(res, { code: 0, signal: null }, 'pum-exporter exit status on SIGTERM');
    await s.startWorkers();
    await s.startExporter();
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ), 5);
  });

  itStopsCleanly(st);
});
