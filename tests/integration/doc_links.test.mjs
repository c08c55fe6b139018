// Every relative link in README.md and docs/*.md resolves to a file inside the
// repository (a reader of a clone has nothing outside it), and so does every
// Markdown file written as code with a ./ or ../ path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/cluster.mjs';

const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** [line, target] of every relative reference in a markdown file, code blocks skipped. */
function references(text) {
  const refs = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) { fenced = !fenced; return; }
    if (fenced) return;
    for (const m of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) refs.push([i + 1, m[1]]);
    for (const m of line.matchAll(/^\[[^\]]+\]:\s*(\S+)/g)) refs.push([i + 1, m[1]]);
    for (const m of line.matchAll(/`(\.{1,2}\/[^`\s]+\.md)`/g)) refs.push([i + 1, m[1]]);
  });
  return refs.filter(([, t]) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(t));
}

test('every relative link in README.md and docs/*.md resolves inside the repository', () => {
  const broken = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    for (const [line, target] of references(text)) {
      const file = decodeURIComponent(target.split('#')[0]);
      const abs = path.resolve(path.dirname(path.join(ROOT, f)), file);
      const inside = abs === ROOT || abs.startsWith(ROOT + path.sep);
      if (!inside || !fs.existsSync(abs)) broken.push(`${f}:${line}: ${target}${inside ? '' : ' (outside the repository)'}`);
    }
  }
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});
