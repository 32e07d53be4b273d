// alerts.js: 预警 Alerts (SPEC §7). Active alerts (GET /api/v1/alerts) with
// their CAP status (an Exercise is marked 演练 DRILL everywhere), the
// delivery report of the selected one (GET /api/v1/alerts/<id>), a form to
// issue an alert or a drill (an Actual alert asks for confirmation first)
// and cancel (POST /api/v1/alerts/<id>/cancel).

import { query, seg } from './api.js';
import { el, replaceChildren, setText, syncList } from './dom.js';
import {
  ALERT_STATUS_LABEL,
  alertActive,
  buildAlertBody,
  CAP_CERTAINTY,
  CAP_SEVERITY,
  CAP_URGENCY,
  errorMessage,
  formatDuration,
  labelOf,
  nodesOfKind,
  num,
  unreachedText,
} from './format.js';
import {
  clock,
  defList,
  errorBox,
  field,
  select,
  setEmpty,
  table,
  timeCell,
  updateTimeCell,
} from './widgets.js';

/** A badge for a CAP status: ACTUAL red, DRILL striped, TEST grey. */
export function alertStatusBadge(status) {
  const cls = status === 'Actual' ? 'st-actual' : status === 'Exercise' ? 'st-drill' : 'st-other';
  return el('span', { class: `badge ${cls}`, text: labelOf(ALERT_STATUS_LABEL, status) });
}

function s_state(a) {
  if (a.cancelled) return '已撤销 cancelled';
  if (!alertActive(a, clock.now())) return '已过期 expired';
  return '生效 in force';
}

function s_area(a, names) {
  const area = Array.isArray(a.area) ? a.area : a.area ? [a.area] : [];
  return area.map((p) => names.get(p) ?? p).join('、') || '—';
}

export function createAlertsView(ctx) {
  let alerts = [];
  let selected = null;
  let detail = null;

  const showAll = el('input', { type: 'checkbox' });
  const count = el('span', { class: 'meta' });
  showAll.addEventListener('change', () => view.refresh().catch((e) => ctx.report(e)));

  const t = table(
    '预警列表 Alerts',
    ['类型 Status', '事件 Event', '区域 Area', '严重性 Severity', '发布 Sent', '到期 Expires', '状态 State'],
    'alerts',
  );

  function createRow() {
    const tr = el('tr');
    const open = el('button', { type: 'button', class: 'linkish' });
    open.addEventListener('click', () => select_(tr.alert.identifier ?? tr.alert.id));
    tr.append(
      el('td'),
      el('td', null, open, el('span', { class: 'block small muted' })),
      el('td'),
      el('td'),
      el('td', null, timeCell(null)),
      el('td', null, timeCell(null)),
      el('td'),
    );
    return tr;
  }

  function updateRow(tr, a) {
    tr.alert = a;
    const id = a.identifier ?? a.id;
    tr.className = `${a.status === 'Exercise' ? 'drill' : a.status === 'Actual' ? 'actual' : ''}${id === selected ? ' selected' : ''}${a.cancelled ? ' cancelled' : ''}`;
    const [st, ev, area, sev, sent, expires, state] = tr.children;
    replaceChildren(st, alertStatusBadge(a.status));
    setText(ev.firstChild, a.headline || a.event || id);
    ev.firstChild.setAttribute('aria-label', `查看送达报告 open delivery report: ${a.event ?? id}`);
    setText(ev.lastChild, `${a.event ?? ''} · ${a.msgType ?? 'Alert'} · ${id}`);
    setText(area, s_area(a, ctx.names()));
    setText(sev, [a.severity, a.urgency, a.certainty].filter(Boolean).join(' · ') || '—');
    updateTimeCell(sent.firstChild, a.sent);
    updateTimeCell(expires.firstChild, a.expires);
    setText(state, s_state(a));
  }

  function renderList() {
    syncList(t.tbody, alerts, (a) => a.identifier ?? a.id, createRow, updateRow);
    const inForce = alerts.filter((a) => alertActive(a, clock.now()));
    const drills = inForce.filter((a) => a.status === 'Exercise').length;
    setText(count, `${inForce.length} 条生效 in force${drills ? ` (${drills} 演练 drill)` : ''}`);
    setEmpty(t, alerts.length, showAll.checked ? '无预警 no alerts' : '无生效预警 no alerts in force');
    ctx.setBadge(
      'alerts',
      inForce.length,
      inForce.some((a) => a.status === 'Actual'),
    );
    if (!showAll.checked) ctx.alertsInForce(inForce);
  }

  /* -------------------------------------------------------------- detail */
  const detailTitle = el('h3', { tabIndex: -1, text: '送达报告 Delivery report', id: 'al-detail-title' });
  const detailBody = el('div');
  const capPre = el('pre', { class: 'cap', hidden: true });
  const cancelBtn = el('button', { type: 'button', class: 'danger', text: '撤销 Cancel alert' });
  const capBtn = el('button', { type: 'button', text: 'CAP XML' });
  const closeBtn = el('button', { type: 'button', text: '关闭 Close', on: { click: () => select_(null) } });
  const detailBox = el(
    'section',
    { class: 'detail', hidden: true, attrs: { 'aria-labelledby': 'al-detail-title' } },
    el(
      'div',
      { class: 'detail-head' },
      detailTitle,
      el('div', { class: 'tools' }, cancelBtn, capBtn, closeBtn),
    ),
    detailBody,
    capPre,
  );

  let opener = null; // the control that opened the detail, focused again on close

  async function select_(id) {
    const wasOpen = !!selected;
    selected = id;
    detail = null;
    capPre.hidden = true;
    renderList();
    detailBox.hidden = !id;
    if (!id) {
      if (wasOpen && opener?.isConnected) opener.focus();
      return;
    }
    opener = document.activeElement;
    replaceChildren(detailBody, el('p', { class: 'muted', text: '加载中 loading…' }));
    try {
      await loadDetail();
      detailTitle.focus();
    } catch (e) {
      replaceChildren(detailBody, el('p', { class: 'bad-text', text: errorMessage(e) }));
    }
  }

  async function loadDetail() {
    if (!selected) return;
    const id = selected;
    const d = await ctx.api.get(`/api/v1/alerts/${seg(id)}`);
    if (selected !== id) return;
    detail = d;
    renderDetail();
  }

  function reportBlock(r) {
    if (!r) return el('p', { class: 'muted', text: '尚无送达报告 no report yet' });
    const row = (label, o) => [
      label,
      `目标 targeted ${num(o?.targeted)} · 送达 reached ${num(o?.reached)} · 失败 failed ${num(o?.failed)}`,
    ];
    const lat = r.latency_ms ?? {};
    const unreached = Array.isArray(r.unreached) ? r.unreached : [];
    const failures = Array.isArray(r.failures) ? r.failures : [];
    return el(
      'div',
      { class: 'report' },
      defList([
        row('边缘 Edges', r.edges),
        row('设备 Devices', r.devices),
        [
          '时延 Latency',
          `p50 ${formatDuration(lat.p50)} · p99 ${formatDuration(lat.p99)} · max ${formatDuration(lat.max)}`,
        ],
      ]),
      el('h4', { text: `未送达 Not reached (${unreached.length})` }),
      unreached.length
        ? el(
            'ul',
            { class: 'unreached' },
            unreached.map((u) => el('li', { text: unreachedText(u) })),
          )
        : el('p', { class: 'ok-text', text: '✓ 全部送达 everyone reached' }),
      failures.length ? el('h4', { text: `失败详情 Failures (${failures.length})` }) : null,
      failures.length
        ? el(
            'ul',
            { class: 'unreached' },
            failures.map((u) => el('li', { text: unreachedText(u) })),
          )
        : null,
    );
  }

  function renderDetail() {
    const a = detail;
    if (!a) return;
    const id = a.identifier ?? a.id;
    setText(
      detailTitle,
      `${a.status === 'Exercise' ? '演练报告 Drill report' : '送达报告 Delivery report'} · ${a.event ?? id}`,
    );
    cancelBtn.hidden = !!a.cancelled;
    replaceChildren(
      detailBody,
      el('p', null, alertStatusBadge(a.status), ' ', s_state(a)),
      defList([
        ['编号 Identifier', id],
        ['标题 Headline', a.headline],
        ['事件 Event', a.event],
        ['区域 Area', s_area(a, ctx.names())],
        ['类别 msgType / scope', `${a.msgType ?? '—'} / ${a.scope ?? '—'}`],
        [
          '紧急 Urgency / 严重 Severity / 确定 Certainty',
          `${a.urgency ?? '—'} / ${a.severity ?? '—'} / ${a.certainty ?? '—'}`,
        ],
        ['指引 Instruction', a.instruction],
        ['描述 Description', a.description],
        ['发布 Sent', timeCell(a.sent, { full: true })],
        ['到期 Expires', a.expires ? timeCell(a.expires, { full: true }) : null],
        ['发布人 Issued by', a.issued_by ?? a.sender],
        [
          '撤销 Cancelled',
          a.cancelled ? [timeCell(a.cancelled_at, { full: true }), ` ${a.cancelled_by ?? ''}`] : null,
        ],
        ['预案 Plan', a.plan ?? undefined],
      ]),
      el('h4', { text: '送达 Delivery' }),
      reportBlock(a.report),
    );
  }

  cancelBtn.addEventListener('click', async () => {
    const a = detail;
    if (!a) return;
    const id = a.identifier ?? a.id;
    const ok = await ctx.confirm({
      title: '撤销预警 Cancel alert?',
      lines: [
        `${labelOf(ALERT_STATUS_LABEL, a.status)} · ${a.event ?? id}`,
        `区域 Area: ${s_area(a, ctx.names())}`,
      ],
      ok: '撤销 Cancel alert',
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.post(`/api/v1/alerts/${seg(id)}/cancel`, {});
      ctx.toast(`已撤销 cancelled: ${a.event ?? id}`);
      await Promise.allSettled([loadDetail(), view.refresh()]);
    } catch (e) {
      if (e.status === 403) ctx.toast('需要操作员权限 needs operator role (403)', 'error');
      else if (e.status === 409) ctx.toast(`已撤销过 already cancelled: ${e.detail ?? ''}`, 'error');
      else ctx.toast(`撤销失败 cancel failed — ${errorMessage(e)}`, 'error');
    }
  });

  capBtn.addEventListener('click', async () => {
    if (!capPre.hidden) {
      capPre.hidden = true;
      return;
    }
    try {
      const r = await ctx.api.request('GET', `/api/v1/alerts/${seg(selected)}/cap`);
      setText(capPre, r.text);
      capPre.hidden = false;
    } catch (e) {
      ctx.toast(errorMessage(e), 'error');
    }
  });

  /* --------------------------------------------------------- issue form */
  const issue = buildIssueForm();

  function buildIssueForm() {
    const status = select([
      ['Exercise', '演练 DRILL (Exercise)'],
      ['Actual', '实警 ACTUAL alert'],
      ['Test', '测试 Test'],
    ]);
    const c = {
      event: el('input', { type: 'text', required: true, maxLength: 200 }),
      headline: el('input', { type: 'text', maxLength: 200 }),
      urgency: select(CAP_URGENCY),
      severity: select(CAP_SEVERITY),
      certainty: select(CAP_CERTAINTY),
      instruction: el('textarea', { rows: 2, maxLength: 2000 }),
      description: el('textarea', { rows: 2, maxLength: 2000 }),
      expires: el('input', { type: 'datetime-local' }),
    };
    c.severity.value = 'Severe';
    const zoneBox = el('fieldset', { class: 'zones' }, el('legend', { text: '区域 Area (乡镇 zones)' }));
    const extra = el('input', { type: 'text', spellcheck: false });
    const errs = errorBox();
    const submit = el('button', { type: 'submit', class: 'primary' });
    const labels = {
      event: '事件 Event',
      headline: '标题 Headline',
      urgency: '紧急 Urgency',
      severity: '严重 Severity',
      certainty: '确定 Certainty',
      instruction: '指引 Instruction',
      description: '描述 Description',
      expires: '到期 Expires',
    };
    const form = el(
      'form',
      { class: 'issue-form' },
      errs,
      field('类型 Status', status).wrap,
      Object.entries(c).map(
        ([k, ctl]) =>
          field(labels[k], ctl, k === 'expires' ? '本地时间，可不填 local time, optional' : null).wrap,
      ),
      zoneBox,
      field('其他区域 Other areas', extra, '网格路径，逗号分隔 grid paths, comma separated').wrap,
      el('div', { class: 'buttons' }, submit),
    );
    const details = el(
      'details',
      { class: 'form-box' },
      el('summary', { text: '＋ 发布预警 / 演练 Issue alert or drill' }),
      form,
    );
    const syncSubmit = () => {
      const actual = status.value === 'Actual';
      setText(
        submit,
        actual
          ? '⚠ 发布实警 Issue ACTUAL alert'
          : status.value === 'Exercise'
            ? '发布演练 Start drill'
            : '发布测试 Send test',
      );
      submit.className = actual ? 'danger' : 'primary';
      form.classList.toggle('actual', actual);
    };
    status.addEventListener('change', syncSubmit);
    syncSubmit();
    details.addEventListener('toggle', () => {
      if (!details.open) return;
      const checked = new Set([...zoneBox.querySelectorAll('input:checked')].map((i) => i.value));
      for (const l of [...zoneBox.querySelectorAll('label')]) l.remove();
      for (const z of nodesOfKind(ctx.picture(), 'zone'))
        zoneBox.appendChild(
          el(
            'label',
            { class: 'check' },
            el('input', { type: 'checkbox', value: z.path, checked: checked.has(z.path) }),
            ` ${z.name ?? z.path}`,
            el('span', { class: 'small muted', text: ` ${z.path}` }),
          ),
        );
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(Object.entries(c).map(([k, ctl]) => [k, ctl.value]));
      values.status = status.value;
      values.areas = [...zoneBox.querySelectorAll('input:checked')].map((i) => i.value);
      values.extraAreas = extra.value;
      const built = buildAlertBody(values);
      if (built.errors) return errs.show(built.errors);
      errs.show([]);
      if (built.body.status === 'Actual') {
        const ok = await ctx.confirm({
          title: '⚠ 发布实警 Issue an ACTUAL alert?',
          lines: [
            '这不是演练。区域内的警报器和广播将真实鸣响。',
            'This is NOT a drill: sirens and loudspeakers in the area will sound for real.',
            `事件 Event: ${built.body.event}`,
            `区域 Area: ${s_area(built.body, ctx.names())}`,
          ],
          ok: '确认发布实警 Issue ACTUAL alert',
          danger: true,
        });
        if (!ok) return;
      }
      submit.disabled = true;
      try {
        const a = await ctx.api.post('/api/v1/alerts', built.body);
        ctx.toast(`已发布 issued: ${labelOf(ALERT_STATUS_LABEL, built.body.status)} ${built.body.event}`);
        details.open = false;
        await view.refresh().catch(() => {});
        const id = a?.id ?? a?.identifier;
        if (id) await select_(id);
      } catch (e) {
        if (e.status === 403) errs.show('需要操作员权限 needs operator role (403)');
        else errs.show(errorMessage(e));
      } finally {
        submit.disabled = false;
      }
    });
    return details;
  }

  /* ---------------------------------------------------------------- view */
  const head = el(
    'div',
    { class: 'panel-head' },
    el('h2', { text: '预警 Alerts' }),
    count,
    el('div', { class: 'tools' }, el('label', { class: 'check' }, showAll, ' 含历史 include past')),
  );
  const section = el(
    'div',
    { class: 'panel' },
    head,
    issue,
    el('div', { class: 'split' }, el('div', { class: 'split-main' }, t.wrap), detailBox),
  );

  const view = {
    id: 'alerts',
    el: section,
    async refresh() {
      const data = await ctx.api.get(`/api/v1/alerts${query({ state: showAll.checked ? 'all' : 'active' })}`);
      alerts = Array.isArray(data?.alerts) ? data.alerts : [];
      renderList();
      if (selected) await loadDetail().catch(() => {});
    },
  };
  return view;
}
