/**
 * The hot path: a pull's manifest HEAD and GET by tag or digest (distribution-spec end-3), answered
 * from the manifest cache straight from node:http's 'request' event, before Fastify makes its
 * request and reply, runs its hooks and routes. Every pull starts with this request, and every node
 * of a cluster that starts asks it for every image at once; Fastify's part of it was about as much
 * CPU as node:http's own (measured under wrk: a bare Fastify route 24-33 µs of CPU a request,
 * node:http alone 19-20, berth before this path 50; bench/README.md, fifth round).
 *
 * It answers only what it can answer exactly as the Fastify route would (same status, headers, body,
 * access line, metrics and noted pull): a GET or HEAD whose path has no query and no percent-escape,
 * whose manifest memory holds. Everything else (a miss, a malformed name, any other endpoint) goes to
 * Fastify unchanged. Features that decide per request before the route runs (authentication, the
 * mirror's names and freshness, the rate limit) turn it off: buildApp() does not install it then.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ManifestService } from '../registry/manifests.js';
import type { Metrics } from './metrics.js';
import { MANIFEST_PATH, manifestHeaders } from './routes/manifests.js';
import { accessLine, logsAccess, type AccessFigures } from './access-log.js';
import { API_VERSION } from './router.js';

export interface HotPathDeps {
  manifests: ManifestService;
  log: FastifyBaseLogger;
  metrics?: Metrics;
  /** The request id generator Fastify uses too, so ids stay unique across both paths. */
  nextId: () => string;
  /** Writes the access line `log` would write, without going through it (access-log.ts); absent, `log` writes it. */
  writeAccess?: (f: AccessFigures, reqId: string) => void;
}

export interface HotPath {
  /** True when it answered the request; false leaves the request untouched for Fastify. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** From now on every request goes to Fastify (which answers 503 while the server closes). */
  stop(): void;
}

export function hotPath(deps: HotPathDeps): HotPath {
  const { manifests, log, metrics, nextId, writeAccess } = deps;
  let stopped = false;
  let info: boolean | undefined;
  return {
    stop: () => void (stopped = true),
    serve(req, res) {
      const start = performance.now();
      const method = req.method;
      if (stopped || (method !== 'GET' && method !== 'HEAD')) return false;
      const url = req.url ?? '';
      // the route's own pattern; with no query and no escape, the raw path is the whole URL
      if (url.includes('?') || url.includes('%')) return false;
      const m = MANIFEST_PATH.exec(url);
      if (!m) return false;
      const name = m[1]!;
      const hit = manifests.cached(name, m[2]!);
      if (!hit) return false;
      const { record, bytes } = hit;
      manifests.notePull(name, record.digest, method === 'GET');
      res.writeHead(200, { 'docker-distribution-api-version': API_VERSION, ...manifestHeaders(record) });
      res.end(method === 'HEAD' ? undefined : bytes);
      const elapsedMs = performance.now() - start;
      const bytesIn = Number(req.headers['content-length']);
      info ??= logsAccess(log);
      if (info) {
        const figures = { method, url, status: 200, elapsedMs, route: 'manifest', repository: name, bytesIn, bytesOut: record.size };
        if (writeAccess) writeAccess(figures, nextId());
        else log.info(accessLine(figures, nextId()), 'request');
      }
      metrics?.observeRequest('manifest', method, 200, elapsedMs / 1000, bytesIn, method === 'HEAD' ? 0 : record.size);
      return true;
    },
  };
}

/**
 * Puts the hot path in front of Fastify's handler, the server's one 'request' listener (given to
 * createServer). app.inject() bypasses the server, so it always runs Fastify's path.
 */
export function putInFront(app: FastifyInstance, hot: HotPath): void {
  const [fastify, ...others] = app.server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (!fastify || others.length > 0) return; // not the server this was written for: Fastify's path alone
  app.server.removeAllListeners('request');
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => hot.serve(req, res) || fastify(req, res));
  app.addHook('preClose', (done) => {
    hot.stop();
    done();
  });
}
