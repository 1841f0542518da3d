// `make run` (deploy/run-local.sh) replaces a dead worker: its workers run
// under deploy/pum-ingest-supervisor.sh on one socket. kill -9 of workers
// under a continuous load (posters retrying each batch until acknowledged):
// the supervisor starts another each time, the next requests are served
// (204) and /metrics counts exactly the acknowledged batches; kill -9 of
// every worker at once still serves the next request (the socket's backlog
// holds it); SIGTERM stops everything, replaced workers included; and if
// the supervisor itself dies, make run says so and stops everything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  BUILD_DIR, REPO, childPids, freePort, parseExposition, pidAlive, processStart, readPidFile, sameProcessAlive, valueOf, waitFor,
} from './stack.mjs';
import { makePosters, postStatus, statusTally } from './faults-load.mjs';

const SCRIPT = path.join(REPO, 'deploy', 'run-local.sh');
const WORKERS = 3;

function within(promise, ms) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r('timeout'), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function startRun(varDir, children) {
  const ports = { http: await freePort(), metrics: await freePort(), prom: await freePort() };
  const child = spawn('sh', [SCRIPT], {
    cwd: REPO,
    env: {
      ...process.env, BUILD: BUILD_DIR, PUM_VAR_DIR: varDir, PUM_WORKERS: String(WORKERS),
      PUM_HTTP_PORT: String(ports.http), PUM_METRICS_PORT: String(ports.metrics), PUM_PROMETHEUS_PORT: String(ports.prom),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.err += d; });
  child.done = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  await waitFor(() => child.out.split('\n').length >= 5 || child.exitCode !== null, { timeout: 30000, what: 'make run to start' });
  assert.equal(child.exitCode, null, `make run exited early: ${child.err}`);
  const run = path.join(varDir, 'run');
  const rd = (f) => { try { return readPidFile(path.join(run, f)); } catch { return []; } };
  return {
    child, ports,
    record: `http://127.0.0.1:${ports.http}/record`,
    supervisor: rd('ingest-supervisor.pid')[0],
    workers: () => rd('ingest.pid'),
    // everything make run started, now
    pids: () => {
      const pids = [...rd('ingest-supervisor.pid'), ...rd('ingest.pid'), ...rd('exporter.pid'), ...rd('prometheus.pid')];
      for (const p of rd('nginx.pid')) pids.push(p, ...childPids(p));
      return pids;
    },
    log: () => { try { return fs.readFileSync(path.join(varDir, 'log', 'ingest.log'), 'utf8'); } catch { return ''; } },
    async series() {
      const r = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`);
      return parseExposition(await r.text());
    },
  };
}

describe('make run: a dead pum-ingest worker is replaced', () => {
  const children = [];
  const dirs = [];
  let seen = new Set();
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const p of seen) if (pidAlive(p)) process.kill(p, 'SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const newVar = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-run-sup-'));
    dirs.push(d);
    return d;
  };

  it('kill -9 of workers under load: each is replaced, requests keep being served and counted exactly; SIGTERM stops all',
    { timeout: 90000 }, async (t) => {
    const r = await startRun(newVar(), children);
    const note = () => { for (const p of r.pids()) seen.add(p); };
    note();
    try {
      assert.ok(pidAlive(r.supervisor), 'the supervisor runs');
      const first = r.workers();
      assert.equal(first.length, WORKERS, `pid file: ${first}`);
      assert.deepEqual(childPids(r.supervisor).sort(), [...first].sort(), 'the workers are the supervisor\'s children');

      const posters = makePosters({
        url: () => r.record, n: 4, prefix: 'run',
        values: { browser: ['chrome', 'firefox', 'safari', 'edge'], feature: ['quickQuestion'] },
      });
      posters.forEach((p) => p.start());
      const killed = [];
      const starts = new Map(); // pid -> processStart(): pids get reused here
      try {
        const KILLS = 30;
        for (let k = 0; k < KILLS; k++) {
          await sleep(40 + Math.random() * 120);
          // (not one killed a moment ago that is still dying)
          // A replacement takes a moment to appear in the pid file, longer on
          // a loaded machine.
          const live = await waitFor(() => {
            const l = r.workers().filter((p) => pidAlive(p) && !(starts.has(p) && sameProcessAlive(p, starts.get(p))));
            return l.length > 0 ? l : null;
          }, { timeout: 10000, what: 'a live worker in the pid file' });
          const victim = live[Math.floor(Math.random() * live.length)];
          starts.set(victim, processStart(victim));
          process.kill(victim, 'SIGKILL');
          killed.push(victim);
          note();
        }
        // Every worker replaced: WORKERS live ones again, none of them killed.
        const now = await waitFor(() => {
          const w = r.workers();
          return w.length === WORKERS && w.every(pidAlive) && !w.some((p) => sameProcessAlive(p, starts.get(p))) ? w : null;
        }, { timeout: 10000, what: `${WORKERS} live workers, none of the killed ones` });
        // The supervisor's children are those workers, once it has reaped a
        // child that died meanwhile (regression: under make asan a fourth,
        // exiting child was still listed for a moment).
        await waitFor(() => {
          const children = childPids(r.supervisor).sort();
          return JSON.stringify(children) === JSON.stringify([...now].sort()) ? children : null;
        }, { timeout: 10000, what: `the supervisor's children to be ${now.join(', ')}` });
        note();
      } finally {
        await Promise.all(posters.map((p) => p.finish()));
      }
      // A process killed with SIGKILL can take a moment to be gone (a write
      // under way finishes first), more so on a loaded machine.
      await waitFor(() => killed.every((p) => !sameProcessAlive(p, starts.get(p))),
        { timeout: 10000, what: 'the killed workers to be gone' });
      const replaced = (r.log().match(/pum-ingest-supervisor: worker \d+ was killed by signal 9; starting another/g) || []).length;
      assert.equal(replaced, killed.length, `the supervisor logged ${replaced} replacements for ${killed.length} kills`);

      // After the kills: a new batch is served at the first try.
      const after1 = await postStatus(r.record, JSON.stringify([{ metricName: 'usage_total', metricType: 'counter',
        labels: { browser: 'other', feature: 'blockStudent' }, inc: 1 }]));
      assert.equal(after1, 204);

      // kill -9 of every worker at once: the socket stays (the supervisor
      // holds it), so the next request waits in the backlog for a new
      // worker instead of failing.
      const all = r.workers();
      for (const p of all) process.kill(p, 'SIGKILL');
      const after2 = await postStatus(r.record, JSON.stringify([{ metricName: 'usage_total', metricType: 'counter',
        labels: { browser: 'other', feature: 'blockStudent' }, inc: 1 }]), 10000);
      assert.equal(after2, 204, 'the request right after every worker was killed');
      note();

      const m = await r.series();
      let acked = 0;
      for (const p of posters) {
        assert.equal(valueOf(m, 'usage_total', p.labels), p.acked, `${JSON.stringify(p.labels)}: counted = acknowledged`);
        acked += p.acked;
      }
      assert.equal(valueOf(m, 'usage_total', { browser: 'other', feature: 'blockStudent' }), 2);
      t.diagnostic(`kills: ${killed.length} + ${all.length}; acknowledged batches: ${acked}; statuses: ${JSON.stringify(statusTally(posters))}`);
      assert.ok(acked >= 50, `only ${acked} batches acknowledged during the kills`);
    } catch (e) {
      e.message += `\n--- make run stderr:\n${r.child.err}\n--- ingest.log (tail):\n${r.log().slice(-3000)}`;
      throw e;
    } finally {
      note();
      r.child.kill('SIGTERM');
    }
    const res = await within(r.child.done, 20000);
    assert.deepEqual(res, { code: 0, signal: null }, r.child.err);
    await waitFor(() => ![...seen].some(pidAlive), { timeout: 3000, what: 'every process to be gone' }).catch(() => {});
    assert.deepEqual([...seen].filter(pidAlive), [], 'processes left after SIGTERM (replaced workers included)');
  });

  it('if the supervisor itself dies, make run says so and stops everything', { timeout: 60000 }, async () => {
    const r = await startRun(newVar(), children);
    const pids = r.pids();
    for (const p of pids) seen.add(p);
    assert.ok(pids.includes(r.supervisor));
    process.kill(r.supervisor, 'SIGKILL');
    const res = await within(r.child.done, 20000);
    assert.notEqual(res, 'timeout', 'make run kept running without its supervisor');
    assert.equal(res.code, 1, r.child.err);
    assert.match(r.child.err, /the pum-ingest workers' supervisor exited/);
    await waitFor(() => !pids.some(pidAlive), { timeout: 3000, what: 'every process to be gone' }).catch(() => {});
    assert.deepEqual(pids.filter(pidAlive), [], 'processes left (orphaned workers?)');
  });
});
