// `make run` (deploy/run-local.sh): starts the stack and a Prometheus on the
// given ports, prints exactly its four lines, serves /record, /metrics,
// pum.js and the demo page, Prometheus scrapes the exporter (job "pum") with
// pum's rules, and everything stops on SIGINT; and it fails clearly when a
// port is taken.
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

// `promise`'s value, or 'timeout' after `ms` (the timer does not keep the
// test process alive).
function within(promise, ms) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r('timeout'), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Every pid the script started, from its pid files (and nginx's workers).
function stackPids(varDir) {
  const pids = [];
  const rd = (f) => { try { return readPidFile(path.join(varDir, 'run', f)); } catch { return []; } };
  pids.push(...rd('ingest.pid'), ...rd('exporter.pid'), ...rd('prometheus.pid'));
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

  it('prints the four lines, serves /record, /metrics, the demo and Prometheus, stops everything on SIGINT',
    { timeout: 60000 }, async () => {
    const httpPort = await freePort();
    const metricsPort = await freePort();
    const promPort = await freePort();
    const child = startScript({
      PUM_HTTP_PORT: String(httpPort), PUM_METRICS_PORT: String(metricsPort), PUM_PROMETHEUS_PORT: String(promPort),
      PUM_VAR_DIR: varDir,
    });
    children.push(child);
    await waitFor(() => child.out.split('\n').length >= 5 || child.exitCode !== null,
      { timeout: 30000, what: 'the four lines' });
    assert.equal(child.exitCode, null, `exited early: ${child.err}`);
    assert.equal(child.out, `ingest: http://127.0.0.1:${httpPort}/record\n`
      + `metrics: http://127.0.0.1:${metricsPort}/metrics\n`
      + `demo: http://127.0.0.1:${httpPort}/demo/\n`
      + `prometheus: http://127.0.0.1:${promPort}/\n`);
    seen = stackPids(varDir);
    assert.ok(seen.length >= 5, `pids: ${seen}`);
    try {
      await useIt(httpPort, metricsPort);
      await demoPage(httpPort, metricsPort, promPort);
      await prometheus(httpPort, metricsPort, promPort);
    } catch (e) {
      child.kill('SIGTERM');
      await within(child.done, 10000);
      throw e;
    }

    child.kill('SIGINT');
    const res = await within(child.done, 15000);
    assert.deepEqual(res, { code: 0, signal: null }, child.err);
    assert.deepEqual(seen.filter(pidAlive), [], 'processes left after SIGINT');
    assert.equal(await canConnect(httpPort), false);
    assert.equal(await canConnect(metricsPort), false);
    assert.equal(await canConnect(promPort), false);
    assert.ok(fs.existsSync(path.join(varDir, 'prometheus')), 'Prometheus stores under var/prometheus');
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

  // The demo page: pum's snippet loading /pum.js, buttons for the example
  // metrics of conf/metrics.d/example.json and an error, links to /metrics
  // and Prometheus (their ports in /demo/links.js).
  async function demoPage(httpPort, metricsPort, promPort) {
    const r = await fetch(`http://127.0.0.1:${httpPort}/demo/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
    const html = await r.text();
    assert.equal(html, fs.readFileSync(path.join(REPO, 'deploy', 'demo', 'index.html'), 'utf8'));
    assert.match(html, /'\/pum\.js'/, 'loads pum.js with the snippet');
    for (const m of ['usage_total', 'quickQuestion', 'blockStudent', 'firebase_response_time_seconds',
      'app_load_succeeded_total', 'page_route_views_total', 'Throw an error']) {
      assert.ok(html.includes(m), `the demo page mentions ${m}`);
    }
    const redirect = await fetch(`http://127.0.0.1:${httpPort}/demo`, { redirect: 'manual' });
    await redirect.arrayBuffer();
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), `http://127.0.0.1:${httpPort}/demo/`);
    const links = await fetch(`http://127.0.0.1:${httpPort}/demo/links.js`);
    assert.equal(links.status, 200);
    assert.match(links.headers.get('content-type'), /javascript/);
    assert.equal((await links.text()).trim(),
      `window.PUM_DEMO = {metricsPort: ${metricsPort}, prometheusPort: ${promPort}};`);
  }

  // Prometheus: ready, the exporter a healthy target of job "pum", pum's rule
  // files loaded, and a counter posted now shows up in a query.
  async function prometheus(httpPort, metricsPort, promPort) {
    const api = async (p) => {
      const body = await (await fetch(`http://127.0.0.1:${promPort}${p}`)).json();
      assert.equal(body.status, 'success', JSON.stringify(body));
      return body.data;
    };
    const cfg = fs.readFileSync(path.join(varDir, 'run', 'prometheus.yml'), 'utf8');
    assert.match(cfg, /scrape_interval: 5s/);
    const target = await waitFor(async () => {
      const t = (await api('/api/v1/targets')).activeTargets;
      return t.length === 1 && t[0].health === 'up' ? t[0] : null;
    }, { timeout: 20000, interval: 200, what: 'the pum target to be up' });
    assert.equal(target.labels.job, 'pum');
    assert.equal(target.labels.instance, `127.0.0.1:${metricsPort}`);
    assert.equal(target.scrapeUrl, `http://127.0.0.1:${metricsPort}/metrics`);
    const groups = (await api('/api/v1/rules')).groups;
    for (const f of ['pum-recording-rules.yml', 'pum-alerts.yml']) {
      const shipped = path.join(REPO, 'deploy', 'prometheus', f);
      if (fs.existsSync(shipped)) {
        assert.ok(groups.some((g) => g.file === shipped), `${f} loaded: ${groups.map((g) => g.file)}`);
      }
    }
    for (const r of groups.flatMap((g) => g.rules)) assert.notEqual(r.health, 'err', `${r.name}: ${r.lastError}`);

    const ev = [{ metricName: 'usage_total', metricType: 'counter', labels: { browser: 'firefox', feature: 'blockStudent' }, inc: 3 }];
    const r = await fetch(`http://127.0.0.1:${httpPort}/record`, { method: 'POST', body: JSON.stringify(ev) });
    assert.equal(r.status, 204, await r.text());
    const q = encodeURIComponent('usage_total{job="pum",browser="firefox",feature="blockStudent"}');
    await waitFor(async () => {
      const res = (await api(`/api/v1/query?query=${q}`)).result;
      return res.length === 1 && res[0].value[1] === '3';
    }, { timeout: 20000, interval: 250, what: 'the posted counter in Prometheus' });

    // Prometheus read the whole gzipped body (one gzip member of many
    // deflate segments, exporter/gzip_stream.h): it scraped as many samples
    // as the plain exposition has lines of samples.
    const samples = (await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())
      .split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    const sq = encodeURIComponent('scrape_samples_scraped{job="pum"}');
    await waitFor(async () => {
      const res = (await api(`/api/v1/query?query=${sq}`)).result;
      return res.length === 1 && Number(res[0].value[1]) === samples;
    }, { timeout: 20000, interval: 250, what: `scrape_samples_scraped to be ${samples}` });
  }

  // Each port in turn is taken by something else.
  for (const which of ['PUM_HTTP_PORT', 'PUM_METRICS_PORT', 'PUM_PROMETHEUS_PORT']) {
    it(`fails clearly, starting nothing, when a port is taken (${which})`, { timeout: 20000 }, async () => {
      const blocker = net.createServer();
      await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
      const taken = blocker.address().port;
      try {
        const otherVar = path.join(varDir, `other-${which}`);
        const env = {
          PUM_HTTP_PORT: String(await freePort()), PUM_METRICS_PORT: String(await freePort()),
          PUM_PROMETHEUS_PORT: String(await freePort()), PUM_VAR_DIR: otherVar,
        };
        env[which] = String(taken);
        const child = startScript(env);
        children.push(child);
        const res = await within(child.done, 10000);
        assert.notEqual(res, 'timeout');
        assert.notEqual(res.code, 0);
        assert.match(child.err, new RegExp(`port ${taken} is taken \\(set ${which} to another port\\)`));
        assert.equal(child.out, '');
        assert.equal(fs.existsSync(path.join(otherVar, 'run', 'ingest.pid')), false);
        assert.equal(fs.existsSync(path.join(otherVar, 'run', 'prometheus.pid')), false);
      } finally {
        blocker.close();
      }
    });
  }
});
