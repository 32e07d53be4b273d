// hazards.js: 隐患 Hazards (一单四制). The list of hazards
// (GET /api/v1/hazards, open by default) with status, level, site, deadline
// and overdue flag; a click opens the ledger (台账, GET /api/v1/hazards/<id>)
// with every event, rejected ones with the ledger's reason; forms to report
// a hazard (POST /api/v1/hazards) and to add lifecycle events
// (POST /api/v1/hazards/<id>/events).

import { query, seg } from './api.js';
import { el, replaceChildren, setText, syncList } from './dom.js';
import {
  buildEventBody,
  buildReportBody,
  errorMessage,
  FIELD_LABEL,
  formatLocal,
  HAZARD_LEVEL_LABEL,
  HAZARD_OP_LABEL,
  HAZARD_SOURCE_LABEL,
  HAZARD_STATUS_LABEL,
  labelOf,
  nodesOfKind,
  OP_FIELDS,
  parseTime,
  SECTOR_LABEL,
} from './format.js';
import { defList, errorBox, field, select, setEmpty, table, timeCell, updateTimeCell } from './widgets.js';

const LEDGER_SKIP = new Set(['op', 'hlc', 'origin', 'by', 'at', 'time', 'accepted', 'reason', 'hazard_id']);

function s_deadline(h) {
  return h?.deadline ?? h?.assignment?.deadline ?? null;
}

function s_levelBadge(level) {
  return el('span', { class: `hz-level hz-${level ?? 'none'}`, text: labelOf(HAZARD_LEVEL_LABEL, level) });
}

export function createHazardsView(ctx) {
  let hazards = [];
  let selected = null; // hazard id shown in the detail pane
  let detail = null; // its last GET

  /* ---------------------------------------------------------------- list */
  const statusSel = select(
    [
      ['open', '未销号 open'],
      ['', '全部 all'],
      ...Object.entries(HAZARD_STATUS_LABEL).filter(([k]) => k !== 'unreported'),
    ],
    { attrs: { 'aria-label': '状态筛选 status filter' } },
  );
  const levelSel = select([['', '全部等级 any level'], ...Object.entries(HAZARD_LEVEL_LABEL)], {
    attrs: { 'aria-label': '等级筛选 level filter' },
  });
  const overdueOnly = el('input', { type: 'checkbox' });
  const count = el('span', { class: 'meta' });
  const reload = () => view.refresh().catch((e) => ctx.report(e));
  for (const c of [statusSel, levelSel, overdueOnly]) c.addEventListener('change', reload);

  const t = table(
    '隐患清单 Hazard list',
    ['等级 Level', '标题 Title', '企业 Site', '状态 Status', '期限 Deadline', '上报 Reported'],
    'hazards',
  );

  function createRow() {
    const tr = el('tr');
    const open = el('button', { type: 'button', class: 'linkish' });
    open.addEventListener('click', () => select_(tr.hazard.id));
    tr.append(
      el('td'),
      el('td', null, open, el('span', { class: 'block small muted' })),
      el('td', null, el('span'), el('span', { class: 'block small muted' })),
      el('td'),
      el('td', null, timeCell(null), el('span', { class: 'overdue-flag' })),
      el('td', null, timeCell(null)),
    );
    return tr;
  }

  function updateRow(tr, h) {
    tr.hazard = h;
    tr.className = `${h.overdue ? 'overdue' : ''}${h.id === selected ? ' selected' : ''}`;
    const [lv, title, site, status, deadline, reported] = tr.children;
    replaceChildren(lv, s_levelBadge(h.level));
    setText(title.firstChild, h.title ?? '(无标题 untitled)');
    title.firstChild.setAttribute('aria-label', `查看台账 open ledger: ${h.title ?? h.id}`);
    setText(title.lastChild, `${labelOf(SECTOR_LABEL, h.sector)} · ${h.id}`);
    setText(site.firstChild, ctx.names().get(h.site) ?? h.site ?? '—');
    setText(site.lastChild, h.site ?? '');
    setText(status, labelOf(HAZARD_STATUS_LABEL, h.status));
    updateTimeCell(deadline.firstChild, s_deadline(h));
    setText(deadline.lastChild, h.overdue ? '⚠ 逾期 OVERDUE' : '');
    updateTimeCell(reported.firstChild, h.reported_at);
  }

  function renderList() {
    syncList(t.tbody, hazards, (h) => h.id, createRow, updateRow);
    const overdue = hazards.filter((h) => h.overdue).length;
    setText(count, `${hazards.length} 条 shown${overdue ? ` · ${overdue} 逾期 overdue` : ''}`);
    setEmpty(t, hazards.length, '无隐患 no hazards match');
  }

  /* -------------------------------------------------------------- detail */
  const detailBox = el('section', { class: 'detail', attrs: { 'aria-labelledby': 'hz-detail-title' } });
  const detailTitle = el('h3', { id: 'hz-detail-title', tabIndex: -1, text: '台账 Ledger' });
  const detailBody = el('div');
  const eventForm = buildEventForm();
  const closeBtn = el('button', { type: 'button', text: '关闭 Close', on: { click: () => select_(null) } });
  detailBox.append(el('div', { class: 'detail-head' }, detailTitle, closeBtn), detailBody, eventForm.form);
  detailBox.hidden = true;

  let opener = null; // the control that opened the detail, focused again on close

  async function select_(id) {
    const wasOpen = !!selected;
    selected = id;
    detail = null;
    renderList();
    detailBox.hidden = !id;
    if (!id) {
      if (wasOpen && opener?.isConnected) opener.focus();
      return;
    }
    opener = document.activeElement;
    replaceChildren(detailBody, el('p', { class: 'muted', text: '加载中 loading…' }));
    eventForm.reset();
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
    const d = await ctx.api.get(`/api/v1/hazards/${seg(id)}`);
    if (selected !== id) return;
    detail = d;
    renderDetail();
  }

  function ledgerFields(e) {
    const parts = [];
    for (const [k, v] of Object.entries(e)) {
      if (LEDGER_SKIP.has(k) || v === null || v === undefined) continue;
      let text = v;
      if (k === 'deadline') text = formatLocal(parseTime(v));
      else if (k === 'ok') text = v ? '通过 pass (销号)' : '不通过 fail';
      else if (typeof v === 'object') text = JSON.stringify(v);
      parts.push(
        el(
          'span',
          { class: 'block' },
          el('span', { class: 'muted', text: `${FIELD_LABEL[k] ?? k}: ` }),
          String(text),
        ),
      );
    }
    return parts;
  }

  function ledgerTable(entries) {
    const lt = table(
      '台账 Ledger events',
      ['时间 Time', '操作 Op', '人员 By', '内容 Fields', '结果 Verdict'],
      'ledger',
    );
    for (const e of entries) {
      const ok = e.accepted !== false;
      lt.tbody.appendChild(
        el(
          'tr',
          { class: ok ? '' : 'rejected' },
          el('td', null, timeCell(e.at ?? e.time)),
          el('td', null, labelOf(HAZARD_OP_LABEL, e.op)),
          el(
            'td',
            null,
            e.by ?? '—',
            el('span', { class: 'block small muted', text: `@ ${e.origin ?? '?'}` }),
          ),
          el('td', null, ledgerFields(e)),
          el(
            'td',
            null,
            ok
              ? el('span', { class: 'ok-text', text: '✓ 接受 accepted' })
              : el('span', { class: 'bad-text', text: `✗ 驳回 rejected: ${e.reason ?? ''}` }),
          ),
        ),
      );
    }
    setEmpty(lt, entries.length, '无记录 no events');
    return lt.wrap;
  }

  function renderDetail() {
    const h = detail;
    if (!h) return;
    const a = h.assignment ?? {};
    setText(detailTitle, `台账 Ledger · ${h.title ?? h.id}`);
    const ledger = Array.isArray(h.ledger) ? h.ledger : [];
    const rejected = ledger.filter((e) => e.accepted === false).length;
    replaceChildren(
      detailBody,
      defList([
        ['编号 ID', h.id],
        ['企业 Site', `${ctx.names().get(h.site) ?? ''} ${h.site ?? ''}`.trim()],
        ['行业 Sector', labelOf(SECTOR_LABEL, h.sector)],
        ['等级 Level', s_levelBadge(h.level)],
        ['状态 Status', `${labelOf(HAZARD_STATUS_LABEL, h.status)}${h.overdue ? ' · ⚠ 逾期 OVERDUE' : ''}`],
        ['来源 Source', labelOf(HAZARD_SOURCE_LABEL, h.source)],
        ['上报人 Reporter', h.reporter],
        ['上报时间 Reported', timeCell(h.reported_at, { full: true })],
        ['责任单位 Unit', a.unit ?? h.unit ?? null],
        ['责任人 Person', a.person ?? h.person ?? null],
        ['整改期限 Deadline', s_deadline(h) ? timeCell(s_deadline(h), { full: true }) : null],
        ['整改证据 Evidence', h.evidence],
        ['销号时间 Closed', h.closed_at ? timeCell(h.closed_at, { full: true }) : null],
        [
          '双报告 Dual report',
          h.dual_reported === undefined ? undefined : h.dual_reported ? '✓ 已完成 done' : '—',
        ],
        ['描述 Description', h.description],
      ]),
      el('h4', { text: `台账 Ledger (${ledger.length} 条${rejected ? `, ${rejected} 驳回 rejected` : ''})` }),
      ledgerTable(ledger),
    );
  }

  /* --------------------------------------------------------- event form */
  function buildEventForm() {
    const op = select(
      Object.entries(HAZARD_OP_LABEL).filter(([k]) => k !== 'report'),
      { name: 'op' },
    );
    const controls = {
      unit: el('input', { type: 'text', maxLength: 200 }),
      person: el('input', { type: 'text', maxLength: 200 }),
      deadline: el('input', { type: 'datetime-local' }),
      evidence: el('textarea', { rows: 2, maxLength: 4000 }),
      ok: select([
        ['', '— 请选择 choose —'],
        ['true', '通过 pass — 销号 close'],
        ['false', '不通过 fail — 退回整改 back to rectifying'],
      ]),
      audience: el('input', { type: 'text', maxLength: 200, attrs: { list: 'hz-audiences' } }),
      text: el('textarea', { rows: 2, maxLength: 4000 }),
      note: el('textarea', { rows: 2, maxLength: 4000 }),
    };
    const audiences = el(
      'datalist',
      { id: 'hz-audiences' },
      el('option', { value: 'safety-bureau', text: '应急管理局 safety bureau' }),
      Object.keys(SECTOR_LABEL).map((s) => el('option', { value: `sector:${s}`, text: SECTOR_LABEL[s] })),
    );
    const fields = {};
    for (const [k, c] of Object.entries(controls))
      fields[k] = field(FIELD_LABEL[k], c, k === 'deadline' ? '本地时间 local time' : null).wrap;
    const errs = errorBox();
    const submit = el('button', { type: 'submit', class: 'primary', text: '提交 Record event' });
    const form = el(
      'form',
      { class: 'event-form', attrs: { 'aria-label': '添加台账事件 add a ledger event' } },
      el('h4', { text: '添加事件 Add event' }),
      errs,
      field('操作 Op', op).wrap,
      Object.values(fields),
      audiences,
      el('div', { class: 'buttons' }, submit),
    );
    const showFields = () => {
      for (const [k, w] of Object.entries(fields)) w.hidden = !OP_FIELDS[op.value].includes(k);
    };
    op.addEventListener('change', showFields);
    showFields();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value]));
      const built = buildEventBody(op.value, values);
      if (built.errors) return errs.show(built.errors);
      errs.show([]);
      submit.disabled = true;
      try {
        await ctx.api.post(`/api/v1/hazards/${seg(selected)}/events`, built.body);
        ctx.toast(`已记录 recorded: ${HAZARD_OP_LABEL[op.value]}`);
        for (const c of Object.values(controls)) c.value = '';
        await Promise.allSettled([loadDetail(), view.refresh()]);
      } catch (e) {
        if (e.status === 409) errs.show(`台账拒绝 ledger refused: ${e.detail ?? e.error}`);
        else if (e.status === 403) errs.show('需要操作员权限 needs operator role (403)');
        else errs.show(errorMessage(e));
      } finally {
        submit.disabled = false;
      }
    });
    return {
      form,
      reset() {
        errs.show([]);
      },
    };
  }

  /* -------------------------------------------------------- report form */
  const report = buildReportForm();

  function buildReportForm() {
    const c = {
      site: el('input', { type: 'text', required: true, attrs: { list: 'hz-sites' }, spellcheck: false }),
      sector: select([['', '— 请选择 choose —'], ...Object.entries(SECTOR_LABEL)], { required: true }),
      level: select(Object.entries(HAZARD_LEVEL_LABEL)),
      title: el('input', { type: 'text', required: true, maxLength: 200 }),
      description: el('textarea', { rows: 3, maxLength: 4000 }),
      source: select(Object.entries(HAZARD_SOURCE_LABEL)),
      reporter: el('input', { type: 'text', maxLength: 200 }),
    };
    const sites = el('datalist', { id: 'hz-sites' });
    c.site.addEventListener('change', () => {
      const node = nodesOfKind(ctx.picture(), 'site').find((n) => n.path === c.site.value.trim());
      if (node?.sector && !c.sector.value) c.sector.value = node.sector;
    });
    const errs = errorBox();
    const submit = el('button', { type: 'submit', class: 'primary', text: '上报 Report hazard' });
    const form = el(
      'form',
      { class: 'report-form' },
      errs,
      field(FIELD_LABEL.site, c.site, '网格路径 grid path, e.g. yueyang/rongjiawan/xinqiang/huaxin-chem')
        .wrap,
      sites,
      Object.entries(c)
        .filter(([k]) => k !== 'site')
        .map(([k, ctl]) => field(FIELD_LABEL[k], ctl).wrap),
      el('div', { class: 'buttons' }, submit),
    );
    const details = el(
      'details',
      { class: 'form-box' },
      el('summary', { text: '＋ 上报隐患 Report a hazard' }),
      form,
    );
    details.addEventListener('toggle', () => {
      if (!details.open) return;
      replaceChildren(
        sites,
        nodesOfKind(ctx.picture(), 'site').map((n) =>
          el('option', { value: n.path, text: n.name ?? n.path }),
        ),
      );
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const built = buildReportBody(Object.fromEntries(Object.entries(c).map(([k, ctl]) => [k, ctl.value])));
      if (built.errors) return errs.show(built.errors);
      errs.show([]);
      submit.disabled = true;
      try {
        const h = await ctx.api.post('/api/v1/hazards', built.body);
        ctx.toast(`已上报 reported: ${h?.title ?? built.body.title}`);
        for (const k of ['title', 'description']) c[k].value = '';
        details.open = false;
        await view.refresh().catch(() => {});
        if (h?.id) await select_(h.id);
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
    el('h2', { text: '隐患 Hazards' }),
    count,
    el(
      'div',
      { class: 'tools' },
      statusSel,
      levelSel,
      el('label', { class: 'check' }, overdueOnly, ' 仅逾期 overdue only'),
    ),
  );
  const section = el(
    'div',
    { class: 'panel' },
    head,
    report,
    el('div', { class: 'split' }, el('div', { class: 'split-main' }, t.wrap), detailBox),
  );

  const view = {
    id: 'hazards',
    el: section,
    open: select_,
    async refresh() {
      const q = query({
        status: statusSel.value,
        level: levelSel.value,
        overdue: overdueOnly.checked ? 'true' : '',
      });
      const data = await ctx.api.get(`/api/v1/hazards${q}`);
      hazards = Array.isArray(data?.hazards) ? data.hazards : [];
      renderList();
      if (selected && !eventForm.form.contains(document.activeElement)) await loadDetail().catch(() => {});
    },
  };
  return view;
}
