// Helpers shared by the parts of `make bench` (tests/bench/bench.mjs):
// settings from the environment, /proc readings (peak RSS, CPU time), the
// open-loop load generator (loadgen.c) and timed HTTP GETs with curl.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { BUILD_DIR } from '../integration/stack.mjs';

export const LOADGEN = path.join(BUILD_DIR, 'bench', 'loadgen');
export const NULL_FCGI = path.join(BUILD_DIR, 'bench', 'null-fcgi');

// ------------------------------------------------------------ settings

function envValue(name) {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

// An integer setting >= min from the environment, or `dflt`.
export function envInt(name, dflt, min = 1) {
  const s = envValue(name);
  const v = s === undefined ? dflt : Number(s);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}`);
  return v;
}

// A comma-separated list of positive integers from the environment.
export function envIntList(name, dflt) {
  const s = envValue(name);
  if (s === undefined) return dflt;
  const v = s.split(',').map((x) => Number(x.trim()));
  if (!v.length || v.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${name} must list positive integers`);
  return v;
}

export function envFlag(name) {
  return envValue(name) === '1';
}

// ------------------------------------------------------------ /proc

// A field of /proc/PID/status in kB (VmHWM: the peak resident set, VmRSS:
// the current one), or null if the process is gone.
export function procStatusKb(pid, field = 'VmHWM') {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

let clockTicks;
// The CPU time (user + system, seconds) a process has used so far, or null.
export function cpuSeconds(pid) {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout.trim()) || 100;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks; // utime, stime
  } catch {
    return null;
  }
}

export function sumCpuSeconds(pids) {
  return pids.reduce((s, p) => s + (cpuSeconds(p) || 0), 0);
}

// ------------------------------------------------------------ statistics

export function percentile(values, p) {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  // nearest rank
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[i];
}

export function median(values) {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ------------------------------------------------------------ processes

// Runs a child to completion, registered in stack.helpers meanwhile (so
// that every way out of the benchmark kills it). Resolves {code, signal,
// stdout, stderr}; rejects only if it cannot be started.
export function runChild(stack, cmd, args, { env, timeoutMs = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env || process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const helper = { pid: child.pid, kill: (sig) => child.kill(sig) };
    stack.helpers.add(helper);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); stack.helpers.delete(helper); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      stack.helpers.delete(helper);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Starts a long-running child (a server) registered in stack.helpers;
// returns the ChildProcess, its stderr collected in .log. stop(child) ends it.
export function startServer(stack, cmd, args, { logFile } = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.log = '';
  const keep = (d) => {
    child.log += d;
    if (child.log.length > 200000) child.log = child.log.slice(-100000);
    if (logFile) fs.appendFileSync(logFile, d);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  child.helper = { pid: child.pid, kill: (sig) => child.kill(sig) };
  stack.helpers.add(child.helper);
  return child;
}

export async function stopServer(stack, child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    if (child) stack.helpers.delete(child.helper);
    return child ? child.exited : null;
  }
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const r = await child.exited;
  clearTimeout(t);
  stack.helpers.delete(child.helper);
  return r;
}

// ------------------------------------------------------------ load

// loadgen (loadgen.c): `rate` requests per second for `seconds` (or
// `count` requests) on keep-alive connections to 127.0.0.1:port/urlPath;
// resolves its LOADGEN_RESULT, with `ok` (2xx) and `non2xx` (every other
// answer, error and unfinished request) added.
export async function runLoadgen(stack, { port, urlPath, bodyFile, mode = 'fixed', run = 'loadgen', rate, seconds, count,
  connections = 64, drainSeconds = 10 }) {
  const args = ['--port', String(port), '--path', urlPath, '--body', bodyFile, '--mode', mode, '--run', run,
    '--rate', String(rate), '--connections', String(connections), '--drain-seconds', String(drainSeconds)];
  if (count) args.push('--count', String(count));
  else args.push('--seconds', String(seconds));
  const r = await runChild(stack, LOADGEN, args, { timeoutMs: ((seconds || count / rate) + drainSeconds + 30) * 1000 });
  const m = /^LOADGEN_RESULT (.*)$/m.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`loadgen ${args.join(' ')}: exit ${r.code ?? r.signal}\n${r.stdout}${r.stderr}`);
  const res = JSON.parse(m[1]);
  res.ok = res.status['2xx'];
  res.non2xx = res.status['1xx'] + res.status['3xx'] + res.status['4xx'] + res.status['5xx'] + res.status.other +
    res.errors.connect + res.errors.io + res.errors.parse + res.unsent + res.unfinished;
  return res;
}

// ------------------------------------------------------------ scrapes

// One GET with curl, the body discarded as it arrives (not decompressed):
// {seconds (curl's time_total: connect to last byte), bytes, code,
// contentType, contentEncoding}. Headers as {name: value}.
export function curlGet(url, headers = {}) {
  const args = ['-s', '-o', '/dev/null', '--max-time', '120',
    '-w', '%{time_total} %{size_download} %{http_code} %header{content-encoding}|%header{content-type}'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const r = spawnSync('curl', args, { encoding: 'utf8', timeout: 130000 });
  const m = /^(\S+) (\d+) (\d+) ([^|]*)\|(.*)$/.exec(r.stdout || '');
  if (r.status !== 0 || !m) throw new Error(`curl ${url}: exit ${r.status} ${r.stdout} ${r.stderr}`);
  return {
    seconds: Number(m[1]), bytes: Number(m[2]), code: Number(m[3]), contentEncoding: m[4].trim(), contentType: m[5].trim(),
  };
}
