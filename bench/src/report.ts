/** The results table: medians per server, the ratio berth/distribution, and the issue's targets. */
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

interface Spec {
  key: string;
  figure: string;
  unit: string;
  /** ratio = berth / distribution; the target is met when ratio >= min or <= max. */
  min?: number;
  max?: number;
  target?: string;
}

const SPECS: Spec[] = [
  { key: 'push1k', figure: 'push 1 KiB, c=16', unit: 'ops/s', min: 4 },
  { key: 'push1m', figure: 'push 1 MiB, c=16', unit: 'ops/s', min: 2 },
  { key: 'push256m', figure: 'push 256 MiB, one stream', unit: 'MiB/s', min: 1.5 },
  { key: 'push1g', figure: 'push 1 GiB, one stream', unit: 'MiB/s', min: 1.5 },
  { key: 'chunked256m', figure: 'chunked push 256 MiB (8 MiB PATCHes)', unit: 'MiB/s', min: 1.5 },
  { key: 'pull1', figure: 'pull 256 MiB, curl, 1 stream', unit: 'MiB/s', min: 1 },
  { key: 'pull4', figure: 'pull 256 MiB, curl, 4 parallel', unit: 'MiB/s', min: 1 },
  { key: 'manifestPut', figure: 'manifest PUT, c=16', unit: 'ops/s', min: 2 },
  { key: 'getRps', figure: 'manifest GET by tag, c=64 (wrk)', unit: 'req/s', min: 4 },
  { key: 'getP50', figure: 'manifest GET p50', unit: 'ms' },
  { key: 'getP99', figure: 'manifest GET p99', unit: 'ms', max: 0.25 },
  { key: 'headRps', figure: 'manifest HEAD by tag, c=64 (ab)', unit: 'req/s', min: 4 },
  { key: 'headP50', figure: 'manifest HEAD p50', unit: 'ms' },
  { key: 'headP99', figure: 'manifest HEAD p99', unit: 'ms', max: 0.25 },
  { key: 'tagsFull', figure: 'tags/list, 10,000 tags, full', unit: 'ms' },
  { key: 'tagsPage', figure: 'tags/list, 10,000 tags, n=100 page', unit: 'ms' },
  { key: 'catalogPage', figure: '_catalog n=100 page, 10,000 repos', unit: 'ms', max: 0.05, target: '≥ 20× faster' },
  { key: 'catalogPageLarge', figure: '_catalog n=100 page, 100,000 repos', unit: 'ms', target: 'same cost as at 10,000' },
  { key: 'peakRss', figure: 'peak RSS over the run', unit: 'MiB', max: 1 },
  { key: 'cpuSeconds', figure: 'CPU seconds over the run', unit: 's' },
];

const fmt = (v: number | undefined, digits = 1) => (v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(digits));

export function render(samples: Map<string, Map<string, number[]>>): Row[] {
  const get = (server: string, key: string) => {
    const v = samples.get(server)?.get(key);
    return v && v.length ? median(v) : undefined;
  };
  const rows: Row[] = [];
  for (const s of SPECS) {
    const b = get('berth', s.key);
    const d = get('distribution', s.key);
    if (b === undefined && d === undefined) continue;
    const ratio = b !== undefined && d !== undefined && d !== 0 ? b / d : undefined;
    let target = s.target ?? '';
    let met: boolean | undefined;
    if (s.min !== undefined) {
      target ||= `≥ ${s.min}×`;
      met = ratio !== undefined && ratio >= s.min;
    } else if (s.max !== undefined) {
      target ||= `≤ ${s.max}×`;
      met = ratio !== undefined && ratio <= s.max;
    }
    if (s.key === 'catalogPageLarge') {
      const small = get('berth', 'catalogPage');
      met = b !== undefined && small !== undefined && b <= small * 1.5;
    }
    rows.push({ figure: s.figure, unit: s.unit, berth: b, distribution: d, ratio, target, met });
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
