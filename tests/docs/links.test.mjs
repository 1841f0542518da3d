// The documentation's links: every relative link in README.md, docs/*.md
// and client-js/README.md names a file that exists and, with a #fragment,
// a heading of that page (GitHub's anchors); every page of docs/ is linked
// from README.md, and so is client-js/README.md. No network: links to
// other sites are not followed.
//
//   node --test tests/docs/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCS = path.join(REPO, 'docs');

const pages = () => [
  'README.md',
  ...fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`),
  'client-js/README.md',
];

// The text of a page with its fenced code blocks and code spans blanked
// out (a `[x](y)` inside code is not a link), lines kept where they were.
function prose(text) {
  return text
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ''))
    .replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
}

// GitHub's anchor of a heading: lower case, punctuation removed (code spans
// keep their text), spaces to hyphens; a repeated anchor gets -1, -2, ...
export function slug(heading) {
  return heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export function anchors(text) {
  const seen = new Map();
  const out = new Set();
  const body = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of body.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

// Every [text](target) of a page: {target, line}.
function links(text) {
  const out = [];
  const clean = prose(text);
  for (const m of clean.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    out.push({ target: m[1], line: clean.slice(0, m.index).split('\n').length });
  }
  return out;
}

const read = (rel) => fs.readFileSync(path.join(REPO, rel), 'utf8');

describe('the documentation links', () => {
  it('GitHub anchors are computed as GitHub does', () => {
    const cases = [
      ['TLS and basic auth: `--web.config.file`', 'tls-and-basic-auth---webconfigfile'],
      ['The allowlist: metrics.d/*.json', 'the-allowlist-metricsdjson'],
      ["The exporter's front door", 'the-exporters-front-door'],
      ['Recording rules (`pum-recording-rules.yml`, group `pum-recording`)', 'recording-rules-pum-recording-rulesyml-group-pum-recording'],
      ['Delivery: what is guaranteed, and what can be lost', 'delivery-what-is-guaranteed-and-what-can-be-lost'],
    ];
    for (const [heading, want] of cases) assert.equal(slug(heading), want, heading);
    assert.deepEqual([...anchors('# A\n## A\n```\n# not a heading\n```\n## A b\n')], ['a', 'a-1', 'a-b']);
  });

  for (const page of pages()) {
    it(`${page}: every relative link resolves, anchors included`, () => {
      const text = read(page);
      const bad = [];
      let checked = 0;
      for (const { target, line } of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        checked++;
        const [file, fragment] = target.split('#');
        const abs = file ? path.resolve(path.dirname(path.join(REPO, page)), decodeURI(file)) : path.join(REPO, page);
        if (!abs.startsWith(REPO + path.sep)) {
          bad.push(`line ${line}: ${target} points outside the repository`);
          continue;
        }
        if (!fs.existsSync(abs)) {
          bad.push(`line ${line}: ${target}: no such file ${path.relative(REPO, abs)}`);
          continue;
        }
        if (fragment !== undefined) {
          if (!abs.endsWith('.md')) {
            bad.push(`line ${line}: ${target}: an anchor into a file that is not markdown`);
          } else if (!anchors(fs.readFileSync(abs, 'utf8')).has(fragment)) {
            bad.push(`line ${line}: ${target}: ${path.relative(REPO, abs)} has no heading #${fragment}`);
          }
        }
      }
      assert.deepEqual(bad, [], `${page}:\n  ${bad.join('\n  ')}`);
      if (page !== 'README.md') assert.ok(checked > 0 || !text.includes(']('), `${page}: links found`);
    });
  }

  it('README.md links every page of docs/ and client-js/README.md', () => {
    const targets = new Set(links(read('README.md')).map(({ target }) => target.split('#')[0]));
    const missing = pages().filter((p) => p !== 'README.md' && !targets.has(p));
    assert.deepEqual(missing, [], `not linked from README.md: ${missing.join(', ')}`);
  });

  it('each page starts with one title and is not empty', () => {
    for (const page of pages()) {
      const text = read(page);
      assert.match(text, /^# \S/, `${page} opens with a "# " title`);
      assert.equal((prose(text).match(/^# /gm) || []).length, 1, `${page} has one "# " title`);
    }
  });
});
