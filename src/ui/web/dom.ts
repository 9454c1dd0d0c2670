/** Building the page: elements from data with textContent only (no HTML strings), and formats. */
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

export function when(ms: number | string | undefined | null): string {
  if (ms === undefined || ms === null || ms === 0 || ms === '') return '–';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** `sha256:0123456789ab` (the first 12 hex digits), the full digest in the title. */
export function digestCode(digest: string): HTMLElement {
  const short = digest.replace(/^(sha\d+:)([0-9a-f]{12}).*$/, '$1$2');
  return h('code', { title: digest, class: 'digest' }, short);
}

/** A hash route with query: `#/image?repository=a%2Fb&reference=v1`. */
export function link(path: string, params: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** A definition list from [term, value] pairs; pairs without a value are left out. */
export function facts(pairs: [string, Child][]): HTMLDListElement {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}

/** A table with a caption, header cells and rows; wide tables scroll inside their own box. */
export function table(caption: string, headers: string[], rows: Child[][], opts: { numeric?: number[] } = {}): HTMLElement {
  const num = new Set(opts.numeric ?? []);
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t, i) => h('th', { scope: 'col', class: num.has(i) ? 'num' : undefined }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: num.has(i) ? 'num' : undefined, 'data-label': headers[i] }, c))))),
    ),
  );
}
