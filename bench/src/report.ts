/** The results table: medians per server, the ratio berth/distribution, and the targets. */
import { median } from './load.js';

export interface Row {
  figure: string;
  unit: string;
  berth?: number;
  distribution?: number;
  ratio?: number;
  target: string;
  met?: boolean;
}

type Get = (server: string, key: string) => number | undefined;

export interface Spec {
  key: string;
  figure: string;
  unit: string;
  /** Whose figure fills the berth column (default berth): the extra servers of the GET/HEAD phase. */
  of?: string;
  /** ratio = berth / distribution; met when ratio >= min (rates) or <= max (times, memory). */
  min?: number;
  max?: number;
  /** Any other target: its text and whether the run met it. */
  check?: (get: Get) => [string, boolean | undefined];
}

const atMost = (key: string, limit: number, unit: string) => (get: Get): [string, boolean | undefined] => {
  const v = get('berth', key);
  return [`≤ ${limit} ${unit}`, v === undefined ? undefined : v <= limit];
};

/** berth's `key` over `other`'s (another server's same figure). */
const share = (key: string, other: string, min: number) => (get: Get): [string, boolean | undefined] => {
  const b = get('berth', key);
  const o = get(other, key);
  return [`berth ≥ ${min * 100}% of it`, b === undefined || o === undefined ? undefined : b >= min * o];
};

const aboveEmpty = (key: string) => (get: Get): [string, boolean | undefined] => {
  const v = get('berth', key);
  const e = get('berth', 'loadRssEmpty');
  return ['≤ empty + 10 MiB', v === undefined || e === undefined ? undefined : v - e <= 10];
};

const SPECS: Spec[] = [
  { key: 'idleRss1s', figure: 'RSS 1 s after start', unit: 'MiB' },
  { key: 'idleRss', figure: 'RSS idle, 10 s after start', unit: 'MiB', check: atMost('idleRss', 60, 'MiB') },
  { key: 'push1k', figure: 'push 1 KiB, c=16', unit: 'ops/s', min: 4 },
  { key: 'push1m', figure: 'push 1 MiB, c=16', unit: 'ops/s', min: 2 },
  { key: 'push256m', figure: 'push 256 MiB, one stream', unit: 'MiB/s', min: 1.5 },
  { key: 'push1g', figure: 'push 1 GiB, one stream', unit: 'MiB/s', min: 1.5 },
  { key: 'chunked256m', figure: 'chunked push 256 MiB (8 MiB PATCHes)', unit: 'MiB/s', min: 1.5 },
  { key: 'diskWrite', of: 'disk', figure: '  the disk alone: as many bytes written, then fsync', unit: 'MiB/s' },
  { key: 'pull1', figure: 'pull 256 MiB, curl, 1 stream', unit: 'MiB/s', min: 1 },
  { key: 'pull4', figure: 'pull 256 MiB, curl, 4 parallel', unit: 'MiB/s', min: 1 },
  { key: 'stormWall', figure: 'node-start storm: wall time', unit: 's', max: 0.8 },
  { key: 'stormCpu', figure: 'node-start storm: server CPU', unit: 's', max: 0.6 },
  { key: 'stormRss', figure: 'node-start storm: peak RSS', unit: 'MiB', check: atMost('stormRss', 96, 'MiB') },
  { key: 'manifestPut', figure: 'manifest PUT, c=16', unit: 'ops/s', min: 2 },
  { key: 'getRps', figure: 'manifest GET by tag, c=64 (wrk)', unit: 'req/s', min: 10 },
  { key: 'getRps', of: 'berth-quiet', figure: '  the same, berth with its log off', unit: 'req/s', check: share('getRps', 'berth-quiet', 0.85) },
  { key: 'getRps', of: 'node-trivial', figure: '  the same, trivial node:http server', unit: 'req/s', check: share('getRps', 'node-trivial', 0.5) },
  { key: 'getP50', figure: 'manifest GET p50', unit: 'ms' },
  { key: 'getP99', figure: 'manifest GET p99', unit: 'ms', check: atMost('getP99', 10, 'ms') },
  { key: 'headRps', figure: 'manifest HEAD by tag, c=64 (ab)', unit: 'req/s', min: 10 },
  { key: 'headRps', of: 'berth-quiet', figure: '  the same, berth with its log off', unit: 'req/s', check: share('headRps', 'berth-quiet', 0.85) },
  { key: 'headRps', of: 'node-trivial', figure: '  the same, trivial node:http server', unit: 'req/s', check: share('headRps', 'node-trivial', 0.5) },
  { key: 'headP50', figure: 'manifest HEAD p50', unit: 'ms' },
  { key: 'headP99', figure: 'manifest HEAD p99', unit: 'ms', check: atMost('headP99', 10, 'ms') },
  { key: 'tagsFull', figure: 'tags/list, 10,000 tags, full', unit: 'ms', max: 1 },
  { key: 'tagsPage', figure: 'tags/list, 10,000 tags, n=100 page', unit: 'ms' },
  { key: 'catalogPage', figure: '_catalog n=100 page, 10,000 repos', unit: 'ms',
    check: (get) => {
      const r = ratio(get, 'catalogPage');
      return ['≥ 20× faster', r === undefined ? undefined : r <= 0.05];
    },
  },
  {
    key: 'catalogPageLarge', figure: '_catalog n=100 page, 100,000 repos', unit: 'ms',
    check: (get) => {
      const b = get('berth', 'catalogPageLarge');
      const small = get('berth', 'catalogPage');
      return ['same cost as at 10,000', b === undefined || small === undefined ? undefined : b <= small * 1.5];
    },
  },
  { key: 'loadRssEmpty', figure: 'RSS, store-load berth, empty store', unit: 'MiB' },
  { key: 'loadRssLoaded', figure: '  after loading 10,000 repos × 10 tags', unit: 'MiB', check: aboveEmpty('loadRssLoaded') },
  { key: 'loadRssRestarted', figure: '  restarted on that store', unit: 'MiB', check: aboveEmpty('loadRssRestarted') },
  { key: 'loadRssServed', figure: '  then after listings and a scrape', unit: 'MiB', check: aboveEmpty('loadRssServed') },
  { key: 'loadRestartMs', figure: '  start-up on that store', unit: 'ms' },
  { key: 'scaleStartMs', figure: 'store scale (1,000,000 blobs, 100,000 repos): start-up', unit: 'ms', check: atMost('scaleStartMs', 2000, 'ms') },
  { key: 'scaleRss', figure: '  RSS idle, 10 s after start', unit: 'MiB' },
  { key: 'scaleCatalogPage', figure: '  _catalog n=100 page', unit: 'ms' },
  { key: 'scaleTagsPage', figure: '  tags/list n=100 page', unit: 'ms' },
  { key: 'scaleGcSeconds', figure: '  one GC pass (100,000 blobs to delete)', unit: 's' },
  { key: 'scaleGcRssBefore', figure: '  RSS before the GC pass', unit: 'MiB' },
  { key: 'scaleGcPeak', figure: '  peak RSS during it (with the index pages it maps)', unit: 'MiB' },
  { key: 'scaleGcAnonBefore', figure: '  anonymous RSS before the GC pass', unit: 'MiB' },
  { key: 'scaleGcAnonPeak', figure: '  peak anonymous RSS during it', unit: 'MiB' },
  {
    key: 'scaleGcTenthGrowth', figure: '  anonymous growth of the same pass on a tenth of the store', unit: 'MiB',
    // bounded = not holding the listing: ten times the store may not cost GC more than a few MiB more
    check: (get) => {
      const tenth = get('berth', 'scaleGcTenthGrowth');
      const peak = get('berth', 'scaleGcAnonPeak');
      const before = get('berth', 'scaleGcAnonBefore');
      const growth = peak === undefined || before === undefined ? undefined : peak - before;
      return [`full store's growth (${growth === undefined ? '?' : growth.toFixed(1)} MiB) ≤ this + 5 MiB (bounded)`, tenth === undefined || growth === undefined ? undefined : growth <= tenth + 5];
    },
  },
  { key: 'peakRss', figure: 'peak RSS over the run', unit: 'MiB', check: atMost('peakRss', 96, 'MiB') },
  { key: 'cpuSeconds', figure: 'CPU seconds over the run', unit: 's' },
];

/**
 * `--storage s3`: berth on Ceph RGW + PostgreSQL against distribution's own s3 driver on the same RGW.
 * The targets are the issue's for the object store: throughput at least distribution's, manifest
 * GET/HEAD at least 4x, a catalog page that costs the same at 100,000 repositories as at 10,000.
 */
export const S3_SPECS: Spec[] = [
  { key: 'idleRss', figure: 'RSS idle, 10 s after start', unit: 'MiB' },
  { key: 'push1m', figure: 'push 1 MiB, c=16', unit: 'ops/s', min: 1 },
  { key: 'push256m', figure: 'push 256 MiB, one stream', unit: 'MiB/s', min: 1 },
  { key: 'push1g', figure: 'push 1 GiB, one stream', unit: 'MiB/s', min: 1 },
  { key: 'chunked256m', figure: 'chunked push 256 MiB (8 MiB PATCHes)', unit: 'MiB/s', min: 1 },
  { key: 'pull1', figure: 'pull 256 MiB, curl, 1 stream', unit: 'MiB/s', min: 1 },
  { key: 'pull4', figure: 'pull 256 MiB, curl, 4 parallel', unit: 'MiB/s', min: 1 },
  { key: 'manifestPut', figure: 'manifest PUT, c=16', unit: 'ops/s', min: 1 },
  { key: 'getRps', figure: 'manifest GET by tag, c=64 (wrk)', unit: 'req/s', min: 4 },
  { key: 'getP99', figure: 'manifest GET p99', unit: 'ms' },
  { key: 'headRps', figure: 'manifest HEAD by tag, c=64 (ab)', unit: 'req/s', min: 4 },
  { key: 'headP99', figure: 'manifest HEAD p99', unit: 'ms' },
  { key: 'tagsFull', figure: 'tags/list, 10,000 tags, full', unit: 'ms' },
  { key: 'catalogPage', figure: '_catalog n=100 page, 10,000 repos', unit: 'ms' },
  ...SPECS.filter((s) => s.key === 'catalogPageLarge'),
  { key: 'peakRss', figure: 'peak RSS over the run', unit: 'MiB' },
  { key: 'cpuSeconds', figure: 'CPU seconds over the run', unit: 's' },
];

function ratio(get: Get, key: string): number | undefined {
  const b = get('berth', key);
  const d = get('distribution', key);
  return b !== undefined && d !== undefined && d !== 0 ? b / d : undefined;
}

const fmt = (v: number | undefined, digits = 1) => (v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(digits));

export function render(samples: Map<string, Map<string, number[]>>, specs: Spec[] = SPECS): Row[] {
  const get: Get = (server, key) => {
    const v = samples.get(server)?.get(key);
    return v && v.length ? median(v) : undefined;
  };
  const rows: Row[] = [];
  for (const s of specs) {
    const b = get(s.of ?? 'berth', s.key);
    const d = s.of ? undefined : get('distribution', s.key);
    if (b === undefined && d === undefined) continue;
    const r = s.of ? undefined : ratio(get, s.key);
    let target = '';
    let met: boolean | undefined;
    if (s.check) [target, met] = s.check(get);
    else if (s.min !== undefined) [target, met] = [`≥ ${s.min}×`, r !== undefined && r >= s.min];
    else if (s.max !== undefined) [target, met] = [`≤ ${s.max}×`, r !== undefined && r <= s.max];
    rows.push({ figure: s.figure, unit: s.unit, berth: b, distribution: d, ratio: r, target, met });
  }
  const lines = [
    '| figure | unit | berth | distribution | berth/distribution | target | met |',
    '|---|---|---:|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${r.unit} | ${fmt(r.berth, 2)} | ${fmt(r.distribution, 2)} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`,
    ),
  ];
  console.log(lines.join('\n'));
  return rows;
}
