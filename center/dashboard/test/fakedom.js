// fakedom.js: a small DOM for running the dashboard under `node --test`
// without a browser or npm packages. It implements what the dashboard
// uses (elements, text nodes, attributes, dataset, classList, events,
// simple selectors, forms with method=dialog, <dialog>, <select>) and a
// parser good enough for index.html. Setting innerHTML throws, so a test
// fails if any code path tries to parse API text as HTML.

const VOID = new Set(['meta', 'link', 'input', 'br', 'img', 'hr', 'source', 'area', 'base', 'col', 'wbr']);

export class Event {
  constructor(type, init = {}) {
    this.type = type;
    this.bubbles = !!init.bubbles;
    this.defaultPrevented = false;
    this.target = null;
    this.currentTarget = null;
    this.key = init.key;
    this.propagationStopped = false;
  }
  preventDefault() {
    this.defaultPrevented = true;
  }
  stopPropagation() {
    this.propagationStopped = true;
  }
}

class Node {
  constructor(doc) {
    this.ownerDocument = doc;
    this.parentNode = null;
    this.childNodes = [];
    this.listeners = {};
  }
  get firstChild() {
    return this.childNodes[0] ?? null;
  }
  get lastChild() {
    return this.childNodes[this.childNodes.length - 1] ?? null;
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join('');
  }
  set textContent(v) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    const s = String(v ?? '');
    if (s) this.appendChild(this.ownerDocument.createTextNode(s));
  }
  appendChild(n) {
    return this.insertBefore(n, null);
  }
  insertBefore(n, ref) {
    if (n === ref) return n;
    if (n.parentNode) n.parentNode.removeChild(n);
    const i = ref ? this.childNodes.indexOf(ref) : -1;
    if (ref && i < 0) throw new Error('insertBefore: ref is not a child');
    if (i < 0) this.childNodes.push(n);
    else this.childNodes.splice(i, 0, n);
    n.parentNode = this;
    return n;
  }
  removeChild(n) {
    const i = this.childNodes.indexOf(n);
    if (i < 0) throw new Error('removeChild: not a child');
    this.childNodes.splice(i, 1);
    n.parentNode = null;
    if (this.ownerDocument.activeElement && !this.ownerDocument.contains(this.ownerDocument.activeElement))
      this.ownerDocument.activeElement = this.ownerDocument.body;
    return n;
  }
  remove() {
    if (this.parentNode) this.parentNode.removeChild(this);
  }
  get isConnected() {
    let x = this;
    while (x.parentNode) x = x.parentNode;
    return x === this.ownerDocument;
  }
  contains(n) {
    for (let x = n; x; x = x.parentNode) if (x === this) return true;
    return false;
  }
  addEventListener(type, fn, opts) {
    (this.listeners[type] ??= []).push({ fn, once: !!opts?.once });
  }
  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] ?? []).filter((l) => l.fn !== fn);
  }
  dispatchEvent(ev) {
    ev.target ??= this;
    for (let x = this; x; x = ev.bubbles ? x.parentNode : null) {
      ev.currentTarget = x;
      for (const l of [...(x.listeners[ev.type] ?? [])]) {
        if (l.once) x.removeEventListener(ev.type, l.fn);
        l.fn.call(x, ev);
      }
      if (ev.propagationStopped) break;
    }
    return !ev.defaultPrevented;
  }
}

class Text extends Node {
  constructor(doc, data) {
    super(doc);
    this.data = String(data);
    this.nodeType = 3;
  }
  get textContent() {
    return this.data;
  }
  set textContent(v) {
    this.data = String(v);
  }
}

function camelToData(k) {
  return `data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const BOOL_ATTRS = ['hidden', 'disabled', 'required', 'open', 'checked', 'selected', 'autofocus', 'multiple'];
const STR_ATTRS = {
  id: 'id',
  className: 'class',
  htmlFor: 'for',
  type: 'type',
  name: 'name',
  title: 'title',
  placeholder: 'placeholder',
};

export class Element extends Node {
  constructor(doc, tag) {
    super(doc);
    this.nodeType = 1;
    this.tagName = tag.toUpperCase();
    this.localName = tag.toLowerCase();
    this.attributes = new Map();
    this._value = null;
    this._checked = null;
    this.returnValue = '';
    this.dataset = new Proxy(
      {},
      {
        get: (_, k) => (typeof k === 'string' ? (this.getAttribute(camelToData(k)) ?? undefined) : undefined),
        set: (_, k, v) => {
          this.setAttribute(camelToData(k), String(v));
          return true;
        },
        deleteProperty: (_, k) => {
          this.removeAttribute(camelToData(k));
          return true;
        },
      },
    );
    const self = this;
    this.classList = {
      add: (...c) => c.forEach((x) => self.classList.toggle(x, true)),
      remove: (...c) => c.forEach((x) => self.classList.toggle(x, false)),
      contains: (c) => self.className.split(/\s+/).includes(c),
      toggle(c, force) {
        const list = self.className.split(/\s+/).filter(Boolean);
        const has = list.includes(c);
        const want = force === undefined ? !has : !!force;
        if (want && !has) list.push(c);
        if (!want && has) list.splice(list.indexOf(c), 1);
        self.className = list.join(' ');
        return want;
      },
    };
  }
  get children() {
    return this.childNodes.filter((c) => c.nodeType === 1);
  }
  getAttribute(n) {
    return this.attributes.has(n) ? this.attributes.get(n) : null;
  }
  setAttribute(n, v) {
    this.attributes.set(String(n).toLowerCase(), String(v));
  }
  removeAttribute(n) {
    this.attributes.delete(n);
  }
  hasAttribute(n) {
    return this.attributes.has(n);
  }
  set innerHTML(_) {
    throw new Error('innerHTML used: API text must never be parsed as HTML');
  }
  get innerHTML() {
    throw new Error('innerHTML read: not supported by fakedom');
  }
  insertAdjacentHTML() {
    throw new Error('insertAdjacentHTML used');
  }
  append(...nodes) {
    for (const n of nodes)
      this.appendChild(typeof n === 'object' ? n : this.ownerDocument.createTextNode(String(n)));
  }
  get tabIndex() {
    const v = this.getAttribute('tabindex');
    return v === null
      ? ['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'A'].includes(this.tagName)
        ? 0
        : -1
      : Number(v);
  }
  set tabIndex(v) {
    this.setAttribute('tabindex', String(v));
  }
  get value() {
    if (this.tagName === 'SELECT') {
      const opts = this.querySelectorAll('option');
      const sel = opts.find((o) => o.selected) ?? opts[0];
      return sel ? sel.value : '';
    }
    if (this.tagName === 'OPTION') return this.getAttribute('value') ?? this.textContent;
    if (this.tagName === 'TEXTAREA') return this._value ?? this.textContent;
    return this._value ?? this.getAttribute('value') ?? (this.type === 'checkbox' ? 'on' : '');
  }
  set value(v) {
    if (this.tagName === 'SELECT') {
      for (const o of this.querySelectorAll('option')) o.selected = o.value === String(v);
      return;
    }
    if (this.tagName === 'OPTION') this.setAttribute('value', v);
    else this._value = String(v);
  }
  get checked() {
    return this._checked ?? this.hasAttribute('checked');
  }
  set checked(v) {
    this._checked = !!v;
  }
  get method() {
    return (this.getAttribute('method') ?? 'get').toLowerCase();
  }
  get form() {
    for (let x = this.parentNode; x; x = x.parentNode) if (x.tagName === 'FORM') return x;
    return null;
  }
  focus() {
    this.ownerDocument.activeElement = this;
    this.ownerDocument.focusLog.push(this);
  }
  blur() {
    if (this.ownerDocument.activeElement === this) this.ownerDocument.activeElement = this.ownerDocument.body;
  }
  click() {
    if (this.disabled) return;
    const ev = new Event('click', { bubbles: true });
    this.dispatchEvent(ev);
    if (ev.defaultPrevented) return;
    if (this.tagName === 'BUTTON' && (this.getAttribute('type') ?? 'submit') === 'submit' && this.form)
      this.form.requestSubmit(this);
    if (this.tagName === 'INPUT' && this.type === 'checkbox') {
      this.checked = !this.checked;
      this.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }
  requestSubmit(submitter) {
    const ev = new Event('submit', { bubbles: true });
    ev.submitter = submitter ?? null;
    this.dispatchEvent(ev);
    if (ev.defaultPrevented) return;
    if (this.method === 'dialog') {
      for (let x = this.parentNode; x; x = x.parentNode)
        if (x.tagName === 'DIALOG') return x.close(submitter?.getAttribute('value') ?? '');
    }
  }
  showModal() {
    if (this.open) throw new Error('showModal on an open dialog');
    this.open = true;
  }
  show() {
    this.open = true;
  }
  close(rv) {
    if (!this.open) return;
    this.open = false;
    if (rv !== undefined) this.returnValue = rv;
    this.dispatchEvent(new Event('close'));
  }
  querySelectorAll(sel) {
    const out = [];
    const groups = sel.split(',').map((s) => s.trim().split(/\s+/).map(parseCompound));
    const walk = (n) => {
      for (const c of n.children) {
        if (groups.some((g) => matchChain(c, g, this))) out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  querySelector(sel) {
    return this.querySelectorAll(sel)[0] ?? null;
  }
  closest(sel) {
    const g = sel.trim().split(/\s+/).map(parseCompound);
    for (let x = this; x && x.nodeType === 1; x = x.parentNode) if (matchChain(x, g, null)) return x;
    return null;
  }
}

for (const a of BOOL_ATTRS) {
  if (a === 'checked') continue;
  Object.defineProperty(Element.prototype, a, {
    get() {
      return this.hasAttribute(a);
    },
    set(v) {
      if (v) this.setAttribute(a, '');
      else this.removeAttribute(a);
    },
  });
}
for (const [p, a] of Object.entries(STR_ATTRS)) {
  Object.defineProperty(Element.prototype, p, {
    get() {
      return this.getAttribute(a) ?? '';
    },
    set(v) {
      this.setAttribute(a, String(v));
    },
  });
}

function parseCompound(s) {
  const c = { tag: null, id: null, classes: [], attrs: [], pseudo: [] };
  const re = /([a-zA-Z][\w-]*)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:=["']?([^\]"']*)["']?)?\]|:([\w-]+)/g;
  let m;
  let used = 0;
  while ((m = re.exec(s))) {
    if (m.index !== used) throw new Error(`fakedom: selector '${s}' not supported`);
    used = re.lastIndex;
    if (m[1]) c.tag = m[1].toUpperCase();
    else if (m[2]) c.id = m[2];
    else if (m[3]) c.classes.push(m[3]);
    else if (m[4]) c.attrs.push([m[4], m[5]]);
    else if (m[6]) c.pseudo.push(m[6]);
  }
  if (used !== s.length) throw new Error(`fakedom: selector '${s}' not supported`);
  return c;
}

function matchOne(e, c) {
  if (c.tag && e.tagName !== c.tag) return false;
  if (c.id && e.getAttribute('id') !== c.id) return false;
  for (const k of c.classes) if (!e.classList.contains(k)) return false;
  for (const [a, v] of c.attrs)
    if (!e.hasAttribute(a) || (v !== undefined && e.getAttribute(a) !== v)) return false;
  for (const p of c.pseudo) {
    if (p === 'checked' && !e.checked) return false;
    if (p !== 'checked') throw new Error(`fakedom: :${p} not supported`);
  }
  return true;
}

function matchChain(e, chain, scope) {
  if (!matchOne(e, chain[chain.length - 1])) return false;
  let i = chain.length - 2;
  for (let x = e.parentNode; x && i >= 0 && x !== scope; x = x.parentNode)
    if (x.nodeType === 1 && matchOne(x, chain[i])) i--;
  return i < 0;
}

export class Document extends Element {
  constructor() {
    super(null, '#document');
    this.ownerDocument = this;
    this.activeElement = null;
    this.focusLog = [];
  }
  createElement(tag) {
    const e = new Element(this, tag);
    if (tag.toLowerCase() === 'option')
      Object.defineProperty(e, 'selected', {
        get() {
          return this._selected ?? this.hasAttribute('selected');
        },
        set(v) {
          this._selected = !!v;
        },
      });
    return e;
  }
  createTextNode(s) {
    return new Text(this, s);
  }
  getElementById(id) {
    return this.querySelector(`#${id}`);
  }
  get documentElement() {
    return this.children[0];
  }
  get body() {
    return this.querySelector('body');
  }
}

function decode(s) {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Parses @p html (well-formed, like index.html) into a new Document. */
export function parseHTML(html) {
  const doc = new Document();
  let cur = doc;
  const re =
    /<!--[\s\S]*?-->|<!doctype[^>]*>|<\/([a-zA-Z][\w-]*)\s*>|<([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>|([^<]+)/gi;
  let m;
  while ((m = re.exec(html))) {
    if (m[1]) {
      const tag = m[1].toUpperCase();
      let x = cur;
      while (x !== doc && x.tagName !== tag) x = x.parentNode;
      if (x === doc) throw new Error(`parseHTML: stray </${m[1]}>`);
      cur = x.parentNode;
    } else if (m[2]) {
      const e = doc.createElement(m[2]);
      const are = /([^\s=>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g;
      let a;
      while ((a = are.exec(m[3] ?? ''))) {
        let v = a[2] ?? '';
        if (/^["']/.test(v)) v = v.slice(1, -1);
        e.setAttribute(a[1], decode(v));
      }
      cur.appendChild(e);
      if (!VOID.has(m[2].toLowerCase())) cur = e;
    } else if (m[4] !== undefined && cur !== doc) {
      cur.appendChild(doc.createTextNode(decode(m[4])));
    }
  }
  if (cur !== doc) throw new Error(`parseHTML: <${cur.localName}> not closed`);
  doc.activeElement = doc.body;
  return doc;
}

/** Timers under the test's control: advance(ms) runs what falls due. */
export function fakeTimers() {
  let now = 0;
  let seq = 0;
  const queue = new Map();
  const add = (fn, ms, every) => {
    const id = ++seq;
    queue.set(id, { fn, at: now + Math.max(0, ms ?? 0), every });
    return id;
  };
  return {
    setTimeout: (fn, ms) => add(fn, ms, 0),
    setInterval: (fn, ms) => add(fn, ms, Math.max(1, ms)),
    clear: (id) => queue.delete(id),
    pending: () => queue.size,
    now: () => now,
    async advance(ms, settle) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const [id, t] of queue) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        const [id, t] = next;
        now = t.at;
        if (t.every) t.at += t.every;
        else queue.delete(id);
        t.fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}
