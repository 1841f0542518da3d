// A real Prometheus (Debian's `prometheus`) for the deployment tests: its
// config, rule files and TSDB in a fresh temporary directory, listening on a
// free loopback port, scraping the given targets as job "pum".
//
//   const prom = await startPrometheus({ targets: ['127.0.0.1:9102'],
//     ruleFiles: [RECORDING_RULES], scrapeInterval: '1s', evaluationInterval: '1s' });
//   after(() => prom.stop());
//   await prom.waitForQuery('up', (r) => r.length === 1 && r[0].value[1] === '1');
//
// stop() ends the process (SIGTERM, then SIGKILL) and removes the directory
// (kept with PUM_KEEP_TMP=1); a process 'exit' handler SIGKILLs any
// Prometheus a test left running.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { REPO, freePort, pidAlive, waitFor } from '../integration/stack.mjs';

// The shipped rule files. PUM_PROMETHEUS_RULES_DIR points the tests at
// another copy (e.g. while a rule file is being written).
export const RULES_DIR = process.env.PUM_PROMETHEUS_RULES_DIR
  ? path.resolve(process.env.PUM_PROMETHEUS_RULES_DIR)
  : path.join(REPO, 'deploy', 'prometheus');
export const RECORDING_RULES = path.join(RULES_DIR, 'pum-recording-rules.yml');
export const ALERT_RULES = path.join(RULES_DIR, 'pum-alerts.yml');

const live = new Set();
let exitHooked = false;
function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const p of live) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });
}

// JSON as a YAML flow value (YAML is a superset of JSON).
const y = (v) => JSON.stringify(v);

// Starts Prometheus and waits until it is ready. Options:
//   targets            ['127.0.0.1:PORT', ...] scraped as job `job` ("pum")
//   ruleFiles          rule files to load (absolute paths; copied as given)
//   scrapeInterval     default '1s'
//   evaluationInterval default '1s'
//   externalLabels     {name: value}
//   job                the job name, default 'pum'
//   extraArgs          more command-line flags (e.g. --enable-feature=...)
// Returns {url, port, dir, proc, query, queryRaw, waitForQuery, alerts,
// rules, targets, log, stop}.
export async function startPrometheus({
  targets = [], ruleFiles = [], scrapeInterval = '1s', evaluationInterval = '1s',
  externalLabels, job = 'pum', extraArgs = [],
} = {}) {
  for (const f of ruleFiles) {
    if (!fs.existsSync(f)) throw new Error(`rule file ${f} is missing`);
  }
  hookExit();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-prom-'));
  const configFile = path.join(dir, 'prometheus.yml');
  const logFile = path.join(dir, 'prometheus.log');
  let config = `# written by tests/deploy/prometheus.mjs
global:
  scrape_interval: ${scrapeInterval}
  scrape_timeout: ${scrapeInterval}
  evaluation_interval: ${evaluationInterval}
`;
  if (externalLabels && Object.keys(externalLabels).length) {
    config += `  external_labels: ${y(externalLabels)}\n`;
  }
  config += `rule_files: ${y(ruleFiles.map((f) => path.resolve(f)))}
scrape_configs:
  - job_name: ${y(job)}
    static_configs:
      - targets: ${y(targets)}
`;
  fs.writeFileSync(configFile, config);

  let proc;
  let port;
  let lastErr;
  for (let attempt = 0; attempt < 3 && !proc; attempt++) {
    port = await freePort();
    const logFd = fs.openSync(logFile, 'a');
    const p = spawn('prometheus', [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      ...extraArgs,
    ], { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    live.add(p);
    let exited = false;
    p.on('exit', () => { exited = true; live.delete(p); });
    p.on('error', () => { exited = true; live.delete(p); });
    try {
      await waitFor(async () => {
        if (exited) throw new Error('prometheus exited');
        const r = await fetch(`http://127.0.0.1:${port}/-/ready`);
        await r.arrayBuffer();
        return r.status === 200;
      }, { timeout: 15000, interval: 50, what: 'prometheus /-/ready' });
      proc = p;
    } catch (e) {
      lastErr = new Error(`${e.message}\n${readLog(logFile).slice(-3000)}`);
      try { p.kill('SIGKILL'); } catch { /* gone */ }
      await waitFor(() => exited, { timeout: 5000, what: 'prometheus to exit' }).catch(() => {});
    }
  }
  if (!proc) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastErr;
  }

  const url = `http://127.0.0.1:${port}`;

  async function api(p, params = {}) {
    const qs = new URLSearchParams(params).toString();
    const r = await fetch(`${url}${p}${qs ? `?${qs}` : ''}`);
    const body = await r.json();
    if (body.status !== 'success') throw new Error(`${p} ${qs}: ${r.status} ${JSON.stringify(body)}`);
    return body.data;
  }

  // The data of an instant query: {resultType, result}.
  const queryRaw = (expr, time) => api('/api/v1/query', time === undefined ? { query: expr } : { query: expr, time: String(time) });
  // The result of an instant query (for a vector: [{metric, value: [t, "v"]}]).
  const query = async (expr, time) => (await queryRaw(expr, time)).result;

  let stopped = false;
  return {
    url,
    port,
    dir,
    proc,
    query,
    queryRaw,
    // Polls `expr` until predicate(result) is truthy; returns that result.
    async waitForQuery(expr, predicate = (r) => r.length > 0, timeout = 20000) {
      let last;
      try {
        return await waitFor(async () => {
          last = await query(expr);
          return predicate(last) ? last : null;
        }, { timeout, interval: 200, what: `query ${expr}` });
      } catch (e) {
        throw new Error(`${e.message}; last result: ${JSON.stringify(last)}`);
      }
    },
    // GET /api/v1/alerts: [{labels, annotations, state, activeAt, value}].
    async alerts() {
      return (await api('/api/v1/alerts')).alerts;
    },
    // GET /api/v1/rules: the groups with their rules, health and last error.
    async rules() {
      return (await api('/api/v1/rules')).groups;
    },
    // GET /api/v1/targets: the active targets.
    async targets() {
      return (await api('/api/v1/targets')).activeTargets;
    },
    log() {
      return readLog(logFile);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (pidAlive(proc.pid)) {
        const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve()
          : new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, 10000);
        await exited;
        clearTimeout(t);
      }
      live.delete(proc);
      // Prometheus may still be removing its lock file as it exits.
      await sleep(10);
      if (process.env.PUM_KEEP_TMP === '1') process.stderr.write(`prometheus kept in ${dir}\n`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(f) {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

// The number in a one-element instant-vector result (undefined if empty).
export function scalarOf(result) {
  if (!result || result.length === 0) return undefined;
  if (result.length !== 1) throw new Error(`expected one series, got ${JSON.stringify(result)}`);
  return Number(result[0].value[1]);
}

// A copy of a rule file in `dir` with every `for:` duration replaced by
// `forDuration` (the expressions are untouched). Returns its path.
export function withShortFor(ruleFile, dir, forDuration = '2s') {
  const text = fs.readFileSync(ruleFile, 'utf8');
  const out = text.replace(/^(\s*)for:[ \t]*(["']?)[0-9smhdwy]+\2([ \t]*(#.*)?)$/gm, `$1for: ${forDuration}$3`);
  const dest = path.join(dir, path.basename(ruleFile));
  fs.writeFileSync(dest, out);
  return dest;
}
