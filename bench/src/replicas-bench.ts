/**
 * `npm run bench -- --storage s3 --replicas 1,3`: berth as N replicas over one Ceph RGW and one
 * PostgreSQL (a bucket and a schema per N), behind the round-robin proxy (balancer.ts, a process of
 * its own), for each N of the list in alternation: push 1 MiB c=16, pulls, manifest PUT c=16 and
 * manifest GET/HEAD c=64, all through the proxy, every replica with its access log on.
 *
 * Replicas keep their manifest caches correct by checking each read against the repository's change
 * stamp in PostgreSQL (src/registry/stamps.ts). Two figures read that cost: the cache's hit rate and
 * the stamp checks per query, summed from every replica's /metrics after the GET/HEAD phase; and
 * one client's manifest GET by tag (c=1, straight to a replica, no proxy) against the same GET on
 * a berth on the default engines, where no check is needed.
 *
 * This machine has 2 cores: the proxy, the replicas, Ceph and PostgreSQL share them, so 3 replicas
 * cannot be 3 times 1. What the run can show is that nothing serialises on one replica or on a lock.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { latency, median, pool } from './load.js';
import * as P from './phases.js';
import { Peaks, startBalancerProcess, startBerth, usage, type Server } from './servers.js';
import { collector, dataFile, runRounds, type Phase } from './rounds.js';
import { S3_KEYS, startEngines } from './engines.js';

const MiB = 1024 * 1024;

interface Group {
  n: number;
  replicas: Server[];
  balancer: Server;
  /** The group as the phases see it: the proxy's address, replica 0's process for the RSS peaks. */
  server: Server;
}

const SPECS: { key: string; figure: string; unit: string }[] = [
  { key: 'push1m', figure: 'push 1 MiB, c=16', unit: 'ops/s' },
  { key: 'chunked256m', figure: 'chunked push 256 MiB (8 MiB PATCHes)', unit: 'MiB/s' },
  { key: 'chunkedFinalPut', figure: '  its final PUT (the chunks read back and hashed)', unit: 'ms' },
  { key: 'pull1', figure: 'pull 256 MiB, curl, 1 stream', unit: 'MiB/s' },
  { key: 'pull4', figure: 'pull 256 MiB, curl, 4 parallel', unit: 'MiB/s' },
  { key: 'manifestPut', figure: 'manifest PUT, c=16', unit: 'ops/s' },
  { key: 'getRps', figure: 'manifest GET by tag, c=64 (wrk)', unit: 'req/s' },
  { key: 'getP99', figure: 'manifest GET p99', unit: 'ms' },
  { key: 'headRps', figure: 'manifest HEAD by tag, c=64 (ab)', unit: 'req/s' },
  { key: 'headP99', figure: 'manifest HEAD p99', unit: 'ms' },
  { key: 'hitRate', figure: 'manifest cache hit rate, GET/HEAD phase', unit: '%' },
  { key: 'checksPerQuery', figure: 'stamp checks per PostgreSQL query', unit: '' },
  { key: 'get1', figure: 'manifest GET by tag, c=1, to one replica (p50)', unit: 'ms' },
  { key: 'peakRss', figure: 'peak RSS of replica 0 over the run', unit: 'MiB' },
  { key: 'cpuReplicas', figure: 'CPU seconds, all replicas', unit: 's' },
  { key: 'cpuProxy', figure: 'CPU seconds, the proxy', unit: 's' },
];

/** Prometheus counters summed over the replicas. */
async function counters(replicas: Server[], names: string[]): Promise<Map<string, number>> {
  const sums = new Map(names.map((n) => [n, 0]));
  for (const r of replicas) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    for (const n of names) sums.set(n, sums.get(n)! + Number(new RegExp(`^${n} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN));
  }
  return sums;
}

export async function replicasBench(counts: number[], o: { quick: boolean; json?: string; keep: boolean; rounds?: number }): Promise<void> {
  const sizes = { ...(o.quick ? P.QUICK : P.FULL) };
  if (o.rounds) sizes.rounds = o.rounds;
  const tmp = await mkdtemp(join(tmpdir(), 'berth-bench-replicas-'));
  const started = Date.now();
  console.log(`bench --storage s3 --replicas ${counts.join(',')}: ${o.quick ? 'quick' : 'full'} run in ${tmp}; ${cpus().length} cores; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const engines = await startEngines(tmp, counts.map((n) => `berth-r${n}`));
  const stops: (() => Promise<void>)[] = [];
  const { samples, add } = collector();
  const peaks = new Peaks();
  try {
    const data = await dataFile(tmp, sizes.bigSize);
    const groups: Group[] = [];
    for (const n of counts) {
      const config = `${JSON.stringify({
        storage: { driver: 's3', s3: { endpoint: engines.s3Endpoint, bucket: `berth-r${n}`, ...S3_KEYS } },
        metadata: { driver: 'postgres', postgres: { url: engines.postgresUrl, schema: `r${n}` } },
      })}\n`;
      const replicas: Server[] = [];
      // one after another: the first migrates its schema, the others find it done
      for (let i = 0; i < n; i++) {
        await mkdir(join(tmp, `r${n}`, `${i}`), { recursive: true });
        const s = await startBerth(join(tmp, `r${n}`, `${i}`, 'root'), { name: `berth-r${n}-${i}`, config });
        replicas.push(s);
        stops.push(() => s.stop());
      }
      const balancer = await startBalancerProcess(`proxy-r${n}`, replicas.map((r) => Number(r.host.split(':')[1])), tmp);
      stops.push(() => balancer.stop());
      groups.push({ n, replicas, balancer, server: { ...balancer, name: `berth×${n}`, pid: replicas[0]!.pid } });
    }
    const bodies = await P.makePushBodies(data, { ...sizes, hugeSize: 0 }, tmp);
    const envs: P.Env[] = [];
    const pulls = new Map<string, string>();
    for (const g of groups) {
      const p = pool(g.server.url, 16);
      stops.push(() => p.close());
      const e: P.Env = { server: g.server, pool: p, sizes, dataFile: data, tmp, bodies, ...(await P.setupBase(p)) };
      pulls.set(g.server.name, await P.setupPull(e));
      envs.push(e);
    }
    // the reference for one client's GET: the default engines, where the cache needs no check
    await mkdir(join(tmp, 'default'), { recursive: true });
    const plain = await startBerth(join(tmp, 'default', 'root'), { name: 'berth-default' });
    stops.push(() => plain.stop());
    const plainPool = pool(plain.url, 1);
    stops.push(() => plainPool.close());
    await P.setupBase(plainPool);

    const get1 = async (url: string) => {
      const p = pool(url, 1);
      try {
        await latency(p, '/v2/bench/base/manifests/latest', 5); // warm: the cache, the connection
        return await latency(p, '/v2/bench/base/manifests/latest', sizes.latencySamples * 10);
      } finally {
        await p.close();
      }
    };
    const phases: [string, Phase][] = [
      ['push 1 MiB c=16', (e, r) => P.pushMiB(e, r)],
      ['chunked push', (e, r) => P.pushChunked(e, r)],
      ['pull', (e) => P.pull(e, pulls.get(e.server.name)!)],
      ['manifest PUT c=16', (e, r) => P.manifestPut(e, r)],
      ['manifest GET/HEAD c=64', (e) => P.manifestGetHead(e)],
      ['GET c=1', async (e) => ({ get1: await get1(groups.find((g) => g.server === e.server)!.replicas[0]!.url) })],
    ];
    for (const e of envs) await peaks.take(e.server.pid);
    for (const [label, phase] of phases) {
      if (label === 'manifest GET/HEAD c=64') {
        // the cache's figures of this phase alone
        const names = ['berth_manifest_cache_hits_total', 'berth_manifest_cache_misses_total', 'berth_manifest_stamp_checks_total', 'berth_manifest_stamp_queries_total'];
        const before = await Promise.all(groups.map((g) => counters(g.replicas, names)));
        await runRounds(label, phase, envs, sizes.rounds, add, peaks);
        for (const [i, g] of groups.entries()) {
          const after = await counters(g.replicas, names);
          const d = (n: string) => after.get(n)! - before[i]!.get(n)!;
          const hits = d(names[0]!);
          const f = { hitRate: (100 * hits) / (hits + d(names[1]!)), checksPerQuery: d(names[2]!) / d(names[3]!) };
          add(g.server.name, f);
          console.log(`${g.server.name}: cache ${f.hitRate.toFixed(2)}% hits, ${f.checksPerQuery.toFixed(1)} stamp checks per query (${d(names[2]!)} checks, ${d(names[3]!)} queries)`);
        }
      } else await runRounds(label, phase, envs, sizes.rounds, add, peaks);
    }
    const plainGet = await get1(plain.url);
    console.log(`berth on the default engines, manifest GET c=1: ${plainGet.toFixed(3)} ms (p50)`);
    for (const g of groups) {
      let cpu = 0;
      for (const r of g.replicas) cpu += (await usage(r.pid)).cpuSeconds;
      add(g.server.name, { peakRss: (await peaks.max(g.replicas[0]!.pid)) / MiB, cpuReplicas: cpu, cpuProxy: (await usage(g.balancer.pid)).cpuSeconds });
    }
    const get = (name: string, key: string) => {
      const v = samples.get(name)?.get(key);
      return v?.length ? median(v) : undefined;
    };
    const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
    const names = groups.map((g) => g.server.name);
    const last = names[names.length - 1]!;
    const lines = [
      `| figure | unit | ${names.map((n) => n.replace('berth×', '') + (n === 'berth×1' ? ' replica' : ' replicas')).join(' | ')} | ${last.replace('berth×', '')}/1 |`,
      `|---|---|${names.map(() => '---:').join('|')}|---:|`,
      ...SPECS.map((s) => {
        const vs = names.map((n) => get(n, s.key));
        const ratio = vs[0] && vs[vs.length - 1] !== undefined ? vs[vs.length - 1]! / vs[0] : undefined;
        return `| ${s.figure} | ${s.unit} | ${vs.map(fmt).join(' | ')} | ${ratio === undefined ? '—' : `${ratio.toFixed(2)}×`} |`;
      }),
      `| manifest GET by tag, c=1, default engines (p50) | ms | ${fmt(plainGet)} | | |`,
    ];
    console.log(`\n${lines.join('\n')}`);
    console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; wall ${((Date.now() - started) / 1000).toFixed(0)} s; ${sizes.rounds} rounds, medians\n`);
    if (o.json) {
      const all = Object.fromEntries([...samples].map(([k, v]) => [k, Object.fromEntries(v)]));
      await writeFile(o.json, JSON.stringify({ date: new Date().toISOString(), storage: 's3', replicas: counts, quick: o.quick, plainGet, samples: all }, null, 2));
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await engines.stop();
    if (!o.keep) await rm(tmp, { recursive: true, force: true });
  }
}
