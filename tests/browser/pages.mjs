// The test pages: the three ways a page includes pum.js, and a body with
// enough content to paint (FCP, LCP).
import fs from 'node:fs';
import path from 'node:path';

import { REPO } from '../integration/stack.mjs';

export const SNIPPET_HTML = path.join(REPO, 'client-js', 'snippet.html');

// The seed's snippet (peardeck/prometheus-user-metrics), byte for byte,
// with only its root URL filled in.
export function seedSnippet(root) {
  return `(function(i,s,o,g,r,a,m){i['PrometheusAggregatorObjectName']=r;i[r]=i[r]||function(){(i[r].q=i[r].q||[]).push(arguments)},i[r].l=1*new Date();a=s.createElement(o),m=s.getElementsByTagName(o)[0];a.async=1;a.src=(g+'/static/aggregatorClient.js');m.parentNode.insertBefore(a,m);i[r].aggregatorServerRoot = g;})(window,document,'script','${root}','prometheusAggregator');`;
}

// pum's snippet as client-js/snippet.html documents it (its first
// <script>), with its arguments — the name, the src of pum.js and the
// options — replaced by these. Each of them is JSON; `options` may also be
// a JavaScript expression given as {js: '...'}.
export function pumSnippet({ name = 'pum', src = '/pum.js', options = {} } = {}) {
  const html = fs.readFileSync(SNIPPET_HTML, 'utf8');
  const m = /<script>([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error(`no <script> in ${SNIPPET_HTML}`);
  const call = /\}\)\(\s*window\s*,\s*document\s*,[\s\S]*\)\s*;?\s*$/;
  if (!call.test(m[1])) throw new Error(`${SNIPPET_HTML}: the snippet does not end in })(window, document, ...);`);
  const opts = options.js !== undefined ? options.js : JSON.stringify(options);
  return m[1].replace(call, `})(window, document, ${JSON.stringify(name)}, ${JSON.stringify(src)}, ${opts});`);
}

// A complete page: `head` goes first in <head> (so pum's script starts
// early, as the snippet's instructions say), `body` after the content.
export function page({ title = 'pum test page', head = '', body = '' } = {}) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
${head}
</head>
<body>
<h1>${title}</h1>
<div id="marker"></div>
<p style="font-size: 20px">This paragraph gives the browser something to paint, so that First
Contentful Paint and Largest Contentful Paint are reported. The quick brown fox
jumps over the lazy dog, again and again, until the line wraps at least once.</p>
${body}
</body>
</html>
`;
}

// Buttons with the given ids and onclick code: {id: code}.
export function buttons(map) {
  return Object.entries(map)
    .map(([id, code]) => `<button id="${id}" onclick="${code.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">${id}</button>`)
    .join('\n');
}

export const CQ = { browser: 'chrome', feature: 'quickQuestion' };
export const FB = 'pd-dev-1.firebaseio.com';
export const FB2 = 'pd-dev-2.firebaseio.com';
