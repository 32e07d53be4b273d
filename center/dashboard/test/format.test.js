// format.test.js: the pure helpers of format.js and api.js.

import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.TZ = 'Asia/Shanghai';

const f = await import('../format.js');
const { ApiError, createApi, query, seg } = await import('../api.js');

test('local time is Asia/Shanghai on the operators machines', () => {
  const ms = Date.parse('2026-11-30T02:30:05.123Z');
  assert.equal(f.formatLocal(ms), '2026-11-30 10:30:05');
  assert.equal(f.formatLocalShort(ms, ms + 3600e3), '10:30:05');
  assert.equal(f.formatLocalShort(ms, ms + 86400e3), '2026-11-30 10:30:05');
  assert.equal(f.formatLocal(NaN), '—');
  assert.ok(Number.isNaN(f.parseTime('not a time')));
  assert.ok(Number.isNaN(f.parseTime(null)));
});

test('relative ages', () => {
  const now = 1_000_000_000;
  assert.equal(f.formatAge(now - 12_400, now), '12 s ago');
  assert.equal(f.formatAge(now, now), '0 s ago');
  assert.equal(f.formatAge(now + 500, now), '0 s ago', 'a little clock jitter is not "in the future"');
  assert.equal(f.formatAge(now - 5 * 60e3, now), '5 min ago');
  assert.equal(f.formatAge(now - 3 * 3600e3, now), '3 h ago');
  assert.equal(f.formatAge(now - 3 * 86400e3, now), '3 d ago');
  assert.equal(f.formatAge(now + 10 * 60e3, now), 'in 10 min');
  assert.equal(f.formatAge(NaN, now), '');
});

test('durations and skews', () => {
  assert.equal(f.formatDuration(420), '420 ms');
  assert.equal(f.formatDuration(1800), '1.8 s');
  assert.equal(f.formatDuration(400000), '6 min 40 s');
  assert.equal(f.formatDuration(null), '—');
  assert.equal(f.formatSkew(12), '+12 ms');
  assert.equal(f.formatSkew(-3200), '-3.2 s');
  assert.equal(f.skewSeverity(12), 'ok');
  assert.equal(f.skewSeverity(-2500), 'warn');
  assert.equal(f.skewSeverity(300001), 'bad');
});

test('colour labels never rely on colour alone', () => {
  assert.equal(f.colourLabel('red'), '红 Red');
  assert.equal(f.colourLabel('blue'), '蓝 Blue');
  assert.equal(f.colourLabel(null), '无 None');
  assert.equal(f.colourLabel('__proto__'), '无 None');
  assert.equal(f.labelOf(f.HAZARD_STATUS_LABEL, 'toString'), 'toString');
  assert.equal(f.labelOf(f.HAZARD_STATUS_LABEL, null), '—');
});

test('alarms: active first, then level, then newest, then id', () => {
  const a = (id, level, time, active = true) => ({ id, level, time, active });
  const sorted = f.sortAlarms([
    a('y1', 'yellow', '2026-11-30T01:00:00Z'),
    a('r-old', 'red', '2026-11-30T00:00:00Z'),
    a('gone', 'red', '2026-11-30T03:00:00Z', false),
    a('y2', 'yellow', '2026-11-30T02:00:00Z'),
    a('r-new', 'red', '2026-11-30T02:00:00Z'),
    a('b', 'blue', null),
    a('a', 'blue', null),
  ]);
  assert.deepEqual(
    sorted.map((x) => x.id),
    ['r-new', 'r-old', 'y2', 'y1', 'a', 'b', 'gone'],
  );
  assert.deepEqual(f.alarmCounts({ blue: 2, yellow: 0, orange: 1, red: 0 }), [
    ['orange', 1],
    ['blue', 2],
  ]);
  assert.deepEqual(f.hazardTotals({ open: { general: 2, major: 1 }, overdue: { major: 1 } }), {
    open: 3,
    major: 1,
    overdue: 1,
    overdueMajor: 1,
  });
});

test('picture tree: flatten by expansion, fetch list, graft', () => {
  const site = { path: 'c/z/v/s', kind: 'site', children_count: 0 };
  const village = { path: 'c/z/v', kind: 'village', children_count: 1 };
  const zone = { path: 'c/z', kind: 'zone', children_count: 1, children: [village] };
  const zone2 = { path: 'c/z2', kind: 'zone', children_count: 0, children: [] };
  const root = { path: 'c', kind: 'county', children_count: 2, children: [zone, zone2] };
  const ex = new Set(['c']);
  assert.deepEqual(
    f.flattenTree(root, ex).map((r) => [r.node.path, r.depth]),
    [
      ['c', 0],
      ['c/z', 1],
      ['c/z2', 1],
    ],
  );
  ex.add('c/z');
  ex.add('c/z/v');
  assert.deepEqual(f.pathsToFetch(root, ex), ['c/z/v']);
  ex.delete('c/z');
  assert.deepEqual(f.pathsToFetch(root, ex), [], 'a hidden node is not fetched');
  ex.add('c/z');
  assert.equal(f.graftSubtree(root, { ...village, children: [site] }), true);
  assert.equal(f.graftSubtree(root, { path: 'c/nope', children: [] }), false);
  assert.deepEqual(
    f.flattenTree(root, ex).map((r) => r.node.path),
    ['c', 'c/z', 'c/z/v', 'c/z/v/s', 'c/z2'],
  );
  assert.equal(f.findNode(root, 'c/z/v/s'), site);
  assert.equal(f.findNode(root, 'c/zz'), null);
  assert.deepEqual(
    f.nodesOfKind(root, 'zone').map((n) => n.path),
    ['c/z', 'c/z2'],
  );
  assert.equal(f.nameIndex({ path: 'c', name: '县', children: [] }).get('c'), '县');
});

test('grid paths and path lists', () => {
  assert.equal(f.isGridPath('yueyang/rongjiawan'), true);
  assert.equal(f.isGridPath('Yueyang'), false);
  assert.equal(f.isGridPath('a//b'), false);
  assert.equal(f.isGridPath('a/'), false);
  assert.deepEqual(f.parsePathList('a/b, c/d，x y\n<bad>'), {
    paths: ['a/b', 'c/d', 'x', 'y'],
    bad: ['<bad>'],
  });
});

test('local datetime input to RFC 3339', () => {
  assert.equal(f.localInputToRfc3339('2026-12-31T17:00'), '2026-12-31T09:00:00.000Z');
  assert.equal(f.localInputToRfc3339(''), null);
  assert.throws(() => f.localInputToRfc3339('tomorrow'), /bad local time/);
});

test('hazard event bodies carry only their op fields', () => {
  assert.deepEqual(
    f.buildEventBody('assign', {
      unit: ' 华鑫 ',
      person: '张三',
      deadline: '2026-12-31T17:00',
      evidence: 'x',
      note: '',
    }),
    { body: { op: 'assign', unit: '华鑫', person: '张三', deadline: '2026-12-31T09:00:00.000Z' } },
  );
  assert.deepEqual(f.buildEventBody('verify', { ok: 'false', note: '未整改到位' }), {
    body: { op: 'verify', ok: false, note: '未整改到位' },
  });
  assert.deepEqual(f.buildEventBody('verify', { ok: 'true' }).body, { op: 'verify', ok: true });
  assert.match(f.buildEventBody('assign', { unit: 'u' }).errors.join(), /person.*required.*deadline/s);
  assert.match(f.buildEventBody('notify', { audience: 'safety-bureau' }).errors.join(), /text/);
  assert.match(f.buildEventBody('report', {}).errors.join(), /unknown op/);
  assert.match(
    f.buildEventBody('assign', { unit: 'u', person: 'p', deadline: 'x' }).errors.join(),
    /bad local time/,
  );
});

test('hazard report bodies', () => {
  const ok = f.buildReportBody({
    site: 'a/b/c/d',
    sector: 'fireworks',
    level: 'major',
    title: ' t ',
    source: 'public-report',
    description: '',
  });
  assert.deepEqual(ok, {
    body: { site: 'a/b/c/d', sector: 'fireworks', level: 'major', title: 't', source: 'public-report' },
  });
  const bad = f.buildReportBody({
    site: 'A B',
    sector: '',
    level: 'general',
    title: '',
    source: 'inspection',
  });
  assert.equal(bad.errors.length, 4);
});

test('alert bodies: required fields, areas, expires', () => {
  const r = f.buildAlertBody({
    status: 'Exercise',
    event: ' leak ',
    areas: ['yueyang/rongjiawan'],
    extraAreas: 'yueyang/xinqiang yueyang/rongjiawan',
    urgency: 'Immediate',
    headline: '',
    expires: '2026-12-01T08:00',
  });
  assert.deepEqual(r.body, {
    status: 'Exercise',
    event: 'leak',
    area: ['yueyang/rongjiawan', 'yueyang/xinqiang'],
    urgency: 'Immediate',
    expires: '2026-12-01T00:00:00.000Z',
  });
  const bad = f.buildAlertBody({ status: 'Real', event: '', areas: [], extraAreas: 'BAD' });
  assert.equal(bad.errors.length, 4);
});

test('error messages name what to do', () => {
  assert.match(f.errorMessage({ status: 403, detail: 'needs role operator' }), /needs operator role/);
  assert.match(f.errorMessage({ status: 0 }), /unreachable/);
  assert.match(
    f.errorMessage({ status: 409, detail: 'start needs status assigned' }),
    /start needs status assigned/,
  );
  assert.match(f.errorMessage({ status: 503, detail: 'store' }), /center error 503/);
  assert.equal(f.unreachedText('e1'), 'e1');
  assert.equal(f.unreachedText({ edge: 'e1', device: 's1', reason: 'timeout' }), 'e1 / s1 — timeout');
  assert.equal(
    f.unreachedText({ device: 's1', edge: 'e1', attempts: 4, detail: '4.04 not found', time: 'x' }),
    'e1 / s1 — 4.04 not found (4 次尝试 attempts)',
  );
  assert.equal(f.alertActive({ cancelled: true }, 0), false);
  assert.equal(f.alertActive({ expires: '2026-01-01T00:00:00Z' }, Date.parse('2026-02-01T00:00:00Z')), false);
  assert.equal(f.alertActive({}, 0), true);
});

/* --------------------------------------------------------------- api.js */

function fakeFetch(handler) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    const r = await handler(url, init);
    return {
      status: r.status,
      statusText: 'x',
      headers: { get: () => null },
      text: async () => r.body ?? '',
    };
  };
  fn.calls = calls;
  return fn;
}

test('api: bearer token, JSON body, 2xx data', async () => {
  const fetch = fakeFetch(() => ({ status: 201, body: '{"id":"h1"}' }));
  const api = createApi({ fetch });
  api.setToken('tok-0123456789abcdef');
  assert.deepEqual(await api.post('/api/v1/hazards', { a: 1 }), { id: 'h1' });
  const { init } = fetch.calls[0];
  assert.equal(init.method, 'POST');
  assert.equal(init.headers.Authorization, 'Bearer tok-0123456789abcdef');
  assert.equal(init.headers['Content-Type'], 'application/json');
  assert.equal(init.body, '{"a":1}');
  await api.get('/x');
  assert.equal(fetch.calls[1].init.body, undefined);
  assert.equal(fetch.calls[1].init.headers['Content-Type'], undefined);
});

test('api: errors carry status, error and detail; 401 calls back', async () => {
  let told = null;
  const api = createApi({
    fetch: fakeFetch((url) =>
      url === '/401'
        ? { status: 401, body: '{"error":"unauthorized","detail":"unknown token"}' }
        : url === '/400'
          ? {
              status: 400,
              body: '{"error":"invalid registry","detail":"2 errors","errors":["$.zones[0]: x","$.v: y"]}',
            }
          : { status: 502, body: '<html>proxy</html>' },
    ),
    onUnauthorized: (e) => (told = e),
  });
  await assert.rejects(
    api.get('/401'),
    (e) => e instanceof ApiError && e.status === 401 && e.detail === 'unknown token',
  );
  assert.equal(told.status, 401);
  await assert.rejects(api.get('/400'), (e) => e.errors.length === 2 && !e.unreachable);
  await assert.rejects(
    api.get('/502'),
    (e) => e.status === 502 && e.unreachable && e.detail === '<html>proxy</html>',
  );
});

test('api: a network failure or a hang is status 0', async () => {
  const api = createApi({
    fetch: async () => {
      throw new TypeError('Failed to fetch');
    },
  });
  await assert.rejects(
    api.get('/x'),
    (e) => e.status === 0 && e.unreachable && /Failed to fetch/.test(e.detail),
  );
  const hang = createApi({
    timeoutMs: 20,
    fetch: (url, init) =>
      new Promise((_, reject) =>
        init.signal.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        ),
      ),
  });
  await assert.rejects(hang.get('/x'), (e) => e.status === 0 && /no answer/.test(e.detail));
});

test('api: token storage and clearing', () => {
  const m = new Map();
  const storage = {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => m.set(k, v),
    removeItem: (k) => m.delete(k),
  };
  const api = createApi({ fetch: async () => ({}), storage });
  assert.equal(api.token, null);
  api.setToken('t-0123456789abcdef');
  assert.equal(m.get('anwang.token'), 't-0123456789abcdef');
  api.clearToken();
  assert.equal(api.token, null);
  const broken = createApi({
    fetch: async () => ({}),
    storage: {
      getItem() {
        throw new Error('denied');
      },
      setItem() {
        throw new Error('denied');
      },
      removeItem() {},
    },
  });
  broken.setToken('mem-0123456789abcdef');
  assert.equal(broken.token, 'mem-0123456789abcdef');
});

test('api: query strings and path segments are escaped', () => {
  assert.equal(query({ root: 'a/b', depth: 3, level: '', x: null, y: false }), '?root=a%2Fb&depth=3');
  assert.equal(query({}), '');
  assert.equal(seg('a/../b?c'), 'a%2F..%2Fb%3Fc');
});
