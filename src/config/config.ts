/**
 * berth's configuration: defaults that need no file, a YAML or JSON file (same schema), then flags.
 * An unknown or ill-typed key is an error naming its place, at start-up (the shape: schema.ts).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ImmutableTagRule } from '../registry/immutable-tags.js';
import type { AccessControlConfig } from '../auth/policy.js';
import { eventsConfigProblem, type EventsConfig } from '../events/sinks.js';
import { check, isList, SHAPE, type Leaf, type ListShape, type Shape } from './schema.js';
import { ConfigError, parseListen } from './units.js';

export { ConfigError, EngineError, durationMs, parseListen } from './units.js';

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
    /** A split bundle whose parts stopped arriving is forgotten (its <root>/imports/ state) after this long. */
    importTTL: string | number;
    /** Online garbage collection: every `interval`, what is unreachable and older than `delay` goes. */
    gc: { enabled: boolean; interval: string | number; delay: string | number };
    /** A periodic scrub (what `berth verify` does, without repair), logged; off by default. */
    scrub: { enabled: boolean; interval: string | number };
    /** Which tags to keep, per repository pattern; applied before each garbage collection. */
    retention?: { dryRun?: boolean; policies?: unknown[]; bundles?: unknown[] };
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
  /** Only these platforms' children of a mirrored index are fetched ahead (os/arch[/variant]); all by default. */
  platforms?: string[];
  /** A disk budget for mirrored content (mirror/cache-budget.ts); none by default. */
  cache?: {
    /** Bytes (a number, or 50G, 800M...) or a share of the volume ("80%"). */
    maxBytes?: string | number;
    /** Evict while the volume's free space is under this share ("10%"). */
    lowWater?: string;
    /** Images pulled within this long are never evicted (default 1h). */
    minAge?: string | number;
    /** `<host>/<path>[:tag]` globs never evicted. */
    pin?: string[];
    /** How often the budget is checked (default 1m). */
    interval?: string | number;
  };
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
  storage: { driver: 'filesystem', root: './storage', fsync: true, delete: { enabled: true }, uploadTTL: '24h', importTTL: '168h', gc: { enabled: true, interval: '24h', delay: '1h' }, scrub: { enabled: false, interval: '168h' } },
  metadata: { driver: 'leveldb' },
  metrics: { enabled: true },
  ui: { enabled: true, sessionTTL: '8h' },
  log: { level: 'info' },
};

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
