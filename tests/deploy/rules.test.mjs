// Prometheus rules, Alertmanager config and Grafana dashboard in deploy/:
//
//   - `promtool check rules` on deploy/prometheus/pum-recording-rules.yml,
//     pum-recording-rules-native.yml and pum-alerts.yml, and the fixed group
//     and rule names other parts of pum (scale-out and alarm tests, README,
//     dashboard) rely on; the native file records exactly the classic
//     file's histogram rules, under the same names, from the native series
//     (no _bucket/_sum/_count); its values are checked against a real
//     Prometheus by native-rules.test.mjs;
//   - `promtool test rules` on every deploy/prometheus/tests/*.yml (run from
//     that folder: rule_files are relative to it), and that every alert has
//     at least one case that fires and one that stays silent;
//   - `promtool check config deploy/prometheus/prometheus.yml` (which also
//     checks the rule files it names, relative to it);
//   - `amtool check-config deploy/alertmanager/alertmanager.yml` (with its
//     Slack template) and its routing to Slack by severity;
//   - deploy/grafana/pum-dashboard.json: valid JSON, the promised panels,
//     every PromQL expression parses (promtool check rules on a generated
//     rules file) and names only metrics that exist: conf/metrics.d, pum's
//     own (README "Metrics about pum itself"), the recording rules, or
//     Prometheus' `up` / `scrape_duration_seconds`. Same name check for the
//     rule files.
//
// Needs promtool and amtool (Debian's prometheus and prometheus-alertmanager)
// and /usr/bin/python3 with PyYAML. Run: node --test tests/deploy/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROM = path.join(ROOT, 'deploy/prometheus');
const RECORDING = path.join(PROM, 'pum-recording-rules.yml');
const RECORDING_NATIVE = path.join(PROM, 'pum-recording-rules-native.yml');
const ALERTS = path.join(PROM, 'pum-alerts.yml');
const TESTS_DIR = path.join(PROM, 'tests');
const AM_CONFIG = path.join(ROOT, 'deploy/alertmanager/alertmanager.yml');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/pum-dashboard.json');
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// Runs a command; resolves {code, stdout, stderr} (code null on a signal).
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd || ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs || 60000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r, what) {
  assert.equal(r.code, 0, `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
}

// Parses a YAML file with PyYAML (safe_load) into a JS value.
function yaml(file) {
  const r = spawnSync(
    PYTHON,
    ['-c', 'import yaml,json,sys; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)', file],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `parsing ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function groupRules(file, groupName) {
  const doc = yaml(file);
  const group = (doc.groups || []).find((g) => g.name === groupName);
  assert.ok(group, `${path.relative(ROOT, file)} has no group "${groupName}"`);
  return group.rules;
}

// The metric names an expression selects: string literals, label matchers,
// range and offset durations, and by/without/on/ignoring/group_* label lists
// removed; then every identifier not followed by "(" (a function or an
// aggregation) and not a keyword.
const KEYWORDS = new Set([
  'and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'inf', 'nan', 'atan2',
]);
function metricNames(expr) {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\boffset\s+-?[0-9a-zA-Z]+/g, ' ');
  const names = new Set();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    if (m.index > 0 && /[0-9.]/.test(s[m.index - 1])) continue; // 1e3, 0x1f
    if (s.slice(m.index + m[0].length).trimStart().startsWith('(')) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

// Every metric name that can exist: the allowlist's (histograms with
// _bucket/_sum/_count), pum's own (README), the recording rules', and
// Prometheus' synthetic scrape series.
function knownMetricNames() {
  const known = new Set(['up', 'scrape_duration_seconds']);
  const dir = path.join(ROOT, 'conf/metrics.d');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    for (const m of JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).allowedMetrics) {
      known.add(m.name);
      if (m.type === 'histogram') for (const sfx of ['_bucket', '_sum', '_count']) known.add(m.name + sfx);
    }
  }
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Metrics about pum itself');
  assert.ok(start >= 0, 'README.md has a section "Metrics about pum itself"');
  const end = readme.indexOf('\n## ', start + 3);
  const section = readme.slice(start, end < 0 ? undefined : end);
  for (const m of section.matchAll(/`(pum_[a-z0-9_]+)/g)) known.add(m[1]);
  for (const r of groupRules(RECORDING, 'pum-recording')) known.add(r.record);
  return known;
}

// Validates PromQL expressions with `promtool check rules` on a generated
// rules file (JSON is YAML). Returns the promtool result.
async function promtoolParse(exprs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-rules-test-'));
  try {
    const file = path.join(dir, 'exprs.yml');
    const rules = exprs.map((expr, i) => ({ record: `pum_test:expr_${i}`, expr }));
    fs.writeFileSync(file, JSON.stringify({ groups: [{ name: 'exprs', rules }] }));
    return await run('promtool', ['check', 'rules', file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const FIXED_RECORDS = [
  'pum:browser_page_load_seconds:p50_5m',
  'pum:browser_page_load_seconds:p95_5m',
  'pum:browser_page_load_seconds:p99_5m',
  'pum:browser_navigation_phase_seconds:mean_5m',
  'pum:browser_navigation_phase_seconds:p95_5m',
  ...['lcp', 'inp', 'fcp', 'ttfb', 'cls'].flatMap((v) => [
    `pum:browser_web_vitals_${v}:good_ratio_5m`,
    `pum:browser_web_vitals_${v}:poor_ratio_5m`,
  ]),
  'pum:browser_errors:rate5m',
  'pum:browser_errors_per_page_view:ratio_5m',
  'pum:browser_page_views:rate5m',
  'pum:open_pages:estimate',
  'pum:usage_total:rate5m',
  'pum:browser_api_request_duration_seconds:p95_5m',
  'pum:browser_soft_navigations:rate5m',
  ...['lcp', 'inp', 'cls', 'fcp'].map((v) => `pum:browser_route_web_vitals_${v}:p75_5m`),
];
const FIXED_ALERTS = [
  'PumPageLoadP95Spike',
  'PumJsErrorRateSpike',
  'PumRouteLcpPoor',
  'PumFeatureUsageDropWeekOverWeek',
  'PumPageViewsDropWeekOverWeek',
  'PumRejectingEvents',
  'PumNotScraped',
];

describe('Prometheus rule files', () => {
  test('promtool check rules passes on the rule files', async () => {
    for (const file of [RECORDING, RECORDING_NATIVE, ALERTS]) {
      const r = await run('promtool', ['check', 'rules', file]);
      ok(r, `promtool check rules ${path.relative(ROOT, file)}`);
      assert.match(r.stdout, /SUCCESS: \d+ rules found/);
    }
  });

  test('the fixed recording rule names exist in group "pum-recording"', () => {
    const records = groupRules(RECORDING, 'pum-recording').map((r) => r.record);
    for (const name of FIXED_RECORDS) assert.ok(records.includes(name), `missing recording rule ${name}`);
    // Every aggregation across hosts keeps job: sum without (instance ...).
    for (const r of groupRules(RECORDING, 'pum-recording')) {
      assert.match(r.expr, /sum without \(instance/, `${r.record} aggregates with sum without (instance)`);
      assert.doesNotMatch(r.expr, /sum by|sum\(/, `${r.record} must not drop job with sum by/sum()`);
    }
  });

  // pum prints an integer bound as "4" in the text format and "4.0" in
  // OpenMetrics (what Prometheus 2.x asks for): integer thresholds must match
  // both.
  test('the Web Vitals ratios select the threshold buckets, in both exposition formats', () => {
    const byName = Object.fromEntries(groupRules(RECORDING, 'pum-recording').map((r) => [r.record, r.expr]));
    const thresholds = { lcp: ['2.5', '4'], inp: ['0.2', '0.5'], cls: ['0.1', '0.25'], fcp: ['1.8', '3'], ttfb: ['0.8', '1.8'] };
    const selector = (t) => (t.includes('.') ? `le="${t}"` : `le=~"${t}|${t}.0"`);
    for (const [v, [good, poor]] of Object.entries(thresholds)) {
      assert.ok(byName[`pum:browser_web_vitals_${v}:good_ratio_5m`].includes(selector(good)), `${v} good at ${selector(good)}`);
      assert.ok(byName[`pum:browser_web_vitals_${v}:poor_ratio_5m`].includes(selector(poor)), `${v} poor at ${selector(poor)}`);
    }
  });

  // The native file: the classic file's rules that read a histogram's
  // _bucket/_sum/_count, same names, same order, reading the native
  // histogram by its bare name with the native functions.
  const CLASSIC_SERIES = /(?<!histogram)_(bucket|sum|count)\b/;
  test('the native recording rules mirror the classic histogram rules (group "pum-recording-native")', () => {
    const histogramRecords = groupRules(RECORDING, 'pum-recording')
      .filter((r) => CLASSIC_SERIES.test(r.expr))
      .map((r) => r.record);
    assert.ok(histogramRecords.length >= 10, histogramRecords.join(' '));
    const native = groupRules(RECORDING_NATIVE, 'pum-recording-native');
    assert.deepEqual(native.map((r) => r.record), histogramRecords);
    for (const r of native) {
      assert.doesNotMatch(r.expr, CLASSIC_SERIES, `${r.record}: no classic series`);
      assert.doesNotMatch(r.expr, /\ble=/, `${r.record}: no le`);
      assert.match(r.expr, /sum without \(instance\) \(rate\(browser_[a-z_]+\[5m\]\)\)/, `${r.record}: sum without (instance) of rate()`);
      assert.match(r.expr, /histogram_(quantile|fraction|sum)\(/, r.record);
      assert.doesNotMatch(r.expr, /\bsum by|\bsum\(/, `${r.record} must not drop job with sum by/sum()`);
    }
    const byName = Object.fromEntries(native.map((r) => [r.record, r.expr]));
    const thresholds = { lcp: ['2.5', '4'], inp: ['0.2', '0.5'], cls: ['0.1', '0.25'], fcp: ['1.8', '3'], ttfb: ['0.8', '1.8'] };
    for (const [v, [good, poor]] of Object.entries(thresholds)) {
      assert.ok(byName[`pum:browser_web_vitals_${v}:good_ratio_5m`].startsWith(`histogram_fraction(0, ${good}, `), `${v} good`);
      assert.ok(byName[`pum:browser_web_vitals_${v}:poor_ratio_5m`].startsWith(`histogram_fraction(${poor}, +Inf, `), `${v} poor`);
    }
  });

  test('alerts: fixed names in group "pum-alerts", each with severity, summary and description', () => {
    const rules = groupRules(ALERTS, 'pum-alerts');
    const names = rules.map((r) => r.alert);
    for (const name of FIXED_ALERTS) assert.ok(names.includes(name), `missing alert ${name}`);
    for (const r of rules) {
      assert.ok(r.alert, 'only alerts in pum-alerts');
      assert.ok(['warning', 'critical'].includes(r.labels?.severity), `${r.alert}: severity warning|critical`);
      assert.ok(r.annotations?.summary, `${r.alert}: summary`);
      assert.ok(r.annotations?.description, `${r.alert}: description`);
    }
    const wow = rules.filter((r) => /WeekOverWeek/.test(r.alert));
    assert.equal(wow.length, 2);
    for (const r of wow) assert.match(r.expr, /offset 1w/, `${r.alert} compares with offset 1w`);
  });

  test('the rules name only metrics that exist', () => {
    const known = knownMetricNames();
    for (const file of [RECORDING, RECORDING_NATIVE, ALERTS]) {
      for (const group of yaml(file).groups) {
        for (const r of group.rules) {
          for (const name of metricNames(r.expr)) {
            assert.ok(known.has(name), `${path.basename(file)} ${r.record || r.alert}: unknown metric ${name}`);
          }
        }
      }
    }
  });
});

describe('promtool unit tests (deploy/prometheus/tests)', () => {
  const files = fs.readdirSync(TESTS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

  test('there are unit test files', () => {
    assert.ok(files.length >= 1, 'deploy/prometheus/tests/*.yml');
  });

  test('promtool test rules passes on every test file', { concurrency: true }, async (t) => {
    await Promise.all(
      files.map((f) =>
        t.test(f, async () => {
          const r = await run('promtool', ['test', 'rules', f], { cwd: TESTS_DIR, timeoutMs: 120000 });
          ok(r, `promtool test rules ${f}`);
          assert.match(r.stdout, /SUCCESS/);
        }),
      ),
    );
  });

  test('every alert has a case that fires and one that stays silent', () => {
    const fires = new Map();
    const silent = new Map();
    const alertNames = groupRules(ALERTS, 'pum-alerts').map((r) => r.alert);
    let exprTests = 0;
    for (const f of files) {
      const doc = yaml(path.join(TESTS_DIR, f));
      for (const t of doc.tests || []) {
        exprTests += (t.promql_expr_test || []).length;
        for (const a of t.alert_rule_test || []) {
          assert.ok(alertNames.includes(a.alertname), `${f}: unknown alert ${a.alertname}`);
          const exp = a.exp_alerts || [];
          const into = exp.length ? fires : silent;
          into.set(a.alertname, (into.get(a.alertname) || 0) + 1);
          for (const e of exp) {
            assert.ok(e.exp_labels?.severity, `${f} ${a.alertname}: a firing case checks severity`);
            assert.ok(e.exp_annotations?.summary && e.exp_annotations?.description,
              `${f} ${a.alertname}: a firing case checks summary and description`);
          }
        }
      }
    }
    for (const name of new Set(alertNames)) {
      assert.ok(fires.get(name) > 0, `no firing case for ${name}`);
      assert.ok(silent.get(name) > 0, `no silent case for ${name}`);
    }
    assert.ok(exprTests >= 5, `recording rules checked with promql_expr_test (${exprTests})`);
  });
});

describe('Prometheus and Alertmanager configs', () => {
  test('promtool check config deploy/prometheus/prometheus.yml', async () => {
    const r = await run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    ok(r, 'promtool check config');
    const cfg = yaml(path.join(PROM, 'prometheus.yml'));
    const job = cfg.scrape_configs.find((s) => s.job_name === 'pum');
    assert.ok(job, 'scrape job "pum"');
    assert.deepEqual(job.static_configs[0].targets, ['127.0.0.1:9102']);
    assert.deepEqual(cfg.rule_files.sort(), ['pum-alerts.yml', 'pum-recording-rules.yml']);
    assert.deepEqual(cfg.alerting.alertmanagers[0].static_configs[0].targets, ['127.0.0.1:9093']);
  });

  test('amtool check-config deploy/alertmanager/alertmanager.yml', async () => {
    const r = await run('amtool', ['check-config', 'deploy/alertmanager/alertmanager.yml']);
    ok(r, 'amtool check-config');
    assert.match(r.stdout, /1 templates/);
  });

  test('alertmanager routes warning and critical alerts to Slack, grouped by alertname', async () => {
    const cfg = yaml(AM_CONFIG);
    assert.ok(cfg.route.group_by.includes('alertname'));
    const receivers = Object.fromEntries(cfg.receivers.map((r) => [r.name, r]));
    const routeFor = (sev) => cfg.route.routes.find((r) => (r.matchers || []).includes(`severity="${sev}"`));
    for (const sev of ['warning', 'critical']) {
      const route = routeFor(sev);
      assert.ok(route, `a route for severity="${sev}"`);
      const slack = receivers[route.receiver]?.slack_configs;
      assert.ok(slack?.length, `${route.receiver} sends to Slack`);
      assert.match(slack[0].api_url, /^https:\/\/hooks\.slack\.com\//);
      assert.match(slack[0].channel, /^#/);
    }
    assert.notEqual(routeFor('warning').receiver, routeFor('critical').receiver);
    assert.ok(receivers[cfg.route.receiver]?.slack_configs, 'the default receiver is Slack too');
    // The templates render (with amtool's example data).
    const tmpl = path.join(path.dirname(AM_CONFIG), cfg.templates[0]);
    for (const name of ['pum.slack.title', 'pum.slack.text']) {
      const t = await run('amtool', ['template', 'render', `--template.glob=${tmpl}`, `--template.text={{ template "${name}" . }}`]);
      ok(t, `amtool template render ${name}`);
    }
  });
});

describe('Grafana dashboard deploy/grafana/pum-dashboard.json', () => {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels || [])]);
  const dataPanels = panels.filter((p) => p.type !== 'row');
  const exprs = dataPanels.flatMap((p) => (p.targets || []).map((t) => ({ panel: p.title, expr: t.expr })));
  // Grafana's variables, as Grafana would fill them in.
  const substitute = (e) =>
    e
      .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}|\$__range|\$\{__range\}/g, '5m')
      .replace(/\$\{job\}|\$job\b/g, 'pum');

  test('is a Grafana dashboard with a Prometheus data source variable', () => {
    assert.ok(dash.schemaVersion >= 36, `schemaVersion ${dash.schemaVersion}`);
    assert.ok(dash.title && dash.uid);
    const vars = dash.templating.list;
    const ds = vars.find((v) => v.type === 'datasource');
    assert.ok(ds && ds.query === 'prometheus', 'a datasource variable for Prometheus');
    assert.ok(vars.find((v) => v.name === 'job'), 'a job variable');
    const ids = new Set();
    for (const p of panels) {
      assert.ok(!ids.has(p.id), `panel id ${p.id} unique`);
      ids.add(p.id);
      assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0, `${p.title}: gridPos`);
    }
    for (const p of dataPanels) {
      assert.equal(p.datasource?.uid, `\${${ds.name}}`, `${p.title}: uses the datasource variable`);
      assert.ok(p.targets?.length, `${p.title}: has queries`);
      for (const t of p.targets) assert.ok(t.expr && t.refId, `${p.title}: each query has expr and refId`);
    }
  });

  test('has the promised panels', () => {
    const byTitle = Object.fromEntries(dataPanels.map((p) => [p.title, p]));
    const required = [
      'Frontend response time', 'Page load time quantiles', 'Web Vitals: good share',
      'Web Vitals: poor share', 'JS errors by kind', 'JS errors per page view',
      'API latency p95 by host', 'Feature usage (vs last week)', 'Open pages (estimate)',
      'Ingest requests by status code', 'Rejected events by reason',
      'Duplicate and accepted batches', 'Store size', 'Exporter scrape duration',
      'Soft navigations by route (10 busiest)',
      ...['LCP', 'INP', 'CLS', 'FCP'].map((v) => `${v} p75 by route (10 slowest)`),
    ];
    for (const title of required) assert.ok(byTitle[title], `panel "${title}"`);
    // The stacked frontend response time graph: one series per phase, stacked.
    const frt = byTitle['Frontend response time'];
    assert.equal(frt.type, 'timeseries');
    assert.equal(frt.fieldConfig.defaults.custom.stacking.mode, 'normal');
    const text = frt.targets.map((t) => t.expr).join('\n');
    assert.match(text, /pum:browser_navigation_phase_seconds:mean_5m/);
    const phases = ['redirect', 'cache', 'dns', 'connect', 'request', 'response', 'dom_processing',
      'dom_content_loaded', 'subresources', 'load_event'];
    for (const ph of phases) assert.ok(text.includes(`phase="${ph}"`), `phase ${ph} in the stack`);
    const usesOf = (title) => byTitle[title].targets.map((t) => t.expr).join('\n');
    assert.match(usesOf('Page load time quantiles'), /p50_5m[\s\S]*p95_5m[\s\S]*p99_5m/);
    assert.match(usesOf('JS errors per page view'), /pum:browser_errors_per_page_view:ratio_5m/);
    assert.match(usesOf('Open pages (estimate)'), /pum:open_pages:estimate/);
    assert.match(usesOf('API latency p95 by host'), /by \(host, le\)/);
    assert.match(usesOf('Feature usage (vs last week)'), /by \(feature\)/);
    for (const v of ['lcp', 'inp', 'cls', 'fcp', 'ttfb']) {
      assert.match(usesOf('Web Vitals: good share'), new RegExp(`pum:browser_web_vitals_${v}:good_ratio_5m`));
      assert.match(usesOf('Web Vitals: poor share'), new RegExp(`pum:browser_web_vitals_${v}:poor_ratio_5m`));
    }
    // Single-page apps: by route, bounded to 10 series, the thresholds drawn.
    assert.match(usesOf('Soft navigations by route (10 busiest)'), /^topk\(10, pum:browser_soft_navigations:rate5m\{/);
    const thresholds = { LCP: [2.5, 4], INP: [0.2, 0.5], CLS: [0.1, 0.25], FCP: [1.8, 3] };
    for (const [v, [good, poor]] of Object.entries(thresholds)) {
      const p = byTitle[`${v} p75 by route (10 slowest)`];
      assert.match(usesOf(p.title), new RegExp(`^topk\\(10, pum:browser_route_web_vitals_${v.toLowerCase()}:p75_5m\\{`));
      assert.equal(p.targets[0].legendFormat, '{{route}}');
      assert.deepEqual(p.fieldConfig.defaults.thresholds.steps.map((s) => s.value), [null, good, poor], p.title);
    }
    assert.match(usesOf('Rejected events by reason'), /pum_ingest_events_rejected_total/);
    assert.match(usesOf('Ingest requests by status code'), /pum_ingest_requests_total/);
    assert.match(usesOf('Duplicate and accepted batches'), /pum_ingest_duplicate_batches_total/);
    assert.match(usesOf('Store size'), /pum_exporter_store_size_bytes/);
    assert.match(usesOf('Exporter scrape duration'), /pum_exporter_scrape_duration_seconds/);
  });

  test('every query is valid PromQL (promtool check rules)', async () => {
    const filled = exprs.map(({ panel, expr }) => ({ panel, expr: substitute(expr) }));
    for (const { panel, expr } of filled) assert.doesNotMatch(expr, /\$/, `${panel}: unfilled variable in ${expr}`);
    const r = await promtoolParse(filled.map((e) => e.expr));
    ok(r, 'promtool check rules on the dashboard queries');
    assert.match(r.stdout, new RegExp(`SUCCESS: ${filled.length} rules found`));
    // And the check does catch a broken query.
    const bad = await promtoolParse(['sum(rate(pum_reports_total[5m])']);
    assert.notEqual(bad.code, 0, 'promtool rejects a broken expression');
  });

  test('every query names only metrics that exist', () => {
    const known = knownMetricNames();
    let seen = 0;
    for (const { panel, expr } of exprs) {
      for (const name of metricNames(substitute(expr))) {
        seen++;
        assert.ok(known.has(name), `${panel}: unknown metric ${name} in ${expr}`);
      }
    }
    assert.ok(seen >= exprs.length, 'every query names a metric');
    // The extractor itself.
    assert.deepEqual(
      metricNames('histogram_quantile(0.95, sum by (host, le) (rate(a_bucket{le="1"}[5m]))) / ignoring(x) b offset 1w > 1e3'),
      ['a_bucket', 'b'],
    );
  });
});
