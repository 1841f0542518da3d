// `make run` (deploy/run-local.sh): starts the stack on the given ports,
// prints exactly its two lines, serves, and stops everything on SIGINT; and
// fails clearly when a port is taken.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import {
  BUILD_DIR, REPO, canConnect, childPids, freePort, parseExposition, pidAlive, readPidFile, valueOf, waitFor,
} from './stack.mjs';

const SCRIPT = path.join(REPO, 'deploy', 'run-local.sh');

function startScript(env) {
  const child = spawn('sh', [SCRIPT], {
    cwd: REPO,
    env: { ...process.env, BUILD: BUILD_DIR, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.err += d; });
  child.done = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return child;
}

// Every pid the script started, from its pid files (and nginx's workers).
function stackPids(varDir) {
  const pids = [];
  const rd = (f) => { try { return readPidFile(path.join(varDir, 'run', f)); } catch { return []; } };
  pids.push(...rd('ingest.pid'), ...rd('exporter.pid'));
  for (const p of rd('nginx.pid')) pids.push(p, ...childPids(p));
  return pids;
}

describe('make run (deploy/run-local.sh)', () => {
  const varDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-run-'));
  const children = [];
  let seen = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const p of seen) if (pidAlive(p)) process.kill(p, 'SIGKILL');
    fs.rmSync(varDir, { recursive: true, force: true });
  });

  it('prints the two lines, serves /record and /metrics, stops everything on SIGINT', { timeout: 40000 }, async () => {
    const httpPort = await freePort();
    const metricsPort = await freePort();
    const child = startScript({ PUM_HTTP_PORT: String(httpPort), PUM_METRICS_PORT: String(metricsPort), PUM_VAR_DIR: varDir });
    children.push(child);
    await waitFor(() => child.out.split('\n').length >= 3 || child.exitCode !== null,
      { timeout: 20000, what: 'the two lines' });
    assert.equal(child.exitCode, null, `exited early: ${child.err}`);
    assert.equal(child.out, `ingest: http://127.0.0.1:${httpPort}/record\nmetrics: http://127.0.0.1:${metricsPort}/metrics\n`);
    seen = stackPids(varDir);
    assert.ok(seen.length >= 4, `pids: ${seen}`);
    try {
      await useIt(httpPort, metricsPort);
    } catch (e) {
      child.kill('SIGTERM');
      await Promise.race([child.done, new Promise((r) => setTimeout(r, 10000))]);
      throw e;
    }

    child.kill('SIGINT');
    const res = await Promise.race([child.done, new Promise((r) => setTimeout(() => r('timeout'), 15000))]);
    assert.deepEqual(res, { code: 0, signal: null }, child.err);
    assert.deepEqual(seen.filter(pidAlive), [], 'processes left after SIGINT');
    assert.equal(await canConnect(httpPort), false);
    assert.equal(await canConnect(metricsPort), false);
  });

  async function useIt(httpPort, metricsPort) {
    const ev = [{ metricName: 'browser_page_views_total', metricType: 'counter', inc: 1 }];
    const r = await fetch(`http://127.0.0.1:${httpPort}/record`, { method: 'POST', body: JSON.stringify(ev),
      headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 204, await r.text());
    const m = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    assert.equal(valueOf(m, 'browser_page_views_total'), 1);
    assert.ok(fs.existsSync(path.join(varDir, 'pum.db')));
    // pum.js is served from the build, also at the seed's path
    const built = fs.readFileSync(path.join(BUILD_DIR, 'pum.js'), 'utf8');
    for (const p of ['/pum.js', '/static/aggregatorClient.js']) {
      const js = await fetch(`http://127.0.0.1:${httpPort}${p}`);
      assert.equal(js.status, 200, p);
      assert.match(js.headers.get('content-type'), /javascript/, p);
      assert.equal(await js.text(), built, p);
    }
  }

  it('fails clearly, starting nothing, when a port is taken', { timeout: 20000 }, async () => {
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = blocker.address().port;
    try {
      const otherVar = path.join(varDir, 'other');
      const child = startScript({ PUM_HTTP_PORT: String(taken), PUM_METRICS_PORT: String(await freePort()), PUM_VAR_DIR: otherVar });
      children.push(child);
      const res = await Promise.race([child.done, new Promise((r) => setTimeout(() => r('timeout'), 10000))]);
      assert.notEqual(res, 'timeout');
      assert.notEqual(res.code, 0);
      assert.match(child.err, new RegExp(`port ${taken} is taken`));
      assert.equal(child.out, '');
      assert.equal(fs.existsSync(path.join(otherVar, 'run', 'ingest.pid')), false);
    } finally {
      blocker.close();
    }
  });
});
