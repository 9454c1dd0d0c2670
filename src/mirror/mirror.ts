/** The mirror feature, wired from `mirror:` in the config (issue 7); absent, the feature is wholly off. */
import type { FastifyBaseLogger } from 'fastify';
import { ConfigError, durationMs, type MirrorConfig } from '../config/config.js';
import type { OpenRegistry } from '../open.js';
import { readFileSync } from 'node:fs';
import { MirrorNames, canonicalHost, isHost } from './names.js';
import { PullThrough } from './pull-through.js';
import { Upstream } from './upstream.js';
import { MirrorSync, splitRepository } from './sync.js';
import { parsePlatform } from '../oci/platforms.js';
import { CacheBudget, type CacheBudgetOptions } from './cache-budget.js';
import { sizeOrShare } from '../config/units.js';

export interface Mirror {
  names: MirrorNames;
  pull: PullThrough;
  sync: MirrorSync | undefined;
  syncIntervalMs: number;
  /** mirror.cache: the disk budget, checked every cacheIntervalMs. */
  cache: CacheBudget | undefined;
  cacheIntervalMs: number;
  /** Logs go to the app's logger, which exists only once the app is built. */
  setLog(log: FastifyBaseLogger): void;
  close(): Promise<void>;
}

const ms = (v: string | number | undefined, fallback: string) => durationMs(v ?? fallback);

/** What `mirror:` must satisfy beyond its shape; a ConfigError names the place. Opens no connection. */
export function validateMirror(cfg: MirrorConfig): void {
  if (cfg.cache) cacheOptions(cfg.cache, '.');
  (cfg.platforms ?? []).forEach((p, i) => {
    try {
      parsePlatform(p);
    } catch (err) {
      throw new ConfigError(`mirror.platforms[${i}]: ${(err as Error).message}`);
    }
  });
  const hosts = new Set<string>();
  (cfg.upstreams ?? []).forEach((u, i) => {
    const host = canonicalHost(u.host);
    if (!isHost(u.host)) throw new ConfigError(`mirror.upstreams[${i}].host: not a registry host: ${u.host}`);
    if (hosts.has(host)) throw new ConfigError(`mirror.upstreams[${i}].host: ${u.host} is configured twice`);
    hosts.add(host);
    let url: URL;
    try {
      url = new URL(u.url);
    } catch {
      throw new ConfigError(`mirror.upstreams[${i}].url: not a URL: ${u.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`mirror.upstreams[${i}].url: http or https, got ${url.protocol}`);
    for (const key of ['ca', 'credentialsFile'] as const) {
      const file = u[key];
      if (file === undefined) continue;
      try {
        readFileSync(file);
      } catch (err) {
        throw new ConfigError(`mirror.upstreams[${i}].${key}: ${(err as Error).message}`);
      }
    }
  });
  (cfg.sync?.images ?? []).forEach((img, i) => {
    let host;
    try {
      host = splitRepository(img.repository).host;
    } catch (err) {
      throw new ConfigError(`mirror.sync.images[${i}].repository: ${(err as Error).message}`);
    }
    if (!hosts.has(host)) throw new ConfigError(`mirror.sync.images[${i}].repository: no upstream has host ${host}`);
  });
}

/** `root`: the data root, on the volume whose size mirror.cache's shares are of. */
/** mirror.cache as the budget takes it; a ConfigError names what is wrong. */
function cacheOptions(c: NonNullable<MirrorConfig['cache']>, root: string): CacheBudgetOptions {
  const opts: CacheBudgetOptions = { minAgeMs: ms(c.minAge, '1h'), pin: c.pin ?? [], volume: root };
  if (c.maxBytes !== undefined) {
    const max = sizeOrShare(c.maxBytes);
    if ('bytes' in max) opts.maxBytes = max.bytes;
    else opts.maxPercent = max.percent;
  }
  if (c.lowWater !== undefined) {
    const low = sizeOrShare(c.lowWater);
    if (!('percent' in low)) throw new ConfigError('mirror.cache.lowWater: a share of the volume, such as "10%"');
    opts.lowWaterPercent = low.percent;
  }
  if (opts.maxBytes === undefined && opts.maxPercent === undefined && opts.lowWaterPercent === undefined) {
    throw new ConfigError('mirror.cache: give maxBytes (bytes or a share of the volume), lowWater, or both');
  }
  return opts;
}

function cacheBudget(c: NonNullable<MirrorConfig['cache']>, opened: Pick<OpenRegistry, 'registry' | 'blobs' | 'index'>, names: MirrorNames, root: string): CacheBudget {
  const opts = cacheOptions(c, root);
  const upstreamName = (local: string) => {
    const r = names.resolve(local, null).remote;
    return r ? `${r.host}/${r.repo}` : undefined;
  };
  return new CacheBudget(opened.registry, opened.index, opened.blobs, upstreamName, opts);
}

export function openMirror(cfg: MirrorConfig, opened: Pick<OpenRegistry, 'registry' | 'blobs' | 'index'>, root = '.'): Mirror {
  validateMirror(cfg);
  const timing = {
    connectTimeoutMs: ms(cfg.connectTimeout, '3s'),
    timeoutMs: ms(cfg.timeout, '10s'),
    bodyTimeoutMs: 60_000,
    retryAfterMs: ms(cfg.retryAfter, '30s'),
  };
  const upstreams = new Map<string, Upstream>();
  (cfg.upstreams ?? []).forEach((u, i) => {
    try {
      upstreams.set(canonicalHost(u.host), new Upstream(u, timing));
    } catch (err) {
      throw new ConfigError(`mirror.upstreams[${i}]: ${(err as Error).message}`);
    }
  });
  const prefix = (cfg.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const names = new MirrorNames(prefix, [...upstreams.keys()]);
  const online = cfg.sync?.enable ?? true;
  const platforms = cfg.platforms?.length ? cfg.platforms.map(parsePlatform) : undefined;
  const pull = new PullThrough(opened.registry, opened.blobs, opened.index, upstreams, { tagTTLms: ms(cfg.tagTTL, '5m'), online, ...(platforms ? { platforms } : {}) });
  const images = cfg.sync?.images ?? [];
  const sync = online && images.length > 0 ? new MirrorSync(images, names, pull, platforms) : undefined;
  const cache = cfg.cache ? cacheBudget(cfg.cache, opened, names, root) : undefined;
  return {
    names,
    pull,
    sync,
    syncIntervalMs: ms(cfg.sync?.interval, '1h'),
    cache,
    cacheIntervalMs: ms(cfg.cache?.interval, '1m'),
    setLog(log) {
      pull.log = log;
      if (sync) sync.log = log;
    },
    close: () => pull.close(),
  };
}
