// Shared by the deployment tests.
import assert from 'node:assert/strict';

// pum.json allows // and /* */ comments: strip them (outside strings).
export function parseJsonc(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
      assert.ok(i > 0, 'unterminated /* comment');
    } else {
      out += c;
    }
  }
  return JSON.parse(out);
}
