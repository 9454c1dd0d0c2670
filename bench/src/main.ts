/**
 * `npm run bench [-- --quick] [-- --json FILE]`: berth against Debian's docker-registry
 * (distribution 2.8.2) on this machine, the same workload in alternation (A B A B ...), medians and the
 * ratio berth/distribution, each server's peak RSS and CPU seconds. --quick is a smoke run (no
 * timings are asserted anywhere).
 */
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomFill } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pool } from './load.js';
import { RssWatch, startBerth, startDistribution, usage, type Server } from './servers.js';
import * as P from './phases.js';
import { render, type Row } from './report.js';

const fill = promisify(randomFill);
const run = promisify(execFile);

async function flushDisk(): Promise<void> {
  await run('sync');
}

async function dataFile(dir: string, size: number): Promise<string> {
  const path = join(dir, 'data.bin');
  const fh = await open(path, 'w');
  const buf = Buffer.alloc(16 * 1024 * 1024);
  for (let off = 0; off < size; off += buf.length) {
    await fill(buf);
    await fh.write(buf, 0, Math.min(buf.length, size - off));
  }
  await fh.close();
  return path;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, json: { type: 'string' }, keep: { type: 'boolean' }, only: { type: 'string' }, rounds: { type: 'string' } },
  });
  // --only and --rounds are for profiling one phase; the table that counts is a full default run.
  const sizes = { ...(values.quick ? P.QUICK : P.FULL) };
  if (values.rounds) sizes.rounds = Number(values.rounds);
  const only = values.only?.split(',');
  if (only && !only.includes('listings')) {
    sizes.tags = 10;
    sizes.repos = 10;
    sizes.reposLarge = 0;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  const started = Date.now();
  const load0 = loadavg();
  console.log(`bench: ${values.quick ? 'quick' : 'full'} run in ${tmp}; ${cpus().length} cores; load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const data = await dataFile(tmp, Math.max(sizes.bigSize, sizes.hugeSize));

  const servers: Server[] = [];
  const pools: { close(): Promise<void> }[] = [];
  try {
    await mkdir(join(tmp, 'b'), { recursive: true });
    await mkdir(join(tmp, 'd'), { recursive: true });
    servers.push(await startBerth(join(tmp, 'b', 'root')));
    servers.push(await startDistribution(join(tmp, 'd', 'root')));
    const envs = await Promise.all(
      servers.map(async (server) => {
        const p = pool(server.url, 16);
        pools.push(p);
        const base = await P.setupBase(p);
        return { server, pool: p, sizes, dataFile: data, tmp, ...base } satisfies P.Env;
      }),
    );
    const pulls = new Map<string, string>();
    for (const e of envs) {
      const t = Date.now();
      await P.setupListings(e, sizes.repos);
      pulls.set(e.server.name, await P.setupPull(e));
      console.log(`setup ${e.server.name}: ${sizes.tags} tags, ${sizes.repos} repositories, pull blob in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    const samples = new Map<string, Map<string, number[]>>(); // server -> figure -> values
    const add = (server: string, f: P.Figures) => {
      const m = samples.get(server) ?? new Map<string, number[]>();
      for (const [k, v] of Object.entries(f)) m.set(k, [...(m.get(k) ?? []), v]);
      samples.set(server, m);
    };
    const phases: [string, (e: P.Env, round: number) => Promise<P.Figures>][] = [
      ['push 1 KiB c=16', (e, r) => P.pushSmall(e, r)],
      ['push 1 MiB c=16', (e, r) => P.pushMiB(e, r)],
      ['push large, chunked', async (e, r) => P.pushBig(e, r, await P.prepareBodies(e))],
      ['pull', (e) => P.pull(e, pulls.get(e.server.name)!)],
      ['manifest PUT c=16', (e, r) => P.manifestPut(e, r)],
      ['manifest GET/HEAD c=64', (e) => P.manifestGetHead(e)],
      ['listings', (e) => P.listings(e)],
    ];
    const rss = new RssWatch(servers);
    for (const [label, phase] of phases) {
      if (only && !only.some((o) => label.startsWith(o))) continue;
      for (let round = 1; round <= sizes.rounds; round++) {
        for (const e of envs) {
          await flushDisk(); // each server starts its turn on a disk without the other's dirty pages
          rss.reset();
          const f = await phase(e, round);
          add(e.server.name, f);
          console.log(
            `${label.padEnd(24)} round ${round} ${e.server.name.padEnd(12)} ${Object.entries(f).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(' ')}` +
              `  [rss max ${rss.max(e.server.pid)} MiB]`,
          );
        }
      }
    }
    rss.stop();
    const berthEnv = envs[0]!;
    if (sizes.reposLarge) {
      const t = Date.now();
      const f = await P.catalogLarge(berthEnv);
      add('berth', f);
      console.log(`catalog at ${sizes.reposLarge} repositories (berth): ${f.catalogPageLarge!.toFixed(2)} ms a page (setup ${((Date.now() - t) / 1000).toFixed(0)} s)`);
    }
    const use = await Promise.all(servers.map((s) => usage(s.pid)));
    add('berth', { peakRss: use[0]!.peakRss / 1048576, cpuSeconds: use[0]!.cpuSeconds });
    add('distribution', { peakRss: use[1]!.peakRss / 1048576, cpuSeconds: use[1]!.cpuSeconds });

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

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
