// `make install` and the systemd units (deploy/systemd/).
//
// Runs the real `make install DESTDIR=<tmp>` twice, with PREFIX=/usr/local
// (as the current user) and PREFIX=/usr (as the user nobody when the test
// runs as root, with NO_DEPS=1: a DESTDIR install needs no root, only
// `make deps` installing packages does), and checks:
//   - the tree: exactly the expected files, binaries 0755, everything else
//     0644 (executable deploy/ scripts 0755), directories 0755;
//   - the contents: binaries and pum.js as built, metrics.d as in conf/,
//     pum.json = conf/pum.json with the installed metrics_dir and
//     storage_path, and the installed pum-exporter --check-config accepts it;
//   - the units: ExecStart and --config.file name the installed binary and
//     config, the socket is the one the installed nginx snippet routes to,
//     and the design (User=pum, Restart=always, StateDirectory=pum, socket
//     activation on fd 0) is as documented; no default path is left behind
//     with PREFIX=/usr;
//   - `systemd-analyze verify` accepts the installed units: run with
//     --root=<a copy of DESTDIR plus this machine's own unit files>, so that
//     ExecStart binaries resolve inside it, the user pum created there by the
//     real `systemd-sysusers --root` from the installed sysusers.d file;
//     any warning it prints fails the test (it exits 0 on unknown keys);
//   - a second install keeps edited configuration; `make uninstall`.
//
// Environment: BUILD (default build); PUM_KEEP_TMP=1 keeps the temp dir.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO, run } from '../integration/stack.mjs';
import { parseJsonc } from './jsonc.mjs';

const BUILD = process.env.BUILD || 'build';
const BUILD_DIR = path.resolve(REPO, BUILD);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-install-'));
fs.chmodSync(TMP, 0o755);
after(() => {
  if (process.env.PUM_KEEP_TMP === '1') console.log(`install test files kept in ${TMP}`);
  else fs.rmSync(TMP, { recursive: true, force: true });
});

const IS_ROOT = process.getuid() === 0;
const NOBODY = 65534;
const UNITS = ['pum-exporter.service', 'pum-ingest.socket', 'pum-ingest@.service'];
const DEPLOY_DIRS = ['nginx', 'apache', 'lighttpd', 'prometheus', 'grafana', 'alertmanager'];

// ------------------------------------------------------------- helpers

// `make -C REPO ARGS BUILD=...`, as `uid` if given (root only).
async function make(args, { uid } = {}) {
  const cmd = ['make', '-C', REPO, '--no-print-directory', ...args, `BUILD=${BUILD}`];
  const r = uid === undefined
    ? await run(cmd[0], cmd.slice(1), { timeout: 600000 })
    : await run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...cmd],
      { timeout: 600000 });
  assert.equal(r.code, 0, `${cmd.join(' ')} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

// Every regular file and directory under `root`: Map of "/rel/path" -> mode.
function walk(root) {
  const files = new Map();
  const dirs = new Map();
  const rec = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, ent.name);
      const rel = '/' + path.relative(root, abs);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) {
        dirs.set(rel, st.mode & 0o7777);
        rec(abs);
      } else {
        assert.ok(st.isFile(), `${rel} is neither a file nor a directory`);
        files.set(rel, st.mode & 0o7777);
      }
    }
  };
  rec(root);
  return { files, dirs };
}

// Files under a repository folder, relative to it, sorted.
function repoFiles(dir) {
  const abs = path.join(REPO, dir);
  if (!fs.existsSync(abs)) return [];
  const out = [];
  const rec = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) rec(p);
      else if (ent.isFile() && !ent.name.endsWith('~')) out.push(path.relative(abs, p));
    }
  };
  rec(abs);
  return out.sort();
}


// The keys systemd knows in the sections these units use (a subset of
// systemd.unit(5), systemd.service(5), systemd.socket(5), systemd.exec(5)):
// our own check against typos, beside systemd-analyze's.
const KNOWN_KEYS = {
  Unit: ['Description', 'Documentation', 'Requires', 'Wants', 'After', 'Before', 'PartOf',
    'BindsTo', 'ConditionPathExists', 'StartLimitIntervalSec', 'StartLimitBurst'],
  Install: ['WantedBy', 'RequiredBy', 'Also', 'Alias'],
  Socket: ['ListenStream', 'SocketUser', 'SocketGroup', 'SocketMode', 'DirectoryMode',
    'Accept', 'Backlog', 'Service', 'RemoveOnStop'],
  Service: ['Type', 'User', 'Group', 'ExecStartPre', 'ExecStart', 'ExecReload', 'Restart',
    'RestartSec', 'Sockets', 'StandardInput', 'StandardOutput', 'StandardError',
    'StateDirectory', 'StateDirectoryMode', 'UMask', 'PrivateNetwork', 'NoNewPrivileges',
    'CapabilityBoundingSet', 'AmbientCapabilities', 'ProtectSystem', 'ProtectHome',
    'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules',
    'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname',
    'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID', 'LockPersonality',
    'MemoryDenyWriteExecute', 'RestrictAddressFamilies', 'SystemCallArchitectures',
    'SystemCallFilter', 'SystemCallErrorNumber', 'ReadWritePaths', 'Environment',
    'TimeoutStopSec'],
};

// Parses a unit file: {Section: {Key: [values...]}}; fails on anything that
// is not a comment, a blank line, a [Section] or Key=Value with a known key.
function parseUnit(file) {
  const unit = {};
  let section = null;
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, n) => {
    const where = `${file}:${n + 1}`;
    if (/^\s*([#;].*)?$/.test(line)) return;
    assert.ok(!line.endsWith('\\'), `${where}: no continuation lines expected`);
    let m = /^\[(\w+)\]$/.exec(line);
    if (m) {
      section = m[1];
      assert.ok(KNOWN_KEYS[section], `${where}: unexpected section [${section}]`);
      assert.ok(!unit[section], `${where}: [${section}] twice`);
      unit[section] = {};
      return;
    }
    m = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(m, `${where}: not Key=Value: ${JSON.stringify(line)}`);
    assert.ok(section, `${where}: a key before any section`);
    assert.ok(KNOWN_KEYS[section].includes(m[1]), `${where}: unknown key ${m[1]} in [${section}]`);
    (unit[section][m[1]] ||= []).push(m[2]);
  });
  return unit;
}

const one = (unit, section, key) => {
  const v = unit[section]?.[key];
  assert.ok(v && v.length === 1, `[${section}] ${key}= expected once, got ${JSON.stringify(v)}`);
  return v[0];
};

// What `make install DESTDIR=d PREFIX=prefix` must produce: Map of the
// path inside DESTDIR -> mode.
function expectedTree(prefix) {
  const exp = new Map();
  const share = `${prefix}/share/pum`;
  exp.set(`${prefix}/bin/pum-ingest`, 0o755);
  exp.set(`${prefix}/bin/pum-exporter`, 0o755);
  for (const f of ['pum.js', 'pum.spa.js', 'pum.esm.js', 'snippet.min.html', 'pum.d.ts']) exp.set(`${share}/${f}`, 0o644);
  exp.set(`${share}/conf/pum.json`, 0o644);
  exp.set('/etc/pum/pum.json', 0o644);
  for (const f of repoFiles('conf/metrics.d').filter((f) => f.endsWith('.json'))) {
    exp.set(`${share}/conf/metrics.d/${f}`, 0o644);
    exp.set(`/etc/pum/metrics.d/${f}`, 0o644);
  }
  for (const u of UNITS) exp.set(`${prefix}/lib/systemd/system/${u}`, 0o644);
  exp.set(`${prefix}/lib/sysusers.d/pum.conf`, 0o644);
  const doc = `${prefix}/share/doc/pum`;
  for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE', 'client-js/README.md']) exp.set(`${doc}/${f}`, 0o644);
  for (const f of repoFiles('docs').filter((f) => f.endsWith('.md'))) exp.set(`${doc}/docs/${f}`, 0o644);
  for (const d of DEPLOY_DIRS) {
    for (const f of repoFiles(`deploy/${d}`)) {
      const x = fs.statSync(path.join(REPO, 'deploy', d, f)).mode & 0o111;
      exp.set(`${share}/deploy/${d}/${f}`, x ? 0o755 : 0o644);
    }
  }
  return exp;
}

// A root for `systemd-analyze verify --root=`: a copy of the DESTDIR tree,
// plus this machine's own unit files (sysinit.target and the other units
// the manager loads by default) and /bin/kill (ExecReload=), and the user
// pum created by the real systemd-sysusers from the installed file.
async function verifyRoot(destdir, name) {
  const root = path.join(TMP, name);
  await copyTree(destdir, root);
  const sysUnits = '/usr/lib/systemd/system';
  assert.ok(fs.existsSync(path.join(sysUnits, 'sysinit.target')),
    `${sysUnits}/sysinit.target is missing: install the systemd package (make deps)`);
  // -n: the installed units win where PREFIX=/usr puts them there too.
  await copyTree(sysUnits, path.join(root, 'usr/lib/systemd/system'), ['-n']);
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.copyFileSync('/usr/bin/kill', path.join(root, 'usr/bin/kill'));
  fs.chmodSync(path.join(root, 'usr/bin/kill'), 0o755);
  if (!fs.existsSync(path.join(root, 'bin'))) fs.symlinkSync('usr/bin', path.join(root, 'bin'));
  const su = await run('systemd-sysusers', [`--root=${root}`]);
  assert.equal(su.code, 0, `systemd-sysusers --root failed:\n${su.stdout}${su.stderr}`);
  const passwd = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8');
  assert.match(passwd, /^pum:x:\d+:\d+:[^:]*:\/var\/lib\/pum:\/usr\/sbin\/nologin$/m,
    `systemd-sysusers did not create the user pum from the installed sysusers.d file:\n${passwd}`);
  return root;
}

// cp -a SRC/. DEST (symlinks as they are: masked units link to /dev/null).
async function copyTree(src, dest, opts = []) {
  fs.mkdirSync(dest, { recursive: true });
  const r = await run('cp', ['-a', ...opts, `${src}/.`, dest]);
  assert.equal(r.code, 0, `cp -a ${src} ${dest}: ${r.stderr}`);
}

// Can systemd-analyze verify work on this machine at all? A unit that is
// certainly valid, in a root of its own. (Asked once.)
let saProbe;
function systemdAnalyzeWorks() {
  saProbe ||= probeSystemdAnalyze();
  return saProbe;
}
async function probeSystemdAnalyze() {
  const probe = await run('systemd-analyze', ['--version']).catch((e) => ({ code: -1, stderr: e.message }));
  if (probe.code !== 0) return { ok: false, why: `systemd-analyze cannot run: ${probe.stderr}` };
  const root = path.join(TMP, 'probe-root');
  fs.mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  await copyTree('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'));
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.copyFileSync('/usr/bin/true', path.join(root, 'usr/bin/true'));
  fs.writeFileSync(path.join(root, 'etc/systemd/system/probe.service'),
    '[Unit]\nDescription=probe\n[Service]\nExecStart=/usr/bin/true\n');
  const r = await run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, 'probe.service']);
  if (r.code !== 0 || r.stderr.trim() !== '') {
    return { ok: false, why: `systemd-analyze verify rejects a trivial valid unit here (exit ${r.code}): ${r.stderr}` };
  }
  return { ok: true };
}

// ------------------------------------------------------ the two installs

async function checkInstall(t, { destdir, prefix, expectedBefore }) {
  const bin = `${prefix}/bin`;
  const share = `${prefix}/share/pum`;
  const unitDir = `${prefix}/lib/systemd/system`;
  const D = (p) => path.join(destdir, p);

  // The tree: exactly these files, with these modes.
  const { files, dirs } = walk(destdir);
  const exp = expectedTree(prefix);
  const missing = [...exp.keys()].filter((f) => !files.has(f));
  const extra = [...files.keys()].filter((f) => !exp.has(f));
  const changed = JSON.stringify([...expectedBefore]) !== JSON.stringify([...exp]);
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'installed tree' +
    (changed ? ' (NOTE: the files of conf/ or deploy/ changed while the test ran)' : ''));
  for (const [f, mode] of exp) {
    assert.equal(files.get(f).toString(8), mode.toString(8), `mode of ${f}`);
  }
  for (const [d, mode] of dirs) assert.equal(mode.toString(8), '755', `mode of directory ${d}`);

  // Contents.
  const same = (installed, src) => assert.ok(
    fs.readFileSync(D(installed)).equals(fs.readFileSync(src)), `${installed} differs from ${src}`);
  same(`${bin}/pum-ingest`, path.join(BUILD_DIR, 'pum-ingest'));
  same(`${bin}/pum-exporter`, path.join(BUILD_DIR, 'pum-exporter'));
  for (const f of ['pum.js', 'pum.spa.js', 'pum.esm.js', 'snippet.min.html']) same(`${share}/${f}`, path.join(BUILD_DIR, f));
  same(`${share}/pum.d.ts`, path.join(REPO, 'client-js/pum.d.ts'));
  for (const f of repoFiles('conf/metrics.d').filter((f) => f.endsWith('.json'))) {
    same(`/etc/pum/metrics.d/${f}`, path.join(REPO, 'conf/metrics.d', f));
  }
  same(`${prefix}/lib/sysusers.d/pum.conf`, path.join(REPO, 'deploy/systemd/pum.sysusers.conf'));
  same('/etc/pum/pum.json', D(`${share}/conf/pum.json`));

  // pum.json: conf/pum.json, but with the paths of an installed system.
  const shipped = parseJsonc(fs.readFileSync(path.join(REPO, 'conf/pum.json'), 'utf8'));
  const installed = parseJsonc(fs.readFileSync(D('/etc/pum/pum.json'), 'utf8'));
  assert.equal(installed.metrics_dir, '/etc/pum/metrics.d');
  assert.equal(installed.storage_path, '/var/lib/pum/pum.db');
  assert.deepEqual({ ...installed, metrics_dir: 0, storage_path: 0 },
    { ...shipped, metrics_dir: 0, storage_path: 0 }, 'the other keys are those of conf/pum.json');

  // The installed exporter accepts the installed configuration (its
  // metrics.d taken from DESTDIR instead of /etc).
  const cc = await run(D(`${bin}/pum-exporter`), ['--check-config',
    `--config.file=${D('/etc/pum/pum.json')}`, `--metrics.dir=${D('/etc/pum/metrics.d')}`]);
  assert.equal(cc.code, 0, `pum-exporter --check-config:\n${cc.stdout}${cc.stderr}`);
  assert.match(cc.stdout + cc.stderr, /configuration OK/);

  // The units.
  const exporter = parseUnit(D(`${unitDir}/pum-exporter.service`));
  const socket = parseUnit(D(`${unitDir}/pum-ingest.socket`));
  const ingest = parseUnit(D(`${unitDir}/pum-ingest@.service`));
  const argv = (s) => s.split(/\s+/);
  const configFlag = '--config.file=/etc/pum/pum.json';

  const exStart = argv(one(exporter, 'Service', 'ExecStart'));
  assert.deepEqual(exStart, [`${bin}/pum-exporter`, configFlag]);
  assert.deepEqual(argv(one(exporter, 'Service', 'ExecStartPre')),
    [`${bin}/pum-exporter`, '--check-config', configFlag]);
  assert.equal(one(exporter, 'Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
  const inStart = argv(one(ingest, 'Service', 'ExecStart'));
  assert.deepEqual(inStart, [`${bin}/pum-ingest`, configFlag],
    'pum-ingest without --listen: it accepts on fd 0, the socket systemd passes');
  for (const [u, exe] of [[exporter, exStart[0]], [ingest, inStart[0]]]) {
    assert.ok(fs.statSync(D(exe)).mode & 0o111, `${exe} is installed and executable`);
    assert.ok(fs.existsSync(D('/etc/pum/pum.json')));
    assert.equal(one(u, 'Service', 'User'), 'pum');
    assert.equal(one(u, 'Service', 'Group'), 'pum');
    // A dead worker or exporter is replaced: systemd restarts the unit on
    // any exit, after RestartSec. Checked here from the unit file (and by
    // systemd-analyze verify below) because no systemd runs as PID 1 on the
    // test machines to kill a unit's process under; make run's supervisor,
    // lighttpd and mod_fcgid are killed for real in run-local-supervise and
    // respawn tests.
    assert.equal(one(u, 'Service', 'Restart'), 'always', 'Restart=always: a dead process is replaced');
    assert.match(one(u, 'Service', 'RestartSec'), /^[1-9]\d*(ms|s)?$/, 'RestartSec: restarts are paced');
    // systemd's default start limit (5 starts in 10 s) would leave a unit
    // dead for good after a burst of crashes, e.g. 5 requests that each
    // crash a worker: no limit, RestartSec paces the restarts instead.
    assert.equal(one(u, 'Unit', 'StartLimitIntervalSec'), '0', 'StartLimitIntervalSec=0: never give up restarting');
    assert.equal(one(u, 'Service', 'StateDirectory'), 'pum', 'the store in /var/lib/pum');
    assert.equal(one(u, 'Service', 'NoNewPrivileges'), 'yes');
    assert.equal(one(u, 'Service', 'ProtectSystem'), 'strict');
    assert.equal(one(u, 'Service', 'ProtectHome'), 'yes');
    assert.equal(one(u, 'Service', 'PrivateTmp'), 'yes');
    assert.equal(one(u, 'Install', 'WantedBy'), 'multi-user.target');
    for (const doc of u.Unit.Documentation || []) {
      assert.ok(fs.existsSync(D(doc.replace(/^file:/, ''))), `Documentation= ${doc} is installed`);
    }
  }
  // The workers: socket-activated, all instances sharing one socket.
  assert.equal(one(ingest, 'Service', 'Sockets'), 'pum-ingest.socket');
  assert.equal(one(ingest, 'Service', 'StandardInput'), 'socket');
  assert.equal(one(ingest, 'Unit', 'Requires'), 'pum-ingest.socket');
  const listen = one(socket, 'Socket', 'ListenStream');
  assert.equal(listen, '/run/pum/ingest.sock');
  assert.equal(one(socket, 'Socket', 'Accept'), 'no', 'one listening socket shared by the workers');
  assert.equal(one(socket, 'Socket', 'SocketUser'), 'pum');
  assert.equal(one(socket, 'Socket', 'SocketGroup'), 'www-data', "the web server's group on Debian");
  assert.equal(one(socket, 'Socket', 'SocketMode'), '0660');
  assert.equal(one(socket, 'Socket', 'Service'), 'pum-ingest@1.service',
    'a connection with no worker running starts worker 1 (there is no pum-ingest.service)');
  assert.equal(one(socket, 'Install', 'WantedBy'), 'sockets.target');
  // The installed nginx snippet routes /record to this very socket.
  const nginxConf = fs.readFileSync(D(`${share}/deploy/nginx/pum.conf`), 'utf8');
  assert.match(nginxConf, new RegExp(`^\\s*fastcgi_pass unix:${listen};`, 'm'),
    'deploy/nginx/pum.conf passes /record to the socket of pum-ingest.socket');

  // No default path left where PREFIX says otherwise (the documentation
  // is installed as it is: it describes the default layout).
  if (prefix !== '/usr/local') {
    for (const f of files.keys()) {
      if (f.startsWith(`${prefix}/share/doc/pum/`) || exp.get(f) === 0o755 && f.startsWith(`${bin}/`)) continue;
      const text = fs.readFileSync(D(f), 'utf8');
      for (const old of ['/usr/local/bin/', '/usr/local/share/pum']) {
        assert.ok(!text.includes(old), `${f} still names ${old} (PREFIX=${prefix})`);
      }
    }
  }

  // systemd-analyze verify on the installed units.
  const sa = await systemdAnalyzeWorks();
  if (!sa.ok) {
    // Checked by hand above (parseUnit: sections and keys; the semantics);
    // the failure below says why systemd's own check could not run.
    t.diagnostic(`systemd-analyze verify cannot run here: ${sa.why}`);
    assert.fail(`systemd-analyze verify could not run (${sa.why}); the units passed only this test's own parser`);
  }
  const root = await verifyRoot(destdir, `verify-root-${prefix.replace(/\//g, '_')}`);
  const args = ['verify', '--man=no', `--root=${root}`,
    'pum-exporter.service', 'pum-ingest.socket', 'pum-ingest@1.service', 'pum-ingest@2.service'];
  const v = await run('systemd-analyze', args, { timeout: 60000 });
  assert.equal(v.code, 0, `systemd-analyze ${args.join(' ')}: exit ${v.code}\n${v.stdout}${v.stderr}`);
  assert.equal(v.stderr.trim(), '', `systemd-analyze verify printed warnings:\n${v.stderr}`);
  // And it does check them: a unit with a wrong ExecStart fails there.
  const broken = path.join(root, unitDir.slice(1), 'pum-exporter.service');
  fs.writeFileSync(broken, fs.readFileSync(broken, 'utf8').replace(
    `ExecStart=${bin}/pum-exporter`, `ExecStart=${bin}/pum-exporter-missing`));
  const vb = await run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, 'pum-exporter.service']);
  assert.notEqual(vb.code, 0, 'systemd-analyze verify must reject a unit whose binary is missing');
  assert.match(vb.stderr, /pum-exporter-missing/);
}

describe('make install', () => {
  it('PREFIX=/usr/local: the usual layout, valid config and units', async (t) => {
    const destdir = path.join(TMP, 'usr-local');
    const expectedBefore = expectedTree('/usr/local');
    const r = await make(['install', `DESTDIR=${destdir}`, 'PREFIX=/usr/local']);
    assert.doesNotMatch(r.stdout + r.stderr, /systemctl (enable|start|daemon-reload)/);
    await checkInstall(t, { destdir, prefix: '/usr/local', expectedBefore });
  });

  it('PREFIX=/usr, as a user who is not root, into a fresh DESTDIR', async (t) => {
    const destdir = path.join(TMP, 'usr');
    const uid = IS_ROOT ? NOBODY : undefined;
    // `make deps` (installing missing Debian packages) is the one part of
    // `make all` that needs root; the install before ran it already.
    const noDeps = IS_ROOT ? ['NO_DEPS=1'] : [];
    if (IS_ROOT) {
      // The user nobody can read the build and write only its DESTDIR.
      fs.mkdirSync(destdir);
      fs.chownSync(destdir, NOBODY, NOBODY);
      fs.chmodSync(destdir, 0o755);
    }
    const expectedBefore = expectedTree('/usr');
    await make(['install', `DESTDIR=${destdir}`, 'PREFIX=/usr', ...noDeps], { uid });
    await checkInstall(t, { destdir, prefix: '/usr', expectedBefore });

    // Installing again keeps the configuration the admin edited, and says so.
    const conf = path.join(destdir, 'etc/pum/pum.json');
    const edited = fs.readFileSync(conf, 'utf8') + '\n// edited by the admin\n';
    fs.writeFileSync(conf, edited);
    const again = await make(['install', `DESTDIR=${destdir}`, 'PREFIX=/usr', ...noDeps], { uid });
    assert.equal(fs.readFileSync(conf, 'utf8'), edited, 'an existing pum.json is not overwritten');
    assert.match(again.stdout, /kept the existing .*\/etc\/pum\/pum\.json \(the new one is \/usr\/share\/pum\/conf\/pum\.json\)/);

    // make uninstall removes all but the configuration.
    await make(['uninstall', `DESTDIR=${destdir}`, 'PREFIX=/usr'], { uid });
    const left = [...walk(destdir).files.keys()].sort();
    assert.deepEqual(left, [...expectedTree('/usr').keys()].filter((f) => f.startsWith('/etc/pum/')).sort());
  });
});
