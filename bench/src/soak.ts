/**
 * `npm run bench -- --soak 30m`: berth alone under a steady, moderate mixed load for a long while,
 * its resident set sampled every 10 s, to tell a leak from a plateau. Load: 2 pushers (an image of a
 * 16 KiB config and a 256 KiB layer, then its manifest, under one of 20 tags in one of 50
 * repositories: tags move, old manifests become garbage), 4 pullers (a random tag's manifest, then
 * its config and layer), 1 lister (a `_catalog` page, a `tags/list`, a `/metrics` scrape); every
 * actor pauses 20 ms between operations. Online GC runs every 5 minutes (delay 1 minute), so the
 * store stays bounded and collection is part of the mix. The trend is the least-squares slope of
 * RSS after the warm-up (the first fifth of the run, at most 5 minutes).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'undici';
import { manifestBytes, pool, pushBytes, putManifest, sha256 } from './load.js';
import { startBerth, usage } from './servers.js';

const MiB = 1024 * 1024;
const REPOS = 50;
const TAGS = 20;
const PAUSE_MS = 20;

/** '30m', '90s', '1h' or a number of seconds, in ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--soak: not a duration: ${text} (say 30m, 90s or 1h)`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

interface Counts {
  pushes: number;
  pulls: number;
  lists: number;
  errors: number;
  firstErrors: string[];
}

const repo = (i: number) => `soak/r${String(i).padStart(2, '0')}`;
const pick = (n: number) => Math.floor(Math.random() * n);
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

async function get(p: Pool, path: string, accept?: string): Promise<number> {
  const res = await p.request({ method: 'GET', path, headers: accept ? { accept } : {} });
  await res.body.dump();
  return res.statusCode;
}

async function pushImage(p: Pool, c: Counts): Promise<void> {
  const r = repo(pick(REPOS));
  const config = randomBytes(16 * 1024);
  const layer = randomBytes(256 * 1024);
  await pushBytes(p, r, config);
  await pushBytes(p, r, layer);
  const m = manifestBytes({ digest: sha256(config), size: config.length }, { digest: sha256(layer), size: layer.length }, String(Date.now()));
  await putManifest(p, r, `t${pick(TAGS)}`, m);
  c.pushes++;
}

async function pullImage(p: Pool, c: Counts): Promise<void> {
  const r = repo(pick(REPOS));
  const res = await p.request({ method: 'GET', path: `/v2/${r}/manifests/t${pick(TAGS)}`, headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.statusCode === 404) return void (await res.body.dump()); // not pushed yet
  if (res.statusCode !== 200) throw new Error(`GET manifest: HTTP ${res.statusCode}`);
  const m = (await res.body.json()) as { config: { digest: string }; layers: { digest: string }[] };
  for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
    const s = await get(p, `/v2/${r}/blobs/${d}`);
    // a tag may have moved and GC taken the old image between the manifest and its blobs
    if (s !== 200 && s !== 404) throw new Error(`GET blob: HTTP ${s}`);
  }
  c.pulls++;
}

async function list(p: Pool, c: Counts): Promise<void> {
  for (const path of ['/v2/_catalog?n=20', `/v2/${repo(pick(REPOS))}/tags/list`, '/metrics']) {
    const s = await get(p, path);
    if (s !== 200 && s !== 404) throw new Error(`GET ${path}: HTTP ${s}`);
  }
  c.lists++;
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface SoakResult {
  samples: { s: number; rssMiB: number; anonMiB: number; fileMiB: number }[];
  warmupS: number;
  slopeMiBPerHour: number;
  /** The same for the anonymous part alone (the file-backed rest: the node binary, LevelDB's mapped tables, which grow with the index). */
  anonSlopeMiBPerHour: number;
  minAfterWarmup: number;
  maxAfterWarmup: number;
  counts: Omit<Counts, 'firstErrors'>;
}

export async function soak(durationMs: number, keep: boolean): Promise<SoakResult> {
  const tmp = await mkdtemp(join(tmpdir(), 'berth-soak-'));
  const server = await startBerth(join(tmp, 'root'), { name: 'berth-soak', config: 'storage:\n  gc:\n    interval: 5m\n    delay: 1m\n' });
  const p = pool(server.url, 8);
  const c: Counts = { pushes: 0, pulls: 0, lists: 0, errors: 0, firstErrors: [] };
  const samples: { s: number; rssMiB: number; anonMiB: number; fileMiB: number }[] = [];
  const t0 = Date.now();
  const end = t0 + durationMs;
  const actor = async (step: (p: Pool, c: Counts) => Promise<void>) => {
    while (Date.now() < end) {
      try {
        await step(p, c);
      } catch (err) {
        if (c.errors++ < 5) c.firstErrors.push((err as Error).message);
      }
      await pause();
    }
  };
  const sampler = async () => {
    for (let next = t0; next <= end; next += 10_000) {
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      const u = await usage(server.pid);
      const rss = u.rss / MiB;
      const s = Math.round((Date.now() - t0) / 1000);
      samples.push({ s, rssMiB: rss, anonMiB: u.rssAnon / MiB, fileMiB: u.rssFile / MiB });
      if (s % 60 < 10) console.log(`soak ${s} s: RSS ${rss.toFixed(1)} MiB (anonymous ${(u.rssAnon / MiB).toFixed(1)}); ${c.pushes} pushes, ${c.pulls} pulls, ${c.lists} listings, ${c.errors} errors`);
    }
  };
  try {
    await Promise.all([actor(pushImage), actor(pushImage), ...Array.from({ length: 4 }, () => actor(pullImage)), actor(list), sampler()]);
  } finally {
    await p.close();
    await server.stop();
    if (!keep) await rm(tmp, { recursive: true, force: true });
  }
  const warmupS = Math.min(300, durationMs / 5000);
  const after = samples.filter((x) => x.s >= warmupS);
  const rss = after.map((x) => x.rssMiB);
  const result: SoakResult = {
    samples,
    warmupS,
    slopeMiBPerHour: slope(after.map((x) => x.s / 3600), rss),
    anonSlopeMiBPerHour: slope(after.map((x) => x.s / 3600), after.map((x) => x.anonMiB)),
    minAfterWarmup: Math.min(...rss),
    maxAfterWarmup: Math.max(...rss),
    counts: { pushes: c.pushes, pulls: c.pulls, lists: c.lists, errors: c.errors },
  };
  console.log(
    `\nsoak: ${(durationMs / 60_000).toFixed(1)} min, ${samples.length} samples; after the ${warmupS.toFixed(0)} s warm-up RSS ${result.minAfterWarmup.toFixed(1)}-${result.maxAfterWarmup.toFixed(1)} MiB, ` +
      `trend ${result.slopeMiBPerHour >= 0 ? '+' : ''}${result.slopeMiBPerHour.toFixed(2)} MiB/hour (anonymous memory ${result.anonSlopeMiBPerHour >= 0 ? '+' : ''}${result.anonSlopeMiBPerHour.toFixed(2)}); ${c.pushes} pushes, ${c.pulls} pulls, ${c.lists} listings, ${c.errors} errors`,
  );
  for (const e of c.firstErrors) console.log(`  error: ${e}`);
  return result;
}
