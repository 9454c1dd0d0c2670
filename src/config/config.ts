/**
 * berth's configuration: defaults that need no file, a YAML or JSON file (same schema), then flags.
 * An unknown or ill-typed key is an error naming its place, at start-up.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { validateAccessControl } from '../auth/config.js';
import { retentionRules } from '../registry/retention.js';
import { immutableTagRules, type ImmutableTagRule } from '../registry/immutable-tags.js';
import type { AccessControlConfig } from '../auth/policy.js';
import { eventsConfigProblem, type EventsConfig } from '../events/sinks.js';

export interface BerthConfig {
  http: {
    listen: string;
    externalUrl?: string;
    /** https: PEM files; a replaced certificate is picked up without a restart. clientCA: mutual TLS. */
    tls?: { cert: string; key: string; clientCA?: string };
    /** headerBytes (16384), idleTimeout (60s), maxConcurrentUploads (0: none), rateLimit {max, window} per client. */
    limits?: { headerBytes?: number; idleTimeout?: string | number; maxConcurrentUploads?: number; rateLimit?: { max: number; window: string | number } };
    /** On SIGTERM/SIGINT, in-flight requests and uploads get this long to finish (default 60s). */
    shutdownTimeout?: string | number;
    /** Blob downloads by sendfile(2) where possible (default true); false copies them through user space. */
    zeroCopy?: boolean;
    auth?: {
      realm?: string;
      htpasswd?: { path: string };
      /** Token mode: /v2/ takes Bearer tokens from the token service at /auth/token. */
      token?: { service?: string; issuer?: string; expiresIn?: number; key?: string };
      /** Failed-login limits (defaults: 20 per client and 10 per user in 300 s, each failure answered after 300 ms). */
      failedLogins?: { perClient?: number; perUser?: number; windowSeconds?: number; delayMs?: number };
      /** Minted pull-only passwords (POST /_berth/pull-credentials): the longest lifetime one may ask for (default 24h). */
      pullCredentials?: { maxLifetime?: string | number };
    };
  };
  accessControl?: AccessControlConfig;
  storage: {
    /** Where blobs and upload sessions live: files under root (default), or an S3 bucket. */
    driver: 'filesystem' | 's3';
    s3?: S3Config;
    root: string;
    fsync: boolean;
    delete: { enabled: boolean };
    /** Upload sessions idle longer than this expire with their data: "24h", "30m", "90s" or seconds. */
    uploadTTL: string | number;
    /** Online garbage collection: every `interval`, what is unreachable and older than `delay` goes. */
    gc: { enabled: boolean; interval: string | number; delay: string | number };
    /** A periodic scrub (what `berth verify` does, without repair), logged; off by default. */
    scrub: { enabled: boolean; interval: string | number };
    /** Which tags to keep, per repository pattern; applied before each garbage collection. */
    retention?: { dryRun?: boolean; policies?: unknown[] };
    /** At most this many repositories. */
    maxRepositories?: number;
    /** Bytes per repository pattern: [{repositories: "team-a/**", maxBytes: 10737418240}]. */
    quotas?: { repositories: string; maxBytes: number }[];
    /** Tags that never move once pushed, nor are deleted (registry/immutable-tags.ts). */
    immutableTags?: ImmutableTagRule[];
  };
  /** Where the metadata index lives: LevelDB under storage.root (default), or a PostgreSQL database. */
  metadata: MetadataConfig;
  /** Pull-through mirror of upstream registries; wholly off when absent. */
  mirror?: MirrorConfig;
  /** The image-redirect admission webhook, on an HTTPS listener of its own; wholly off unless enabled. */
  webhook?: WebhookConfig;
  /** CloudEvents to HTTP sinks on every change (events/sinks.ts); wholly off without sinks. */
  events?: EventsConfig;
  /** Prometheus metrics at /metrics (on by default). */
  metrics: { enabled: boolean };
  /** The web UI at / and its API under /api/ (on by default); a login lasts sessionTTL (8h). */
  ui: { enabled: boolean; sessionTTL: string | number };
  /** audit: a file the audit trail is appended to, instead of the access log's stream. */
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; audit?: string };
}

export interface S3Config {
  /** An S3-compatible store's URL (Ceph RGW, MinIO, ...); absent: AWS's endpoint for the region. */
  endpoint?: string;
  region?: string;
  bucket?: string;
  /** Every key under this prefix ('registry-a/'): one bucket can hold several registries. */
  prefix?: string;
  /** bucket in the path, not the host name (most S3-compatible stores want it; default true with an endpoint). */
  forcePathStyle?: boolean;
  /** Static credentials; absent: the AWS SDK's chain (AWS_* environment, shared files, instance roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** A file holding the secret key (a mounted Secret), instead of secretAccessKey. */
  secretAccessKeyFile?: string;
  /** PEM of the CA that signed the store's certificate; insecure: do not verify it. */
  ca?: string;
  insecure?: boolean;
  /** Connecting (default 5s), then each request's silence (default 30s): past them a request answers 503. */
  connectTimeout?: string | number;
  requestTimeout?: string | number;
  /** Blob GETs answered with a 307 to a presigned URL valid for redirectExpiry (default 10m): clients must reach the store. */
  redirect?: boolean;
  redirectExpiry?: string | number;
}

export interface MetadataConfig {
  driver: 'leveldb' | 'postgres';
  postgres?: {
    /** libpq-style: postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=/etc/berth/pg-ca.pem */
    url?: string;
    /** The schema berth's tables live in (default berth): several registries may share a database. */
    schema?: string;
    poolSize?: number;
    /** Connecting (default 5s), then each statement (default 15s): past them a request answers 503. */
    connectTimeout?: string | number;
    queryTimeout?: string | number;
  };
}

export interface MirrorConfig {
  /** Mirrored content lives under `<prefix>/<host>/<repository>` ('' by default). */
  prefix?: string;
  /** A cached tag is re-validated upstream at most this often (default 5m). */
  tagTTL?: string | number;
  /** Connecting to an upstream (default 3s); then its response headers (timeout, default 10s). */
  connectTimeout?: string | number;
  timeout?: string | number;
  /** An upstream that could not be reached is left alone this long (default 30s). */
  retryAfter?: string | number;
  upstreams?: { host: string; url: string; username?: string; password?: string; credentialsFile?: string; ca?: string; insecure?: boolean }[];
  sync?: {
    /** false: berth never contacts an upstream (air-gapped); what is cached or imported is served. */
    enable?: boolean;
    interval?: string | number;
    /** Prefetched every interval: `repository` is `<host>/<path>`, `tags` glob patterns. */
    images?: { repository: string; tags?: string[] }[];
  };
}

export interface WebhookConfig {
  enabled?: boolean;
  /** Its HTTPS listener (default 0.0.0.0:8443): the API server calls it through a Service. */
  listen?: string;
  /** Its serving certificate (`berth webhook-cert` writes one); replaced files are picked up. */
  tls?: { cert: string; key: string };
  /** berth's address as the nodes pull from it, such as 10.10.254.254:30003: rewritten images name it. */
  registry?: string;
  /** always (default): every image not excluded; available: only those berth has or an upstream can fill. */
  rewrite?: 'always' | 'available';
  /** Hosts (quay.io) or patterns over host/repository (docker.io/bitnami/*, ** across components) never rewritten. */
  exclude?: string[];
  /** The label that turns rewriting off for a pod, or (in the webhook configuration) a namespace. */
  optOutLabel?: { key: string; value: string };
}

export const DEFAULT_CONFIG: BerthConfig = {
  http: { listen: '0.0.0.0:5000' },
  storage: { driver: 'filesystem', root: './storage', fsync: true, delete: { enabled: true }, uploadTTL: '24h', gc: { enabled: true, interval: '24h', delay: '1h' }, scrub: { enabled: false, interval: '168h' } },
  metadata: { driver: 'leveldb' },
  metrics: { enabled: true },
  ui: { enabled: true, sessionTTL: '8h' },
  log: { level: 'info' },
};

type Leaf = 'string' | 'boolean' | 'number' | 'duration' | 'map' | 'retention' | 'quotas' | 'immutableTags' | 'strings' | 'stringMap';
/** `$list`: a list of maps of that shape; `$required`: keys each of them must have. */
type ListShape = { $list: Shape; $required: readonly string[] };
type Shape = { [k: string]: Shape | Leaf | readonly string[] | ListShape };
const SHAPE: Shape = {
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
    gc: { enabled: 'boolean', interval: 'duration', delay: 'duration' },
    scrub: { enabled: 'boolean', interval: 'duration' },
    retention: { dryRun: 'boolean', policies: 'retention' },
    maxRepositories: 'number',
    quotas: 'quotas',
    immutableTags: 'immutableTags',
  },
  mirror: {
    prefix: 'string',
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

export class ConfigError extends Error {}

/** A configured engine (a database, an object store) that cannot be reached or refuses berth, at start. */
export class EngineError extends Error {}

function isList(s: unknown): s is ListShape {
  return typeof s === 'object' && s !== null && '$list' in s;
}

function check(value: unknown, shape: Shape | ListShape, where: string): void {
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
    } else if (want === 'retention') {
      try {
        retentionRules(v, place, durationMs);
      } catch (err) {
        throw new ConfigError((err as Error).message);
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

function merge<T>(base: T, over: unknown): T {
  if (typeof over !== 'object' || over === null) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = typeof b === 'object' && b !== null && typeof v === 'object' && v !== null ? merge(b, v) : v;
  }
  return out as T;
}

export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = {}): BerthConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {}; // YAML is a superset of JSON: one parser reads both
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message}`);
  }
  check(raw, SHAPE, '');
  const over = envOverrides(env);
  check(over, SHAPE, '');
  const config = merge(merge(DEFAULT_CONFIG, raw), over);
  const w = config.webhook;
  if (w?.enabled) {
    if (!w.tls?.cert || !w.tls.key) throw new ConfigError('webhook.tls: cert and key are required (the API server calls webhooks over HTTPS only)');
    if (!w.registry) throw new ConfigError("webhook.registry: required, berth's address as the nodes pull from it (10.10.254.254:30003)");
    if (w.listen !== undefined) parseListen(w.listen);
  }
  const events = eventsConfigProblem(config.events);
  if (events) throw new ConfigError(events);
  return config;
}

/**
 * `BERTH_<SECTION>_<KEY>...` environment overrides (BERTH_HTTP_LISTEN, BERTH_STORAGE_GC_INTERVAL,
 * BERTH_MIRROR_UPSTREAMS='[{host: ..., url: ...}]'): path segments match keys case-insensitively; a value is
 * read as YAML, so numbers, booleans and lists keep their types. Variables whose first segment names no
 * section are not berth's configuration and are ignored; within a section an unknown key is an error.
 * Not REGISTRY_*: podman and skopeo set REGISTRY_AUTH_FILE.
 */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BERTH_') || value === undefined) continue;
    const words = name.slice(6).toLowerCase().split('_');
    let shape: Shape | ListShape | Leaf | readonly string[] = SHAPE;
    let node = out;
    const path: string[] = [];
    for (let i = 0; i < words.length; i++) {
      if (typeof shape !== 'object' || Array.isArray(shape) || isList(shape)) throw new ConfigError(`${name}: ${path.join('.')} takes the whole value`);
      const keys: string[] = Object.keys(shape);
      // a key may itself hold an underscore-free camelCase word: match the longest run of words first
      let found: string | undefined;
      let used = 0;
      for (let j = words.length; j > i && !found; j--) {
        const joined = words.slice(i, j).join('');
        found = keys.find((k) => k.toLowerCase() === joined);
        used = j - i;
      }
      if (!found) {
        if (i === 0) break; // not a configuration variable
        throw new ConfigError(`${name}: unknown key ${[...path, words[i]].join('.')}`);
      }
      path.push(found);
      i += used - 1;
      const next: Shape | ListShape | Leaf | readonly string[] = (shape as Shape)[found]!;
      if (i === words.length - 1) {
        let v: unknown = value;
        if (next !== 'string') {
          try {
            v = parseYaml(value);
          } catch {
            throw new ConfigError(`${name}: not a valid value for ${path.join('.')}`);
          }
        }
        node[found] = v;
      } else {
        node = (node[found] ??= {}) as Record<string, unknown>;
      }
      shape = next;
    }
  }
  return out;
}

export async function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Promise<BerthConfig> {
  if (!file) return parseConfig('', 'defaults', env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file, env);
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`listen: expected HOST:PORT, got ${listen}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** "24h", "30m", "90s", "2d", "500ms" or a number of seconds, in milliseconds. */
export function durationMs(v: string | number): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) throw new Error(`expected a duration such as "24h", "30m" or "90s", got ${JSON.stringify(v)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
