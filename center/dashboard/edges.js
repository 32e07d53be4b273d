// edges.js: 边缘 Edges, the replication state of every edge
// (GET /api/v1/edges): link, epoch, last contact, clock skew, applied
// sequence, head and backlog per lane, records, poison and down queue.

import { el, replaceChildren, setText, syncList } from './dom.js';
import { formatSkew, formatValue, num, skewSeverity } from './format.js';
import { setEmpty, table, timeCell, updateTimeCell } from './widgets.js';

const LANE_LABEL = { urgent: '紧急 urgent', bulk: '批量 bulk' };

function s_lanes(o) {
  if (o === null || o === undefined) return '—';
  if (typeof o !== 'object') return formatValue(o);
  const parts = [];
  for (const [k, v] of Object.entries(o)) parts.push(`${LANE_LABEL[k] ?? k} ${formatValue(v)}`);
  return parts.join(' · ') || '—';
}

export function createEdgesView(ctx) {
  let edges = [];
  const count = el('span', { class: 'meta' });
  const t = table(
    '边缘节点 Edges',
    [
      '边缘 Edge',
      '乡镇 Zone',
      '链路 Link',
      '最近联系 Last contact',
      '时钟偏差 Skew',
      '已应用 Applied',
      '头部 Head',
      '积压 Backlog',
      '记录 Records',
      '异常 Poison',
      '下发待确认 Down pending',
    ],
    'edges',
  );

  function createRow() {
    const tr = el('tr');
    for (let i = 0; i < 11; i++) tr.appendChild(el('td'));
    tr.children[3].appendChild(timeCell(null));
    return tr;
  }

  function updateRow(tr, e) {
    const c = tr.children;
    tr.className = e.connected ? '' : 'down';
    replaceChildren(
      c[0],
      el('span', { class: 'strong', text: e.edge ?? '?' }),
      el('span', { class: 'block small muted', text: `epoch ${e.epoch ?? '—'}` }),
    );
    replaceChildren(
      c[1],
      el('span', { text: ctx.names().get(e.zone) ?? e.zone ?? '—' }),
      el('span', { class: 'block small muted', text: e.zone ?? '' }),
    );
    replaceChildren(
      c[2],
      el('span', {
        class: e.connected ? 'link-up' : 'link-down',
        text: e.connected ? '● 已连接 connected' : '○ 断开 disconnected',
      }),
    );
    updateTimeCell(c[3].firstChild, e.last_contact);
    if (!e.last_contact) setText(c[3].firstChild.firstChild, '从未 never');
    const sev = skewSeverity(e.skew_ms);
    c[4].className = sev === 'bad' ? 'bad-text' : sev === 'warn' ? 'warn-text' : '';
    setText(c[4], formatSkew(e.skew_ms));
    setText(c[5], s_lanes(e.applied));
    setText(c[6], s_lanes(e.head));
    const bl = num(e.backlog?.urgent);
    c[7].className = bl ? 'bad-text' : num(e.backlog?.bulk) ? 'warn-text' : '';
    setText(c[7], s_lanes(e.backlog));
    setText(c[8], s_lanes(e.records));
    c[9].className = num(e.poison) ? 'bad-text' : '';
    setText(c[9], s_lanes(e.poison));
    setText(c[10], s_lanes(e.down_pending));
  }

  return {
    id: 'edges',
    el: el(
      'div',
      { class: 'panel' },
      el('div', { class: 'panel-head' }, el('h2', { text: '边缘 Edges' }), count),
      t.wrap,
    ),
    async refresh() {
      const data = await ctx.api.get('/api/v1/edges');
      edges = Array.isArray(data?.edges) ? data.edges : [];
      edges.sort((a, b) => String(a.edge).localeCompare(String(b.edge)));
      syncList(t.tbody, edges, (e) => e.edge, createRow, updateRow);
      const up = edges.filter((e) => e.connected).length;
      setText(count, `${up}/${edges.length} 已连接 connected`);
      setEmpty(t, edges.length, '无边缘 no edges known');
    },
  };
}
