// dom.js: the few DOM helpers the views share. Text from the API only ever
// reaches the page through text nodes and textContent (never innerHTML),
// so a site named `<img onerror=…>` shows as those characters. Lists are
// updated in place by key, so a refresh keeps focus, expansion and scroll.

/**
 * Makes an element. @p props: class, text, attrs {name: value}, on
 * {event: fn}, dataset {k: v}, and plain properties (type, value, disabled,
 * hidden, checked, id, htmlFor, ...). Children: nodes, strings (as text),
 * numbers, arrays; null/undefined/false are skipped.
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'attrs') for (const [a, av] of Object.entries(v)) node.setAttribute(a, String(av));
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
    else if (k === 'innerHTML') throw new Error('el(): innerHTML is not allowed');
    else node[k] = v;
  }
  append(node, children);
  return node;
}

/** Appends @p children (see el()) to @p node. */
export function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Sets @p node's text when it differs (no needless DOM churn). */
export function setText(node, text) {
  const s = text === null || text === undefined ? '' : String(text);
  if (node.textContent !== s) node.textContent = s;
  return node;
}

/** Replaces every child of @p node with @p children. */
export function replaceChildren(node, ...children) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return append(node, children);
}

/** Sets or removes attribute @p name (null/false removes). */
export function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, String(value));
  }
  return node;
}

/**
 * Makes @p container's children match @p items in order, one node per key:
 * an existing node is reused (update() called), a new key gets create(item)
 * then update(), a vanished key's node is removed. Nodes already in place
 * are not moved, so focus inside them survives.
 */
export function syncList(container, items, keyOf, create, update) {
  const old = container.awKeyed ?? new Map();
  const next = new Map();
  let i = 0;
  for (const item of items) {
    const k = keyOf(item);
    if (next.has(k)) continue;
    let node = old.get(k);
    if (!node) node = create(item);
    update(node, item);
    next.set(k, node);
    const at = container.childNodes[i] ?? null;
    if (at !== node) container.insertBefore(node, at);
    i++;
  }
  for (const [k, node] of old) if (!next.has(k) && node.parentNode === container) container.removeChild(node);
  container.awKeyed = next;
  return next;
}
