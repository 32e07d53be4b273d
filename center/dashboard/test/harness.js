// harness.js: loads the dashboard (index.html + app.js) into fakedom with
// the fake center, fake timers and a memory localStorage, the way a
// browser would, so the tests can click through it. One app per process.

import { readFileSync } from 'node:fs';

import { fakeTimers, parseHTML } from './fakedom.js';
import { createServer } from './fakeserver.js';

export function memoryStorage(init = {}) {
  const m = new Map(Object.entries(init));
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    map: m,
  };
}

/** Lets pending promises and immediates run (the fake fetch resolves through them). */
export async function settle() {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

/** The real clock and timer, saved before loadApp() replaces them. */
export const real = { now: Date.now.bind(Date), setTimeout: globalThis.setTimeout.bind(globalThis) };

/** Waits (real time) until @p cond() is true; throws after @p ms. */
export async function until(cond, ms = 15000, what = 'condition') {
  const end = real.now() + ms;
  for (;;) {
    await settle();
    if (cond()) return;
    if (real.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => real.setTimeout(r, 25));
  }
}

/**
 * Loads the page. @p fetch replaces the fake center (e.g. a real one);
 * @p token is put in localStorage first; @p hash is the URL fragment.
 */
export async function loadApp({ token = null, hash = '', fetch = null } = {}) {
  const html = readFileSync(new URL('../index.html', import.meta.url), 'utf8');
  const doc = parseHTML(html);
  const server = createServer();
  const timers = fakeTimers();
  const storage = memoryStorage(token ? { 'anwang.token': token } : {});
  const winListeners = {};
  const location = {
    hash,
    search: '',
    reloads: 0,
    reload() {
      this.reloads++;
    },
  };
  const errors = [];
  const base = real.now();
  Date.now = () => base + timers.now();
  Object.assign(globalThis, {
    document: doc,
    window: {
      localStorage: storage,
      addEventListener: (t, fn) => (winListeners[t] ??= []).push(fn),
    },
    location,
    history: {
      replaceState: (_s, _t, url) => {
        location.hash = String(url);
      },
    },
    fetch: fetch ?? server.fetch,
    setTimeout: timers.setTimeout,
    setInterval: timers.setInterval,
    clearTimeout: timers.clear,
    clearInterval: timers.clear,
  });
  const origError = console.error;
  console.error = (...a) => errors.push(a);
  await import(new URL('../app.js', import.meta.url).href);
  await settle();
  await timers.advance(0, settle);
  return {
    doc,
    server,
    timers,
    storage,
    location,
    errors,
    restoreConsole: () => (console.error = origError),
    $: (id) => doc.getElementById(id),
    /** Runs the clock forward @p ms (refresh cycles, tickers) and lets them finish. */
    advance: (ms) => timers.advance(ms, settle),
    settle,
  };
}

/** Every text node's text under @p node, joined. */
export function text(node) {
  return node.textContent;
}

/** The rows of the first table body under @p node. */
export function rows(node) {
  const tb = node.querySelector('tbody');
  return tb ? tb.children : [];
}
