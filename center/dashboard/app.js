// app.js: the county center's dashboard (SPEC §8), served by anwang-center
// at GET /. Wires the views (picture, alarms, hazards, alerts, edges) to
// the JSON API (center/API.md): asks for a bearer token once, refreshes the
// visible views every 3 s, shows when the center is unreachable, and keeps
// the header's summary, "last updated" and relative ages ticking.

import { createAlarmsView } from './alarms.js';
import { createAlertsView } from './alerts.js';
import { createApi } from './api.js';
import { el, replaceChildren, setText } from './dom.js';
import { createEdgesView } from './edges.js';
import { errorMessage, formatAge, formatLocal, nameIndex, num } from './format.js';
import { createHazardsView } from './hazards.js';
import { createPictureView } from './picture.js';
import { clock, tickAges } from './widgets.js';

const REFRESH_MS = 3000;
const PICTURE_BACKGROUND_MS = 30000; // names for the other views
const VIEW_IDS = ['picture', 'alarms', 'hazards', 'alerts', 'edges'];
const WALL_VIEWS = new Set(['picture', 'alarms', 'alerts', 'hazards']);
const WALL_KEY = 'anwang.wall';
const ALWAYS = new Set(['alarms', 'alerts']); // small lists: their tab counts stay live

const $ = (id) => document.getElementById(id);

function s_storage() {
  try {
    const s = window.localStorage;
    s.getItem('anwang.probe');
    return s;
  } catch {
    return null;
  }
}

const storage = s_storage();
const state = {
  view: 'picture',
  wall: false,
  lastOk: 0, // Date.now() of the last cycle where the center answered
  down: null, // the ApiError that made the center look unreachable, or null
  timer: 0,
  running: false,
  again: false,
  pictureAt: 0,
  names: { version: -1, map: new Map() },
};

/* --------------------------------------------------------------- toasts */

function toast(text, kind = 'info') {
  const box = $('toasts');
  const close = el('button', {
    type: 'button',
    class: 'toast-close',
    text: '×',
    attrs: { 'aria-label': '关闭 dismiss' },
  });
  const t = el(
    'div',
    { class: `toast ${kind}`, attrs: kind === 'error' ? { role: 'alert' } : {} },
    el('span', { text }),
    close,
  );
  close.addEventListener('click', () => t.remove());
  box.appendChild(t);
  while (box.children.length > 5) box.firstChild.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 12000 : 6000);
}

/* -------------------------------------------------------------- dialogs */

function confirmDialog({ title, lines, ok, danger = true }) {
  const dlg = $('confirm-dialog');
  setText($('confirm-title'), title);
  replaceChildren(
    $('confirm-body'),
    (lines ?? []).map((l) => el('p', { text: l })),
  );
  const okBtn = $('confirm-ok');
  setText(okBtn, ok ?? '确定 OK');
  okBtn.className = danger ? 'danger' : 'primary';
  dlg.returnValue = '';
  if (dlg.open) return Promise.resolve(false);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

function askToken(message) {
  const dlg = $('login-dialog');
  document.body.classList.add('locked');
  setText($('login-msg'), message ?? '');
  if (!dlg.open) dlg.showModal();
  $('login-token').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const input = $('login-token');
  const tok = input.value.trim();
  if (tok.length < 16 || /[^\x21-\x7e]/.test(tok)) {
    setText(
      $('login-msg'),
      '令牌至少 16 个可打印字符 a token is at least 16 printable characters, no spaces',
    );
    return;
  }
  api.setToken(tok);
  setText($('login-msg'), '验证中 checking…');
  try {
    await api.get('/api/v1/status');
  } catch (e) {
    if (e.status === 401) return; // onUnauthorized asked again
    if (e.status !== 0 && e.status < 500 && e.status !== 403) {
      setText($('login-msg'), errorMessage(e));
      return;
    }
  }
  input.value = '';
  $('login-dialog').close();
  document.body.classList.remove('locked');
  kick();
}

const api = createApi({
  storage,
  onUnauthorized: (e) => {
    api.clearToken();
    askToken(
      `令牌被拒绝 token refused (401)${e.detail ? `: ${e.detail}` : ''} — 请重新输入 please sign in again`,
    );
  },
});

/* ---------------------------------------------------------------- views */

const ctx = {
  api,
  storage,
  toast,
  confirm: confirmDialog,
  report: (e) => reportError(e),
  clockSample(serverMs) {
    const off = serverMs - Date.now();
    clock.offsetMs = Math.abs(off) > 2000 ? off : 0;
  },
  picture: () => views.picture.tree,
  names() {
    const { tree, version } = views.picture;
    if (state.names.version !== version) state.names = { version, map: nameIndex(tree) };
    return state.names.map;
  },
  alertsInForce(list) {
    const strip = $('alert-strip');
    const actual = list.filter((a) => a.status === 'Actual');
    const drills = list.filter((a) => a.status === 'Exercise');
    strip.hidden = !actual.length && !drills.length;
    strip.className = actual.length ? 'strip actual' : 'strip drill';
    const names = (l) => l.map((a) => a.headline || a.event || a.id).join('；');
    setText(
      strip,
      actual.length
        ? `⚠ 实警生效中 ACTUAL ALERT in force (${actual.length}): ${names(actual)}${drills.length ? ` · 另有演练 ${drills.length} drill(s)` : ''}`
        : drills.length
          ? `演练进行中 DRILL in progress (${drills.length}): ${names(drills)} — 非真实警报 not a real alert`
          : '',
    );
  },
  setBadge(view, n, hot) {
    const c = document.querySelector(`#tab-${view} .count`);
    if (!c) return;
    c.hidden = !n;
    setText(c, String(n));
    c.classList.toggle('hot', !!hot);
  },
};

const views = {
  picture: createPictureView(ctx),
  alarms: createAlarmsView(ctx),
  hazards: createHazardsView(ctx),
  alerts: createAlertsView(ctx),
  edges: createEdgesView(ctx),
};

const errorLines = {};
for (const id of VIEW_IDS) {
  const section = $(`view-${id}`);
  errorLines[id] = el('p', { class: 'view-error', hidden: true, attrs: { role: 'status' } });
  section.append(errorLines[id], views[id].el);
}

function visibleViews() {
  return state.wall ? VIEW_IDS.filter((v) => WALL_VIEWS.has(v)) : [state.view];
}

function showView(id, focus = false) {
  if (!VIEW_IDS.includes(id)) id = 'picture';
  state.view = id;
  for (const v of VIEW_IDS) {
    const tab = $(`tab-${v}`);
    const on = v === id;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`view-${v}`).hidden = !(state.wall ? WALL_VIEWS.has(v) : on);
  }
  if (focus) $(`tab-${id}`).focus();
  if (location.hash !== `#${id}`) history.replaceState(null, '', `#${id}`);
  kick();
}

function setWall(on) {
  state.wall = on;
  document.body.classList.toggle('wall', on);
  document.documentElement.classList.toggle('wall', on);
  $('wall-btn').setAttribute('aria-pressed', String(on));
  try {
    storage?.setItem(WALL_KEY, on ? '1' : '0');
  } catch {
    /* not kept */
  }
  showView(state.view);
}

/* -------------------------------------------------------------- refresh */

function showViewError(id, e) {
  const line = errorLines[id];
  if (!e) {
    line.hidden = true;
    setText(line, '');
    return;
  }
  line.hidden = false;
  setText(line, e.status !== undefined ? errorMessage(e) : `内部错误 internal error: ${e?.message ?? e}`);
}

function reportError(e) {
  if (e?.unreachable) setDown(e);
  else if (e?.status !== 401)
    toast(e?.status !== undefined ? errorMessage(e) : String(e?.message ?? e), 'error');
}

function setDown(e) {
  state.down = e;
  document.body.classList.toggle('stale', !!e);
  renderBanner();
}

function renderBanner() {
  const b = $('banner');
  const e = state.down;
  b.hidden = !e;
  if (!e) return setText(b, '');
  const what = e.status === 0 ? '无法连接中心 Center unreachable' : `中心故障 Center error ${e.status}`;
  const since = state.lastOk
    ? `显示的是 ${formatLocal(state.lastOk)} 的数据 showing data from ${formatAge(state.lastOk, Date.now())}`
    : '尚无数据 no data yet';
  setText(b, `⚠ ${what}${e.detail ? ` (${e.detail})` : ''} — ${since}; 每 3 秒重试 retrying every 3 s`);
}

function renderUpdated() {
  const u = $('updated');
  if (!state.lastOk) return setText(u, '尚未更新 not updated yet');
  const stale = !!state.down;
  u.classList.toggle('stale', stale);
  setText(
    u,
    `${stale ? '⚠ 数据停留于 data as of' : '更新于 Updated'} ${formatLocal(state.lastOk).slice(11)} · ${formatAge(state.lastOk, Date.now())}`,
  );
}

function renderSummary(s) {
  setText($('county-name'), views.picture.tree?.name ?? s?.name ?? '');
  const total = (v) => (typeof v === 'number' ? v : Object.values(v ?? {}).reduce((a, b) => a + num(b), 0));
  const edges = s?.edges ?? {};
  const overdue = total(s?.hazards?.overdue);
  const items = [
    [
      '边缘 Edges',
      `${num(edges.connected)}/${num(edges.known)}`,
      num(edges.connected) < num(edges.known) ? 'warn' : '',
    ],
    ['报警 Alarms', String(total(s?.alarms?.active)), total(s?.alarms?.active) ? 'hot' : ''],
    ['隐患 Hazards', String(total(s?.hazards?.open)), ''],
    ['逾期 Overdue', String(overdue), overdue ? 'hot' : ''],
    ['登记册 Registry', s?.registry_version ? `v${s.registry_version}` : '—', ''],
  ];
  replaceChildren(
    $('summary'),
    items.map(([k, v, cls]) =>
      el('li', { class: cls }, el('span', { class: 'k', text: k }), el('span', { class: 'v', text: v })),
    ),
  );
  ctx.setBadge('hazards', overdue, overdue > 0);
  ctx.setBadge('edges', num(edges.known) - num(edges.connected), num(edges.known) > num(edges.connected));
}

async function cycle() {
  state.running = true;
  const jobs = [['status', api.get('/api/v1/status').then(renderSummary)]];
  const vis = visibleViews();
  for (const id of VIEW_IDS) if (vis.includes(id) || ALWAYS.has(id)) jobs.push([id, views[id].refresh()]);
  const now = Date.now();
  if (!vis.includes('picture') && now - state.pictureAt > PICTURE_BACKGROUND_MS)
    jobs.push(['picture', views.picture.refresh()]);
  const results = await Promise.allSettled(jobs.map(([, p]) => p));
  let down = null;
  let unauthorized = false;
  results.forEach((r, i) => {
    const id = jobs[i][0];
    const e = r.status === 'rejected' ? r.reason : null;
    if (e?.unreachable) down = down ?? e;
    if (e?.status === 401) unauthorized = true;
    if (id === 'picture' && !e) state.pictureAt = now;
    if (id === 'status' && e && !e.unreachable && e.status !== 401)
      toast(`概况 summary: ${errorMessage(e)}`, 'error');
    if (id !== 'status' && (vis.includes(id) || !e))
      showViewError(id, e && !e.unreachable && e.status !== 401 ? e : null);
  });
  if (!unauthorized) {
    if (!down) state.lastOk = Date.now();
    setDown(down);
  }
  renderUpdated();
  state.running = false;
}

function schedule(ms = REFRESH_MS) {
  clearTimeout(state.timer);
  state.timer = setTimeout(loop, ms);
}

async function loop() {
  if (!api.token || $('login-dialog').open) return schedule();
  if (state.running) {
    state.again = true;
    return;
  }
  try {
    await cycle();
  } catch (e) {
    toast(`内部错误 internal error: ${e?.message ?? e}`, 'error');
  }
  if (state.again) {
    state.again = false;
    return loop();
  }
  schedule();
}

/** Refreshes now (view switch, sign-in), or right after the cycle in flight. */
function kick() {
  if (state.running) state.again = true;
  else schedule(0);
}

/* ---------------------------------------------------------------- start */

function onTabKey(ev) {
  const i = VIEW_IDS.indexOf(ev.currentTarget.dataset.view);
  let j = -1;
  if (ev.key === 'ArrowRight') j = (i + 1) % VIEW_IDS.length;
  else if (ev.key === 'ArrowLeft') j = (i + VIEW_IDS.length - 1) % VIEW_IDS.length;
  else if (ev.key === 'Home') j = 0;
  else if (ev.key === 'End') j = VIEW_IDS.length - 1;
  if (j < 0) return;
  ev.preventDefault();
  showView(VIEW_IDS[j], true);
}

function start() {
  for (const id of VIEW_IDS) {
    const tab = $(`tab-${id}`);
    tab.addEventListener('click', () => showView(id));
    tab.addEventListener('keydown', onTabKey);
  }
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
  $('wall-btn').addEventListener('click', () => setWall(!state.wall));
  $('signout-btn').addEventListener('click', () => {
    api.clearToken();
    location.reload();
  });
  $('login-form').addEventListener('submit', (ev) => {
    onLogin(ev).catch((e) => setText($('login-msg'), String(e?.message ?? e)));
  });
  $('login-dialog').addEventListener('cancel', (ev) => {
    if (!api.token) ev.preventDefault();
  });
  setInterval(() => {
    tickAges(document);
    views.picture.tick();
    renderUpdated();
    if (state.down) renderBanner();
  }, 1000);

  const params = new URLSearchParams(location.search);
  let wall = params.get('wall');
  if (wall === null) {
    try {
      wall = storage?.getItem(WALL_KEY);
    } catch {
      wall = null;
    }
  }
  state.view = VIEW_IDS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'picture';
  setWall(wall === '1');
  if (api.token) document.body.classList.remove('locked');
  else askToken('请输入访问令牌 please enter your access token');
}

start();
