// alarms.js: 报警 Alarms, the active alarms (GET /api/v1/alarms) sorted by
// level then time, each with an ack button (operator role:
// POST /api/v1/alarms/<id>/ack). The ack goes down to the edge; the row
// says "queued" until the edge's acknowledgement comes back up.

import { query, seg } from './api.js';
import { el, replaceChildren, setText, syncList } from './dom.js';
import { colourLabel, errorMessage, formatValue, LEVELS, sortAlarms } from './format.js';
import {
  colourBadge,
  select,
  setEmpty,
  table,
  timeCell,
  updateColourBadge,
  updateTimeCell,
} from './widgets.js';

export function createAlarmsView(ctx) {
  const queued = new Map(); // alarm id → time the ack was accepted (202)
  const sending = new Set(); // alarm ids whose ack is in flight
  const refused = new Map(); // alarm id → why the last ack was refused
  let alarms = [];

  const showAll = el('input', { type: 'checkbox', id: 'alarms-all' });
  const minLevel = select(
    [['', '全部级别 any level'], ...[...LEVELS].reverse().map((l) => [l, `≥ ${colourLabel(l)}`])],
    { id: 'alarms-level', attrs: { 'aria-label': '最低级别 minimum level' } },
  );
  const count = el('span', { class: 'meta' });
  const head = el(
    'div',
    { class: 'panel-head' },
    el('h2', { text: '报警 Alarms' }),
    count,
    el(
      'div',
      { class: 'tools' },
      el('label', { class: 'check' }, showAll, ' 含已解除 (7 天) include cleared'),
      minLevel,
    ),
  );
  const t = table(
    '报警列表 Alarms',
    [
      '级别 Level',
      '设备·指标 Device',
      '企业 Site',
      '值 Value',
      '开始 Since',
      '更新 Last',
      '边缘 Edge',
      '确认 Ack',
    ],
    'alarms',
  );
  const section = el('div', { class: 'panel' }, head, t.wrap);
  const reload = () => view.refresh().catch((e) => ctx.report(e));
  showAll.addEventListener('change', reload);
  minLevel.addEventListener('change', reload);

  async function ack(a) {
    if (sending.has(a.id)) return;
    sending.add(a.id);
    refused.delete(a.id);
    render();
    try {
      await ctx.api.post(`/api/v1/alarms/${seg(a.id)}/ack`, {});
      queued.set(a.id, Date.now());
      ctx.toast(`已发送确认 ack queued: ${a.device} ${a.metric}`);
    } catch (e) {
      if (e.status === 403) refused.set(a.id, '✗ 需要操作员权限 needs operator role');
      if (e.status === 403) ctx.toast('需要操作员权限 needs operator role (403)', 'error');
      else if (e.status === 409) ctx.toast(`报警已解除 alarm already cleared: ${e.detail ?? ''}`, 'error');
      else ctx.toast(`确认失败 ack failed — ${errorMessage(e)}`, 'error');
      if (e.status === 0) ctx.report(e);
    } finally {
      sending.delete(a.id);
    }
    render();
  }

  function createRow(a) {
    const tr = el('tr');
    const btn = el('button', { type: 'button', class: 'small-btn' });
    btn.addEventListener('click', () => ack(tr.alarm));
    tr.append(
      el('td', null, colourBadge(a.level)),
      el('td', null, el('span', { class: 'strong' }), el('span', { class: 'block small' })),
      el('td', null, el('span'), el('span', { class: 'block small muted' })),
      el('td'),
      el('td', null, timeCell(null)),
      el('td', null, timeCell(null)),
      el('td', { class: 'small' }),
      el('td', null, btn, el('span', { class: 'ack-state' })),
    );
    return tr;
  }

  function updateAck(td, a) {
    const btn = td.firstChild;
    const state = td.lastChild;
    if (a.acknowledged) queued.delete(a.id);
    let show = false;
    if (a.active === false) setText(state, '已解除 cleared');
    else if (a.acknowledged) setText(state, `✓ 已确认 acked${a.ack_by ? ` · ${a.ack_by}` : ''}`);
    else if (queued.has(a.id)) setText(state, '… 已排队 queued to edge');
    else {
      setText(state, refused.get(a.id) ?? '');
      show = true;
    }
    btn.hidden = !show;
    if (!show) return;
    const busy = sending.has(a.id);
    btn.disabled = busy;
    setText(btn, busy ? '发送中… sending' : '确认 Ack');
    btn.setAttribute('aria-label', `确认报警 acknowledge ${a.device} ${a.metric} ${a.level}`);
  }

  function updateRow(tr, a) {
    tr.alarm = a;
    tr.className = `${a.active === false ? 'cleared' : ''} lv-${a.level}`;
    const [lv, dev, site, val, since, last, edge, ackTd] = tr.children;
    updateColourBadge(lv.firstChild, a.level);
    setText(dev.firstChild, `${a.device ?? '?'} · ${a.metric ?? '?'}`);
    setText(dev.lastChild, a.item ? `监测项 item ${a.item}` : '');
    setText(site.firstChild, ctx.names().get(a.site) ?? a.site ?? '—');
    setText(site.lastChild, a.site ?? '');
    const arrow = a.direction === 'low' ? '≤' : '≥';
    replaceChildren(
      val,
      el('span', { class: 'num', text: formatValue(a.value) }),
      el('span', { class: 'block small', text: `阈值 threshold ${arrow} ${formatValue(a.threshold)}` }),
      a.first_value !== undefined && a.first_value !== null
        ? el('span', { class: 'block small muted', text: `首值 first ${formatValue(a.first_value)}` })
        : null,
    );
    updateTimeCell(since.firstChild, a.since);
    updateTimeCell(last.firstChild, a.time);
    setText(edge, a.edge ?? '—');
    updateAck(ackTd, a);
  }

  function render() {
    const list = sortAlarms(alarms);
    syncList(t.tbody, list, (a) => a.id, createRow, updateRow);
    const active = alarms.filter((a) => a.active !== false).length;
    setText(count, `${active} 条生效 active`);
    setEmpty(t, list.length, '无生效报警 no active alarms ✓');
    ctx.setBadge(
      'alarms',
      active,
      list.some((a) => a.active !== false && a.level === 'red'),
    );
  }

  const view = {
    id: 'alarms',
    el: section,
    async refresh() {
      const q = query({ state: showAll.checked ? 'all' : 'active', level: minLevel.value });
      const data = await ctx.api.get(`/api/v1/alarms${q}`);
      alarms = Array.isArray(data?.alarms) ? data.alarms : [];
      const ids = new Set(alarms.map((a) => a.id));
      for (const [id, at] of queued) if (!ids.has(id) || Date.now() - at > 10 * 60e3) queued.delete(id);
      render();
    },
  };
  return view;
}
