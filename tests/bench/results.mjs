// bench/results.md: the machine's description, and the Markdown of a run of
// `make bench` (renderNumbers) or `make bench-profile` (renderProfiles),
// written into the file's section for the run (writeSection).
//
// The file is kept, except for the block a run writes: each block sits
// between `<!-- bench:SECTION:KIND begin -->` and `<!-- bench:SECTION:KIND
// end -->` (KIND numbers or profiles; SECTION PUM_BENCH_SECTION, default
// "latest"), and a run replaces only its own block, or appends it when the
// file has none yet. So the baseline ("before") stays when a later run
// writes "latest" or "after".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO } from '../integration/stack.mjs';

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10000 });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : '';
}

function readText(f) {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

// What the numbers were measured on, and how busy it was.
export function machineInfo() {
  const cpuinfo = readText('/proc/cpuinfo');
  const meminfo = readText('/proc/meminfo');
  const osRelease = readText('/etc/os-release');
  const memKb = Number((/^MemTotal:\s+(\d+)/m.exec(meminfo) || [0, 0])[1]);
  const git = sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    date: new Date().toISOString(),
    nproc: Number(sh('nproc', [])) || os.cpus().length,
    cpu: (/^model name\s*:\s*(.*)$/m.exec(cpuinfo) || [0, os.cpus()[0]?.model || '?'])[1],
    ram_gib: Math.round((memKb / 1024 / 1024) * 10) / 10,
    kernel: sh('uname', ['-r']) || os.release(),
    debian: `${(/^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease) || [0, '?'])[1]} (/etc/debian_version ${readText('/etc/debian_version').trim() || '?'})`,
    uptime: sh('uptime', []),
    loadavg: os.loadavg(),
    git: git ? `${git}${dirty ? ' (with uncommitted changes)' : ''}` : '?',
    versions: {
      nginx: sh('nginx', ['-v']).replace(/^nginx version: /, ''),
      sqlite: sh('sqlite3', ['--version']).split(' ')[0],
      pushgateway: (/version (\S+)/.exec(sh('prometheus-pushgateway', ['--version'])) || [0, '?'])[1],
      node: process.version,
    },
  };
}

// ------------------------------------------------------------ formatting

const f0 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1));
const f2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
const mb = (kb) => (kb === null || kb === undefined ? '-' : (kb / 1024).toFixed(1));

function table(head, rows, align) {
  const a = align || head.map((_, i) => (i === 0 ? 'l' : 'r'));
  const out = [`| ${head.join(' | ')} |`, `| ${a.map((x) => (x === 'l' ? ':---' : '---:')).join(' | ')} |`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

// "met" / "missed by ..." for measured `m` against an upper bound `t`.
function atMost(m, t, unit) {
  if (!Number.isFinite(m)) return 'not measured';
  if (m <= t) return `met (${f0((1 - m / t) * 100)}% under)`;
  return `**missed** by ${f1(m - t)} ${unit} (${f1(m / t)}x the goal)`;
}

// ... against a lower bound `t`.
function atLeast(m, t, unit = '') {
  if (!Number.isFinite(m)) return 'not measured';
  if (m >= t) return `met (${f0((m / t - 1) * 100)}% over)`;
  return `**missed** by ${f2(t - m)}${unit} (${f0((m / t) * 100)}% of the goal; ${f1(t / m)}x to go)`;
}

function busyNote(json) {
  const a = json.machine_before?.loadavg?.[0];
  const b = json.machine_after?.loadavg?.[0];
  const busy = Math.max(a || 0, b || 0) > 1;
  return busy
    ? `**Measured on a busy machine** (1-minute load average ${f2(a)} before, ${f2(b)} after, on ${json.machine_before.nproc} CPUs; other jobs were running): absolute numbers are noisy and low; the ratios, measured side by side in the same run, are what to compare.`
    : `Load average ${f2(a)} before, ${f2(b)} after: the machine was quiet.`;
}

function machineTable(json) {
  const m = json.machine_before;
  const rows = [
    ['date', json.when],
    ['commit', m.git],
    ['nproc', String(m.nproc)],
    ['CPU', m.cpu],
    ['RAM', `${m.ram_gib} GiB`],
    ['kernel', m.kernel],
    ['Debian', m.debian],
    ['uptime before', `\`${m.uptime}\``],
    ['uptime after', `\`${json.machine_after.uptime}\``],
    ['software', `nginx ${m.versions.nginx}, SQLite ${m.versions.sqlite}, Pushgateway ${m.versions.pushgateway}, Node.js ${m.versions.node}` +
      (json.client?.browser ? `, ${json.client.browser}` : '')],
    ['duration', `${f0(json.elapsed_s)} s`],
  ];
  return table(['', ''], rows.map((r) => [r[0], r[1]]), ['l', 'l']);
}

// ------------------------------------------------------------ goals

function findLine(json, id) {
  return json.ingest?.results.find((r) => r.id === id);
}

function scrapeCase(json, size, write, encoding) {
  const s = json.scrape?.sizes.find((x) => x.size === size);
  return s && s.cases.find((c) => c.write === write && c.encoding === encoding);
}

function goals(json) {
  const rows = [];
  const main = findLine(json, 'pum-F2-normal-array');
  if (main) {
    const non2xx = main.peak.non_2xx + main.peak.socket_errors + main.half.non_2xx;
    rows.push(['ingest: pum-ingest x2 / null FastCGI x2, same nginx, same run, `synchronous=NORMAL`, array batch',
      '>= 0.70, no non-2xx', `${f2(main.ratio_vs_null)} (${f0(main.peak.rps)} vs ${f0(main.peak.rps / main.ratio_vs_null)} req/s), ${non2xx} non-2xx`,
      non2xx ? `**missed**: ${non2xx} non-2xx; ${atLeast(main.ratio_vs_null, 0.7)}` : atLeast(main.ratio_vs_null, 0.7)]);
    const uniq = findLine(json, 'pum-F2-normal-unique');
    if (uniq) {
      rows.push(['the same with pum\'s (client, seq) batch', '>= 0.70', `${f2(uniq.ratio_vs_null)} (${f0(uniq.peak.rps)} req/s)`,
        atLeast(uniq.ratio_vs_null, 0.7)]);
    }
    rows.push(['p99 latency at half of pum\'s peak rate (x2, NORMAL, array; open loop)', '<= 5 ms',
      `${f2(main.half.latency_ms.p99)} ms at ${f0(main.half.rate)} req/s (p50 ${f2(main.half.latency_ms.p50)} ms)`,
      atMost(main.half.latency_ms.p99, 5, 'ms')]);
  }
  const one = scrapeCase(json, 8000, 'one', 'prometheus');
  if (one) {
    const s = one.summary;
    rows.push(['`/metrics`, 8,000 histograms x 11 buckets, as Prometheus scrapes (Accept, gzip), one write between scrapes',
      '<= 25 ms and >= 4x faster than Pushgateway', `${f1(s.pum.median)} ms (p90 ${f1(s.pum.p90)}); Pushgateway ${f1(s.pushgateway.median)} ms: ${f2(s.ratio)}x`,
      `time ${atMost(s.pum.median, 25, 'ms')}; ratio ${atLeast(s.ratio, 4, 'x')}`]);
  }
  const spread = scrapeCase(json, 8000, 'spread', 'prometheus');
  if (spread) {
    const s = spread.summary;
    rows.push(['the same with 400 series spread over all 8,000 written between scrapes', '<= 50 ms and >= 2x',
      `${f1(s.pum.median)} ms (p90 ${f1(s.pum.p90)}); Pushgateway ${f1(s.pushgateway.median)} ms: ${f2(s.ratio)}x`,
      `time ${atMost(s.pum.median, 50, 'ms')}; ratio ${atLeast(s.ratio, 2, 'x')}`]);
  }
  const s8 = json.scrape?.sizes.find((x) => x.size === 8000);
  if (s8) {
    rows.push(['RSS: pum-exporter at 8k histograms (VmHWM after the scrapes)', '<= 30 MB', `${mb(s8.rss_kb.exporter)} MB`,
      atMost(s8.rss_kb.exporter / 1024, 30, 'MB')]);
  }
  const w = json.ingest?.worker_rss;
  if (w && w.length) {
    const kb = Math.max(...w.map((x) => x.vmhwm_kb_max));
    rows.push(['RSS: one pum-ingest worker (the largest VmHWM of any worker after its lines)', '<= 8 MB', `${mb(kb)} MB`,
      atMost(kb / 1024, 8, 'MB')]);
  }
  if (!rows.length) return '';
  return `### Goals (issue 9)\n\n${table(['what', 'goal', 'measured', 'verdict'], rows, ['l', 'l', 'l', 'l'])}\n`;
}

// ------------------------------------------------------------ parts

function ingestSection(ing) {
  const rows = ing.results.map((r) => [
    `\`${r.id}\``, r.workers ? String(r.workers) : '-', r.sync || '-', `${r.body} ${r.body_bytes} B`,
    f0(r.peak.rps), f2(r.ratio_vs_null), `${f2(r.peak.latency_ms.p50)} / ${f2(r.peak.latency_ms.p99)}`,
    f0(r.half.rate), `${f2(r.half.latency_ms.p50)} / ${f2(r.half.latency_ms.p99)}`,
    `${r.peak.non_2xx + r.peak.socket_errors} / ${r.half.non_2xx}`,
    r.store_check ? (Object.values(r.store_check).every((c) => c.pass) ? 'pass' : '**FAIL**') : '-',
    f0(r.peak.worker_cpu_us_per_req), f0(r.peak.nginx_cpu_us_per_req),
  ]);
  const checks = ing.store_checks.map((c) =>
    `- ${c.pass ? 'pass' : '**FAIL**'} ${c.line}: 2xx ${f0(c.acknowledged)}, pum_reports_total +${f0(c.stored_delta)}, ` +
    `duplicates +${f0(c.duplicates_delta)} (${c.in_flight_extra === 0 ? 'exact' : `${c.in_flight_extra > 0 ? '+' : ''}${c.in_flight_extra} vs 2xx, allowed 0..${c.slack}`})`);
  return `### Ingest

One nginx (\`worker_processes 1\`, the shipped \`deploy/nginx/pum.conf\` location) in front of everything; the batch is ${ing.events.events} events (${ing.events.counters} counters, ${ing.events.histograms} histograms) of \`conf/metrics.d/browser.json\`: ${ing.bodies.array} B as the seed's array, ${ing.bodies.unique} B in pum's (client, seq) shape (a fresh pair per request), ${ing.bodies.dup} B for the duplicate line.
Peak: \`wrk -t1 -c${ing.wrk.connections} -d${ing.wrk.seconds}s\` (closed loop; its latency is with ${ing.wrk.connections} requests in flight). Half: \`loadgen\` (tests/bench/loadgen.c, open loop) at half of that line's peak for ${ing.loadgen.seconds} s on ${ing.loadgen.connections} keep-alive connections, latency from each request's scheduled send time. "vs null" divides by the null FastCGI responder with the same number of workers. Non-2xx counts every answer that is not 2xx, socket error and request left unanswered (peak / half). CPU is user + system time per request from /proc, of the workers and of nginx's worker, during the peak run.

${table(['line', 'workers', 'sync', 'body', 'peak req/s', 'vs null', 'p50 / p99 at peak (ms)', 'half rate (req/s)',
    'p50 / p99 at half (ms)', 'non-2xx', 'store check', 'worker CPU µs/req', 'nginx CPU µs/req'], rows)}

Store checks (pum-exporter's \`/metrics\` before and after each measurement, once the workers are idle: every 2xx batch is counted; a few more may be, the requests in flight when the load stopped):

${checks.join('\n')}
`;
}

function scrapeSection(sc) {
  const rows = [];
  for (const s of sc.sizes) {
    for (const c of s.cases) {
      const x = c.summary;
      rows.push([f0(s.size), c.write === 'one' ? 'one series' : `${sc.spread} series spread`, c.encoding,
        `${f1(x.pum.median)} / ${f1(x.pum.p90)}`, `${f1(x.pushgateway.median)} / ${f1(x.pushgateway.p90)}`, `${f2(x.ratio)}x`,
        `${f0(x.pum.bytes / 1024)} / ${f0(x.pushgateway.bytes / 1024)}`,
        `${x.pum.content_type.split(';')[0]}${x.pum.content_encoding !== 'identity' ? ', gzip' : ''}`]);
    }
  }
  const checks = sc.sizes.map((s) => `- ${s.check.pass ? 'pass' : '**FAIL**'} ${f0(s.size)}: ${f0(s.check.observations)} observations written; ` +
    `sum of _count ${f0(s.check.pum_count_sum)} in pum (${f0(s.check.pum_series)} series), ${f0(s.check.pushgateway_count_sum)} in Pushgateway ` +
    `(${f0(s.check.pushgateway_series)} series); filled through pum-ingest in ${f1(s.fill_seconds)} s; ${s.scrapes} scrapes per case`);
  return `### Scrape

One histogram family \`${sc.family}{path}\`, ${sc.buckets} buckets (10 bounds and +Inf; 14 lines a series), filled through pum-ingest (batches of ${sc.fill_batch} events through nginx, each acknowledged); Pushgateway ${''}holds the same series and values (PUT of the text format to one group; it adds the labels \`job\` and \`instance\`, so its output is larger). Before every scrape a write is acknowledged: one event on one series, or one batch of ${sc.spread} events on ${sc.spread} series spread evenly over all of them (a different set each time); Pushgateway, which cannot change one series of a group, gets its whole group PUT again with the same values (not timed). Scrapes alternate between the two servers. "prometheus" sends the headers Prometheus sends (${sc.prometheus_headers_source}): \`Accept: ${sc.prometheus_headers.accept}\`, \`Accept-Encoding: ${sc.prometheus_headers['accept-encoding']}\`; "protobuf" sends those of Prometheus with \`--enable-feature=native-histograms\` (${sc.native_prometheus_headers_source || 'not measured in this run'}), which ask for the protobuf format first (both servers answer it; the family is classic, so the bodies carry classic buckets); "plain" sends neither (text 0.0.4, uncompressed). Time is curl's \`time_total\` (connect to last byte, not decompressed), median / p90 in ms; the ratio is Pushgateway's median / pum's (above 1: pum is faster).

${table(['histograms', 'write between scrapes', 'headers', 'pum ms', 'Pushgateway ms', 'ratio', 'KiB pum / Pushgateway', 'pum answered'], rows)}

${checks.join('\n')}
`;
}

function rssSection(json) {
  const rows = [];
  for (const s of json.scrape?.sizes || []) {
    const first = s.exporter_vmhwm_after_first_kb || {};
    rows.push([`pum-exporter, ${f0(s.size)} histograms (restarted at this size; after its ${s.scrapes * 4 + 2} scrapes)`, mb(s.rss_kb.exporter),
      `${mb(s.rss_now_kb?.exporter)} now; peak ${mb(s.exporter_start_kb)} at start, ${mb(first.prometheus)} after the first OpenMetrics+gzip scrape, ${mb(first.plain)} after the first plain one`]);
  }
  for (const s of json.scrape?.sizes || []) {
    rows.push([`prometheus-pushgateway, ${f0(s.size)} histograms (after the same scrapes and its re-pushes)`, mb(s.rss_kb.pushgateway), `${mb(s.rss_now_kb?.pushgateway)} now`]);
  }
  for (const w of json.ingest?.worker_rss || []) {
    rows.push([`one pum-ingest worker (largest of the x${w.workers} workers, ${w.sync}, after their lines)`, mb(w.vmhwm_kb_max), '']);
  }
  if (json.ingest) rows.push(['one null-fcgi responder', mb(json.ingest.null_fcgi_vmhwm_kb), '']);
  if (!rows.length) return '';
  return `### Peak RSS (VmHWM from /proc/PID/status)

${table(['process', 'VmHWM MB', 'also (MB)'], rows, ['l', 'r', 'l'])}
`;
}

function clientSection(cl) {
  const rows = cl.sizes.map((s) => [`\`build/${s.file}\``, f0(s.bytes), f0(s.gzip_bytes)]);
  const fl = (cl.flush || []).map((m) => [`x${m.cpu_throttling}`, f2(m.median_ms), f2(m.p90_ms), f2(m.first_ms), f2(m.max_ms),
    f2(m.fetch_median_ms), f1(m.answered_median_ms), String(m.longtasks)]);
  return `### Client

Sizes: gzip at zlib level 9, as \`client-js/build.mjs\` counts them.

${table(['file', 'bytes', 'gzipped'], rows)}

Main-thread time of \`flush()\` with ${cl.series} series waiting (100 counter and 100 histogram series of 3 observations, with labels; the automatic metrics off), in headless ${cl.browser || 'Chromium'}: \`performance.now()\` around the call (aggregation, JSON, the fetch call), ${cl.flush?.[0]?.flushes} flushes per setting, the first one cold; median and p90 of the others. The batch sent: ${cl.batch?.events} events, ${f0(cl.batch?.bytes)} B. "in fetch()" is the part spent inside the fetch() call that hands the request to the browser (timed by a wrapper installed before pum.js); "until answered" is until flush()'s promise resolves (network included, not main-thread time). Long tasks: PerformanceObserver entries (>= 50 ms) during the flushes.

${table(['CPU throttling', 'median ms', 'p90 ms', 'first (cold) ms', 'max ms', 'of which in fetch() (median) ms', 'until answered ms', 'long tasks'], fl)}
`;
}

export function renderNumbers(json) {
  const parts = [`## Numbers (${json.section})`, '', `\`make bench\`${json.smoke ? ' (smoke mode: PUM_BENCH_SMOKE=1, not real numbers)' : ''}, ${json.when}. ${busyNote(json)}`, '',
    machineTable(json), ''];
  const g = goals(json);
  if (g) parts.push(g);
  if (json.ingest) parts.push(ingestSection(json.ingest));
  if (json.scrape) parts.push(scrapeSection(json.scrape));
  const r = rssSection(json);
  if (r) parts.push(r);
  if (json.client) parts.push(clientSection(json.client));
  return parts.join('\n');
}

function profileTable(p) {
  const code = (x) => `\`${x.replaceAll('|', '\\|').replaceAll('`', "'")}\``;
  const rows = (list) => list.rows.map((r) => [f0(r.ir), `${f1(r.pct)}%`, code(r.fn), /^pum-/.test(r.obj) ? '' : r.obj]);
  return `Inclusive (a function and its callees; frames that wrap everything left out; a function listed once, however many source files its code came from):

${table(['Ir', '%', 'function', 'library'], rows(p.inclusive), ['r', 'r', 'l', 'l'])}

Self (the function's own instructions; "(no symbol)": a static function of a library without symbols, e.g. zlib's deflate_slow and longest_match, SQLite's internals):

${table(['Ir', '%', 'function', 'library'], rows(p.self), ['r', 'r', 'l', 'l'])}
`;
}

export function renderProfiles(json) {
  const p = json.profiles;
  return `## Profiles (${json.section})

\`make bench-profile\`, ${json.when}, commit ${json.machine_before.git}; ${p.valgrind} (\`--tool=callgrind\`, instructions executed, Ir: independent of the machine's load). Summaries by \`callgrind_annotate\`; the raw files are \`${p.ingest.file}\` and \`${p.scrape.file}\`.

### pum-ingest: ${p.ingest.requests} requests of the page-load batch

One worker (spawn-fcgi, behind nginx), the shipped allowlist, \`synchronous=NORMAL\`, the seed's array batch (${p.ingest.body_bytes} B, 20 events); instrumentation on after ${p.ingest.warmup} warm-up requests (start-up and warm-up not counted), then ${p.ingest.requests} requests and the worker's exit. **${f0(p.ingest.inclusive.total)} Ir in all, ${f0(p.ingest.ir_per_request)} per request.**

${profileTable(p.ingest)}
### pum-exporter: one scrape of ${f0(p.scrape.size)} histograms

As Prometheus scrapes (\`Accept: ${p.scrape.accept}\`, gzip; answered ${p.scrape.response.type}, ${p.scrape.response.encoding || 'identity'}, ${f0(p.scrape.response.bytes)} B), after one write (one series, through pum-ingest); instrumentation on after an earlier write and scrape (start-up not counted), so this is one steady-state scrape. **${f0(p.scrape.inclusive.total)} Ir.**

${profileTable(p.scrape)}`;
}

// ------------------------------------------------------------ the file

const HEADER = `# pum benchmark results

Written by \`make bench\` (numbers) and \`make bench-profile\` (callgrind
profiles): tests/bench/bench.mjs, see bench/README.md. Each run replaces
only its own block, between the \`bench:SECTION:numbers\` or
\`bench:SECTION:profiles\` markers (SECTION is PUM_BENCH_SECTION, default
"latest"), and keeps the rest of this file. "before" is the baseline of
issue 9: the code before its performance work. Only ratios measured in the
same run mean much on a shared machine; callgrind's instruction counts do
not depend on the load.
`;

export function writeSection(file, section, kind, markdown) {
  const begin = `<!-- bench:${section}:${kind} begin -->`;
  const end = `<!-- bench:${section}:${kind} end -->`;
  const block = `${begin}\n${markdown.trimEnd()}\n${end}`;
  let text = readText(file);
  if (!text) text = HEADER;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = `${text.slice(0, i)}${block}${text.slice(j + end.length)}`;
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}
