/**
 * Prometheus metrics at GET /metrics: requests by route, method and status with latency histograms,
 * bytes in and out (request-stats.ts), and with prom-client uploads in progress, what storage holds,
 * garbage collection and mirror counters, and Node's process metrics. Every request is observed
 * when it completes (the access log's hook), hijacked blob downloads included.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import { RequestStats } from './request-stats.js';
import type { Registry } from '../registry/registry.js';
import type { PullThrough } from '../mirror/pull-through.js';
import type { CacheBudget } from '../mirror/cache-budget.js';
import type { StorageStats } from '../registry/storage-stats.js';
import type { EventDelivery } from '../events/delivery.js';

export interface MetricsSources {
  registry: Registry;
  mirror?: PullThrough;
  /** mirror.cache's disk budget, when one is set. */
  mirrorCache?: CacheBudget;
  /** What storage holds; on every scrape, so it must cache its walk of the store (StorageStatsCache does). */
  storage?: () => Promise<StorageStats>;
  /** The event sinks' delivery, when there are sinks. */
  events?: EventDelivery;
}

export class Metrics {
  private readonly requests = new RequestStats();
  private registry?: Promise<PromRegistry>;

  constructor(private readonly sources: MetricsSources) {}

  /** Event delivery starts after the app (it logs through it): its series join before the first scrape. */
  countEvents(events: EventDelivery): void {
    this.sources.events = events;
  }

  /** `route`: routeOf(request), which the access log has worked out already. */
  observe(request: FastifyRequest, reply: FastifyReply, route: string): void {
    const inLen = Number(request.headers['content-length']);
    const outLen = request.method === 'HEAD' ? 0 : Number(reply.getHeader('content-length'));
    this.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000, inLen, outLen);
  }

  /** The same from plain figures (the hot path has no Fastify request); lengths that are not numbers count 0. */
  observeRequest(route: string, method: string, status: number, seconds: number, inLen: number, outLen: number): void {
    this.requests.observe(route, method, status, seconds, inLen > 0 ? inLen : 0, outLen > 0 ? outLen : 0);
  }

  /**
   * prom-client and its collectors, made at the first scrape: until something scrapes, none of it
   * is loaded. Node's process metrics read the process as it is then (CPU seconds, memory, handles);
   * only its GC and event-loop-lag histograms start counting at that moment. prom-client is
   * CommonJS: its exports object is the default export, in Node and in berth's bundle alike (the
   * bundle gives a CommonJS module imported this way no named exports).
   */
  private promRegistry(): Promise<PromRegistry> {
    this.registry ??= import('prom-client').then(({ default: prom }) => collectors(prom, this.sources));
    return this.registry;
  }

  async routes(app: FastifyInstance): Promise<void> {
    app.get('/metrics', async (_request, reply) => {
      const registry = await this.promRegistry();
      return reply.header('content-type', registry.contentType).send(this.requests.exposition() + (await registry.metrics()));
    });
  }
}

/** Every metric but the per-request ones (request-stats.ts), in a registry of their own. */
function collectors(prom: typeof import('prom-client'), sources: MetricsSources): PromRegistry {
  const { Counter, Gauge, Registry, collectDefaultMetrics } = prom;
  const promRegistry = new Registry();
  const registers = [promRegistry];
  collectDefaultMetrics({ register: promRegistry, prefix: 'berth_' });
  const { registry, mirror, storage } = sources;
  new Gauge({ name: 'berth_uploads_in_progress', help: 'Upload sessions open in this process', registers, collect() {
    this.set(registry.uploads.inProgress);
  } });
  for (const [key, name, help] of [
    ['blobs', 'berth_storage_blobs', 'Blobs stored'],
    ['bytes', 'berth_storage_bytes', 'Bytes of blobs stored'],
    ['repositories', 'berth_storage_repositories', 'Repositories'],
  ] as const) {
    new Gauge({ name, help, registers, async collect() {
      if (storage) this.set((await storage())[key]);
    } });
  }
  const fromSource = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers, collect() {
      this.reset();
      this.inc(read());
    } });
  const manifests = registry.manifests;
  fromSource('berth_manifest_cache_hits_total', 'Manifest and tag reads answered from memory', () => manifests.counters.cacheHits);
  fromSource('berth_manifest_cache_misses_total', 'Manifest and tag reads that went to the index', () => manifests.counters.cacheMisses);
  const stamps = manifests.stampCounts();
  if (stamps) {
    // replicas: each read checks its repository's change stamp; concurrent checks share a query
    fromSource('berth_manifest_stamp_checks_total', "Reads checked against their repository's change stamp", () => stamps.checks);
    fromSource('berth_manifest_stamp_queries_total', 'Index queries that answered the stamp checks', () => stamps.reads);
  }
  fromSource('berth_gc_runs_total', 'Garbage collections run', () => registry.gc.totals.runs);
  fromSource('berth_gc_blobs_deleted_total', 'Blobs deleted by garbage collection', () => registry.gc.totals.blobsDeleted);
  fromSource('berth_gc_bytes_reclaimed_total', 'Bytes reclaimed by garbage collection', () => registry.gc.totals.bytesReclaimed);
  if (mirror) {
    fromSource('berth_mirror_manifest_fetches_total', 'Manifests fetched from upstreams', () => mirror.counters.manifestFetches);
    fromSource('berth_mirror_blob_fetches_total', 'Blobs fetched from upstreams', () => mirror.counters.blobFetches);
    fromSource('berth_mirror_tag_revalidations_total', 'Cached tags re-validated upstream', () => mirror.counters.tagRevalidations);
    fromSource('berth_mirror_served_stale_total', 'Cached tags served while the upstream failed', () => mirror.counters.servedStale);
    fromSource('berth_mirror_upstream_errors_total', 'Upstream requests that failed', () => mirror.counters.upstreamErrors);
    new Gauge({ name: 'berth_mirror_fetches_in_progress', help: 'Blobs being fetched from upstreams', registers, collect() {
      this.set(mirror.fetchesInProgress);
    } });
  }
  const cache = sources.mirrorCache;
  if (cache) {
    new Gauge({ name: 'berth_mirror_cache_bytes', help: 'Bytes of the blobs mirrored images hold, at the last budget check (mirror.cache)', registers, collect() {
      this.set(cache.bytes);
    } });
    fromSource('berth_mirror_cache_evictions_total', 'Mirrored images evicted to keep mirror.cache', () => cache.totals.evictions);
    fromSource('berth_mirror_cache_bytes_freed_total', 'Bytes freed by evicting mirrored images', () => cache.totals.bytesFreed);
  }
  if (sources.events) eventSeries(prom, registers, sources.events);
  return promRegistry;
}

/** Per sink: what was delivered, failed and dropped here, and what waits in the shared queue. */
function eventSeries(prom: typeof import('prom-client'), registers: PromRegistry[], events: EventDelivery): void {
  const labelNames = ['sink'];
  for (const [key, name, help] of [
    ['delivered', 'berth_events_delivered_total', 'Events a sink took (2xx), from this process'],
    ['failed', 'berth_events_failed_total', 'Event deliveries that failed and will be retried, from this process'],
    ['dropped', 'berth_events_dropped_total', 'Events dropped from a full queue (events.maxQueued)'],
  ] as const) {
    new prom.Counter({ name, help, labelNames, registers, collect() {
      this.reset();
      for (const [sink, c] of events.counters) this.inc({ sink }, c[key]);
    } });
  }
  const waiting = (read: (b: { count: number; oldestAt: number } | undefined) => number) =>
    async function (this: import('prom-client').Gauge) {
      const backlog = await events.backlog().catch(() => undefined);
      for (const sink of events.counters.keys()) this.set({ sink }, read(backlog?.get(sink)));
    };
  new prom.Gauge({ name: 'berth_events_queued', help: 'Events waiting for a sink', labelNames, registers, collect: waiting((b) => b?.count ?? 0) });
  new prom.Gauge({ name: 'berth_events_oldest_queued_seconds', help: 'Age of the oldest event waiting for a sink (0: none)', labelNames, registers,
    collect: waiting((b) => (b ? Math.max(0, (Date.now() - b.oldestAt) / 1000) : 0)) });
}
