/**
 * `npm run bench [-- --quick] [-- --json FILE]`: berth against Debian's docker-registry
 * (distribution 2.8.2) on this machine, the same workload in alternation (A B A B ...), both with
 * their default access logs on; medians and the ratio berth/distribution, each server's peak RSS per
 * phase and CPU seconds. The manifest GET/HEAD phase also runs against berth with its log off and a
 * trivial node:http server (the stack's physical limit); berth alone then gets a store load and the
 * store-scale phase. --quick is a smoke run (no timings are asserted anywhere). `--soak 30m` runs only
 * the soak (soak.ts); `--storage s3` the run on Ceph RGW + PostgreSQL (s3-bench.ts), and with
 * `--replicas 1,3` berth alone as that many replicas behind a round-robin proxy (replicas-bench.ts).
 */
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomFill } from 'node:crypto';
import { promisify } from 'node:util';
import { pool } from './load.js';
import { Peaks, idleRss, startBerth, startDistribution, startTrivialNode, usage, type Server } from './servers.js';
import * as P from './phases.js';
import { setupStorm, storm, stormLayers, type StormImage } from './storm.js';
import { render, type Row } from './report.js';
import { storeScale } from './store-scale.js';
import { parseDuration, soak } from './soak.js';
import { collector, dataFile, flushDisk, runRounds } from './rounds.js';
import { s3Bench } from './s3-bench.js';
import { replicasBench } from './replicas-bench.js';

const fill = promisify(randomFill);
const MiB = 1024 * 1024;

/**
 * What this disk writes and syncs per second right now (MiB/s): `size` bytes written, then fsync, as
 * berth does for every blob before its 201 (distribution never syncs). A synced push cannot be
 * faster, and the virtual disk of this machine moves between about 60 and 250 MB/s from hour to hour.
 */
async function diskWrite(dir: string, size: number): Promise<number> {
  const path = join(dir, 'disk-probe.bin');
  const buf = Buffer.alloc(8 * MiB);
  await fill(buf);
  const t = process.hrtime.bigint();
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < size; off += buf.length) {
      buf.writeUInt32BE(off / buf.length, 0); // no two writes alike
      await fh.write(buf, 0, Math.min(buf.length, size - off));
    }
    await fh.sync();
    return size / MiB / (Number(process.hrtime.bigint() - t) / 1e9);
  } finally {
    await fh.close();
    await rm(path, { force: true });
  }
}

/**
 * Idle resident set a second after start, and once the process has idled for 10 s: V8 gives unused
 * heap pages back only when its memory reducer runs, some 8 s after the last collection.
 */
async function idleFigures(s: Server): Promise<P.Figures> {
  const first = await idleRss(s, 1);
  return { idleRss1s: first, idleRss: await idleRss(s, 9) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, json: { type: 'string' }, keep: { type: 'boolean' }, only: { type: 'string' }, rounds: { type: 'string' }, soak: { type: 'string' }, storage: { type: 'string' }, replicas: { type: 'string' } },
  });
  if (values.storage !== undefined) {
    if (values.storage !== 's3') throw new Error(`--storage: only s3 (the default engines are the main run), got ${values.storage}`);
    if (values.replicas) {
      const counts = values.replicas.split(',').map(Number);
      if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--replicas: a list of counts such as 1,3, got ${values.replicas}`);
      await replicasBench(counts, { quick: !!values.quick, json: values.json, keep: !!values.keep, rounds: values.rounds ? Number(values.rounds) : undefined });
      return;
    }
    await s3Bench({ quick: !!values.quick, json: values.json, keep: !!values.keep, only: values.only?.split(','), rounds: values.rounds ? Number(values.rounds) : undefined });
    return;
  }
  if (values.soak) {
    const result = await soak(parseDuration(values.soak), !!values.keep);
    if (values.json) await writeFile(values.json, JSON.stringify({ date: new Date().toISOString(), soak: result }, null, 2));
    return;
  }
  // --only and --rounds are for profiling one phase; the table that counts is a full default run.
  const sizes = { ...(values.quick ? P.QUICK : P.FULL) };
  if (values.rounds) sizes.rounds = Number(values.rounds);
  const only = values.only?.split(',');
  const wanted = (label: string) => !only || only.some((o) => label.startsWith(o));
  if (only && !only.includes('listings')) {
    sizes.tags = 10;
    sizes.repos = 10;
    sizes.reposLarge = 0;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  const started = Date.now();
  const load0 = loadavg();
  console.log(`bench: ${values.quick ? 'quick' : 'full'} run in ${tmp}; ${cpus().length} cores; load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const layers = stormLayers(!!values.quick);
  const data = await dataFile(tmp, Math.max(sizes.bigSize, sizes.hugeSize, ...layers));
  const bodies = wanted('push large, chunked') ? await P.makePushBodies(data, sizes, tmp) : undefined;

  const servers: Server[] = [];
  const pools: { close(): Promise<void> }[] = [];
  const { samples, add } = collector();
  const peaks = new Peaks();
  try {
    for (const d of ['b', 'd', 'q', 'l']) await mkdir(join(tmp, d), { recursive: true });
    const berth = await startBerth(join(tmp, 'b', 'root'));
    servers.push(berth);
    add('berth', await idleFigures(berth));
    const dist = await startDistribution(join(tmp, 'd', 'root'));
    servers.push(dist);
    add('distribution', await idleFigures(dist));
    const quiet = await startBerth(join(tmp, 'q', 'root'), { name: 'berth-quiet', quiet: true });
    servers.push(quiet);
    const trivial = await startTrivialNode(tmp);
    servers.push(trivial);
    add('node-trivial', await idleFigures(trivial));
    const envOf = async (server: Server): Promise<P.Env> => {
      const p = pool(server.url, 16);
      pools.push(p);
      const base = server === trivial ? { config: { digest: '', size: 0 }, layer: { digest: '', size: 0 } } : await P.setupBase(p);
      return { server, pool: p, sizes, dataFile: data, tmp, bodies, ...base };
    };
    const envs = [await envOf(berth), await envOf(dist)];
    const extras = [await envOf(quiet), await envOf(trivial)];
    const pulls = new Map<string, string>();
    const images = new Map<string, StormImage>();
    for (const e of envs) {
      const t = Date.now();
      await P.setupListings(e, sizes.repos);
      pulls.set(e.server.name, await P.setupPull(e));
      if (wanted('node-start storm')) images.set(e.server.name, await setupStorm(e.pool, data, layers));
      console.log(`setup ${e.server.name}: ${sizes.tags} tags, ${sizes.repos} repositories, pull blob, storm image in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    const phases: [string, (e: P.Env, round: number) => Promise<P.Figures>, P.Env[]][] = [
      ['push 1 KiB c=16', (e, r) => P.pushSmall(e, r), envs],
      ['push 1 MiB c=16', (e, r) => P.pushMiB(e, r), envs],
      ['push large, chunked', (e, r) => P.pushBig(e, r), envs],
      ['pull', (e) => P.pull(e, pulls.get(e.server.name)!), envs],
      ['node-start storm', (e) => storm(e.server, images.get(e.server.name)!, sizes.stormClients), envs],
      ['manifest PUT c=16', (e, r) => P.manifestPut(e, r), envs],
      ['manifest GET/HEAD c=64', (e) => P.manifestGetHead(e), [...envs, ...extras]],
      ['listings', (e) => P.listings(e), envs],
    ];
    for (const e of [...envs, ...extras]) await peaks.take(e.server.pid); // setup ends here
    for (const [label, phase, on] of phases) {
      if (!wanted(label)) continue;
      const disk = async (round: number) => {
        await flushDisk();
        const f = { diskWrite: await diskWrite(tmp, sizes.bigSize) };
        add('disk', f);
        console.log(`${label.padEnd(24)} round ${round} disk         diskWrite=${f.diskWrite.toFixed(2)}`);
      };
      await runRounds(label, phase, on, sizes.rounds, add, peaks, label === 'push large, chunked' ? disk : undefined);
    }
    if (sizes.reposLarge && wanted('listings')) {
      const t = Date.now();
      const f = await P.catalogLarge(envs[0]!);
      add('berth', f);
      console.log(`catalog at ${sizes.reposLarge} repositories (berth): ${f.catalogPageLarge!.toFixed(2)} ms a page (setup ${((Date.now() - t) / 1000).toFixed(0)} s)  [peak rss ${((await peaks.take(berth.pid)) / MiB).toFixed(0)} MiB]`);
    }
    const use = await Promise.all([berth, dist].map(async (s) => ({ ...(await usage(s.pid)), peak: await peaks.max(s.pid) })));
    let berthPeak = use[0]!.peak;
    if (wanted('store load')) berthPeak = Math.max(berthPeak, await storeLoad(join(tmp, 'l', 'root'), sizes, data, tmp, add));
    if (sizes.scaleRepos && wanted('store scale')) {
      await mkdir(join(tmp, 's'), { recursive: true });
      const f = await storeScale(join(tmp, 's', 'root'), sizes.scaleRepos, sizes.scaleBlobsPerRepo, sizes.latencySamples);
      add('berth', f);
    }
    add('berth', { peakRss: berthPeak / MiB, cpuSeconds: use[0]!.cpuSeconds });
    add('distribution', { peakRss: use[1]!.peak / MiB, cpuSeconds: use[1]!.cpuSeconds });

    const rows: Row[] = render(samples);
    const load1 = loadavg();
    console.log(`\nload average after: ${load1.map((x) => x.toFixed(2)).join(' ')}; wall ${((Date.now() - started) / 1000).toFixed(0)} s; ${sizes.rounds} rounds, medians\n`);
    if (values.json) await writeFile(values.json, JSON.stringify({ date: new Date().toISOString(), quick: !!values.quick, rows, samples: Object.fromEntries([...samples].map(([k, v]) => [k, Object.fromEntries(v)])) }, null, 2));
  } finally {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    for (const s of servers) {
      const t = Date.now();
      await s.stop();
      if (Date.now() - t > 2000) console.log(`${s.name} took ${((Date.now() - t) / 1000).toFixed(1)} s to stop`);
    }
    if (!values.keep) await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * berth's resident set on an empty store, after loading `loadRepos` repositories of `loadTags` tags
 * each, and after a restart on that store once it has answered a catalog page, a tags list and a
 * metrics scrape (which walks the store). Returns the process peaks.
 */
async function storeLoad(root: string, sizes: P.Sizes, data: string, tmp: string, add: (s: string, f: P.Figures) => void): Promise<number> {
  let server = await startBerth(root, { name: 'berth-load' });
  let peak = 0;
  try {
    const empty = await idleRss(server, 20);
    const p = pool(server.url, 16);
    const e: P.Env = { server, pool: p, sizes, dataFile: data, tmp, ...(await P.setupBase(p)) };
    const t = Date.now();
    await P.loadRepositories(e, sizes.loadRepos, sizes.loadTags);
    const loadSeconds = (Date.now() - t) / 1000;
    const loaded = await idleRss(server, 20);
    peak = (await usage(server.pid)).peakRss;
    await p.close();
    await server.stop();
    server = await startBerth(root, { name: 'berth-load' });
    const restartMs = server.startMs;
    const restarted = await idleRss(server, 20);
    for (const path of ['/v2/_catalog?n=100', '/v2/bench/load/r000001/tags/list', '/metrics']) {
      const res = await fetch(`${server.url}${path}`);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    }
    const served = (await usage(server.pid)).rss / MiB;
    peak = Math.max(peak, (await usage(server.pid)).peakRss);
    add('berth', { loadRssEmpty: empty, loadRssLoaded: loaded, loadRssRestarted: restarted, loadRssServed: served, loadRestartMs: restartMs });
    console.log(
      `store load (berth): ${sizes.loadRepos} repositories x ${sizes.loadTags} tags in ${loadSeconds.toFixed(0)} s; RSS empty ${empty.toFixed(1)} MiB, ` +
        `loaded ${loaded.toFixed(1)}, restarted ${restarted.toFixed(1)} (start ${restartMs} ms), after listings and a scrape ${served.toFixed(1)}`,
    );
  } finally {
    await server.stop();
  }
  return peak;
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
