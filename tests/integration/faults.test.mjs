// Faults, for real: nginx -> pum-ingest workers kept alive by
// deploy/pum-ingest-supervisor.sh (as make run runs them) -> SQLite <-
// pum-exporter, in a temporary directory.
//   - kill -9 of workers at random moments under a continuous load of
//     posters that retry each batch until acknowledged (>= 100 kills): the
//     totals equal the acknowledged batches exactly, integrity_check is ok;
//     the same while the exporter is killed -9 and restarted repeatedly.
//   - disk full (the store on a 3 MB tmpfs): 503 with nothing applied,
//     then, with space freed, 204 and exact totals.
//   - the store locked by another process (BEGIN EXCLUSIVE held open): 503
//     after busy_timeout_ms, not a hang; 204 once released.
//   - a read-only store (chattr +i): 503, no crash, nothing applied.
//   - a corrupt file, a foreign SQLite database and a newer schema version
//     are refused at start by pum-ingest and pum-exporter, with a message
//     naming the file and the problem.
// mount and chattr need root: as another user every test here fails,
// saying so (CI runs as root).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  EXPORTER_BIN, INGEST_BIN, REPO, SEED_METRICS, Stack, clientId, counterEvent, histogramEvent, pidAlive, readPidFile,
  sumOf, valueOf, waitFor, processStart, sameProcessAlive, holdSqlite, useStack,
} from './stack.mjs';
import { makePosters, postStatus, statusTally } from './faults-load.mjs';

const SUPERVISOR = path.join(REPO, 'deploy', 'pum-ingest-supervisor.sh');
const IS_ROOT = process.getuid && process.getuid() === 0;
const hooks = { before, after };
const BROWSERS = ['chrome', 'firefox', 'safari', 'edge'];
const FEATURES = ['quickQuestion', 'selfPacedMode', 'blockStudent', 'showContent'];

function requireRoot() {
  assert.ok(IS_ROOT, 'these fault tests need root (mount -t tmpfs for a full disk, chattr +i for a read-only '
    + 'store; as root a plain chmod does not stop writes): run them as root, as CI does');
}

// A Stack whose workers run as make run runs them: spawn-fcgi -n binds the
// socket and execs deploy/pum-ingest-supervisor.sh, which keeps
// opts.workers pum-ingest processes accepting on it and replaces any that
// exits. opts.storeDir(stack) may return a directory for the store (e.g. a
// tmpfs), asked once before the workers start.
class SupervisedStack extends Stack {
  async startWorkers(n = this.opts.workers) {
    if (this.opts.storeDir && !this.storeDir) {
      this.storeDir = await this.opts.storeDir(this);
      this.db = path.join(this.storeDir, 'pum.db');
    }
    if (n === 0) return [];
    fs.rmSync(this.pidFile, { force: true });
    fs.rmSync(this.sock, { force: true });
    const log = fs.openSync(path.join(this.logDir, 'ingest.log'), 'a');
    const proc = spawn('spawn-fcgi', ['-n', '-s', this.sock, '-M', '0666', '--', '/bin/bash', SUPERVISOR, INGEST_BIN,
      ...this.commonArgs(), ...this.opts.ingestArgs], {
      stdio: ['ignore', log, log],
      env: { ...process.env, PUM_WORKERS: String(n), PUM_WORKERS_PIDFILE: this.pidFile },
    });
    fs.closeSync(log);
    this.supervisor = proc;
    proc.done = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    this.workerPids = await waitFor(() => {
      if (proc.exitCode !== null) throw new Error(`the supervisor exited: ${this.log('ingest.log')}`);
      const pids = this.currentWorkers();
      return pids.length === n ? pids : null;
    }, { timeout: 5000, what: 'the supervisor\'s pid file' });
    return this.workerPids;
  }

  // The live workers now (they change as the supervisor replaces them).
  currentWorkers() {
    try {
      return readPidFile(this.pidFile).filter(pidAlive);
    } catch {
      return [];
    }
  }

  // Lines of the supervisor's log saying it replaced a worker that died of
  // a signal.
  replacements() {
    return (this.log('ingest.log').match(/pum-ingest-supervisor: worker \d+ was killed by signal \d+/g) || []).length;
  }

  async killWorkers(sig = 'SIGTERM') {
    const proc = this.supervisor;
    const forced = [];
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const workers = this.currentWorkers();
      proc.kill(sig);
      if (sig === 'SIGKILL') for (const w of workers) { try { process.kill(w, 'SIGKILL'); } catch { /* gone */ } }
      const t = setTimeout(() => { forced.push(proc.pid); proc.kill('SIGKILL'); }, 8000);
      await proc.done;
      clearTimeout(t);
    }
    for (const w of this.currentWorkers()) {
      forced.push(w);
      try { process.kill(w, 'SIGKILL'); } catch { /* gone */ }
    }
    this.supervisor = null;
    this.workerPids = [];
    return forced;
  }

  killAllSync() {
    if (this.supervisor && this.supervisor.exitCode === null) {
      const workers = this.currentWorkers();
      try { this.supervisor.kill('SIGKILL'); } catch { /* gone */ }
      for (const w of workers) { try { process.kill(w, 'SIGKILL'); } catch { /* gone */ } }
    }
    super.killAllSync();
  }
}

const useSupervised = (opts) => useStack(hooks, opts, SupervisedStack);

// sqlite3's answer to PRAGMA integrity_check on the store.
function integrityCheck(db) {
  const r = spawnSync('sqlite3', [db, 'PRAGMA integrity_check;'], { encoding: 'utf8', timeout: 20000 });
  return `${r.stdout}${r.stderr}`.trim();
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

// Everything the seed's metrics hold, for "nothing changed" comparisons.
function userTotals(m) {
  return {
    usage: sumOf(m, 'usage_total'),
    count: sumOf(m, 'firebase_response_time_count'),
    sum: sumOf(m, 'firebase_response_time_sum'),
    app: sumOf(m, 'app_load_succeeded_total'),
    reports: valueOf(m, 'pum_reports_total', {}, 0),
  };
}

const POSTERS = { values: { browser: BROWSERS, feature: FEATURES } };

// Kills a random live worker every 20-100 ms until `kills` kills; returns
// the killed pids.
// The processStart() of each pid killWorkersRandomly() killed.
const killedStart = new Map();
const stillAlive = (pids) => pids.filter((p) => sameProcessAlive(p, killedStart.get(p)));

async function killWorkersRandomly(s, kills, { during } = {}) {
  const killed = [];
  while (killed.length < kills) {
    await sleep(20 + Math.random() * 80);
    const live = s.currentWorkers().filter((p) => !killed.includes(p));
    if (!live.length) continue; // all being replaced right now
    const victim = live[Math.floor(Math.random() * live.length)];
    const start = processStart(victim);
    try {
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
      killedStart.set(victim, start);
    } catch { /* exited meanwhile */ }
    if (during) await during(killed.length);
  }
  return killed;
}

// Checks the store against what the posters had acknowledged.
async function checkExact(s, posters, t, what) {
  const m = await s.series();
  let acked = 0;
  for (const p of posters) {
    assert.equal(valueOf(m, 'usage_total', p.labels), p.acked,
      `${what}: usage_total${JSON.stringify(p.labels)} = the acknowledged batches of its poster`);
    acked += p.acked;
  }
  assert.equal(sumOf(m, 'usage_total'), acked, `${what}: no other series got anything`);
  assert.equal(valueOf(m, 'pum_reports_total'), acked, `${what}: pum_reports_total = acknowledged batches`);
  assert.equal(integrityCheck(s.db), 'ok', `${what}: PRAGMA integrity_check`);
  t.diagnostic(`${what}: ${acked} acknowledged batches; statuses ${JSON.stringify(statusTally(posters))}; `
    + `duplicates ${valueOf(m, 'pum_ingest_duplicate_batches_total', {}, 0)}`);
  return acked;
}

describe('kill -9 of workers at random moments under load', () => {
  const st = useSupervised({ metrics: { 'seed.json': SEED_METRICS }, workers: 3, config: { upkeep_interval_seconds: 1 } });

  it('120 kills: the totals equal the acknowledged batches exactly, integrity_check ok', { timeout: 120000 }, async (t) => {
    requireRoot();
    const s = st.s;
    const posters = makePosters({ url: () => s.ingestUrl, n: 8, prefix: 'kill', ...POSTERS });
    posters.forEach((p) => p.start());
    let killed;
    try {
      killed = await killWorkersRandomly(s, 120);
    } finally {
      await Promise.all(posters.map((p) => p.finish()));
    }
    // A process killed with SIGKILL can take a moment to be gone (a write
    // under way finishes first), more so on a loaded machine.
    await waitFor(() => stillAlive(killed).length === 0, { timeout: 10000, what: 'the killed workers to be gone' });
    assert.equal(new Set(killed).size, 120);
    await waitFor(() => s.currentWorkers().length === 3, { timeout: 5000, what: '3 workers again' });
    assert.equal(s.replacements(), 120, 'the supervisor replaced every killed worker');
    const acked = await checkExact(s, posters, t, 'after 120 kills');
    assert.ok(acked >= 300, `only ${acked} batches acknowledged: the load was too thin to mean much`);
    // (How many requests met a dying worker, answered 502 and retried, is in
    // the diagnostic: a few per run here; by chance it can be none.)
  });
});

describe('kill -9 of workers and of the exporter under load', () => {
  const st = useSupervised({ metrics: { 'seed.json': SEED_METRICS }, workers: 3, config: { upkeep_interval_seconds: 1 } });

  it('100 worker kills, the exporter killed and restarted every few hundred ms: exact totals, every scrape consistent',
    { timeout: 120000 }, async (t) => {
    requireRoot();
    const s = st.s;
    const posters = makePosters({ url: () => s.ingestUrl, n: 6, prefix: 'exp', ...POSTERS });
    posters.forEach((p) => p.start());
    let exporterKills = 0;
    let scrapes = 0;
    try {
      await killWorkersRandomly(s, 100, {
        during: async (k) => {
          if (k % 8) return;
          // A scrape of the live exporter sees at least what was
          // acknowledged before it and at most one more batch per poster.
          const low = posters.map((p) => p.acked);
          const m = await s.series();
          scrapes++;
          posters.forEach((p, i) => {
            const v = valueOf(m, 'usage_total', p.labels);
            assert.ok(v >= low[i] && v <= p.acked + 1, `scrape: ${v} for a poster with ${low[i]}..${p.acked} acknowledged`);
          });
          await s.killExporter('SIGKILL');
          exporterKills++;
          await sleep(Math.random() * 100);
          await s.startExporter();
        },
      });
    } finally {
      await Promise.all(posters.map((p) => p.finish()));
    }
    t.diagnostic(`exporter killed ${exporterKills} times, ${scrapes} scrapes checked`);
    assert.ok(exporterKills >= 12);
    await checkExact(s, posters, t, 'after 100 worker and 12 exporter kills');
  });
});

describe('disk full: the store on a 3 MB tmpfs', () => {
  let mountPoint;
  const st = { s: null };
  before(async () => {
    requireRoot();
    st.s = new SupervisedStack({
      metrics: { 'seed.json': SEED_METRICS }, workers: 2, config: { upkeep_interval_seconds: 1 },
      storeDir: (s) => {
        mountPoint = path.join(s.dir, 'store');
        fs.mkdirSync(mountPoint);
        sh('mount', ['-t', 'tmpfs', '-o', 'size=3M', 'tmpfs', mountPoint]);
        return mountPoint;
      },
    });
    try {
      await st.s.start();
    } catch (e) {
      await st.s.killAll('SIGKILL');
      if (mountPoint) spawnSync('umount', [mountPoint]);
      await st.s.stopAll();
      throw e;
    }
  });
  after(async () => {
    if (!st.s) return;
    // The processes hold files on the tmpfs: stop them before unmounting.
    await st.s.killAll('SIGTERM');
    if (mountPoint) {
      const r = spawnSync('umount', [mountPoint], { encoding: 'utf8' });
      if (r.status !== 0) spawnSync('umount', ['-l', mountPoint]);
    }
    await st.s.stopAll();
  });

  it('posts get 503 with nothing applied while it is full, and succeed with exact totals once space is freed',
    { timeout: 90000 }, async (t) => {
    const s = st.s;
    const workers = s.currentWorkers();
    let acked = { usage: 0, count: 0, reports: 0 };
    const batch = (i) => ({
      client: clientId(`full${i}`), seq: 0,
      events: [counterEvent({ browser: BROWSERS[i % 4], feature: FEATURES[i % 4] }, 1),
        histogramEvent({ firebaseHost: 'pd-dev-1.firebaseio.com' }, [0.1, 0.2]),
        { metricName: 'app_load_succeeded_total', metricType: 'counter', inc: 1 }],
    });
    const send = async (i) => {
      const r = await s.post(batch(i), { contentType: 'text/plain' });
      if (r.status === 204) acked = { usage: acked.usage + 1, count: acked.count + 2, reports: acked.reports + 1 };
      return r;
    };
    for (let i = 0; i < 20; i++) assert.equal((await send(i)).status, 204);

    // Fill the file system.
    const filler = path.join(mountPoint, 'filler');
    const fd = fs.openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (e) {
      assert.equal(e.code, 'ENOSPC', e.message);
    }
    try {
      for (;;) fs.writeSync(fd, chunk.subarray(0, 512));
    } catch { /* full to the last block */ }
    fs.closeSync(fd);

    // New clients (new rows) until the store cannot grow: every 204 counted,
    // every 503 applied nothing.
    let n503 = 0;
    let i = 20;
    const statuses = {};
    for (; i < 3000 && n503 < 20; i++) {
      const before = userTotals(await s.series());
      const r = await send(i);
      statuses[r.status] = (statuses[r.status] || 0) + 1;
      if (r.status === 503) {
        n503++;
        assert.match(r.text, /nothing was applied/);
        assert.deepEqual(userTotals(await s.series()), before, `a 503 applied something (batch ${i})`);
      } else {
        assert.equal(r.status, 204, `batch ${i}: ${r.status} ${r.text}`);
      }
    }
    t.diagnostic(`with the disk full: ${JSON.stringify(statuses)} over ${i - 20} batches`);
    assert.equal(n503, 20, `no 503 with the disk full: ${JSON.stringify(statuses)}`);
    let m = await s.series();
    assert.equal(sumOf(m, 'usage_total'), acked.usage, 'usage_total = acknowledged, with the disk full');
    assert.equal(sumOf(m, 'firebase_response_time_count'), acked.count);
    assert.equal(valueOf(m, 'pum_reports_total'), acked.reports);

    // Space freed: the same client retrying gets its batch applied once.
    fs.rmSync(filler);
    const retry = batch(i);
    let status = 0;
    for (let k = 0; k < 50 && status !== 204; k++) {
      status = (await s.post(retry, { contentType: 'text/plain' })).status;
      if (status !== 204) await sleep(100);
    }
    assert.equal(status, 204, 'after the space was freed');
    acked = { usage: acked.usage + 1, count: acked.count + 2, reports: acked.reports + 1 };
    for (let k = 1; k <= 20; k++) assert.equal((await send(i + k)).status, 204, `batch ${i + k} after the space was freed`);
    assert.equal((await s.post(retry, { contentType: 'text/plain' })).status, 204, 'the retried batch again: a duplicate');
    m = await s.series();
    assert.equal(sumOf(m, 'usage_total'), acked.usage, 'usage_total = acknowledged, after');
    assert.equal(sumOf(m, 'firebase_response_time_count'), acked.count);
    assert.equal(sumOf(m, 'app_load_succeeded_total'), acked.reports);
    assert.equal(valueOf(m, 'pum_reports_total'), acked.reports);
    assert.equal(integrityCheck(s.db), 'ok');
    assert.deepEqual(s.currentWorkers(), workers, 'a worker died (and was replaced) while the disk was full');
    assert.equal(s.replacements(), 0);
    assert.ok(pidAlive(s.exporterProc.pid), 'the exporter died while the disk was full');
  });
});

// The sqlite3 shell holding `BEGIN EXCLUSIVE` on db until release().
const holdExclusive = (db, stack) => holdSqlite(db, stack,
  "BEGIN EXCLUSIVE;\nINSERT INTO clients SELECT * FROM clients WHERE 0;\nSELECT 'locked';", 'locked');

describe('a store locked by another process', () => {
  const BUSY_MS = 400;
  const st = useSupervised({ metrics: { 'seed.json': SEED_METRICS }, workers: 2, config: { busy_timeout_ms: BUSY_MS } });

  it(`503 after busy_timeout_ms (${BUSY_MS}), not a hang, nothing applied; 204 once released`, { timeout: 60000 }, async () => {
    requireRoot();
    const s = st.s;
    const CQ = { browser: 'chrome', feature: 'quickQuestion' };
    const client = clientId('lock');
    const body = (seq) => ({ client, seq, events: [counterEvent(CQ, 1), histogramEvent({ firebaseHost: 'pd-dev-2.firebaseio.com' }, [1])] });
    assert.equal((await s.post(body(0))).status, 204);
    const before = userTotals(await s.series());
    const lock = await holdExclusive(s.db, s);
    try {
      // Several at once, one per worker and more: each waits busy_timeout_ms
      // at most once, none hangs.
      const t0 = Date.now();
      const res = await Promise.all([1, 2, 3, 4].map(async (seq) => {
        const r = await s.post(body(seq));
        return { status: r.status, text: r.text, ms: Date.now() - t0 };
      }));
      for (const r of res) {
        assert.equal(r.status, 503, r.text);
        assert.match(r.text, /busy/);
        assert.ok(r.ms >= BUSY_MS * 0.9, `503 after ${r.ms} ms: it did not wait busy_timeout_ms`);
        assert.ok(r.ms < 4 * BUSY_MS + 3000, `503 after ${r.ms} ms: too long for busy_timeout_ms ${BUSY_MS}`);
      }
      // The exporter still reads (WAL), and nothing was applied.
      assert.deepEqual(userTotals(await s.series()), before);
    } finally {
      await lock.release();
    }
    for (const seq of [1, 2, 3, 4]) assert.equal((await s.post(body(seq))).status, 204, `seq ${seq} after the release`);
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ), 5);
    assert.equal(sumOf(m, 'firebase_response_time_count'), 5);
    assert.equal(valueOf(m, 'pum_reports_total'), 5);
    assert.equal(s.replacements(), 0, 'a worker died');
  });
});

describe('a read-only store (chattr +i)', () => {
  let storeDir;
  const st = useSupervised({
    metrics: { 'seed.json': SEED_METRICS }, workers: 2,
    storeDir: (s) => {
      storeDir = path.join(s.dir, 'store');
      fs.mkdirSync(storeDir);
      return storeDir;
    },
  });
  const files = () => [storeDir, ...['pum.db', 'pum.db-wal'].map((f) => path.join(storeDir, f))].filter((f) => fs.existsSync(f));
  const unlock = () => { for (const f of files()) spawnSync('chattr', ['-i', f]); };
  after(unlock); // before the stack's own after hook removes the directory

  it('posts get 503 and apply nothing, no worker or exporter crashes; writable again, posts succeed', { timeout: 60000 }, async () => {
    requireRoot();
    const s = st.s;
    const CQ = { browser: 'edge', feature: 'blockStudent' };
    const client = clientId('ro');
    const body = (seq) => ({ client, seq, events: [counterEvent(CQ, 1), histogramEvent({ firebaseHost: 'pd-dev-1.firebaseio.com' }, [2])] });
    assert.equal((await s.post(body(0))).status, 204);
    const workers = s.currentWorkers();
    const before = userTotals(await s.series());
    try {
      for (const f of files()) sh('chattr', ['+i', f]);
      for (let seq = 1; seq <= 6; seq++) {
        const r = await s.post(body(seq));
        assert.equal(r.status, 503, `seq ${seq}: ${r.status} ${r.text}`);
        assert.match(r.text, /nothing was applied/);
      }
      const r = await s.post([counterEvent(CQ, 1)]);
      assert.equal(r.status, 503, r.text);
      assert.deepEqual(userTotals(await s.series()), before, 'something was applied to a read-only store');
      await sleep(1500); // an upkeep round of the exporter on the read-only store
      assert.ok(pidAlive(s.exporterProc.pid), 'the exporter died on a read-only store');
      assert.deepEqual(s.currentWorkers(), workers, 'a worker died on a read-only store');
    } finally {
      unlock();
    }
    let status = 0;
    for (let k = 0; k < 30 && status !== 204; k++) {
      status = (await s.post(body(1))).status;
      if (status !== 204) await sleep(100);
    }
    assert.equal(status, 204, 'writable again');
    const m = await s.series();
    assert.equal(valueOf(m, 'usage_total', CQ), 2);
    assert.equal(valueOf(m, 'pum_reports_total'), 2);
    assert.equal(integrityCheck(s.db), 'ok');
    assert.equal(s.replacements(), 0);
  });
});

describe('a store pum cannot use is refused at start', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-badstore-'));
  const metricsDir = path.join(dir, 'metrics.d');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // A real pum store with some data, made by pum-ingest.
  function pumStore(name) {
    const db = path.join(dir, name);
    const r = spawnSync(INGEST_BIN, [`--storage.path=${db}`, `--metrics.dir=${metricsDir}`, '--check-config'], { encoding: 'utf8' });
    if (!fs.existsSync(db)) {
      // --check-config does not create the store: start the exporter once.
      const e = spawnSync('timeout', ['-s', 'TERM', '1', EXPORTER_BIN, `--storage.path=${db}`, `--metrics.dir=${metricsDir}`,
        '--web.listen-address=127.0.0.1:0'], { encoding: 'utf8' });
      assert.ok(fs.existsSync(db), `no store made: ${r.stderr}${e.stderr}`);
    }
    return db;
  }

  const cases = [
    ['a file of random bytes', () => {
      const db = path.join(dir, 'random.db');
      fs.writeFileSync(db, Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919 + 13) % 251)));
      return db;
    }, /not a SQLite database|file is not a database/],
    ['a pum store whose first page is overwritten', () => {
      const db = pumStore('page1.db');
      const b = fs.readFileSync(db);
      b.fill(0xa5, 100, 4096);
      fs.writeFileSync(db, b);
      return db;
    }, /malformed|not a SQLite database/],
    ['a pum store whose data pages are overwritten (header and schema intact)', () => {
      const db = pumStore('pages.db');
      const b = fs.readFileSync(db);
      b.fill(0xa5, 4096);
      fs.writeFileSync(db, b);
      return db;
    }, /malformed|corrupt/],
    ['a foreign SQLite database (other tables)', () => {
      const db = path.join(dir, 'foreign.db');
      sh('sqlite3', [db, 'CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders VALUES (1, 9.5);']);
      return db;
    }, /not a pum one/],
    ['a pum store with a newer schema version', () => {
      const db = pumStore('newer.db');
      sh('sqlite3', [db, 'PRAGMA user_version = 99;']);
      return db;
    }, /schema version 99, newer than this pum supports/],
  ];

  before(() => {
    fs.mkdirSync(metricsDir);
    fs.writeFileSync(path.join(metricsDir, 'seed.json'), JSON.stringify(SEED_METRICS));
  });

  for (const [what, make, problem] of cases) {
    it(`${what}: both binaries exit non-zero, naming the file and the problem, and leave it as it was`, { timeout: 30000 }, () => {
      const db = make();
      const original = fs.readFileSync(db);
      for (const [bin, extra] of [[INGEST_BIN, [`--listen=unix:${path.join(dir, 'x.sock')}`]],
        [EXPORTER_BIN, ['--web.listen-address=127.0.0.1:0']]]) {
        const r = spawnSync(bin, [`--storage.path=${db}`, `--metrics.dir=${metricsDir}`, ...extra],
          { encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] });
        const name = path.basename(bin);
        assert.notEqual(r.signal, 'SIGKILL', `${name} started and kept running on ${what} (killed after 10 s): ${r.stderr}`);
        assert.equal(r.signal, null, `${name} died of ${r.signal}`);
        assert.notEqual(r.status, 0, `${name} exit status`);
        const msg = `${r.stderr}${r.stdout}`;
        assert.ok(msg.includes(db), `${name}'s message names the file: ${msg}`);
        assert.match(msg, problem, `${name}'s message names the problem`);
      }
      assert.ok(fs.readFileSync(db).equals(original), 'the file was changed');
    });
  }

  it('the supervisor of make run gives up on a worker that cannot start, instead of restarting it forever', { timeout: 30000 }, async () => {
    const db = path.join(dir, 'foreign.db');
    const sock = path.join(dir, 'sup.sock');
    const r = spawnSync('spawn-fcgi', ['-n', '-s', sock, '--', '/bin/bash', SUPERVISOR, INGEST_BIN,
      `--storage.path=${db}`, `--metrics.dir=${metricsDir}`], { encoding: 'utf8', timeout: 20000, env: { ...process.env, PUM_WORKERS: '2' } });
    assert.equal(r.signal, null, 'the supervisor did not give up within 20 s');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /right after starting, 5 times in a row; giving up/);
    assert.match(r.stderr, /not a pum one/);
  });
});
