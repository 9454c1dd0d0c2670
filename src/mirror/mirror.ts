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

export interface Mirror {
  names: MirrorNames;
  pull: PullThrough;
  sync: MirrorSync | undefined;
  syncIntervalMs: number;
  /** Logs go to the app's logger, which exists only once the app is built. */
  setLog(log: FastifyBaseLogger): void;
  close(): Promise<void>;
}

const ms = (v: string | number | undefined, fallback: string) => durationMs(v ?? fallback);

/** What `mirror:` must satisfy beyond its shape; a ConfigError names the place. Opens no connection. */
export function validateMirror(cfg: MirrorConfig): void {
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

export function openMirror(cfg: MirrorConfig, opened: Pick<OpenRegistry, 'registry' | 'blobs' | 'index'>): Mirror {
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
  return {
    names,
    pull,
    sync,
    syncIntervalMs: ms(cfg.sync?.interval, '1h'),
    setLog(log) {
      pull.log = log;
      if (sync) sync.log = log;
    },
    close: () => pull.close(),
  };
}
