/**
 * `npm run bench -- --storage s3`: berth with its blobs in Ceph RGW and its metadata in PostgreSQL
 * against distribution 2.8.2 with its own `s3` driver on the same RGW (a bucket each), both with
 * their default access logs on, in alternation as the main run: pushes, pulls, manifest PUT and
 * GET/HEAD, listings, and berth's catalog page again at 100,000 repositories.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pool } from './load.js';
import * as P from './phases.js';
import { Peaks, idleRss, startBerth, startDistribution, usage, type Server } from './servers.js';
import { render, S3_SPECS } from './report.js';
import { collector, dataFile, runRounds, type Phase } from './rounds.js';
import { S3_KEYS, startEngines } from './engines.js';

const MiB = 1024 * 1024;

export interface S3Options {
  quick: boolean;
  json?: string;
  keep: boolean;
  /** Phase labels (prefixes) to run; the listings' setup is skipped unless they are wanted. */
  only?: string[];
  rounds?: number;
}

export async function s3Bench({ quick, json, keep, only, rounds }: S3Options): Promise<void> {
  const sizes = { ...(quick ? P.QUICK : P.FULL) };
  if (rounds) sizes.rounds = rounds;
  const wanted = (label: string) => !only || only.some((o) => label.startsWith(o));
  const tmp = await mkdtemp(join(tmpdir(), 'berth-bench-s3-'));
  const started = Date.now();
  console.log(`bench --storage s3: ${quick ? 'quick' : 'full'} run in ${tmp}; ${cpus().length} cores; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const engines = await startEngines(tmp, ['berth-bench', 'distribution-bench']);
  console.log(`engines: PostgreSQL and Ceph RGW (bluestore) up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const servers: Server[] = [];
  const pools: { close(): Promise<void> }[] = [];
  const { samples, add } = collector();
  const peaks = new Peaks();
  try {
    const data = await dataFile(tmp, Math.max(sizes.bigSize, sizes.hugeSize));
    const bodies = await P.makePushBodies(data, sizes, tmp);
    for (const d of ['b', 'd']) await mkdir(join(tmp, d), { recursive: true });
    const berthConfig = {
      storage: { driver: 's3', s3: { endpoint: engines.s3Endpoint, bucket: 'berth-bench', ...S3_KEYS } },
      metadata: { driver: 'postgres', postgres: { url: engines.postgresUrl } },
    };
    const berth = await startBerth(join(tmp, 'b', 'root'), { config: `${JSON.stringify(berthConfig)}\n` });
    servers.push(berth);
    add('berth', { idleRss: await idleRss(berth, 10) });
    const s3 = `  s3: {accesskey: ${S3_KEYS.accessKeyId}, secretkey: ${S3_KEYS.secretAccessKey}, region: us-east-1, regionendpoint: "${engines.s3Endpoint}", bucket: distribution-bench, secure: false, v4auth: true, rootdirectory: /}`;
    const dist = await startDistribution(join(tmp, 'd', 'root'), s3);
    servers.push(dist);
    add('distribution', { idleRss: await idleRss(dist, 10) });
    const envs: P.Env[] = [];
    for (const server of [berth, dist]) {
      const p = pool(server.url, 16);
      pools.push(p);
      envs.push({ server, pool: p, sizes, dataFile: data, tmp, bodies, ...(await P.setupBase(p)) });
    }
    const pulls = new Map<string, string>();
    for (const e of envs) {
      const t = Date.now();
      if (wanted('listings')) await P.setupListings(e, sizes.repos);
      pulls.set(e.server.name, await P.setupPull(e));
      console.log(`setup ${e.server.name}: ${sizes.tags} tags, ${sizes.repos} repositories, pull blob in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const phases: [string, Phase][] = [
      ['push 1 MiB c=16', (e, r) => P.pushMiB(e, r)],
      ['push large, chunked', (e, r) => P.pushBig(e, r)],
      ['pull', (e) => P.pull(e, pulls.get(e.server.name)!)],
      ['manifest PUT c=16', (e, r) => P.manifestPut(e, r)],
      ['manifest GET/HEAD c=64', (e) => P.manifestGetHead(e)],
      // distribution's `s3` driver answers _catalog by walking the bucket (4 minutes a page at 10,000
      // repositories here): one timed request of each, in the first round only
      ['listings', (e, r) => (e.server.name !== 'distribution' ? P.listings(e) : r === 1 ? P.listings(e, 1) : Promise.resolve({}))],
    ];
    for (const e of envs) await peaks.take(e.server.pid);
    for (const [label, phase] of phases) if (wanted(label)) await runRounds(label, phase, envs, sizes.rounds, add, peaks);
    if (sizes.reposLarge && wanted('listings')) {
      const t = Date.now();
      const f = await P.catalogLarge(envs[0]!);
      add('berth', f);
      console.log(`catalog at ${sizes.reposLarge} repositories (berth): ${f.catalogPageLarge!.toFixed(2)} ms a page (setup ${((Date.now() - t) / 1000).toFixed(0)} s)`);
    }
    for (const s of [berth, dist]) {
      const u = await usage(s.pid);
      add(s.name, { peakRss: (await peaks.max(s.pid)) / MiB, cpuSeconds: u.cpuSeconds });
    }
    const rows = render(samples, S3_SPECS);
    console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; wall ${((Date.now() - started) / 1000).toFixed(0)} s; ${sizes.rounds} rounds, medians\n`);
    if (json) await writeFile(json, JSON.stringify({ date: new Date().toISOString(), storage: 's3', quick, rows, samples: Object.fromEntries([...samples].map(([k, v]) => [k, Object.fromEntries(v)])) }, null, 2));
  } finally {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    for (const s of servers) await s.stop().catch(() => undefined);
    await engines.stop();
    if (!keep) await rm(tmp, { recursive: true, force: true });
  }
}
