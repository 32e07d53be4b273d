// picture.js: 态势 Picture, the grid tree (county → zones → villages →
// sites) from GET /api/v1/picture?depth=3. Nodes under the depth limit are
// fetched when expanded (root=PATH). The expanded set is kept in
// localStorage; each refresh updates the rows in place by path.

import { query } from './api.js';
import { el, replaceChildren, setAttr, setText, syncList } from './dom.js';
import {
  alarmCounts,
  flattenTree,
  formatAge,
  formatSkew,
  graftSubtree,
  hazardTotals,
  KIND_LABEL,
  labelOf,
  num,
  parseTime,
  pathsToFetch,
  SECTOR_LABEL,
  skewSeverity,
  ZONE_KIND_LABEL,
} from './format.js';
import {
  clock,
  colourBadge,
  levelChip,
  table,
  timeCell,
  updateColourBadge,
  updateTimeCell,
} from './widgets.js';

const EXPANDED_KEY = 'anwang.expanded';

function s_loadExpanded(storage) {
  try {
    const v = JSON.parse(storage?.getItem(EXPANDED_KEY) ?? 'null');
    if (Array.isArray(v)) return new Set(v.filter((p) => typeof p === 'string'));
  } catch {
    /* fall through */
  }
  return null;
}

export function createPictureView(ctx) {
  const stored = s_loadExpanded(ctx.storage);
  const expanded = stored ?? new Set();
  let firstLoad = stored === null;
  let tree = null;
  let version = 0; // bumped whenever the tree changes (grafts change it in place)
  const loading = new Set();

  const head = el('div', { class: 'panel-head' });
  const title = el('h2', { text: '态势 Picture' });
  const meta = el('p', { class: 'meta' });
  const tools = el(
    'div',
    { class: 'tools' },
    el('button', { type: 'button', text: '全部展开 Expand all', on: { click: () => setAll(true) } }),
    el('button', { type: 'button', text: '全部收起 Collapse', on: { click: () => setAll(false) } }),
  );
  head.append(title, meta, tools);
  const grid = table(
    '网格态势 Grid picture',
    ['名称 Name', '等级 Colour', '设备 Devices', '报警 Alarms', '隐患 Hazards', '链路 Link'],
    'tree',
  );
  const section = el('div', { class: 'panel' }, head, grid.wrap);

  function save() {
    try {
      ctx.storage?.setItem(EXPANDED_KEY, JSON.stringify([...expanded]));
    } catch {
      /* not kept across reloads then */
    }
  }

  function setAll(open) {
    expanded.clear();
    if (open && tree) {
      const walk = (n) => {
        if (num(n.children_count) > 0) expanded.add(n.path);
        for (const c of n.children ?? []) walk(c);
      };
      walk(tree);
    } else if (tree) {
      expanded.add(tree.path);
    }
    save();
    render();
    fetchMissing().catch((e) => ctx.report(e));
  }

  async function toggle(path) {
    if (expanded.has(path)) expanded.delete(path);
    else expanded.add(path);
    save();
    render();
    if (expanded.has(path)) await fetchMissing();
  }

  /** Fetches the subtrees under @p paths (depth 2 each) and grafts them in. */
  async function fetchPaths(paths) {
    paths = paths.filter((p) => !loading.has(p));
    if (!paths.length) return 0;
    paths.forEach((p) => loading.add(p));
    render();
    const subs = await Promise.allSettled(
      paths.map((p) => ctx.api.get(`/api/v1/picture${query({ root: p, depth: 2 })}`)),
    );
    paths.forEach((p) => loading.delete(p));
    let grafted = 0;
    for (const r of subs) if (r.status === 'fulfilled' && graftSubtree(tree, r.value?.root)) grafted++;
    render();
    const failed = subs.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return grafted;
  }

  /** Fetches the children of expanded nodes past the depth limit, a few rounds deep. */
  async function fetchMissing() {
    for (let round = 0; round < 4 && tree; round++)
      if (!(await fetchPaths(pathsToFetch(tree, expanded)))) return;
  }

  function nameCell() {
    const td = el('td', { class: 'name' });
    const btn = el('button', { type: 'button', class: 'twisty' });
    const nm = el('span', { class: 'node-name' });
    const sub = el('span', { class: 'node-sub' });
    btn.addEventListener('click', () => {
      toggle(td.parentNode.dataset.path).catch((e) => ctx.report(e));
    });
    td.append(el('div', { class: 'name-wrap' }, btn, el('span', { class: 'node-text' }, nm, sub)));
    return td;
  }

  function createRow() {
    const tr = el('tr');
    tr.append(nameCell(), el('td', null, colourBadge(null)), el('td'), el('td'), el('td'), el('td'));
    return tr;
  }

  function updateName(td, row) {
    const n = row.node;
    const [btn, text] = td.firstChild.children;
    const [nm, sub] = text.children;
    td.className = `name d${Math.min(row.depth, 5)}`;
    btn.hidden = !row.hasChildren;
    setAttr(btn, 'aria-expanded', row.hasChildren ? String(row.expanded) : null);
    const busy = loading.has(n.path);
    setText(btn, busy ? '…' : row.expanded ? '▾' : '▸');
    setAttr(btn, 'aria-label', `${row.expanded ? '收起 collapse' : '展开 expand'} ${n.name ?? n.path}`);
    setText(nm, n.name ?? n.path);
    const bits = [labelOf(KIND_LABEL, n.kind)];
    if (n.zone_kind) bits.push(labelOf(ZONE_KIND_LABEL, n.zone_kind));
    if (n.sector) bits.push(labelOf(SECTOR_LABEL, n.sector));
    if (n.risk) bits.push(`静态 static ${n.risk}`);
    if (row.hasChildren) bits.push(`${num(n.children_count)} 下级 children`);
    setText(sub, `${bits.join(' · ')} · ${n.path}`);
  }

  function updateDevices(td, d) {
    const stale = num(d?.stale);
    replaceChildren(
      td,
      el('span', { class: 'num', text: `${num(d?.online)}/${num(d?.total)}` }),
      el('span', { class: 'unit', text: ' 在线 online' }),
      stale ? el('span', { class: 'warn-text block', text: `⚠ ${stale} 失联 stale` }) : null,
    );
  }

  function updateAlarms(td, a) {
    const counts = alarmCounts(a);
    replaceChildren(
      td,
      counts.length
        ? counts.map(([lv, n]) => levelChip(lv, n))
        : el('span', { class: 'muted', text: '无 none' }),
    );
  }

  function updateHazards(td, h) {
    const t = hazardTotals(h);
    replaceChildren(
      td,
      el('span', { class: 'num', text: String(t.open) }),
      el('span', { class: 'unit', text: ' 未销号 open' }),
      t.major ? el('span', { class: 'block', text: `重大 major ${t.major}` }) : null,
      t.overdue ? el('span', { class: 'bad-text block', text: `⚠ ${t.overdue} 逾期 overdue` }) : null,
    );
  }

  function updateLink(td, n) {
    if (n.kind !== 'zone') return replaceChildren(td);
    const l = n.link;
    if (!l) return replaceChildren(td, el('span', { class: 'muted', text: '无边缘 no edge' }));
    const sev = skewSeverity(l.skew_ms);
    const bu = num(l.backlog?.urgent);
    const bb = num(l.backlog?.bulk);
    const last = parseTime(l.last_contact);
    replaceChildren(
      td,
      el('span', {
        class: l.connected ? 'link-up' : 'link-down',
        text: l.connected ? '● 已连接 connected' : '○ 断开 disconnected',
      }),
      el('span', { class: 'block small', text: `${l.edge ?? ''}` }),
      el('span', {
        class: 'block small',
        text: `最近 last: ${Number.isFinite(last) ? formatAge(last, clock.now()) : '从未 never'}`,
      }),
      el('span', {
        class: `block small${bu ? ' bad-text' : bb ? ' warn-text' : ''}`,
        text: `积压 backlog 紧急 ${bu} / 批量 ${bb}`,
      }),
      el('span', {
        class: `block small${sev === 'bad' ? ' bad-text' : sev === 'warn' ? ' warn-text' : ''}`,
        text: `时钟偏差 skew ${formatSkew(l.skew_ms)}`,
      }),
    );
    td.dataset.lastContact = l.last_contact ?? '';
  }

  function updateRow(tr, row) {
    const n = row.node;
    tr.dataset.path = n.path;
    tr.dataset.depth = String(row.depth);
    tr.className = `k-${n.kind ?? 'node'} c-row-${n.colour ?? 'none'}`;
    const [name, colour, dev, alarms, haz, link] = tr.children;
    updateName(name, row);
    updateColourBadge(colour.firstChild, n.colour);
    updateDevices(dev, n.devices);
    updateAlarms(alarms, n.alarms);
    updateHazards(haz, n.hazards);
    updateLink(link, n);
  }

  function render() {
    version++;
    const rows = tree ? flattenTree(tree, expanded) : [];
    syncList(grid.tbody, rows, (r) => r.node.path, createRow, updateRow);
    grid.empty.hidden = rows.length > 0;
  }

  function renderMeta(data) {
    replaceChildren(
      meta,
      `登记册版本 registry v${data?.registry_version ?? '—'} · 生成 generated `,
      data?.generated ? timeCell(data.generated) : '—',
    );
  }

  /** Keeps the old subtrees that the new fetch left out, so expanded nodes do not flicker. */
  function carryOver(fresh, old) {
    if (!old) return;
    for (const path of expanded) {
      if (!pathsToFetch(fresh, expanded).includes(path)) continue;
      const walk = (n) => (n.path === path ? n : (n.children ?? []).map(walk).find(Boolean));
      const prev = walk(old);
      if (prev && Array.isArray(prev.children)) graftSubtree(fresh, prev);
    }
  }

  return {
    id: 'picture',
    el: section,
    get tree() {
      return tree;
    },
    get version() {
      return version;
    },
    async refresh() {
      let data;
      try {
        data = await ctx.api.get(`/api/v1/picture${query({ depth: 3 })}`);
      } catch (e) {
        if (e.status === 404) {
          tree = null;
          render();
          setText(grid.empty, '尚未导入登记册 no registry imported yet (PUT /api/v1/registry)');
          grid.empty.hidden = false;
          return;
        }
        throw e;
      }
      const fresh = data?.root ?? null;
      const deeper = fresh ? pathsToFetch(fresh, expanded) : [];
      carryOver(fresh, tree);
      tree = fresh;
      if (tree && firstLoad) {
        expanded.add(tree.path);
        firstLoad = false;
        save();
      }
      const gen = parseTime(data?.generated);
      if (Number.isFinite(gen)) ctx.clockSample(gen);
      renderMeta(data);
      render();
      setText(grid.empty, '无数据 no data');
      await fetchPaths(deeper);
      await fetchMissing();
    },
    tick() {
      for (const td of grid.tbody.querySelectorAll('td[data-last-contact]')) {
        const ms = parseTime(td.dataset.lastContact);
        const line = td.children[2];
        if (line)
          setText(line, `最近 last: ${Number.isFinite(ms) ? formatAge(ms, clock.now()) : '从未 never'}`);
      }
      const t = meta.querySelector('time.when');
      if (t) updateTimeCell(t, t.getAttribute('datetime'));
    },
  };
}
