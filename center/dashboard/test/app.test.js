// app.test.js: the dashboard end to end in fakedom against the fake center,
// signed in as an operator: picture tree and expansion, alarms and ack,
// hazards and the ledger, alerts and drills, edges, the unreachable banner.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Event } from './fakedom.js';
import { TOKENS, XSS_NAME } from './fakeserver.js';
import { loadApp, rows } from './harness.js';

let app;

before(async () => {
  app = await loadApp({ token: TOKENS.operator });
});

after(() => app.restoreConsole());

const pictureRows = () => rows(app.$('view-picture'));
const rowByPath = (path) => pictureRows().find((r) => r.dataset.path === path);
const sent = (method, re) => app.server.requests.filter((r) => r.method === method && re.test(r.url));

async function showTab(id) {
  app.$(`tab-${id}`).click();
  await app.advance(0);
}

test('first cycle: picture with the county expanded, colours with text labels, summary', () => {
  assert.equal(app.doc.body.classList.contains('locked'), false);
  assert.equal(app.$('login-dialog').open, false);
  const paths = pictureRows().map((r) => r.dataset.path);
  assert.deepEqual(paths, ['yueyang', 'yueyang/rongjiawan', 'yueyang/xinqiang']);
  const zone = rowByPath('yueyang/rongjiawan');
  assert.match(zone.textContent, /红 Red/);
  assert.match(zone.textContent, /已连接 connected/);
  assert.match(zone.textContent, /积压 backlog 紧急 0 \/ 批量 55/);
  const down = rowByPath('yueyang/xinqiang');
  assert.match(down.textContent, /断开 disconnected/);
  assert.match(down.textContent, /黄 Yellow/);
  assert.match(down.textContent, /skew -6 min 40 s/);
  assert.match(app.$('summary').textContent, /边缘 Edges1\/2/);
  assert.match(app.$('updated').textContent, /^更新于 Updated/);
  assert.equal(app.$('banner').hidden, true);
  assert.equal(app.$('alert-strip').hidden, false);
  assert.match(app.$('alert-strip').textContent, /演练进行中 DRILL in progress \(1\): 荣家湾镇 泄漏演练/);
  assert.match(app.$('tab-alarms').textContent, /报警 Alarms 4/, 'active alarms, acknowledged ones too');
  for (const r of app.server.requests) assert.equal(r.headers.Authorization, `Bearer ${TOKENS.operator}`);
});

test('expanding fetches deeper nodes with root=PATH; API text stays text', async () => {
  rowByPath('yueyang/rongjiawan').querySelector('button.twisty').click();
  await app.advance(0);
  const village = rowByPath('yueyang/rongjiawan/xinqiang');
  assert.ok(village, 'village row shown');
  assert.equal(village.dataset.depth, '2');
  assert.match(village.querySelector('td').className, /\bd2\b/);
  village.querySelector('button.twisty').click();
  await app.advance(0);
  assert.ok(sent('GET', /\/api\/v1\/picture\?root=yueyang%2Frongjiawan%2Fxinqiang&depth=2$/).length >= 1);
  const site = rowByPath('yueyang/rongjiawan/xinqiang/huaxin-chem');
  assert.ok(site, 'site row shown after the root=PATH fetch');
  assert.ok(site.textContent.includes(XSS_NAME), 'the markup in the name is shown as text');
  assert.equal(app.doc.querySelectorAll('img').length, 0);
  assert.equal(globalThis.pwned, undefined);
  assert.match(site.textContent, /红 1/);
  assert.match(site.textContent, /1 逾期 overdue/);
  assert.match(site.textContent, /1 失联 stale/);
});

test('refresh every 3 s keeps expansion and the same row elements', async () => {
  const site = rowByPath('yueyang/rongjiawan/xinqiang/huaxin-chem');
  const twisty = rowByPath('yueyang/rongjiawan').querySelector('button.twisty');
  twisty.focus();
  const before = app.server.requests.length;
  await app.advance(3000);
  assert.ok(app.server.requests.length > before, 'a refresh happened');
  assert.equal(rowByPath('yueyang/rongjiawan/xinqiang/huaxin-chem'), site);
  assert.equal(app.doc.activeElement, twisty, 'focus kept');
  assert.equal(twisty.getAttribute('aria-expanded'), 'true');
  const saved = JSON.parse(app.storage.getItem('anwang.expanded'));
  assert.ok(saved.includes('yueyang/rongjiawan/xinqiang'));
  app.server.tree.children[0].name = '荣家湾镇(改)';
  await app.advance(3000);
  assert.match(rowByPath('yueyang/rongjiawan').textContent, /荣家湾镇\(改\)/);
  assert.equal(rowByPath('yueyang/rongjiawan/xinqiang/huaxin-chem'), site);
});

test('collapse hides the subtree and survives a refresh', async () => {
  rowByPath('yueyang/rongjiawan').querySelector('button.twisty').click();
  await app.advance(3000);
  assert.equal(rowByPath('yueyang/rongjiawan/xinqiang'), undefined);
  rowByPath('yueyang/rongjiawan').querySelector('button.twisty').click();
  await app.advance(0);
  assert.ok(rowByPath('yueyang/rongjiawan/xinqiang/huaxin-chem'));
});

test('alarms: sorted by level then newest first; ack posts to the edge', async () => {
  await showTab('alarms');
  assert.equal(app.$('view-alarms').hidden, false);
  assert.equal(app.$('view-picture').hidden, true);
  assert.equal(app.location.hash, '#alarms');
  const ids = rows(app.$('view-alarms')).map((r) => r.alarm.id);
  assert.deepEqual(ids, ['a-red', 'a-orange', 'a-yellow-new', 'a-yellow-old']);
  const first = rows(app.$('view-alarms'))[0];
  assert.match(first.textContent, /红 Red/);
  assert.match(first.textContent, /≥ 8\.5/);
  assert.match(
    first.textContent,
    new RegExp(XSS_NAME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    'site name from the picture',
  );
  assert.match(rows(app.$('view-alarms'))[1].textContent, /已确认 acked · wang/);
  assert.equal(rows(app.$('view-alarms'))[1].querySelector('button').hidden, true);
  const btn = first.querySelector('button');
  assert.equal(btn.textContent, '确认 Ack');
  btn.click();
  await app.advance(0);
  const posts = sent('POST', /\/api\/v1\/alarms\/a-red\/ack$/);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].headers.Authorization, `Bearer ${TOKENS.operator}`);
  assert.equal(posts[0].headers['Content-Type'], 'application/json');
  assert.match(first.textContent, /已排队 queued/);
  assert.equal(btn.hidden, true);
  assert.match(app.$('tab-alarms').textContent, /4/);
});

test('ack as a viewer shows "needs operator role"', async () => {
  app.storage.setItem('anwang.token', TOKENS.viewer);
  const row = rows(app.$('view-alarms')).find((r) => r.alarm.id === 'a-yellow-new');
  row.querySelector('button').click();
  await app.advance(0);
  assert.match(row.textContent, /needs operator role/);
  assert.match(app.$('toasts').textContent, /needs operator role/);
  app.storage.setItem('anwang.token', TOKENS.operator);
});

test('hazards: list, ledger with rejected events and reasons, events, 409 reasons', async () => {
  await showTab('hazards');
  assert.ok(sent('GET', /\/api\/v1\/hazards\?status=open$/).length >= 1);
  const [row] = rows(app.$('view-hazards'));
  assert.match(row.textContent, /<b>储罐<\/b> 区防火堤破损/);
  assert.match(row.textContent, /重大 major/);
  assert.match(row.textContent, /已交办 assigned/);
  assert.match(row.textContent, /逾期 OVERDUE/);
  assert.equal(app.doc.querySelectorAll('b').length, 0);
  row.querySelector('button.linkish').click();
  await app.advance(0);
  const detail = app.$('view-hazards').querySelector('section.detail');
  assert.equal(detail.hidden, false);
  assert.match(detail.textContent, /驳回 rejected: start needs status assigned/);
  assert.match(detail.textContent, /张三/);
  assert.equal(detail.querySelectorAll('tr.rejected').length, 1);
  assert.equal(app.doc.activeElement, app.$('hz-detail-title'));

  const form = detail.querySelector('form.event-form');
  const op = form.querySelector('select');
  op.value = 'verify';
  op.dispatchEvent(new Event('change'));
  form.requestSubmit();
  await app.advance(0);
  assert.match(
    form.textContent,
    /验收结论 result 必填 required/,
    'no default verdict: the operator must choose',
  );
  form.querySelectorAll('select')[1].value = 'true';
  form.requestSubmit();
  await app.advance(0);
  assert.match(form.textContent, /台账拒绝 ledger refused: verify needs status rectified/);

  op.value = 'start';
  const note = form
    .querySelectorAll('textarea')
    .find((t) => t.closest('.field').textContent.includes('备注'));
  note.value = '  开始整改 ';
  form.requestSubmit();
  await app.advance(0);
  const ev = sent('POST', /\/api\/v1\/hazards\/center-0195520b3f000001\/events$/).at(-1);
  assert.deepEqual(ev.body, { op: 'start', note: '开始整改' });
  assert.match(detail.textContent, /开始整改 start/);
  assert.match(detail.textContent, /整改中 rectifying/);

  op.value = 'assign';
  form.requestSubmit();
  await app.advance(0);
  assert.match(form.textContent, /责任单位 unit 必填 required/);

  const opener = rows(app.$('view-hazards'))[0].querySelector('button.linkish');
  opener.focus();
  opener.click();
  await app.advance(0);
  detail.querySelector('.detail-head button').click();
  assert.equal(detail.hidden, true);
  assert.equal(app.doc.activeElement, opener, 'focus goes back to the list');
  opener.click();
  await app.advance(0);
});

test('hazards: report form posts the SPEC §6 report and opens its ledger', async () => {
  const box = app.$('view-hazards').querySelector('details.form-box');
  box.open = true;
  box.dispatchEvent(new Event('toggle'));
  const opts = box.querySelectorAll('datalist option').map((o) => o.value);
  assert.ok(opts.includes('yueyang/rongjiawan/xinqiang/huaxin-chem'));
  const form = box.querySelector('form');
  const [site, title, reporter] = form.querySelectorAll('input');
  site.value = 'yueyang/rongjiawan/xinqiang/dam-2';
  site.dispatchEvent(new Event('change'));
  title.value = '坝体渗水';
  reporter.value = '王五';
  form.requestSubmit();
  await app.advance(0);
  const post = sent('POST', /\/api\/v1\/hazards$/).at(-1);
  assert.deepEqual(post.body, {
    site: 'yueyang/rongjiawan/xinqiang/dam-2',
    sector: 'tailings-dam',
    level: 'general',
    title: '坝体渗水',
    source: 'self-inspection',
    reporter: '王五',
  });
  assert.match(app.$('view-hazards').querySelector('section.detail').textContent, /坝体渗水/);
});

test('alerts: a drill is marked DRILL with its report; Actual asks for confirmation', async () => {
  await showTab('alerts');
  const [row] = rows(app.$('view-alerts'));
  assert.match(row.textContent, /演练 DRILL/);
  row.querySelector('button.linkish').click();
  await app.advance(0);
  const detail = app.$('view-alerts').querySelector('section.detail');
  assert.match(detail.textContent, /演练报告 Drill report/);
  assert.match(detail.textContent, /目标 targeted 3 · 送达 reached 2 · 失败 failed 1/);
  assert.match(detail.textContent, /p50 420 ms · p99 1\.8 s · max 2\.1 s/);
  assert.match(detail.textContent, /未送达 Not reached \(1\)huaxin-siren-1/);
  assert.match(detail.textContent, /rongjiawan-1 \/ huaxin-siren-1 — timeout \(4 次尝试 attempts\)/);

  const box = app.$('view-alerts').querySelector('details.form-box');
  box.open = true;
  box.dispatchEvent(new Event('toggle'));
  const form = box.querySelector('form');
  const [status] = form.querySelectorAll('select');
  const event = form.querySelector('input');
  status.value = 'Actual';
  status.dispatchEvent(new Event('change'));
  event.value = 'chemical leak';
  form.querySelectorAll('input').find((i) => i.value === 'yueyang/rongjiawan').checked = true;
  const before = sent('POST', /\/api\/v1\/alerts$/).length;
  form.requestSubmit();
  await app.advance(0);
  const dlg = app.$('confirm-dialog');
  assert.equal(dlg.open, true, 'confirmation asked');
  assert.match(dlg.textContent, /NOT a drill/);
  assert.equal(app.doc.activeElement, app.$('confirm-cancel'), 'Cancel has the focus');
  app.$('confirm-cancel').click();
  await app.advance(0);
  assert.equal(sent('POST', /\/api\/v1\/alerts$/).length, before, 'nothing issued on cancel');

  form.requestSubmit();
  await app.advance(0);
  app.$('confirm-ok').click();
  await app.advance(0);
  const post = sent('POST', /\/api\/v1\/alerts$/).at(-1);
  assert.equal(post.body.status, 'Actual');
  assert.deepEqual(post.body.area, ['yueyang/rongjiawan']);
  assert.match(detail.textContent, /实警 ACTUAL/);
  assert.match(detail.textContent, /未送达 Not reached \(1\)/);
  assert.equal(app.$('alert-strip').className, 'strip actual');
  assert.match(app.$('alert-strip').textContent, /实警生效中 ACTUAL ALERT in force \(1\): chemical leak/);

  status.value = 'Exercise';
  status.dispatchEvent(new Event('change'));
  form.requestSubmit();
  await app.advance(0);
  assert.equal(app.$('confirm-dialog').open, false, 'a drill needs no confirmation');
  assert.equal(sent('POST', /\/api\/v1\/alerts$/).at(-1).body.status, 'Exercise');
});

test('alerts: cancel after confirmation; 409 on a second cancel', async () => {
  const detail = app.$('view-alerts').querySelector('section.detail');
  const cancel = detail.querySelector('button.danger');
  cancel.click();
  await app.advance(0);
  app.$('confirm-ok').click();
  await app.advance(0);
  assert.equal(sent('POST', /\/cancel$/).length, 1);
  assert.match(detail.textContent, /已撤销 cancelled/);
  assert.equal(cancel.hidden, true);
});

test('edges table', async () => {
  await showTab('edges');
  const r = rows(app.$('view-edges'));
  assert.deepEqual(
    r.map((x) => x.children[0].textContent.split('epoch')[0]),
    ['rongjiawan-1', 'xinqiang-1'],
  );
  assert.match(r[1].textContent, /断开 disconnected/);
  assert.match(r[1].textContent, /-6 min 40 s/);
  assert.equal(r[1].children[4].className, 'bad-text');
  assert.match(app.$('view-edges').textContent, /1\/2 已连接 connected/);
});

test('keyboard: arrow keys move between tabs', async () => {
  const tab = app.$('tab-edges');
  tab.dispatchEvent(new Event('keydown', { key: 'ArrowRight' }));
  await app.advance(0);
  assert.equal(app.$('tab-picture').getAttribute('aria-selected'), 'true');
  assert.equal(app.doc.activeElement, app.$('tab-picture'));
  assert.equal(app.$('tab-picture').tabIndex, 0);
  assert.equal(app.$('tab-edges').tabIndex, -1);
});

test('unreachable center: banner, stale data kept, recovery', async () => {
  const rowsBefore = pictureRows().length;
  app.server.down = true;
  await app.advance(3000);
  const banner = app.$('banner');
  assert.equal(banner.hidden, false);
  assert.match(banner.textContent, /无法连接中心 Center unreachable/);
  assert.match(app.$('updated').textContent, /数据停留于 data as of/);
  assert.equal(pictureRows().length, rowsBefore, 'last picture still shown');
  await app.advance(10000);
  assert.match(banner.textContent, /1\d s ago/);
  app.server.down = false;
  await app.advance(3000);
  assert.equal(banner.hidden, true);
  assert.match(app.$('updated').textContent, /^更新于 Updated/);
});

test('one endpoint failing (500) shows on its panel, not as an unreachable center', async () => {
  await showTab('alarms');
  app.server.failWith = { re: /\/api\/v1\/alarms/, status: 500 };
  await app.advance(3000);
  const line = app.$('view-alarms').querySelector('p.view-error');
  assert.equal(line.hidden, false);
  assert.match(line.textContent, /中心错误 center error 500: store error/);
  assert.equal(app.$('banner').hidden, true);
  assert.ok(rows(app.$('view-alarms')).length > 0, 'the last list stays');
  app.server.failWith = { re: /\/api\/v1\//, status: 503 };
  await app.advance(3000);
  assert.equal(app.$('banner').hidden, false);
  assert.match(app.$('banner').textContent, /中心故障 Center error 503/);
  app.server.failWith = null;
  await app.advance(3000);
  assert.equal(line.hidden, true);
  assert.equal(app.$('banner').hidden, true);
  await showTab('picture');
});

test('wall mode shows several panels at once and refreshes them', async () => {
  app.$('wall-btn').click();
  await app.advance(0);
  assert.equal(app.doc.body.classList.contains('wall'), true);
  for (const v of ['picture', 'alarms', 'alerts', 'hazards'])
    assert.equal(app.$(`view-${v}`).hidden, false, v);
  assert.equal(app.$('view-edges').hidden, true);
  assert.equal(app.storage.getItem('anwang.wall'), '1');
  app.$('wall-btn').click();
  await app.advance(0);
  assert.equal(app.$('view-alarms').hidden, true);
});

test('no console errors', () => {
  assert.deepEqual(app.errors, []);
});
