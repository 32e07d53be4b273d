// live.test.js: the dashboard in fakedom against a REAL anwang-center, to
// check that the page and the daemon agree on every shape. Skipped unless
// ANWANG_API (e.g. http://127.0.0.1:8080) and ANWANG_TOKEN_OPERATOR are set,
// as quickstart's DIR/env sets them:
//   set -a; . demo-county/env; set +a; node --test center/dashboard/test/live.test.js
// The center needs a registry. The test WRITES: one general hazard on the
// first site (reported, assigned) and one drill (Exercise) on the first zone,
// cancelled at the end.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { Event } from './fakedom.js';
import { loadApp, rows, until } from './harness.js';

const BASE = process.env.ANWANG_API;
const TOKEN = process.env.ANWANG_TOKEN_OPERATOR;
const skip = !BASE || !TOKEN ? 'set ANWANG_API and ANWANG_TOKEN_OPERATOR to run against a center' : false;

let app;
const calls = [];

/**
 * A fetch() over node:http: the page's timers are fake in these tests and
 * node's own fetch (undici) runs on the global timers, so it cannot be used.
 */
function realFetch(url, init = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode,
          statusText: res.statusMessage,
          headers: { get: (k) => res.headers[k.toLowerCase()] ?? null },
          text: async () => body,
        });
      });
    });
    req.on('error', reject);
    if (init.body) req.write(init.body);
    req.end();
  });
}

before(async () => {
  if (skip) return;
  const fetch = async (url, init) => {
    const r = await realFetch(BASE + url, init);
    calls.push({ url, method: init?.method ?? 'GET', status: r.status });
    return r;
  };
  app = await loadApp({ token: TOKEN, fetch });
});

after(() => app?.restoreConsole());

const viewError = (id) => app.$(`view-${id}`).querySelector('p.view-error');

async function showTab(id, ready) {
  app.$(`tab-${id}`).click();
  await app.advance(0);
  await until(() => ready() || !viewError(id).hidden, 15000, `${id} view`);
  assert.equal(viewError(id).hidden, true, viewError(id).textContent);
}

test('the daemon serves the files of this tree, with their types', { skip }, async () => {
  const files = /set\(AW_DASHBOARD_FILES([^)]*)\)/
    .exec(readFileSync(new URL('../embed.cmake', import.meta.url), 'utf8'))[1]
    .trim()
    .split(/\s+/);
  for (const f of ['', ...files]) {
    const r = await realFetch(`${BASE}/${f}`);
    assert.equal(r.status, 200, f);
    const want = readFileSync(new URL(`../${f || 'index.html'}`, import.meta.url), 'utf8');
    assert.equal(
      await r.text(),
      want,
      `${f || '/'} is the embedded copy of the file (rebuild anwang-center?)`,
    );
    const type = r.headers.get('content-type');
    if (f.endsWith('.js')) assert.match(type, /^text\/javascript/);
    if (f.endsWith('.css')) assert.match(type, /^text\/css/);
  }
});

test('picture: the tree renders from the real API and expands', { skip }, async () => {
  await until(() => rows(app.$('view-picture')).length > 1 || !viewError('picture').hidden, 15000, 'picture');
  assert.equal(viewError('picture').hidden, true, viewError('picture').textContent);
  assert.equal(app.$('banner').hidden, true);
  const zone = rows(app.$('view-picture')).find((r) => r.classList.contains('k-zone'));
  assert.ok(zone, 'a zone row');
  assert.match(zone.textContent, /(红 Red|橙 Orange|黄 Yellow|蓝 Blue|无 None)/);
  const n = rows(app.$('view-picture')).length;
  zone.querySelector('button.twisty').click();
  await until(() => rows(app.$('view-picture')).length > n, 15000, 'villages');
  assert.match(app.$('summary').textContent, /边缘 Edges\d+\/\d+/);
  assert.ok(
    calls.every((c) => c.status < 400),
    JSON.stringify(calls.filter((c) => c.status >= 400)),
  );
});

test('alarms and edges views load', { skip }, async () => {
  await showTab(
    'alarms',
    () => !app.$('view-alarms').querySelector('p.empty').hidden || rows(app.$('view-alarms')).length > 0,
  );
  await showTab('edges', () => /已连接 connected/.test(app.$('view-edges').textContent));
});

test('hazards: report, ledger refusal reason, assign', { skip }, async () => {
  const site = app.doc.querySelectorAll('tr.k-site')[0]?.dataset.path;
  await showTab(
    'hazards',
    () => !app.$('view-hazards').querySelector('p.empty').hidden || rows(app.$('view-hazards')).length > 0,
  );
  const box = app.$('view-hazards').querySelector('details.form-box');
  box.open = true;
  box.dispatchEvent(new Event('toggle'));
  const sitePath = site ?? box.querySelector('datalist option')?.value;
  assert.ok(sitePath, 'a site from the picture');
  const form = box.querySelector('form');
  const [siteIn, title, reporter] = form.querySelectorAll('input');
  siteIn.value = sitePath;
  siteIn.dispatchEvent(new Event('change'));
  const [, sector] = [null, form.querySelector('select')];
  if (!sector.value) sector.value = 'industry-trade';
  title.value = `dashboard live test ${new Date().toISOString()}`;
  reporter.value = 'live-test';
  form.requestSubmit();
  const detail = app.$('view-hazards').querySelector('section.detail');
  await until(
    () => !detail.hidden && /上报 report/.test(detail.textContent),
    15000,
    'ledger of the new hazard',
  );
  assert.match(detail.textContent, /✓ 接受 accepted/);

  const ev = detail.querySelector('form.event-form');
  const op = ev.querySelector('select');
  op.value = 'start';
  op.dispatchEvent(new Event('change'));
  ev.requestSubmit();
  await until(() => /台账拒绝 ledger refused|invalid/.test(ev.textContent), 15000, 'the refusal');
  assert.match(ev.textContent, /start needs status assigned/);

  op.value = 'assign';
  op.dispatchEvent(new Event('change'));
  const inputs = ev.querySelectorAll('input');
  inputs[0].value = '测试单位';
  inputs[1].value = '测试人';
  const d = new Date(Date.now() + 7 * 86400e3);
  const pad = (x) => String(x).padStart(2, '0');
  inputs[2].value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T17:00`;
  ev.requestSubmit();
  await until(() => /已交办 assigned/.test(detail.textContent), 15000, 'assigned');
});

test('alerts: a drill is issued, reported and cancelled', { skip }, async () => {
  await showTab(
    'alerts',
    () => !app.$('view-alerts').querySelector('p.empty').hidden || rows(app.$('view-alerts')).length > 0,
  );
  const box = app.$('view-alerts').querySelector('details.form-box');
  box.open = true;
  box.dispatchEvent(new Event('toggle'));
  const form = box.querySelector('form');
  form.querySelector('input').value = 'dashboard live test drill';
  const zone = form.querySelectorAll('fieldset input')[0];
  assert.ok(zone, 'a zone to target');
  zone.checked = true;
  form.requestSubmit();
  const detail = app.$('view-alerts').querySelector('section.detail');
  await until(
    () => !detail.hidden && /演练报告 Drill report/.test(detail.textContent),
    15000,
    'drill report',
  );
  assert.match(detail.textContent, /边缘 Edges目标 targeted \d+/);
  detail.querySelector('button.danger').click();
  await app.advance(0);
  app.$('confirm-ok').click();
  await until(() => /已撤销 cancelled/.test(detail.textContent), 15000, 'cancelled');
});

test('no console errors', { skip }, () => {
  assert.deepEqual(app.errors, []);
});
