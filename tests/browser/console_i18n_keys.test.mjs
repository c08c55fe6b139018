// The console's string tables (web/console/i18n/*.js) say the same things in
// every language: the same keys, each a string where English has a string
// (with the same {placeholders}) and plural forms where English has them
// (every category Intl.PluralRules has for that language).
//
//   cd tests/browser && node --test console_i18n_keys.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../web/console/i18n');
const codes = fs.readdirSync(DIR).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
const tables = Object.fromEntries(await Promise.all(codes.map(async (c) => [c, (await import(path.join(DIR, `${c}.js`))).default])));
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('there are English and Russian tables', () => {
  assert.ok(codes.includes('en') && codes.includes('ru'), codes.join(', '));
});

for (const code of codes.filter((c) => c !== 'en')) {
  test(`${code} has exactly the keys of en, with the same placeholders and all its plural forms`, () => {
    const en = tables.en;
    const other = tables[code];
    assert.deepEqual(Object.keys(other).sort(), Object.keys(en).sort(), 'the same keys');
    const categories = new Intl.PluralRules(other.$locale).resolvedOptions().pluralCategories;
    for (const [key, value] of Object.entries(en)) {
      const theirs = other[key];
      if (typeof value === 'string') {
        assert.equal(typeof theirs, 'string', `${code}.${key} is a string`);
        assert.ok(theirs.length > 0, `${code}.${key} is not empty`);
        assert.deepEqual(placeholders(theirs), placeholders(value), `${code}.${key} has the placeholders of en`);
      } else {
        assert.equal(typeof theirs, 'object', `${code}.${key} has plural forms`);
        for (const category of categories) {
          assert.equal(typeof theirs[category], 'string', `${code}.${key}.${category}`);
          assert.deepEqual(placeholders(theirs[category]), ['n'], `${code}.${key}.${category} shows {n}`);
        }
      }
    }
  });
}

test('English has the plural forms its rules need, and every table names itself and its locale', () => {
  for (const [code, table] of Object.entries(tables)) {
    assert.equal(typeof table.$name, 'string', `${code}.$name`);
    assert.equal(new Intl.Locale(table.$locale).language, code, `${code}.$locale`);
    const categories = new Intl.PluralRules(table.$locale).resolvedOptions().pluralCategories;
    for (const [key, value] of Object.entries(table)) {
      if (typeof value === 'object') for (const c of categories) assert.equal(typeof value[c], 'string', `${code}.${key}.${c}`);
    }
  }
});

test('every key the console asks for (t(), plural(), data-i18n* in index.html) is in the tables', () => {
  const web = path.join(DIR, '..');
  const used = new Set();
  for (const f of fs.readdirSync(web).filter((n) => n.endsWith('.js'))) {
    for (const m of fs.readFileSync(path.join(web, f), 'utf8').matchAll(/\b(?:t|plural)\('(\w+)'/g)) used.add(m[1]);
  }
  for (const m of fs.readFileSync(path.join(web, 'index.html'), 'utf8').matchAll(/data-i18n(?:-\w+)?="(\w+)"/g)) used.add(m[1]);
  assert.ok(used.size > 100, `found ${used.size} keys`);
  const missing = [...used].filter((k) => !(k in tables.en));
  assert.deepEqual(missing, [], 'keys used but not defined');
});
