/** `berth serve`: opens the registry, listens, and shuts down gracefully on SIGTERM/SIGINT. */
import { buildApp } from '../http/app.js';
import { openRegistry } from '../open.js';
import { ConfigError, durationMs, parseListen, type BerthConfig } from '../config/config.js';
import { openOptions } from './open-options.js';
import { eventsEnabled } from '../events/sinks.js';
import type { AuthDeps } from '../http/authorize.js';
import type { SharedAuth } from '../index/metadata.js';
import { StorePaths } from '../storage/paths.js';
import { BasicGate, BearerGate } from '../auth/authenticator.js';
import type { TokenService } from '../auth/token-service.js';
import { DEFAULT_LIMITS, LoginLimiter } from '../auth/limiter.js';
import { Htpasswd } from '../auth/htpasswd.js';
import { AccessPolicy } from '../auth/policy.js';
import { AUTHENTICATED_ONLY, validateAccessControl } from '../auth/config.js';
import { StorageStatsCache } from '../registry/storage-stats.js';
import { PasswordCheck } from '../auth/passwords.js';
import { PullCredentials } from '../auth/pull-credentials.js';
import { Robots, type RobotIndex } from '../auth/robots.js';
import { SessionStore } from '../auth/sessions.js';
import { readTls, watchTls } from './tls.js';
import { forgetServing, recordServing } from './serving.js';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LIMITS as HTTP_LIMITS, type Limits } from '../http/limits.js';
import { pino } from 'pino';
import { BatchedDestination } from './log.js';
import type { FastifyBaseLogger } from 'fastify';
import { returnMemoryAfterBursts } from './memory.js';
import { bundleServices } from '../bundles/services.js';

/**
 * Auth is wholly on when an htpasswd file is configured, and wholly off otherwise: Basic on /v2/, or
 * with `http.auth.token` Bearer tokens from /auth/token (signed by the configured key, or by one made
 * once under <root>/auth/, or, where replicas share the store, once for all of them in `shared`).
 * Minted pull credentials are signed by a key made the same way.
 */
export async function authFrom(
  config: BerthConfig,
  shared?: SharedAuth,
  robotIndex?: RobotIndex,
): Promise<{ auth?: AuthDeps; tokens?: TokenService; passwords?: PasswordCheck; robots?: Robots }> {
  const path = config.http.auth?.htpasswd?.path;
  if (!path) return {};
  const users = new Htpasswd(path);
  const f = config.http.auth?.failedLogins ?? {};
  const limiter = new LoginLimiter({
    perClient: f.perClient ?? DEFAULT_LIMITS.perClient,
    perUser: f.perUser ?? DEFAULT_LIMITS.perUser,
    windowMs: (f.windowSeconds ?? DEFAULT_LIMITS.windowMs / 1000) * 1000,
    failureDelayMs: f.delayMs ?? DEFAULT_LIMITS.failureDelayMs,
  }, shared?.failures);
  const policy = new AccessPolicy(config.accessControl ? validateAccessControl(config.accessControl) : AUTHENTICATED_ONLY);
  const t = config.http.auth?.token;
  const paths = new StorePaths(config.storage.root);
  const maxLifetime = durationMs(config.http.auth?.pullCredentials?.maxLifetime ?? '24h') / 1000;
  const pull = new PullCredentials(await PullCredentials.key(paths.pullCredentialKey, shared?.secret.bind(shared)), maxLifetime);
  // robot accounts live in the index: every replica sees one the moment it is made or revoked
  const robots = robotIndex ? new Robots(robotIndex, (u) => users.has(u)) : undefined;
  const passwords = new PasswordCheck(users, limiter, pull, robots);
  if (!t) return { auth: { gate: new BasicGate(users, config.http.auth?.realm ?? 'berth', limiter, pull, robots), policy }, passwords, ...(robots ? { robots } : {}) };
  const { TokenIssuer, newKeyPem } = await import('../auth/tokens.js');
  const { TokenService } = await import('../auth/token-service.js');
  const settings = { service: t.service ?? 'berth', issuer: t.issuer ?? 'berth', expiresIn: t.expiresIn ?? 300, refreshExpiresIn: 30 * 24 * 3600 };
  const issuer =
    t.key === undefined && shared
      ? TokenIssuer.fromPem(await shared.secret('token-key', newKeyPem), 'the token key shared in the metadata database', settings)
      : await TokenIssuer.open(t.key ?? paths.tokenKey, t.key === undefined, settings);
  const realm = config.http.externalUrl ? `${config.http.externalUrl.replace(/\/+$/, '')}/auth/token` : undefined;
  return { auth: { gate: new BearerGate(issuer, realm, robots), policy }, tokens: new TokenService(issuer, users, policy, limiter, pull, robots), passwords, ...(robots ? { robots } : {}) };
}

/** http.limits with their defaults; `berth config check` runs it too. */
export function limitsFrom(config: BerthConfig): Limits {
  const l = config.http.limits ?? {};
  if (l.rateLimit && (l.rateLimit.max === undefined || l.rateLimit.window === undefined)) throw new ConfigError('http.limits.rateLimit: needs max and window');
  return {
    headerBytes: l.headerBytes ?? HTTP_LIMITS.headerBytes,
    idleTimeoutMs: l.idleTimeout === undefined ? HTTP_LIMITS.idleTimeoutMs : durationMs(l.idleTimeout),
    maxConcurrentUploads: l.maxConcurrentUploads ?? HTTP_LIMITS.maxConcurrentUploads,
    ...(l.rateLimit ? { rateLimit: { max: l.rateLimit.max, windowMs: durationMs(l.rateLimit.window) } } : {}),
  };
}

/** mirror.cache as the web UI's storage page shows it. */
function mirrorCacheView(cache: import('../mirror/cache-budget.js').CacheBudget) {
  return async () => ({ bytes: cache.bytes, limit: (await cache.limit()) ?? null, lowWaterPercent: cache.opts.lowWaterPercent ?? null, totals: cache.totals, last: cache.last ?? null });
}

export async function serve(config: BerthConfig): Promise<void> {
  const { host, port } = parseListen(config.http.listen);
  const opened = await openRegistry(openOptions(config, true));
  const tls = config.http.tls;
  const health = {
    shuttingDown: false,
    // the blob store writable (a probe written and removed) and the index readable
    async check() {
      await opened.blobs.check();
      await opened.index.repositoryExists('readyz-probe');
    },
  };
  // optional features load their modules only when configured (every module loaded stays resident)
  const mirror = config.mirror ? (await import('../mirror/mirror.js')).openMirror(config.mirror, opened, config.storage.root) : undefined;
  const bundles = bundleServices(opened, config.storage.root, config.mirror?.prefix);

  const storageStats = new StorageStatsCache(opened.blobs, opened.index);
  const metrics = config.metrics.enabled ? new (await import('../http/metrics.js')).Metrics({ registry: opened.registry, mirror: mirror?.pull, ...(mirror?.cache ? { mirrorCache: mirror.cache } : {}), storage: storageStats.get }) : undefined;
  const sharedAuth = opened.index.shared?.auth;
  const { auth, tokens, passwords, robots } = await authFrom(config, sharedAuth, opened.index);
  const sessions = config.ui.enabled && passwords ? new SessionStore(durationMs(config.ui.sessionTTL), (user) => passwords.users.has(user), sharedAuth?.sessions) : undefined;
  const ui = config.ui.enabled
    ? (await import('../ui/ui.js')).createUi(opened.index, opened.registry, {
        ...(passwords ? { passwords } : {}),
        storage: storageStats.get,
        gcSchedule: { enabled: config.storage.gc.enabled, interval: String(config.storage.gc.interval), delay: String(config.storage.gc.delay) },
        secureCookies: tls !== undefined,
        ...(mirror?.cache ? { mirrorCache: mirrorCacheView(mirror.cache) } : {}),
        ...(config.http.externalUrl ? { registryHost: new URL(config.http.externalUrl).host } : {}),
      })
    : undefined;
  const logLines = process.stdout.isTTY ? undefined : new BatchedDestination();
  // log.audit: the audit trail in a file of its own (JSON lines, appended, synchronous writes)
  const auditLog = config.log.audit ? (pino({ base: { stream: 'audit' } }, pino.destination({ dest: config.log.audit, mkdir: true, sync: true })) as unknown as FastifyBaseLogger) : undefined;
  const app = await buildApp({
    limits: limitsFrom(config),
    ...(auditLog ? { auditLog } : {}),
    ...(tls ? { https: readTls(tls) } : {}),
    health,
    mirror,
    metrics,
    bundles,
    registry: opened.registry,
    auth,
    tokens,
    ui,
    sessions,
    ...(passwords ? { passwords } : {}),
    ...(robots ? { robots } : {}),
    gcDelayMs: durationMs(config.storage.gc.delay),
    zeroCopy: config.http.zeroCopy ?? true,
    externalUrl: config.http.externalUrl,
    // readable lines when a person watches a terminal; JSON lines, written in batches, for log pipelines
    ...(logLines
      ? { loggerInstance: pino({ level: config.log.level }, logLines) as unknown as FastifyBaseLogger, accessLines: logLines }
      : { logger: { level: config.log.level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } }),
  });
  mirror?.setLog(app.log);
  // events.sinks: each sink's queue delivered (the index writes the queues whether or not this runs)
  const events = eventsEnabled(config.events) ? await (await import('../events/start.js')).startEvents(config.events, config.storage.root, opened, app.log) : undefined;
  if (events) metrics?.countEvents(events);
  const stopTlsWatch = tls ? watchTls(app.server as import('node:https').Server, tls, app.log) : undefined;
  // Maintenance runs on one process at a time for the whole store (the coordination's leases): each
  // replica's timer offers to run a job, and it runs where its last run finished long enough ago.
  const leases = opened.registry.coordination.leases;
  const timers: NodeJS.Timeout[] = [];
  const every = (job: string, ms: number, work: () => Promise<void>, firstMs = ms) => {
    const offer = () =>
      void leases.run(job, ms * 0.9, work).catch((err: unknown) => app.log.error({ err, job }, `${job} failed`));
    const first = setTimeout(offer, firstMs);
    const t = setInterval(offer, ms);
    first.unref();
    t.unref();
    timers.push(first, t);
  };
  // mirror.sync.images: prefetched soon after start, then every mirror.sync.interval
  if (mirror?.sync) {
    const sync = mirror.sync;
    every('mirror-sync', mirror.syncIntervalMs, async () => void (await sync.run()), 1000);
  }
  // mirror.cache: the least recently pulled mirrored images go while over budget or low on space
  if (mirror?.cache) {
    const cache = mirror.cache;
    every('mirror-cache', mirror.cacheIntervalMs, async () => {
      const r = await cache.enforce();
      if (r.evicted.length) app.log.info({ mirrorCache: r }, 'mirror cache eviction');
    });
    if (cache.opts.lowWaterPercent !== undefined) opened.registry.uploads.beforeWrite = () => cache.makeRoom();
  }
  // storage.uploadTTL: abandoned upload sessions and their data go away by themselves.
  const ttl = durationMs(config.storage.uploadTTL);
  every('upload-expiry', Math.max(1000, Math.min(ttl / 4, 10 * 60_000)), async () => {
    const n = await opened.registry.uploads.expire(ttl);
    if (n > 0) app.log.info({ expired: n }, 'expired upload sessions');
    const parts = await bundles.importer.expireParts(durationMs(config.storage.importTTL));
    if (parts > 0) app.log.info({ expired: parts }, 'forgot split bundles whose parts stopped arriving (storage.importTTL)');
  });
  const gcEvery = config.storage.gc.enabled ? durationMs(config.storage.gc.interval) : 0;
  if (gcEvery > 0) {
    every('gc-schedule', gcEvery, async () => {
      const retention = await opened.registry.retention.run(config.storage.retention?.dryRun ?? false);
      if (retention.tagsDeleted.length || retention.bundlesRemoved.length) app.log.info({ retention }, retention.dryRun ? 'retention would delete' : 'retention');
      app.log.info({ gc: await opened.registry.gc.run({ delayMs: durationMs(config.storage.gc.delay), dryRun: false }) }, 'garbage collection');
    });
  }
  if (config.storage.scrub.enabled) {
    every('scrub', durationMs(config.storage.scrub.interval), async () => {
      const r = await opened.registry.verifier.run(false);
      (r.problems.length ? app.log.error : app.log.info).call(app.log, { scrub: { ...r, problems: r.problems.slice(0, 100) } }, 'scrub');
    });
  }
  const pulls = setInterval(() => void opened.registry.manifests.flushPulls().catch(() => undefined), 60_000);
  pulls.unref();
  let webhook: { close(): Promise<void> } | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second signal: exit at once
    stopping = true;
    health.shuttingDown = true;
    for (const t of timers) clearInterval(t);
    stopTlsWatch?.();
    app.log.info({ signal }, 'shutting down');
    // app.close() stops accepting and waits for in-flight requests; past the timeout they are cut off
    const force = setTimeout(() => {
      app.log.warn('shutdown timeout: closing the connections still open');
      app.server.closeAllConnections();
    }, durationMs(config.http.shutdownTimeout ?? '60s'));
    await Promise.all([app.close(), webhook?.close()]);
    clearTimeout(force);
    await mirror?.close();
    await events?.close();
    clearInterval(pulls);
    await opened.registry.manifests.flushPulls().catch(() => undefined);
    await forgetServing(config.storage.root).catch(() => undefined);
    await opened.close();
    // pino writes asynchronously: the last lines (an audit line among them) must reach the log
    await new Promise<void>((resolve) => {
      const log = app.log as { flush?: (cb: () => void) => void };
      if (log.flush) log.flush(resolve);
      else resolve();
    });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // the image-redirect webhook: its own HTTPS listener, its modules loaded only when enabled.
  // It listens before the registry does: whoever sees /v2/ answer (a readiness probe, a test) finds
  // the whole process up, not a webhook port that refuses connections for a few milliseconds more.
  const w = config.webhook;
  webhook = w?.enabled
    ? await (await import('../webhook/server.js')).startWebhook(w, opened.registry, {
        prefix: config.mirror?.prefix ?? '',
        // air-gapped (mirror.sync.enable: false): no upstream fills anything
        fills: config.mirror?.sync?.enable === false ? [] : (config.mirror?.upstreams ?? []).map((u) => u.host),
      }, app.log)
    : undefined;
  await app.listen({ host, port });
  await recordServing(config.storage.root, app.server.address() as AddressInfo, tls !== undefined);
  returnMemoryAfterBursts();
  app.log.info({ root: config.storage.root, listen: config.http.listen }, 'berth is serving');
}
