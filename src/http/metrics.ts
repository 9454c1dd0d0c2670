/**
 * Prometheus metrics at GET /metrics (issue 8), with prom-client: requests by route, method and status
 * with latency histograms, bytes in and out, uploads in progress, what storage holds, garbage
 * collection and mirror counters, and Node's process metrics. Every request is observed when it
 * completes (the access log's hook), hijacked blob downloads included.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Registry } from '../registry/registry.js';
import type { PullThrough } from '../mirror/pull-through.js';
import type { StorageStats } from '../registry/storage-stats.js';

export interface MetricsSources {
  registry: Registry;
  mirror?: PullThrough;
  /** What storage holds; on every scrape, so it must cache its walk of the store (StorageStatsCache does). */
  storage?: () => Promise<StorageStats>;
}

export class Metrics {
  readonly registry = new PromRegistry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route' | 'method'>;
  private readonly bytesIn: Counter<'route'>;
  private readonly bytesOut: Counter<'route'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
    this.requests = new Counter({ name: 'berth_http_requests_total', help: 'HTTP requests completed', labelNames: ['route', 'method', 'status'], registers });
    this.duration = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'Time to complete a request',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    });
    this.bytesIn = new Counter({ name: 'berth_http_request_bytes_total', help: 'Request body bytes declared by Content-Length', labelNames: ['route'], registers });
    this.bytesOut = new Counter({ name: 'berth_http_response_bytes_total', help: 'Response body bytes (Content-Length)', labelNames: ['route'], registers });
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
  }

  /**
   * The series of one route, method and status, made once: prom-client hashes a label set on every
   * call that names one, and this runs for every request.
   */
  private readonly series = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<'route' | 'method'>; bytesIn: Counter.Internal; bytesOut: Counter.Internal }>();

  /** `route`: routeOf(request), which the access log has worked out already. */
  observe(request: FastifyRequest, reply: FastifyReply, route: string): void {
    const method = request.method;
    const status = reply.statusCode;
    const key = `${route} ${method} ${status}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        requests: this.requests.labels(route, method, String(status)),
        duration: this.duration.labels(route, method),
        bytesIn: this.bytesIn.labels(route),
        bytesOut: this.bytesOut.labels(route),
      };
      this.series.set(key, s);
    }
    s.requests.inc();
    s.duration.observe(reply.elapsedTime / 1000);
    const inLen = Number(request.headers['content-length']);
    if (inLen > 0) s.bytesIn.inc(inLen);
    const outLen = Number(reply.getHeader('content-length'));
    if (outLen > 0 && method !== 'HEAD') s.bytesOut.inc(outLen);
  }

  async routes(app: FastifyInstance): Promise<void> {
    app.get('/metrics', async (_request, reply) => reply.header('content-type', this.registry.contentType).send(await this.registry.metrics()));
  }
}
