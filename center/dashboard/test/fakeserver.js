// fakeserver.js: an in-memory stand-in for anwang-center's JSON API
// (center/API.md) for the dashboard tests: a fetch() function with bearer
// tokens and roles, the picture tree with a depth limit, alarms, hazards
// with a ledger, alerts with a delivery report, edges. It records every
// request so a test can check what the page sent.

export const TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
};

const ROLE_OF = { [TOKENS.viewer]: 'viewer', [TOKENS.operator]: 'operator' };
const RANK = { viewer: 1, operator: 2, admin: 3 };
export const XSS_NAME = '<img src=x onerror="globalThis.pwned=1">华鑫化工';

function iso(ms) {
  return new Date(ms).toISOString();
}

function node(path, name, kind, colour, extra = {}) {
  return {
    path,
    name,
    kind,
    colour,
    devices: { total: 4, online: 3, stale: 1 },
    alarms: { blue: 0, yellow: 0, orange: 0, red: 0 },
    hazards: { open: { general: 0, major: 0 }, overdue: { general: 0, major: 0 } },
    ...extra,
  };
}

function fixtureTree(now) {
  const site1 = node('yueyang/rongjiawan/xinqiang/huaxin-chem', XSS_NAME, 'site', 'red', {
    sector: 'hazardous-chemicals',
    risk: 'orange',
    alarms: { blue: 0, yellow: 1, orange: 0, red: 1 },
    hazards: { open: { general: 1, major: 1 }, overdue: { general: 0, major: 1 } },
  });
  const site2 = node('yueyang/rongjiawan/xinqiang/dam-2', '二号尾矿库', 'site', 'blue', {
    sector: 'tailings-dam',
    risk: 'blue',
  });
  const village = node('yueyang/rongjiawan/xinqiang', '新墙村', 'village', 'red', {
    children: [site1, site2],
  });
  const zone1 = node('yueyang/rongjiawan', '荣家湾镇', 'zone', 'red', {
    zone_kind: 'township',
    link: {
      edge: 'rongjiawan-1',
      connected: true,
      epoch: '3',
      last_contact: iso(now - 2000),
      skew_ms: 12,
      applied: { urgent: 10, bulk: 120034 },
      backlog: { urgent: 0, bulk: 55 },
    },
    children: [village],
  });
  const zone2 = node('yueyang/xinqiang', '新墙镇', 'zone', 'yellow', {
    zone_kind: 'township',
    link: {
      edge: 'xinqiang-1',
      connected: false,
      epoch: '9',
      last_contact: iso(now - 600000),
      skew_ms: -400000,
      applied: { urgent: 1, bulk: 2 },
      backlog: { urgent: 3, bulk: 0 },
    },
    children: [],
  });
  return node('yueyang', '岳阳县', 'county', 'red', { children: [zone1, zone2] });
}

/** Copies @p n down to @p depth levels of children, as the center does. */
function prune(n, depth) {
  const { children, ...rest } = n;
  const out = { ...rest, children_count: (children ?? []).length };
  if (depth > 0) out.children = (children ?? []).map((c) => prune(c, depth - 1));
  return out;
}

function find(n, path) {
  if (n.path === path) return n;
  for (const c of n.children ?? []) {
    const hit = find(c, path);
    if (hit) return hit;
  }
  return null;
}

export function createServer() {
  const now = Date.now();
  const s = {
    requests: [],
    down: false,
    failWith: null, // {re, status}: answer matching URLs with that error
    revoked: new Set(),
    maxDepth: 2, // the fake never returns more than 2 levels, to exercise root=PATH
    tree: fixtureTree(now),
    alarms: [
      {
        id: 'a-yellow-old',
        device: 'huaxin-t1',
        metric: 'tank-level',
        site: 'yueyang/rongjiawan/xinqiang/huaxin-chem',
        item: 'tank-1',
        level: 'yellow',
        direction: 'high',
        value: 7.6,
        threshold: 7.5,
        first_value: 7.55,
        since: iso(now - 900000),
        time: iso(now - 800000),
        edge: 'rongjiawan-1',
        active: true,
        acknowledged: false,
        ack_by: null,
      },
      {
        id: 'a-red',
        device: 'huaxin-t3',
        metric: 'tank-level',
        site: 'yueyang/rongjiawan/xinqiang/huaxin-chem',
        item: 'tank-3',
        level: 'red',
        direction: 'high',
        value: 8.61,
        threshold: 8.5,
        first_value: 8.52,
        since: iso(now - 60000),
        time: iso(now - 5000),
        edge: 'rongjiawan-1',
        active: true,
        acknowledged: false,
        ack_by: null,
      },
      {
        id: 'a-yellow-new',
        device: 'dam-2-p',
        metric: 'phreatic-line',
        site: 'yueyang/rongjiawan/xinqiang/dam-2',
        item: 'p1',
        level: 'yellow',
        direction: 'low',
        value: 1.2,
        threshold: 1.5,
        since: iso(now - 30000),
        time: iso(now - 10000),
        edge: 'rongjiawan-1',
        active: true,
        acknowledged: false,
        ack_by: null,
      },
      {
        id: 'a-orange',
        device: 'dam-2-d',
        metric: 'dam-displacement',
        site: 'yueyang/rongjiawan/xinqiang/dam-2',
        item: 'd1',
        level: 'orange',
        direction: 'high',
        value: 31,
        threshold: 30,
        since: iso(now - 20000),
        time: iso(now - 20000),
        edge: 'rongjiawan-1',
        active: true,
        acknowledged: true,
        ack_by: 'wang',
      },
    ],
    hazards: [
      {
        id: 'center-0195520b3f000001',
        site: 'yueyang/rongjiawan/xinqiang/huaxin-chem',
        sector: 'hazardous-chemicals',
        level: 'major',
        title: '<b>储罐</b> 区防火堤破损',
        description: 'dike crack',
        source: 'inspection',
        reporter: 'li',
        status: 'assigned',
        reported_at: iso(now - 86400000 * 3),
        assignment: { unit: '华鑫化工', person: '张三', deadline: iso(now - 3600000) },
        evidence: null,
        closed_at: null,
        overdue: true,
        dual_reported: true,
        ledger: [
          {
            op: 'report',
            hlc: '1',
            origin: 'center',
            by: 'li',
            at: iso(now - 86400000 * 3),
            site: 'yueyang/rongjiawan/xinqiang/huaxin-chem',
            accepted: true,
          },
          {
            op: 'start',
            hlc: '2',
            origin: 'rongjiawan-1',
            by: 'zhao',
            at: iso(now - 86400000 * 2.5),
            accepted: false,
            reason: 'start needs status assigned',
          },
          {
            op: 'assign',
            hlc: '3',
            origin: 'center',
            by: 'li',
            at: iso(now - 86400000 * 2),
            unit: '华鑫化工',
            person: '张三',
            deadline: iso(now - 3600000),
            accepted: true,
          },
        ],
      },
    ],
    alerts: [
      {
        identifier: 'anwang-center-drill-1',
        id: 'anwang-center-drill-1',
        sender: 'anwang-center',
        sent: iso(now - 120000),
        status: 'Exercise',
        msgType: 'Alert',
        scope: 'Public',
        event: 'chemical leak drill',
        urgency: 'Immediate',
        severity: 'Severe',
        certainty: 'Observed',
        area: ['yueyang/rongjiawan'],
        headline: '荣家湾镇 泄漏演练',
        cancelled: false,
        issued_by: 'wang',
        report: {
          edges: { targeted: 1, reached: 1, failed: 0 },
          devices: { targeted: 3, reached: 2, failed: 1 },
          latency_ms: { p50: 420, p99: 1800, max: 2100 },
          unreached: ['huaxin-siren-1'],
          failures: [
            {
              device: 'huaxin-siren-1',
              edge: 'rongjiawan-1',
              attempts: 4,
              detail: 'timeout',
              time: iso(now - 60000),
            },
          ],
        },
      },
    ],
    edges: [
      {
        edge: 'xinqiang-1',
        zone: 'yueyang/xinqiang',
        connected: false,
        epoch: '9',
        last_contact: iso(now - 600000),
        skew_ms: -400000,
        applied: { urgent: 1, bulk: 2 },
        head: { urgent: 4, bulk: 2 },
        backlog: { urgent: 3, bulk: 0 },
        records: { urgent: 4, bulk: 2 },
        poison: 0,
        down_pending: 1,
      },
      {
        edge: 'rongjiawan-1',
        zone: 'yueyang/rongjiawan',
        connected: true,
        epoch: '3',
        last_contact: iso(now - 2000),
        skew_ms: 12,
        applied: { urgent: 10, bulk: 120034 },
        head: { urgent: 10, bulk: 120089 },
        backlog: { urgent: 0, bulk: 55 },
        records: { urgent: 10, bulk: 120089 },
        poison: 0,
        down_pending: 0,
      },
    ],
    seq: 0,
  };

  const json = (status, body, extra = {}) => ({
    status,
    body: JSON.stringify(body),
    type: 'application/json',
    ...extra,
  });
  const err = (status, error, detail) => json(status, { error, detail });

  function role(headers) {
    const h = headers?.Authorization ?? headers?.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    if (!m || s.revoked.has(m[1])) return null;
    return ROLE_OF[m[1]] ?? null;
  }

  function route(method, url, body, r) {
    const u = new URL(url, 'http://center.test');
    const p = u.pathname;
    const q = u.searchParams;
    const write = method !== 'GET';
    if (write && RANK[r] < RANK.operator) return err(403, 'forbidden', 'needs role operator');
    let m;
    if (method === 'GET' && p === '/api/v1/status')
      return json(200, {
        center: 'anwang-center',
        name: '岳阳县',
        version: '0.1',
        started: iso(now),
        registry_version: 7,
        edges: { known: 2, connected: 1 },
        store: { used_bytes: 1, map_bytes: 2 },
        hazards: { open: 2, overdue: 1 },
        alarms: { active: s.alarms.filter((a) => a.active).length },
      });
    if (method === 'GET' && p === '/api/v1/picture') {
      const depth = Math.min(Number(q.get('depth') ?? 2), s.maxDepth);
      const root = q.get('root') ? find(s.tree, q.get('root')) : s.tree;
      if (!root) return err(404, 'not found', `no node ${q.get('root')}`);
      return json(200, { generated: iso(Date.now()), registry_version: 7, root: prune(root, depth) });
    }
    if (method === 'GET' && p === '/api/v1/alarms') return json(200, { alarms: s.alarms });
    if (method === 'POST' && (m = /^\/api\/v1\/alarms\/([^/]+)\/ack$/.exec(p))) {
      const a = s.alarms.find((x) => x.id === decodeURIComponent(m[1]));
      if (!a) return err(404, 'not found', 'no such alarm');
      if (!a.active) return err(409, 'cleared', 'alarm is cleared');
      return json(202, { id: a.id, edge: a.edge, by: r, queued: true });
    }
    if (method === 'GET' && p === '/api/v1/hazards') {
      const st = q.get('status');
      const list = s.hazards.filter((h) => !st || (st === 'open' ? h.status !== 'closed' : h.status === st));
      return json(200, { hazards: list.map(({ ledger, ...rest }) => rest) });
    }
    if ((m = /^\/api\/v1\/hazards\/([^/]+)$/.exec(p)) && method === 'GET') {
      const h = s.hazards.find((x) => x.id === decodeURIComponent(m[1]));
      return h ? json(200, h) : err(404, 'not found', 'no such hazard');
    }
    if (method === 'POST' && p === '/api/v1/hazards') {
      for (const k of ['site', 'sector', 'level', 'title', 'source'])
        if (!body?.[k]) return err(400, 'bad request', `missing ${k}`);
      const h = {
        id: `center-${++s.seq}`,
        ...body,
        status: 'reported',
        reported_at: iso(Date.now()),
        assignment: null,
        overdue: false,
        ledger: [{ op: 'report', hlc: '9', origin: 'center', by: r, at: iso(Date.now()), accepted: true }],
      };
      s.hazards.unshift(h);
      return json(201, h);
    }
    if (method === 'POST' && (m = /^\/api\/v1\/hazards\/([^/]+)\/events$/.exec(p))) {
      const h = s.hazards.find((x) => x.id === decodeURIComponent(m[1]));
      if (!h) return err(404, 'not found', 'no such hazard');
      if (body.op === 'verify' && h.status !== 'rectified')
        return err(409, 'invalid transition', 'verify needs status rectified');
      if (body.op === 'start' && h.status !== 'assigned')
        return err(409, 'invalid transition', 'start needs status assigned');
      if (body.op === 'start') h.status = 'rectifying';
      h.ledger.push({
        ...body,
        hlc: String(100 + s.seq++),
        origin: 'center',
        by: r,
        at: iso(Date.now()),
        accepted: true,
      });
      return json(201, h);
    }
    if (method === 'GET' && p === '/api/v1/alerts') {
      const all = q.get('state') === 'all';
      return json(200, {
        alerts: s.alerts.filter((a) => all || !a.cancelled).map(({ report, ...rest }) => rest),
      });
    }
    if (method === 'GET' && (m = /^\/api\/v1\/alerts\/([^/]+)$/.exec(p))) {
      const a = s.alerts.find((x) => x.id === decodeURIComponent(m[1]));
      return a ? json(200, a) : err(404, 'not found', 'no such alert');
    }
    if (method === 'GET' && (m = /^\/api\/v1\/alerts\/([^/]+)\/cap$/.exec(p)))
      return {
        status: 200,
        body: '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>',
        type: 'application/cap+xml',
      };
    if (method === 'POST' && p === '/api/v1/alerts') {
      const id = `anwang-center-${++s.seq}`;
      const a = {
        identifier: id,
        id,
        sender: 'anwang-center',
        sent: iso(Date.now()),
        msgType: 'Alert',
        scope: 'Public',
        cancelled: false,
        issued_by: r,
        ...body,
        report: {
          edges: { targeted: 1, reached: 0, failed: 0 },
          devices: { targeted: 0, reached: 0, failed: 0 },
          latency_ms: { p50: null, p99: null, max: null },
          unreached: ['rongjiawan-1'],
        },
      };
      s.alerts.unshift(a);
      return json(201, a);
    }
    if (method === 'POST' && (m = /^\/api\/v1\/alerts\/([^/]+)\/cancel$/.exec(p))) {
      const a = s.alerts.find((x) => x.id === decodeURIComponent(m[1]));
      if (!a) return err(404, 'not found', 'no such alert');
      if (a.cancelled) return err(409, 'cancelled', 'already cancelled');
      Object.assign(a, { cancelled: true, cancelled_at: iso(Date.now()), cancelled_by: r });
      return json(200, a);
    }
    if (method === 'GET' && p === '/api/v1/edges') return json(200, { edges: s.edges });
    return err(404, 'not found', `no route ${method} ${p}`);
  }

  s.fetch = async (url, init = {}) => {
    const method = init.method ?? 'GET';
    const body = init.body ? JSON.parse(init.body) : undefined;
    const rec = { method, url, headers: { ...(init.headers ?? {}) }, body };
    s.requests.push(rec);
    await Promise.resolve();
    if (s.down) throw new TypeError('Failed to fetch');
    const r = role(rec.headers);
    const failed =
      s.failWith && s.failWith.re.test(url) ? err(s.failWith.status, 'internal', 'store error') : null;
    const res = !r
      ? err(401, 'unauthorized', 'no or unknown token')
      : (failed ?? route(method, url, body, r));
    return {
      status: res.status,
      ok: res.status >= 200 && res.status < 300,
      statusText: String(res.status),
      headers: {
        get: (k) =>
          k.toLowerCase() === 'content-type'
            ? res.type
            : k.toLowerCase() === 'date'
              ? new Date().toUTCString()
              : null,
      },
      text: async () => res.body,
    };
  };
  return s;
}
