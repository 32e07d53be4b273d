// format.js: the dashboard's pure helpers (no DOM, no fetch): labels, times,
// sorting, the picture tree's bookkeeping and the request bodies the forms
// send. Kept apart from the views so `node --test` can check them.

/** Alarm levels and grid colours, lowest first (SPEC §1). */
export const LEVELS = ['blue', 'yellow', 'orange', 'red'];

const COLOUR_ZH = { red: '红', orange: '橙', yellow: '黄', blue: '蓝' };
const COLOUR_EN = { red: 'Red', orange: 'Orange', yellow: 'Yellow', blue: 'Blue' };

export const KIND_LABEL = {
  county: '县 County',
  zone: '乡镇 Zone',
  village: '村 Village',
  site: '企业 Site',
};

export const ZONE_KIND_LABEL = {
  township: '镇 township',
  'street-office': '街道 street office',
  'industrial-park': '园区 industrial park',
};

export const SECTOR_LABEL = {
  'non-coal-mine': '非煤矿山 non-coal mine',
  'hazardous-chemicals': '危险化学品 hazardous chemicals',
  fireworks: '烟花爆竹 fireworks',
  'industry-trade': '工贸 industry & trade',
  'dust-explosion': '粉尘涉爆 dust explosion',
  'confined-space': '有限空间 confined space',
  'ammonia-refrigeration': '涉氨制冷 ammonia refrigeration',
  'tailings-dam': '尾矿库 tailings dam',
};

export const HAZARD_STATUS_LABEL = {
  unreported: '未受理 unreported',
  reported: '已上报 reported',
  assigned: '已交办 assigned',
  rectifying: '整改中 rectifying',
  rectified: '已整改 rectified',
  closed: '已销号 closed',
};

export const HAZARD_LEVEL_LABEL = { general: '一般 general', major: '重大 major' };

export const HAZARD_SOURCE_LABEL = {
  'self-inspection': '自查 self-inspection',
  'public-report': '举报 public report',
  inspection: '检查 inspection',
};

export const HAZARD_OP_LABEL = {
  report: '上报 report',
  assign: '交办 assign',
  start: '开始整改 start',
  rectified: '整改完成 rectified',
  verify: '验收 verify',
  notify: '通报 notify',
  note: '备注 note',
  reopen: '重新打开 reopen',
};

/** The fields each lifecycle op may carry (hazard_json.h), in form order. */
export const OP_FIELDS = {
  assign: ['unit', 'person', 'deadline', 'note'],
  start: ['note'],
  rectified: ['evidence', 'note'],
  verify: ['ok', 'note'],
  notify: ['audience', 'text', 'note'],
  note: ['note'],
  reopen: ['note'],
};

/** The fields an op cannot do without. */
export const OP_REQUIRED = {
  assign: ['unit', 'person', 'deadline'],
  start: [],
  rectified: ['evidence'],
  verify: ['ok'],
  notify: ['audience', 'text'],
  note: ['note'],
  reopen: [],
};

export const FIELD_LABEL = {
  unit: '责任单位 unit',
  person: '责任人 person',
  deadline: '整改期限 deadline',
  evidence: '整改证据 evidence',
  ok: '验收结论 result',
  audience: '通报对象 audience',
  text: '通报内容 text',
  note: '备注 note',
  site: '企业 site',
  sector: '行业 sector',
  level: '等级 level',
  title: '标题 title',
  description: '描述 description',
  source: '来源 source',
  reporter: '上报人 reporter',
};

export const ALERT_STATUS_LABEL = {
  Actual: '实警 ACTUAL',
  Exercise: '演练 DRILL',
  Test: '测试 TEST',
  System: '系统 SYSTEM',
  Draft: '草稿 DRAFT',
};

export const CAP_URGENCY = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'];
export const CAP_SEVERITY = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'];
export const CAP_CERTAINTY = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'];

const GRID_PATH = /^[a-z0-9-]+(\/[a-z0-9-]+)*$/;

/** Index of @p level in LEVELS, or -1 for anything else. */
export function levelRank(level) {
  return LEVELS.indexOf(level);
}

/** "红 Red" etc.; "无 None" for a missing or unknown colour. */
export function colourLabel(colour) {
  if (!Object.hasOwn(COLOUR_ZH, colour ?? '')) return '无 None';
  return `${COLOUR_ZH[colour]} ${COLOUR_EN[colour]}`;
}

/** Short Chinese level name ("红"), "?" when unknown. */
export function colourShort(colour) {
  return Object.hasOwn(COLOUR_ZH, colour ?? '') ? COLOUR_ZH[colour] : '?';
}

/** The label of @p value in @p table, or the value itself when not listed. */
export function labelOf(table, value) {
  if (value === null || value === undefined || value === '') return '—';
  return Object.hasOwn(table, value) ? table[value] : String(value);
}

/** Milliseconds since the epoch of an RFC 3339 string; NaN when absent or bad. */
export function parseTime(iso) {
  if (typeof iso !== 'string' || iso === '') return NaN;
  return Date.parse(iso);
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

/** "2026-11-30 10:30:05" in the machine's local time zone; "—" when @p ms is NaN. */
export function formatLocal(ms) {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** "10:30:05" local when @p ms is today (relative to @p nowMs), else formatLocal(). */
export function formatLocalShort(ms, nowMs) {
  if (!Number.isFinite(ms)) return '—';
  const full = formatLocal(ms);
  return full.slice(0, 10) === formatLocal(nowMs).slice(0, 10) ? full.slice(11) : full;
}

/** Relative age: "12 s ago", "5 min ago", "3 h ago", "2 d ago"; future: "in 5 min". */
export function formatAge(ms, nowMs) {
  if (!Number.isFinite(ms) || !Number.isFinite(nowMs)) return '';
  const delta = nowMs - ms;
  const abs = Math.abs(delta);
  let text;
  if (abs < 60e3) text = `${Math.floor(abs / 1e3)} s`;
  else if (abs < 3600e3) text = `${Math.floor(abs / 60e3)} min`;
  else if (abs < 48 * 3600e3) text = `${Math.floor(abs / 3600e3)} h`;
  else text = `${Math.floor(abs / 86400e3)} d`;
  if (delta >= -1000) return `${text} ago`;
  return `in ${text}`;
}

/** A duration in ms as "850 ms", "1.2 s", "3 min 5 s"; "—" when not a number. */
export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60e3) return `${sign}${(abs / 1000).toFixed(1)} s`;
  const m = Math.floor(abs / 60e3);
  const s = Math.floor((abs % 60e3) / 1000);
  return `${sign}${m} min ${s} s`;
}

/** Clock skew with its sign: "+12 ms", "-3.2 s". */
export function formatSkew(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  return (ms > 0 ? '+' : '') + formatDuration(ms);
}

/** 'ok', 'warn' (≥ 2 s) or 'bad' (≥ 5 min, SPEC §5) for a skew in ms. */
export function skewSeverity(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return 'ok';
  const abs = Math.abs(ms);
  if (abs >= 300e3) return 'bad';
  if (abs >= 2e3) return 'warn';
  return 'ok';
}

/** A reading value for display: numbers to at most 3 decimals, others as text. */
export function formatValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toFixed(3));
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A count that may be missing: the number, or 0. */
export function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/* ------------------------------------------------------------------ alarms */

function alarmTime(a) {
  const t = parseTime(a.time);
  return Number.isFinite(t) ? t : parseTime(a.since);
}

/**
 * A copy of @p alarms, active ones first, then highest level first, then
 * newest (time, else since) first, then by id so the order is stable.
 */
export function sortAlarms(alarms) {
  return [...(alarms ?? [])].sort((a, b) => {
    const act = (b.active !== false) - (a.active !== false);
    if (act) return act;
    const lv = levelRank(b.level) - levelRank(a.level);
    if (lv) return lv;
    const ta = alarmTime(a);
    const tb = alarmTime(b);
    const t = (Number.isFinite(tb) ? tb : -Infinity) - (Number.isFinite(ta) ? ta : -Infinity);
    if (t && Number.isFinite(t)) return t;
    return String(a.id).localeCompare(String(b.id));
  });
}

/** The non-zero alarm counts of a node, highest level first: [[level, n], ...]. */
export function alarmCounts(alarms) {
  const out = [];
  for (const lv of [...LEVELS].reverse()) {
    const n = num(alarms?.[lv]);
    if (n > 0) out.push([lv, n]);
  }
  return out;
}

/** A node's hazards as {open, major, overdue, overdueMajor}. */
export function hazardTotals(h) {
  const open = num(h?.open?.general) + num(h?.open?.major);
  const overdue = num(h?.overdue?.general) + num(h?.overdue?.major);
  return { open, major: num(h?.open?.major), overdue, overdueMajor: num(h?.overdue?.major) };
}

/* ----------------------------------------------------------------- picture */

/** The node at @p path under @p root (depth-first), or null. */
export function findNode(root, path) {
  if (!root) return null;
  if (root.path === path) return root;
  if (!path.startsWith(`${root.path}/`)) return null;
  for (const c of root.children ?? []) {
    const hit = findNode(c, path);
    if (hit) return hit;
  }
  return null;
}

/** True when @p node has children that were not fetched (depth limit). */
export function needsFetch(node) {
  return num(node?.children_count) > 0 && !Array.isArray(node.children);
}

/**
 * Grafts the subtree @p sub (a picture "root" fetched with root=PATH) into
 * @p root in place of the node with the same path. Returns true when found.
 */
export function graftSubtree(root, sub) {
  if (!root || !sub) return false;
  if (root.path === sub.path) return false;
  const list = root.children ?? [];
  for (let i = 0; i < list.length; i++) {
    if (list[i].path === sub.path) {
      list[i] = sub;
      return true;
    }
    if (sub.path.startsWith(`${list[i].path}/`)) return graftSubtree(list[i], sub);
  }
  return false;
}

/**
 * The rows to show: the tree in order, children only under expanded nodes.
 * Each row is {node, depth, expanded, hasChildren, loaded}.
 */
export function flattenTree(root, expanded) {
  const rows = [];
  const walk = (node, depth) => {
    const hasChildren = num(node.children_count) > 0 || (node.children?.length ?? 0) > 0;
    const open = hasChildren && expanded.has(node.path);
    const loaded = Array.isArray(node.children);
    rows.push({ node, depth, expanded: open, hasChildren, loaded });
    if (open && loaded) for (const c of node.children) walk(c, depth + 1);
  };
  if (root) walk(root, 0);
  return rows;
}

/** Paths of expanded, visible nodes whose children still have to be fetched. */
export function pathsToFetch(root, expanded) {
  return flattenTree(root, expanded)
    .filter((r) => r.expanded && !r.loaded)
    .map((r) => r.node.path);
}

/** Every node of @p kind under @p root, in tree order. */
export function nodesOfKind(root, kind) {
  const out = [];
  const walk = (n) => {
    if (n.kind === kind) out.push(n);
    for (const c of n.children ?? []) walk(c);
  };
  if (root) walk(root);
  return out;
}

/** path → name for every node under @p root. */
export function nameIndex(root) {
  const map = new Map();
  const walk = (n) => {
    if (n.path) map.set(n.path, n.name ?? n.path);
    for (const c of n.children ?? []) walk(c);
  };
  if (root) walk(root);
  return map;
}

/* ------------------------------------------------------------------- forms */

/** True for a grid path (SPEC §1). */
export function isGridPath(s) {
  return typeof s === 'string' && s.length > 0 && s.length <= 256 && GRID_PATH.test(s);
}

/** Splits a free-text list of grid paths (commas, spaces, new lines). */
export function parsePathList(text) {
  const paths = [];
  const bad = [];
  for (const p of String(text ?? '').split(/[\s,，;；]+/)) {
    if (!p) continue;
    (isGridPath(p) ? paths : bad).push(p);
  }
  return { paths, bad };
}

/**
 * A datetime-local input value ("2026-12-31T17:00", the machine's local
 * time) as RFC 3339 UTC; null when empty; throws on a value Date cannot read.
 */
export function localInputToRfc3339(value) {
  if (value === null || value === undefined || value === '') return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value))
    throw new Error(`bad local time '${value}'`);
  const ms = new Date(value).getTime();
  if (!Number.isFinite(ms)) throw new Error(`bad local time '${value}'`);
  return new Date(ms).toISOString();
}

function trimmed(v) {
  return typeof v === 'string' ? v.trim() : v;
}

/**
 * The body of POST /api/v1/hazards/<id>/events for @p op from raw form
 * values @p f (strings; ok is "true"/"false"). Returns {body} or {errors}.
 */
export function buildEventBody(op, f) {
  if (!OP_FIELDS[op]) return { errors: [`未知操作 unknown op '${op}'`] };
  const body = { op };
  const errors = [];
  for (const k of OP_FIELDS[op]) {
    let v = trimmed(f?.[k]);
    if (v === '' || v === undefined || v === null) continue;
    if (k === 'ok') v = v === true || v === 'true';
    if (k === 'deadline') {
      try {
        v = localInputToRfc3339(v);
      } catch (e) {
        errors.push(`${FIELD_LABEL.deadline}: ${e.message}`);
        continue;
      }
    }
    body[k] = v;
  }
  for (const k of OP_REQUIRED[op]) if (!(k in body)) errors.push(`${FIELD_LABEL[k] ?? k} 必填 required`);
  return errors.length ? { errors } : { body };
}

/** The body of POST /api/v1/hazards (SPEC §6) from form values. {body} or {errors}. */
export function buildReportBody(f) {
  const body = {};
  const errors = [];
  for (const k of ['site', 'sector', 'level', 'title', 'description', 'source', 'reporter']) {
    const v = trimmed(f?.[k]);
    if (v) body[k] = v;
  }
  for (const k of ['site', 'sector', 'level', 'title', 'source'])
    if (!body[k]) errors.push(`${FIELD_LABEL[k]} 必填 required`);
  if (body.site && !isGridPath(body.site)) errors.push(`${FIELD_LABEL.site}: 不是网格路径 not a grid path`);
  if (body.source && body.source !== 'public-report' && !body.reporter)
    errors.push(`${FIELD_LABEL.reporter} 必填 required (除举报外 unless public report)`);
  return errors.length ? { errors } : { body };
}

/**
 * The body of POST /api/v1/alerts from form values: status, event, areas
 * (array of paths), extraAreas (free text), urgency, severity, certainty,
 * headline, instruction, description, expires (datetime-local). {body} or {errors}.
 */
export function buildAlertBody(f) {
  const errors = [];
  const body = {};
  const status = f?.status;
  if (!['Actual', 'Exercise', 'Test'].includes(status)) errors.push('类型 status 必选 required');
  else body.status = status;
  const event = trimmed(f?.event);
  if (!event) errors.push('事件 event 必填 required');
  else body.event = event;
  const extra = parsePathList(f?.extraAreas);
  for (const p of extra.bad) errors.push(`区域 area: '${p}' 不是网格路径 not a grid path`);
  const area = [...new Set([...(f?.areas ?? []), ...extra.paths])];
  if (!area.length) errors.push('区域 area 必选 required');
  body.area = area;
  for (const k of ['urgency', 'severity', 'certainty', 'headline', 'instruction', 'description']) {
    const v = trimmed(f?.[k]);
    if (v) body[k] = v;
  }
  try {
    const exp = localInputToRfc3339(trimmed(f?.expires));
    if (exp) body.expires = exp;
  } catch (e) {
    errors.push(`到期 expires: ${e.message}`);
  }
  return errors.length ? { errors } : { body };
}

/* ------------------------------------------------------------------ errors */

/**
 * What to tell the operator about a failed request: @p err has status (0 =
 * unreachable), error and detail (api.js ApiError).
 */
export function errorMessage(err) {
  const detail = err?.detail ? `: ${err.detail}` : '';
  switch (err?.status) {
    case 0:
      return `无法连接中心 center unreachable${detail}`;
    case 401:
      return '令牌无效 token refused — 请重新登录 sign in again';
    case 403:
      return `权限不足 needs operator role${detail}`;
    case 404:
      return `未找到 not found${detail}`;
    case 409:
      return `状态不允许 refused by current state${detail}`;
    case 400:
    case 413:
    case 415:
      return `请求无效 invalid request${detail}`;
    default:
      if (err?.status >= 500) return `中心错误 center error ${err.status}${detail}`;
      return `错误 error ${err?.status ?? ''} ${err?.error ?? ''}${detail}`.trim();
  }
}

/** A short text for an alert's unreached entry (string or object). */
export function unreachedText(u) {
  if (typeof u === 'string') return u;
  if (!u || typeof u !== 'object') return String(u);
  const who = [u.edge, u.device].filter(Boolean).join(' / ') || u.id || JSON.stringify(u);
  const why = u.reason ?? u.detail ?? u.error ?? u.state ?? u.kind;
  const tries = typeof u.attempts === 'number' ? ` (${u.attempts} 次尝试 attempts)` : '';
  return `${who}${why ? ` — ${why}` : ''}${tries}`;
}

/** Whether an alert is in force at @p nowMs: not cancelled and not expired. */
export function alertActive(a, nowMs) {
  if (a?.cancelled) return false;
  const exp = parseTime(a?.expires);
  return !(Number.isFinite(exp) && exp <= nowMs);
}
