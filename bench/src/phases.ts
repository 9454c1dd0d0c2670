/** The workload, one function per phase; each returns named figures for one server. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Pool } from 'undici';
import {
  OCI_MANIFEST, bigBody, latency, manifestBytes, mount, pushBytes, pushStream, putManifest, runConcurrent, sha256,
} from './load.js';
import { PushBody, curlPushChunked, curlPushStream } from './curl-push.js';
import type { Server } from './servers.js';
import { abHead, wrk } from './wrk.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

export interface Sizes {
  rounds: number;
  smallOps: number; // 1 KiB pushes per round
  mibOps: number; // 1 MiB pushes per round
  bigSize: number; // the "256 MiB" blob
  hugeSize: number; // the "1 GiB" blob; 0 skips it
  manifestOps: number;
  wrkSeconds: number;
  tags: number;
  repos: number;
  reposLarge: number; // berth only: the catalog again at this many repositories; 0 skips it
  latencySamples: number;
  /** berth only: a fresh store loaded with this many repositories of `loadTags` tags each, for its RSS. */
  loadRepos: number;
  loadTags: number;
  stormClients: number;
  /** berth only: the store-scale phase's repositories, and blobs in each; 0 skips it. */
  scaleRepos: number;
  scaleBlobsPerRepo: number;
}

export const FULL: Sizes = {
  rounds: 3, smallOps: 2000, mibOps: 256, bigSize: 256 * MiB, hugeSize: 1024 * MiB, manifestOps: 2000,
  wrkSeconds: 20, tags: 10_000, repos: 10_000, reposLarge: 100_000, latencySamples: 20,
  loadRepos: 10_000, loadTags: 10, stormClients: 32, scaleRepos: 100_000, scaleBlobsPerRepo: 10,
};
export const QUICK: Sizes = {
  rounds: 1, smallOps: 200, mibOps: 16, bigSize: 16 * MiB, hugeSize: 0, manifestOps: 200,
  wrkSeconds: 2, tags: 300, repos: 300, reposLarge: 0, latencySamples: 5,
  loadRepos: 300, loadTags: 10, stormClients: 8, scaleRepos: 500, scaleBlobsPerRepo: 10,
};

export type Figures = Record<string, number>;

export interface Env {
  server: Server;
  pool: Pool; // 16 connections
  sizes: Sizes;
  dataFile: string;
  tmp: string;
  /** The large pushes' bodies, as files (curl-push.ts); made only when that phase runs. */
  bodies?: PushBodies;
  config: { digest: string; size: number };
  layer: { digest: string; size: number };
}

/** Content every phase can reference, pushed once per server. */
export async function setupBase(p: Pool): Promise<{ config: { digest: string; size: number }; layer: { digest: string; size: number } }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(4096);
  await pushBytes(p, 'bench/base', config);
  await pushBytes(p, 'bench/base', layer);
  const c = { digest: sha256(config), size: config.length };
  const l = { digest: sha256(layer), size: layer.length };
  await putManifest(p, 'bench/base', 'latest', manifestBytes(c, l, 'base'));
  return { config: c, layer: l };
}

/** 10,000 tags in one repository and 10,000 repositories, each with a manifest. */
export async function setupListings(e: Env, repos: number, offset = 0): Promise<void> {
  const m = manifestBytes(e.config, e.layer, 'listing');
  if (offset === 0) {
    await mount(e.pool, 'bench/tags', 'bench/base', e.config.digest);
    await mount(e.pool, 'bench/tags', 'bench/base', e.layer.digest);
    await runConcurrent(e.sizes.tags, 16, (i) => putManifest(e.pool, 'bench/tags', `t${String(i).padStart(6, '0')}`, m));
  }
  await runConcurrent(repos, 16, async (i) => {
    const repo = `bench/cat/r${String(offset + i).padStart(6, '0')}`;
    await mount(e.pool, repo, 'bench/base', e.config.digest);
    await mount(e.pool, repo, 'bench/base', e.layer.digest);
    await putManifest(e.pool, repo, 'v1', m);
  });
}

/**
 * `n` bodies made by `make` and their digests, before the clock starts: a pusher knows its layers'
 * digests before it pushes them (they are in the manifest it pushes last).
 */
function bodies(n: number, make: () => Buffer): { bytes: Buffer; digest: string }[] {
  return Array.from({ length: n }, () => {
    const bytes = make();
    return { bytes, digest: sha256(bytes) };
  });
}

export async function pushSmall(e: Env, round: number): Promise<Figures> {
  const n = e.sizes.smallOps;
  const b = bodies(n, () => randomBytes(1024));
  const s = await runConcurrent(n, 16, (i) => pushBytes(e.pool, `bench/small-${round}`, b[i]!.bytes, b[i]!.digest));
  return { push1k: n / s };
}

export async function pushMiB(e: Env, round: number): Promise<Figures> {
  const base = randomBytes(MiB);
  const n = e.sizes.mibOps;
  const b = bodies(n, () => {
    const one = Buffer.from(base);
    randomBytes(32).copy(one);
    return one;
  });
  const s = await runConcurrent(n, 16, (i) => pushBytes(e.pool, `bench/mib-${round}`, b[i]!.bytes, b[i]!.digest));
  return { push1m: n / s };
}

export interface PushBodies {
  big: PushBody;
  huge?: PushBody;
  chunked: PushBody;
}

/** The large pushes' files: 256 MiB, 1 GiB and 256 MiB in 8 MiB PATCHes, copied from the run's data. */
export async function makePushBodies(data: string, sizes: Sizes, dir: string): Promise<PushBodies> {
  return {
    big: await PushBody.make(data, sizes.bigSize, dir, 'push-big'),
    huge: sizes.hugeSize ? await PushBody.make(data, sizes.hugeSize, dir, 'push-huge') : undefined,
    chunked: await PushBody.make(data, sizes.bigSize, dir, 'push-chunked', 8 * MiB),
  };
}

/** Each large body with fresh bytes and digest, then pushed by curl. */
export async function pushBig(e: Env, round: number): Promise<Figures> {
  if (!e.bodies) throw new Error('push large: its bodies were not made');
  const { big, huge, chunked } = e.bodies;
  for (const b of [big, huge, chunked]) await b?.stamp();
  const url = e.server.url;
  const f: Figures = {};
  f.push256m = big.size / MiB / (await curlPushStream(e.pool, url, `bench/big-${round}`, big));
  if (huge) f.push1g = huge.size / MiB / (await curlPushStream(e.pool, url, `bench/huge-${round}`, huge));
  f.chunked256m = chunked.size / MiB / (await curlPushChunked(e.pool, url, `bench/chunked-${round}`, chunked));
  return f;
}

/**
 * 256 MiB in 8 MiB PATCHes alone, with its final PUT timed apart: on S3 that PUT reads the session's
 * chunks back to hash them (s3-uploads.ts), which is what a session whose chunks hop replicas costs.
 */
export async function pushChunked(e: Env, round: number): Promise<Figures> {
  if (!e.bodies) throw new Error('push chunked: its body was not made');
  const b = e.bodies.chunked;
  await b.stamp();
  const split = { finalPut: 0 };
  const seconds = await curlPushChunked(e.pool, e.server.url, `bench/chunked-${round}`, b, split);
  return { chunked256m: b.size / MiB / seconds, chunkedFinalPut: split.finalPut * 1000 };
}

/** A blob to pull, pushed once per server. */
export async function setupPull(e: Env): Promise<string> {
  const b = await bigBody(e.dataFile, e.sizes.bigSize);
  await pushStream(e.pool, 'bench/pull', b);
  return b.digest;
}

async function curlSeconds(urls: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  await Promise.all(urls.map((u) => run('curl', ['-sf', '-o', '/dev/null', u], { timeout: 600_000 })));
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export async function pull(e: Env, digest: string): Promise<Figures> {
  const url = `${e.server.url}/v2/bench/pull/blobs/${digest}`;
  const mib = (e.sizes.bigSize + 32) / MiB;
  return {
    pull1: mib / (await curlSeconds([url])),
    pull4: (4 * mib) / (await curlSeconds([url, url, url, url])),
  };
}

export async function manifestPut(e: Env, round: number): Promise<Figures> {
  const n = e.sizes.manifestOps;
  const repo = `bench/mput-${round}`;
  await mount(e.pool, repo, 'bench/base', e.config.digest);
  await mount(e.pool, repo, 'bench/base', e.layer.digest);
  const s = await runConcurrent(n, 16, (i) => putManifest(e.pool, repo, `t${i}`, manifestBytes(e.config, e.layer, `${round}-${i}`)));
  return { manifestPut: n / s };
}

export async function manifestGetHead(e: Env): Promise<Figures> {
  const url = `${e.server.url}/v2/bench/base/manifests/latest`;
  const g = await wrk(url, 'GET', OCI_MANIFEST, e.sizes.wrkSeconds, 64, e.tmp);
  const h = await abHead(url, OCI_MANIFEST, e.sizes.wrkSeconds, 64);
  if (g.non2xx || h.non2xx) throw new Error(`${e.server.name}: non-2xx answers under load (GET ${g.non2xx}, HEAD ${h.non2xx})`);
  return { getRps: g.rps, getP50: g.p50, getP99: g.p99, headRps: h.rps, headP50: h.p50, headP99: h.p99 };
}

/** `samples`: requests timed per figure (the median is the figure). */
export async function listings(e: Env, samples = e.sizes.latencySamples): Promise<Figures> {
  const k = samples;
  const mid = `bench/cat/r${String(e.sizes.repos >> 1).padStart(6, '0')}`;
  return {
    tagsFull: await latency(e.pool, '/v2/bench/tags/tags/list', k),
    tagsPage: await latency(e.pool, `/v2/bench/tags/tags/list?n=100&last=t${String(e.sizes.tags >> 1).padStart(6, '0')}`, k),
    catalogPage: await latency(e.pool, `/v2/_catalog?n=100&last=${encodeURIComponent(mid)}`, k),
  };
}

/** berth only: the catalog page again once there are `reposLarge` repositories. */
export async function catalogLarge(e: Env): Promise<Figures> {
  const extra = e.sizes.reposLarge - e.sizes.repos;
  await setupListings(e, extra, e.sizes.repos);
  const mid = `bench/cat/r${String(e.sizes.reposLarge >> 1).padStart(6, '0')}`;
  return { catalogPageLarge: await latency(e.pool, `/v2/_catalog?n=100&last=${encodeURIComponent(mid)}`, e.sizes.latencySamples) };
}

/**
 * `repos` repositories of `tags` tags each, every tag a manifest of its own (what a site that keeps
 * ten releases of each image holds).
 */
export async function loadRepositories(e: Env, repos: number, tags: number): Promise<void> {
  await runConcurrent(repos, 16, async (i) => {
    const repo = `bench/load/r${String(i).padStart(6, '0')}`;
    await mount(e.pool, repo, 'bench/base', e.config.digest);
    await mount(e.pool, repo, 'bench/base', e.layer.digest);
    for (let t = 0; t < tags; t++) await putManifest(e.pool, repo, `v${t}`, manifestBytes(e.config, e.layer, `${i}-${t}`));
  });
}
