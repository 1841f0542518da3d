// Helpers for tests/deploy/webservers.test.mjs: the shipped web server
// snippets of deploy/ with their install paths pointed at a test's files,
// real web servers (nginx, lighttpd, Apache from Debian's packages) started
// in the foreground on loopback, and the checks every one of them must pass.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  BUILD_DIR, REPO, canConnect, childPids, clientId, counterEvent, histogramEvent, pidAlive, sumOf, valueOf, waitFor,
} from '../integration/stack.mjs';
import { request } from '../support/http.mjs';

export const DEPLOY = path.join(REPO, 'deploy');
export const CLIENT_JS = path.join(BUILD_DIR, 'pum.js');
export const CLIENT_ESM = path.join(BUILD_DIR, 'pum.esm.js');
export const CLIENT_SPA = path.join(BUILD_DIR, 'pum.spa.js');

// A shipped file of deploy/ with each [from, to] of `pairs` replaced
// everywhere. Every `from` must occur: if a snippet stops using a path the
// test fills in, the test says so instead of testing something else.
export function fillIn(rel, pairs) {
  let text = fs.readFileSync(path.join(DEPLOY, rel), 'utf8');
  for (const [from, to] of pairs) {
    assert.ok(text.includes(from), `deploy/${rel} no longer contains ${JSON.stringify(from)}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

// Every pid below `pid` (children, their children, ...).
export function descendants(pid) {
  const out = [];
  const todo = [pid];
  while (todo.length) {
    for (const k of childPids(todo.pop())) {
      out.push(k);
      todo.push(k);
    }
  }
  return out;
}

// Live (not zombie) processes whose command line contains `text` (pgrep -f,
// as a fixed string), other than this one.
export function processesMatching(text) {
  const r = spawnSync('pgrep', ['-a', '-f', text.replace(/[.[\]*^$\\+?(){}|]/g, '\\$&')], { encoding: 'utf8' });
  return (r.stdout || '').split('\n').filter(Boolean)
    .map((l) => ({ pid: Number(l.split(' ')[0]), cmd: l }))
    .filter((p) => p.pid !== process.pid && pidAlive(p.pid));
}

// A web server in the foreground, a child of this process, its output in
// `logFile`. Resolves once it accepts connections on 127.0.0.1:port.
export async function startServer({ name, cmd, args, port, logFile, env, timeout = 8000 }) {
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(cmd, args, { stdio: ['ignore', out, out], env: env || process.env });
  fs.closeSync(out);
  const srv = { name, proc, port, logFile, known: new Set([proc.pid]), exit: null };
  srv.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    srv.exit = { code, signal };
    resolve(srv.exit);
  }));
  proc.once('error', (e) => { srv.exit = { error: e }; });
  try {
    await waitFor(async () => {
      if (srv.exit) throw new Error(`${name} exited: ${JSON.stringify(srv.exit)}`);
      return canConnect(port);
    }, { timeout, what: `${name} to listen on 127.0.0.1:${port}` });
  } catch (e) {
    await stopServer(srv);
    throw new Error(`${e.message}\n${readLog(logFile)}`);
  }
  return srv;
}

export function readLog(file) {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

// Notes the server's current descendants (workers it spawned), so that
// stopServer can make sure they are gone too.
export function noteDescendants(srv) {
  if (srv && srv.proc && !srv.exit) for (const p of descendants(srv.proc.pid)) srv.known.add(p);
}

// Stops a server started by startServer: SIGTERM (nginx: SIGQUIT), waits
// up to 8 s, then SIGKILLs it and everything it had started. Returns the
// pids that were still alive 3 s after the server exited (they are killed).
export async function stopServer(srv, sig = 'SIGTERM') {
  if (!srv || !srv.proc) return [];
  noteDescendants(srv);
  if (!srv.exit) {
    try { srv.proc.kill(sig); } catch { /* gone */ }
    const t = setTimeout(() => { try { srv.proc.kill('SIGKILL'); } catch { /* gone */ } }, 8000);
    await srv.exited;
    clearTimeout(t);
  }
  const deadline = Date.now() + 3000;
  let left = [...srv.known].filter(pidAlive);
  while (left.length && Date.now() < deadline) {
    await sleep(25);
    left = left.filter(pidAlive);
  }
  for (const p of left) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  srv.proc = null;
  return left;
}

// --------------------------------------------------------------- traffic

// The seed's metrics (usage_total, firebase_response_time,
// app_load_succeeded_total: SEED_METRICS of stack.mjs) as the browsers'
// totals; equal before and after means nothing was applied.
export function userTotals(m) {
  return {
    usage: sumOf(m, 'usage_total'),
    fbCount: sumOf(m, 'firebase_response_time_count'),
    fbSum: sumOf(m, 'firebase_response_time_sum'),
    app: sumOf(m, 'app_load_succeeded_total'),
  };
}

const CQ = { browser: 'chrome', feature: 'quickQuestion' };
const DEV1 = { firebaseHost: 'pd-dev-1.firebaseio.com' };

// Registers the checks every server passes with `it` (inside a describe):
// env() returns {base, stack} once the before hook has run. The rate-limit
// check is separate (rateLimitCheck) and goes last: it uses up the limit
// of 127.0.0.1.
export function commonChecks(it, env, T) {
  it('POST batches of both wire shapes: 204, and /metrics has exactly their totals', T, async () => {
    const { base, stack } = env();
    const seed = [counterEvent(CQ, 2), histogramEvent(DEV1, [0.1, 0.3])];
    let r = await request(`${base}/record`, {
      method: 'POST', body: JSON.stringify(seed), headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 204, `seed shape: ${r.status} ${r.text}`);
    // pum's shape, as sendBeacon sends it (text/plain), then the same
    // (client, seq) again: acknowledged, not applied twice.
    const batch = JSON.stringify({
      client: clientId('ws'), seq: 0,
      events: [counterEvent(CQ, 3), { metricName: 'app_load_succeeded_total', metricType: 'counter', inc: 1 },
        histogramEvent(DEV1, [2])],
    });
    for (let i = 0; i < 2; i++) {
      r = await request(`${base}/record`, { method: 'POST', body: batch, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
      assert.equal(r.status, 204, `pum shape (${i}): ${r.status} ${r.text}`);
    }
    const m = await stack.series();
    assert.equal(valueOf(m, 'usage_total', CQ), 5);
    assert.equal(valueOf(m, 'usage_total', { browser: 'firefox', feature: 'quickQuestion' }), 0);
    assert.equal(valueOf(m, 'app_load_succeeded_total'), 1);
    assert.equal(valueOf(m, 'firebase_response_time_count', DEV1), 3);
    assert.equal(valueOf(m, 'firebase_response_time_sum', DEV1), 0.1 + 0.3 + 2);
    assert.equal(valueOf(m, 'firebase_response_time_bucket', { ...DEV1, le: '0.1' }), 1);
    assert.equal(valueOf(m, 'firebase_response_time_bucket', { ...DEV1, le: '0.5' }), 2);
    assert.equal(valueOf(m, 'firebase_response_time_bucket', { ...DEV1, le: '+Inf' }), 3);
    assert.equal(valueOf(m, 'pum_ingest_duplicate_batches_total'), 1);
    assert.equal(valueOf(m, 'pum_ingest_requests_total', { code: '204' }), 3);
  });

  it('OPTIONS (CORS preflight) with an Origin reaches pum-ingest: 204 with the CORS headers', T, async () => {
    const { base } = env();
    const origin = 'https://www.example.com';
    const r = await request(`${base}/record`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.match(r.headers['access-control-allow-methods'] || '', /POST/);
    assert.match(r.headers['access-control-allow-headers'] || '', /content-type/i);
    // and a cross-origin POST gets its Origin echoed
    const p = await request(`${base}/record`, { method: 'POST', body: '[]', headers: { origin, 'content-type': 'text/plain' } });
    assert.equal(p.status, 204, p.text);
    assert.equal(p.headers['access-control-allow-origin'], origin);
  });

  it('serves pum.js at /pum.js and /static/aggregatorClient.js, pum.spa.js and pum.esm.js, as the built files', T, async () => {
    const { base } = env();
    const js = fs.readFileSync(CLIENT_JS);
    const esm = fs.readFileSync(CLIENT_ESM);
    const spa = fs.readFileSync(CLIENT_SPA);
    for (const [p, want] of [['/pum.js', js], ['/static/aggregatorClient.js', js], ['/pum.spa.js', spa], ['/pum.esm.js', esm]]) {
      const r = await request(`${base}${p}`);
      assert.equal(r.status, 200, `${p}: ${r.status}`);
      assert.ok(r.buf.equals(want), `${p}: ${r.buf.length} bytes, not the ${want.length} of the built file`);
      assert.match(r.headers['content-type'] || '', /^text\/javascript/, `${p}: Content-Type`);
      assert.match(r.headers['cache-control'] || '', /max-age=3600/, `${p}: Cache-Control`);
    }
  });

  it('caps the body at 64 KiB: 65537 bytes get 413 and apply nothing, 65536 bytes pass', T, async () => {
    const { base, stack } = env();
    const before = userTotals(await stack.series());
    const event = JSON.stringify([counterEvent(CQ, 1)]);
    const pad = (n) => `${event.slice(0, -1)}${' '.repeat(n - event.length)}]`;
    const big = pad(65537);
    assert.equal(Buffer.byteLength(big), 65537);
    const r = await request(`${base}/record`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.deepEqual(userTotals(await stack.series()), before, 'a 413 applied something');
    const edge = pad(65536);
    const ok = await request(`${base}/record`, { method: 'POST', body: edge, headers: { 'content-type': 'application/json' } });
    assert.equal(ok.status, 204, `exactly 65536 bytes: ${ok.status} ${ok.text.slice(0, 300)}`);
    assert.equal(userTotals(await stack.series()).usage, before.usage + 1);
  });

  it('routes only /record: other methods get 405 from pum-ingest', T, async () => {
    const { base } = env();
    const r = await request(`${base}/record`, { method: 'PUT', body: '[]' });
    assert.equal(r.status, 405, r.text);
  });
}

// Sends `n` POSTs of an empty batch, one after the other, from 127.0.0.1
// until `n` are sent; returns {statuses, passed, refused, ms, first429}.
export async function burst(base, n) {
  const statuses = [];
  let first429;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const r = await request(`${base}/record`, { method: 'POST', body: '[]', headers: { 'content-type': 'text/plain' } });
    statuses.push(r.status);
    if (r.status === 429 && !first429) first429 = r;
  }
  const ms = Date.now() - t0;
  return {
    statuses, ms, first429,
    passed: statuses.filter((s) => s === 204).length,
    refused: statuses.filter((s) => s === 429).length,
  };
}

// What a set of statuses holds, for messages.
export function tally(statuses) {
  const t = {};
  for (const s of statuses) t[s] = (t[s] || 0) + 1;
  return JSON.stringify(t);
}

// Every request pum-ingest answered, by the exporter.
export function ingestRequests(m) {
  return sumOf(m, 'pum_ingest_requests_total');
}
