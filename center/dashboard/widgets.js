// widgets.js: small pieces the views share: colour badges (colour AND a
// text label), times in local time with a ticking relative age, tables
// with a header, key/value lists and form fields with labels.

import { el, setAttr, setText } from './dom.js';
import {
  colourLabel,
  colourShort,
  formatAge,
  formatLocal,
  formatLocalShort,
  LEVELS,
  parseTime,
} from './format.js';

/** Server-adjusted "now" (ms); app.js sets the offset from the center's clock. */
export const clock = {
  offsetMs: 0,
  now() {
    return Date.now() + this.offsetMs;
  },
};

/** A badge for a grid colour or alarm level: coloured, with its name. */
export function colourBadge(colour) {
  const b = el('span', { class: 'badge' });
  updateColourBadge(b, colour);
  return b;
}

export function updateColourBadge(b, colour) {
  const c = LEVELS.includes(colour) ? colour : 'none';
  const cls = `badge c-${c}`;
  if (b.className !== cls) b.className = cls;
  setText(b, colourLabel(colour));
}

/** A compact level chip: "红 2" (used for alarm counts per level). */
export function levelChip(level, n) {
  return el('span', {
    class: `chip c-${LEVELS.includes(level) ? level : 'none'}`,
    text: `${colourShort(level)} ${n}`,
    title: `${colourLabel(level)}: ${n}`,
  });
}

/**
 * A <time> showing @p iso in local time with its relative age beneath
 * ("12 s ago"); the age ticks via tickAges(). "—" when absent.
 */
export function timeCell(iso, opts = {}) {
  const t = el('time', { class: 'when' });
  t.appendChild(el('span', { class: 'abs' }));
  t.appendChild(el('span', { class: 'age' }));
  updateTimeCell(t, iso, opts);
  return t;
}

export function updateTimeCell(t, iso, opts = {}) {
  const ms = parseTime(iso);
  const now = clock.now();
  setAttr(t, 'datetime', Number.isFinite(ms) ? iso : null);
  setAttr(t, 'title', Number.isFinite(ms) ? `${formatLocal(ms)} (${iso})` : null);
  t.dataset.t = Number.isFinite(ms) ? String(ms) : '';
  setText(t.firstChild, opts.full ? formatLocal(ms) : formatLocalShort(ms, now));
  setText(t.lastChild, Number.isFinite(ms) ? formatAge(ms, now) : '');
}

/** Refreshes every relative age under @p root. */
export function tickAges(root) {
  const now = clock.now();
  for (const t of root.querySelectorAll('time.when')) {
    const ms = Number(t.dataset.t);
    if (t.dataset.t && Number.isFinite(ms)) setText(t.lastChild, formatAge(ms, now));
  }
}

/** A table with a caption (visually hidden when @p hideCaption), header and an empty tbody. */
export function table(caption, headers, cls = '') {
  const thead = el(
    'thead',
    null,
    el(
      'tr',
      null,
      headers.map((h) => el('th', { scope: 'col', text: h })),
    ),
  );
  const tbody = el('tbody');
  const cap = el('caption', { class: 'sr-only', text: caption });
  const t = el('table', { class: `grid ${cls}` }, cap, thead, tbody);
  const wrap = el('div', { class: 'table-wrap' }, t);
  const empty = el('p', { class: 'empty', hidden: true });
  return { wrap: el('div', null, wrap, empty), table: t, tbody, empty };
}

/** Shows @p text in the table's empty line when @p rows is 0. */
export function setEmpty(t, rows, text) {
  t.empty.hidden = rows > 0;
  setText(t.empty, rows > 0 ? '' : text);
}

/** A <dl> of [label, value-node-or-text] pairs. */
export function defList(pairs) {
  const dl = el('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.appendChild(el('dt', { text: k }));
    dl.appendChild(el('dd', null, v === null || v === '' ? '—' : v));
  }
  return dl;
}

let s_fieldSeq = 0;

/** A labelled form control: {wrap, input}. @p control is an element. */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++s_fieldSeq}`;
  const wrap = el('div', { class: 'field' }, el('label', { htmlFor: control.id, text: label }), control);
  if (hint) {
    const h = el('small', { class: 'hint', id: `${control.id}-hint`, text: hint });
    control.setAttribute('aria-describedby', h.id);
    wrap.appendChild(h);
  }
  return { wrap, input: control };
}

/** A <select> of [value, label] pairs (a string is both). */
export function select(options, props = {}) {
  const s = el('select', props);
  for (const o of options) {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    s.appendChild(el('option', { value: v, text: l }));
  }
  return s;
}

/** A list of error lines shown above a form; hidden when empty. */
export function errorBox() {
  const box = el('div', { class: 'form-errors', hidden: true, attrs: { role: 'alert' } });
  box.show = (lines) => {
    while (box.firstChild) box.removeChild(box.firstChild);
    const list = (Array.isArray(lines) ? lines : [lines]).filter(Boolean);
    for (const l of list) box.appendChild(el('p', { text: l }));
    box.hidden = list.length === 0;
  };
  return box;
}
