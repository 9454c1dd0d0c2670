/**
 * The configuration's shape: every key berth knows, with the type of its value. check() walks a
 * parsed file (or the environment's overrides) against it, so an unknown or ill-typed key is an
 * error naming its place; the validators of structured values (access control, retention,
 * immutable tags) live with their features.
 */
import { validateAccessControl } from '../auth/config.js';
import { retentionRules } from '../registry/retention.js';
import { bundleRetentionRules } from '../registry/bundle-lifecycle.js';
import { immutableTagRules } from '../registry/immutable-tags.js';
import { ConfigError, durationMs, sizeOrShare } from './units.js';

export type Leaf = 'string' | 'boolean' | 'number' | 'duration' | 'size' | 'map' | 'retention' | 'bundleRetention' | 'quotas' | 'immutableTags' | 'strings' | 'stringMap';
/** `$list`: a list of maps of that shape; `$required`: keys each of them must have. */
export type ListShape = { $list: Shape; $required: readonly string[] };
export type Shape = { [k: string]: Shape | Leaf | readonly string[] | ListShape };
export const SHAPE: Shape = {
  http: {
    listen: 'string',
    externalUrl: 'string',
    shutdownTimeout: 'duration',
    zeroCopy: 'boolean',
    tls: { cert: 'string', key: 'string', clientCA: 'string' },
    limits: { headerBytes: 'number', idleTimeout: 'duration', maxConcurrentUploads: 'number', rateLimit: { max: 'number', window: 'duration' } },
    auth: {
      realm: 'string',
      htpasswd: { path: 'string' },
      token: { service: 'string', issuer: 'string', expiresIn: 'number', key: 'string' },
      failedLogins: { perClient: 'number', perUser: 'number', windowSeconds: 'number', delayMs: 'number' },
      pullCredentials: { maxLifetime: 'duration' },
    },
  },
  accessControl: 'map', // validated in auth/config.ts
  storage: {
    driver: ['filesystem', 's3'],
    s3: {
      endpoint: 'string', region: 'string', bucket: 'string', prefix: 'string', forcePathStyle: 'boolean',
      accessKeyId: 'string', secretAccessKey: 'string', secretAccessKeyFile: 'string', ca: 'string', insecure: 'boolean',
      connectTimeout: 'duration', requestTimeout: 'duration', redirect: 'boolean', redirectExpiry: 'duration',
    },
    root: 'string',
    fsync: 'boolean',
    delete: { enabled: 'boolean' },
    uploadTTL: 'duration',
    importTTL: 'duration',
    gc: { enabled: 'boolean', interval: 'duration', delay: 'duration' },
    scrub: { enabled: 'boolean', interval: 'duration' },
    retention: { dryRun: 'boolean', policies: 'retention', bundles: 'bundleRetention' },
    maxRepositories: 'number',
    quotas: 'quotas',
    immutableTags: 'immutableTags',
  },
  mirror: {
    prefix: 'string',
    platforms: 'strings',
    cache: { maxBytes: 'size', lowWater: 'size', minAge: 'duration', pin: 'strings', interval: 'duration' },
    tagTTL: 'duration',
    connectTimeout: 'duration',
    timeout: 'duration',
    retryAfter: 'duration',
    upstreams: {
      $list: { host: 'string', url: 'string', username: 'string', password: 'string', credentialsFile: 'string', ca: 'string', insecure: 'boolean' },
      $required: ['host', 'url'],
    },
    sync: {
      enable: 'boolean',
      interval: 'duration',
      images: { $list: { repository: 'string', tags: 'strings' }, $required: ['repository'] },
    },
  },
  metadata: {
    driver: ['leveldb', 'postgres'],
    postgres: { url: 'string', schema: 'string', poolSize: 'number', connectTimeout: 'duration', queryTimeout: 'duration' },
  },
  webhook: {
    enabled: 'boolean',
    listen: 'string',
    tls: { cert: 'string', key: 'string' },
    registry: 'string',
    rewrite: ['always', 'available'],
    exclude: 'strings',
    optOutLabel: { key: 'string', value: 'string' },
  },
  events: {
    sinks: {
      $list: {
        name: 'string', url: 'string', headers: 'stringMap', token: 'string', tokenFile: 'string', ca: 'string',
        repositories: 'strings', types: 'strings', timeout: 'duration',
      },
      $required: ['name', 'url'],
    },
    maxQueued: 'number',
    source: 'string',
  },
  metrics: { enabled: 'boolean' },
  ui: { enabled: 'boolean', sessionTTL: 'duration' },
  log: { level: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], audit: 'string' },
};

export function isList(s: unknown): s is ListShape {
  return typeof s === 'object' && s !== null && '$list' in s;
}

export function check(value: unknown, shape: Shape | ListShape, where: string): void {
  if (isList(shape)) {
    if (!Array.isArray(value)) throw new ConfigError(`${where}: must be a list`);
    value.forEach((item, i) => {
      check(item, shape.$list, `${where}[${i}]`);
      for (const k of shape.$required) if ((item as Record<string, unknown>)[k] === undefined) throw new ConfigError(`${where}[${i}].${k}: required`);
    });
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where || 'config'}: must be a map`);
  for (const [k, v] of Object.entries(value)) {
    const place = where ? `${where}.${k}` : k;
    const want = shape[k];
    if (want === undefined) throw new ConfigError(`${place}: unknown key`);
    if (want === 'strings') {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ConfigError(`${place}: must be a list of strings`);
    } else if (want === 'stringMap') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
        throw new ConfigError(`${place}: must be a map of strings`);
      }
    } else if (want === 'quotas') {
      if (!Array.isArray(v)) throw new ConfigError(`${place}: must be a list`);
      v.forEach((q, i) => {
        const o = q as Record<string, unknown>;
        if (typeof o !== 'object' || o === null || typeof o.repositories !== 'string' || typeof o.maxBytes !== 'number' || Object.keys(o).length !== 2) {
          throw new ConfigError(`${place}[${i}]: must be {repositories: "<pattern>", maxBytes: <number>}`);
        }
      });
    } else if (want === 'immutableTags') {
      try {
        immutableTagRules(v, place);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    } else if (want === 'bundleRetention') {
      try {
        bundleRetentionRules(v, place);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    } else if (want === 'retention') {
      try {
        retentionRules(v, place, durationMs);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    } else if (want === 'size') {
      try {
        sizeOrShare(v as string | number);
      } catch (err) {
        throw new ConfigError(`${place}: ${(err as Error).message}`);
      }
    } else if (want === 'duration') {
      try {
        durationMs(v as string | number);
      } catch (err) {
        throw new ConfigError(`${place}: ${(err as Error).message}`);
      }
    } else if (want === 'map') {
      try {
        validateAccessControl(v, place);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    } else if (want === 'string' || want === 'boolean' || want === 'number') {
      if (typeof v !== want) throw new ConfigError(`${place}: must be a ${want}`);
    } else if (Array.isArray(want)) {
      if (typeof v !== 'string' || !want.includes(v)) throw new ConfigError(`${place}: must be one of ${want.join(', ')}`);
    } else {
      check(v, want as Shape | ListShape, place);
    }
  }
}

