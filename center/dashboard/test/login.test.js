// login.test.js: the token flow in fakedom: no token → the page asks and
// shows nothing; a bad token is refused; a 401 later asks again; sign out
// clears the token.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Event } from './fakedom.js';
import { TOKENS } from './fakeserver.js';
import { loadApp } from './harness.js';

let app;

before(async () => {
  app = await loadApp();
});

after(() => app.restoreConsole());

async function signIn(token) {
  app.$('login-token').value = token;
  app.$('login-form').requestSubmit();
  await app.advance(0);
}

test('without a token the page asks for one and fetches nothing', async () => {
  assert.equal(app.$('login-dialog').open, true);
  assert.equal(app.doc.body.classList.contains('locked'), true);
  assert.equal(app.doc.activeElement, app.$('login-token'));
  await app.advance(10000);
  assert.equal(app.server.requests.length, 0);
});

test('Escape cannot dismiss the sign-in while there is no token', () => {
  const ev = new Event('cancel');
  app.$('login-dialog').dispatchEvent(ev);
  assert.equal(ev.defaultPrevented, true);
});

test('a short token is refused locally, an unknown one by the center', async () => {
  await signIn('short');
  assert.match(app.$('login-msg').textContent, /16/);
  assert.equal(app.server.requests.length, 0);
  await signIn('unknown-token-0123456789');
  assert.equal(app.$('login-dialog').open, true);
  assert.match(app.$('login-msg').textContent, /401/);
  assert.equal(app.storage.getItem('anwang.token'), null);
});

test('a good token is kept and sent as a bearer token on every request', async () => {
  await signIn(TOKENS.viewer);
  assert.equal(app.$('login-dialog').open, false);
  assert.equal(app.doc.body.classList.contains('locked'), false);
  assert.equal(app.storage.getItem('anwang.token'), TOKENS.viewer);
  await app.advance(3000);
  const after = app.server.requests.filter((r) => r.headers.Authorization === `Bearer ${TOKENS.viewer}`);
  assert.ok(after.some((r) => /\/api\/v1\/picture/.test(r.url)));
  assert.ok(after.some((r) => /\/api\/v1\/status/.test(r.url)));
});

test('a 401 later (token revoked) asks again, and polling waits', async () => {
  app.server.revoked.add(TOKENS.viewer);
  await app.advance(3000);
  assert.equal(app.$('login-dialog').open, true);
  assert.match(app.$('login-msg').textContent, /401/);
  assert.equal(app.doc.body.classList.contains('locked'), true);
  assert.equal(app.$('banner').hidden, true, 'a refused token is not an unreachable center');
  const n = app.server.requests.length;
  await app.advance(9000);
  assert.equal(app.server.requests.length, n);
  await signIn(TOKENS.operator);
  assert.equal(app.$('login-dialog').open, false);
  assert.ok(app.server.requests.length > n);
});

test('sign out clears the token and reloads', () => {
  app.$('signout-btn').click();
  assert.equal(app.storage.getItem('anwang.token'), null);
  assert.equal(app.location.reloads, 1);
});

test('no console errors', () => {
  assert.deepEqual(app.errors, []);
});
