// api.js: the dashboard's client of the center's JSON API (center/API.md).
// Keeps the bearer token (localStorage), sends it on every request, turns
// every failure into one ApiError (status 0 = the center is unreachable)
// and tells the page when the token is refused (401) so it can ask again.

export const TOKEN_KEY = 'anwang.token';

/** A failed request: status 0 when the center could not be reached. */
export class ApiError extends Error {
  constructor(status, error, detail, extra = {}) {
    super(`${status} ${error}${detail ? `: ${detail}` : ''}`);
    this.name = 'ApiError';
    this.status = status;
    this.error = error;
    this.detail = detail;
    this.errors = extra.errors ?? null;
  }

  /**
   * True when the center cannot be reached or is not serving at all (no
   * answer, or a gateway's 502/503/504), as opposed to one request failing.
   */
  get unreachable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

function s_parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Makes a client. @p opts: fetch (the global one by default), storage
 * (localStorage-like: getItem/setItem/removeItem), base URL prefix,
 * timeoutMs (default 8000), onUnauthorized(err) called on each 401.
 */
export function createApi(opts = {}) {
  const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const storage = opts.storage ?? null;
  const base = opts.base ?? '';
  const timeoutMs = opts.timeoutMs ?? 8000;
  let memToken = null;

  const api = {
    onUnauthorized: opts.onUnauthorized ?? null,

    get token() {
      try {
        return storage ? storage.getItem(TOKEN_KEY) : memToken;
      } catch {
        return memToken;
      }
    },

    setToken(t) {
      memToken = t;
      try {
        if (storage) storage.setItem(TOKEN_KEY, t);
      } catch {
        /* private mode: the token lives in memory only */
      }
    },

    clearToken() {
      memToken = null;
      try {
        if (storage) storage.removeItem(TOKEN_KEY);
      } catch {
        /* nothing stored */
      }
    },

    /**
     * Sends one request; resolves to {status, data, text, date} on 2xx,
     * rejects with an ApiError otherwise. @p body (an object) goes as JSON.
     */
    async request(method, path, body) {
      const headers = { Accept: 'application/json' };
      const tok = api.token;
      if (tok) headers.Authorization = `Bearer ${tok}`;
      const init = { method, headers, cache: 'no-store' };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      const ctl = typeof AbortController === 'function' ? new AbortController() : null;
      if (ctl) init.signal = ctl.signal;
      const timer = ctl ? setTimeout(() => ctl.abort(), timeoutMs) : null;
      let res;
      let text;
      try {
        res = await fetchFn(base + path, init);
        text = await res.text();
      } catch (e) {
        const why = e?.name === 'AbortError' ? `no answer in ${timeoutMs / 1000} s` : e?.message;
        throw new ApiError(0, 'unreachable', why || 'network error');
      } finally {
        if (timer) clearTimeout(timer);
      }
      const data = s_parse(text);
      if (res.status >= 200 && res.status < 300)
        return { status: res.status, data, text, date: res.headers?.get?.('Date') ?? null };
      const err = new ApiError(
        res.status,
        data?.error ?? res.statusText ?? 'error',
        data?.detail ?? (data ? '' : (text ?? '').slice(0, 200)),
        { errors: Array.isArray(data?.errors) ? data.errors : null },
      );
      if (res.status === 401 && api.onUnauthorized) api.onUnauthorized(err);
      throw err;
    },

    async get(path) {
      return (await api.request('GET', path)).data;
    },

    async post(path, body) {
      return (await api.request('POST', path, body ?? {})).data;
    },
  };
  return api;
}

/** A query string from @p params, leaving out null, undefined and "". */
export function query(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params ?? {}))
    if (v !== null && v !== undefined && v !== '' && v !== false)
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A path segment (an id) escaped for a URL path. */
export function seg(id) {
  return encodeURIComponent(String(id));
}
