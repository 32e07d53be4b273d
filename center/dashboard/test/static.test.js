// static.test.js: checks on the dashboard's files as shipped: every file
// the page loads is embedded (embed.cmake), nothing comes from the network,
// no code parses text as HTML, and the colour pairs of style.css meet WCAG
// AA contrast (4.5:1).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const dir = new URL('../', import.meta.url);
const read = (f) => readFileSync(new URL(f, dir), 'utf8');

function embedded() {
  const m = /set\(AW_DASHBOARD_FILES([^)]*)\)/.exec(read('embed.cmake'));
  assert.ok(m, 'AW_DASHBOARD_FILES in embed.cmake');
  return m[1].trim().split(/\s+/);
}

test('every file the page loads is embedded, and every embedded file is used', () => {
  const files = embedded();
  assert.ok(files.includes('index.html'));
  const wanted = new Set(['index.html']);
  const html = read('index.html');
  for (const m of html.matchAll(/(?:src|href)="([^"#:]+)"/g)) wanted.add(m[1]);
  const queue = [...wanted].filter((f) => f.endsWith('.js'));
  while (queue.length) {
    const f = queue.shift();
    for (const m of read(f).matchAll(/^\s*(?:import|export)\s[^'"]*from\s+'\.\/([^']+)'/gm)) {
      if (!wanted.has(m[1])) queue.push(m[1]);
      wanted.add(m[1]);
    }
  }
  assert.deepEqual([...wanted].sort(), [...files].sort());
});

test('nothing is fetched from elsewhere (the county network is offline)', () => {
  for (const f of embedded()) {
    const s = read(f);
    assert.doesNotMatch(s, /(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, `${f}: remote src/href`);
    assert.doesNotMatch(s, /@import|url\(\s*["']?(?:https?:)?\/\//i, `${f}: remote CSS`);
    assert.doesNotMatch(s, /fetch\(\s*['"`]https?:/, `${f}: remote fetch`);
  }
});

test('no HTML parsing of text: no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval', () => {
  for (const f of embedded().filter((x) => x.endsWith('.js'))) {
    const code = read(f).replace(/\/\/.*$/gm, '');
    const lines = code
      .split('\n')
      .filter((l) => /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/.test(l));
    const allowed = lines.filter((l) => /k === 'innerHTML'\) throw/.test(l));
    assert.deepEqual(lines, allowed, `${f}`);
  }
});

/* WCAG 2 relative luminance and contrast. */
function lum(hex) {
  const v = hex.replace('#', '');
  const full = v.length === 3 ? [...v].map((c) => c + c).join('') : v;
  const [r, g, b] = [0, 2, 4]
    .map((i) => parseInt(full.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

test('colour pairs meet WCAG AA contrast', () => {
  const css = read('style.css');
  const vars = Object.fromEntries(
    [...css.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b/g)].map((m) => [m[1], m[2]]),
  );
  const pairs = [
    ['red', 'red-fg'],
    ['orange', 'orange-fg'],
    ['yellow', 'yellow-fg'],
    ['blue', 'blue-fg'],
    ['none', 'none-fg'],
    ['bg', 'fg'],
    ['panel', 'fg'],
    ['panel', 'muted'],
    ['panel', 'bad-text'],
    ['panel', 'warn-text'],
    ['panel', 'ok-text'],
    ['panel', 'accent'],
  ];
  for (const [bg, fg] of pairs) {
    assert.ok(vars[bg] && vars[fg], `--${bg} and --${fg} defined`);
    const c = contrast(vars[bg], vars[fg]);
    assert.ok(c >= 4.5, `--${fg} on --${bg}: ${c.toFixed(2)} < 4.5`);
  }
  // fixed pairs written out in the rules
  for (const [bg, fg] of [
    ['#b3261e', '#ffffff'], // banner, toast.error, ACTUAL badge, danger button
    ['#14315c', '#ffffff'], // header, toast
    ['#1f4476', '#ffffff'], // summary items
    ['#ffe27a', '#111111'], // stale marker
    ['#fde7e6', '#a61b1b'], // form errors
    ['#eef1f5', '#16181d'], // table header
    ['#50565f', '#ffffff'], // tab counts
    ['#fdf0ef', '#5b1f1b'], // rejected ledger rows
    ['#fff1f0', '#a61b1b'], // overdue rows
    ['#eceef1', '#5a5f67'], // disabled buttons (exempt in WCAG, still AA here)
  ])
    assert.ok(contrast(bg, fg) >= 4.5, `${fg} on ${bg}: ${contrast(bg, fg).toFixed(2)}`);
});
