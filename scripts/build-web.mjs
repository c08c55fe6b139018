#!/usr/bin/env node
// Builds the served web tree: node scripts/build-web.mjs [SRC [OUT]]
// (defaults web/ and build/web/; `make all` runs it, docs/WEB.md "Built tree").
//
// - Every script, style sheet and the widget's frame page under widget/ and
//   console/ gets a content-hashed name (frame.js -> frame.3f9a1c2b.js): the
//   gateway serves those "immutable" for a year, so a returning visitor's
//   browser does not even ask for them again.
// - The entry points keep their names and are revalidated on every view
//   (ETag, 304): widget.js (the loader customers paste), demo.html,
//   console/index.html, and widget/frame.html (for old embeds; the loader
//   itself points at the hashed frame).
// - References are rewritten: ES module imports ('./lib/ui.js'), <script src>
//   and <link href> in HTML, and the loader's iframe URL ('/widget/frame.html').
//   A file's hash is taken after its own references were rewritten, so a
//   change in a module changes the names of everything that imports it.
// - Every served file gets a gzip -9 (.gz) and a brotli -q 11 (.br) twin; the
//   gateway picks one by Accept-Encoding.
//
// Plain node, no bundler: the browser code is already plain ES modules that
// need no transformation, only new names, and a bundler would be a large
// dependency to rename a few dozen files.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.resolve(process.argv[2] || path.join(ROOT, 'web'));
const OUT = path.resolve(process.argv[3] || path.join(ROOT, 'build', 'web'));

// URL paths ('/widget/lib/ui.js') of every file in SRC that the gateway serves.
function listFiles(dir, url = '') {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const u = `${url}/${e.name}`;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), u));
    else if (e.isFile()) out.push(u);
  }
  return out;
}
const served = (u) => u === '/widget.js' || u === '/demo.html' || u.startsWith('/widget/') || u.startsWith('/console/');
const ENTRY = new Set(['/widget.js', '/demo.html', '/console/index.html', '/widget/frame.html']);
const hashable = (u) => /\.(js|css|html)$/.test(u) && (u.startsWith('/widget/') || u.startsWith('/console/'))
  && u !== '/console/index.html';
const rewritable = (u) => /\.(js|css|html|mjs)$/.test(u);

const files = listFiles(SRC).filter(served);
const known = new Set(files);
const hashedName = new Map();      // URL path -> hashed URL path
const content = new Map();         // URL path -> rewritten Buffer

// A quoted or attribute reference to another file: './x.js', '../a/b.js',
// "/widget/frame.css", '/widget/frame.html?site=' (the query stays).
const REF = /(['"])((?:\.{1,2}\/|\/)[A-Za-z0-9_\-./]+\.(?:js|mjs|css|html))(?=[?#'"])/g;

function resolve(fromUrl, ref) {
  return ref.startsWith('/') ? path.posix.normalize(ref) : path.posix.join(path.posix.dirname(fromUrl), ref);
}

function build(u, stack = []) {
  if (content.has(u)) return;
  if (stack.includes(u)) throw new Error(`reference cycle: ${[...stack, u].join(' -> ')}`);
  let data = fs.readFileSync(path.join(SRC, u));
  if (rewritable(u)) {
    const text = data.toString('utf8').replace(REF, (all, q, ref) => {
      const target = resolve(u, ref);
      if (!known.has(target) || !hashable(target)) return all;
      build(target, [...stack, u]);
      const base = path.posix.basename(hashedName.get(target));
      return q + ref.slice(0, ref.length - path.posix.basename(ref).length) + base;
    });
    data = Buffer.from(text, 'utf8');
  }
  content.set(u, data);
  if (hashable(u)) {
    const hash = createHash('sha256').update(data).digest('hex').slice(0, 8);
    const ext = path.posix.extname(u);
    hashedName.set(u, `${u.slice(0, -ext.length)}.${hash}${ext}`);
  }
}
for (const u of files) build(u);

// A fresh tree each time: no stale hashed names left behind.
fs.rmSync(OUT, { recursive: true, force: true });
const written = [];
function write(u, data) {
  const file = path.join(OUT, u);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  written.push(file);
}
for (const u of files) {
  if (hashedName.has(u)) write(hashedName.get(u), content.get(u));
  if (!hashedName.has(u) || ENTRY.has(u)) write(u, content.get(u));
}
for (const file of written) {
  // -n: no name or time stamp inside, so the same source gives the same bytes.
  fs.writeFileSync(`${file}.gz`, execFileSync('gzip', ['-9', '-n', '-c', file]));
  execFileSync('brotli', ['-q', '11', '-f', '-o', `${file}.br`, file]);
}
fs.writeFileSync(path.join(OUT, '.stamp'), `${written.length} files\n`);
console.log(`build-web: ${written.length} files (+ .gz, .br) in ${path.relative(process.cwd(), OUT) || '.'}`);
