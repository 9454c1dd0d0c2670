/**
 * The access log: one JSON line per completed request (instead of Fastify's two), with the route
 * kind and repository that matching found, and the byte counts. Requests answered on the hot path
 * (hot-path.ts) write the same line through accessLine().
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import type { Metrics } from './metrics.js';
import { auditLine } from './audit.js';
import { matchedRoute, routeOf } from './router.js';

export interface AccessFigures {
  method: string;
  url: string;
  status: number;
  elapsedMs: number;
  route: string;
  repository: string | undefined;
  /** Content-Length of the request and of the response, as their headers say (not a number: none). */
  bytesIn: number;
  bytesOut: number;
}

/**
 * The fields of an access line. `reqId` comes first when given: a line written through the root
 * logger then reads exactly as one written through Fastify's per-request child (whose binding it is).
 */
export function accessLine(f: AccessFigures, reqId?: string): Record<string, unknown> {
  const line: Record<string, unknown> = reqId === undefined ? {} : { reqId };
  line.method = f.method;
  line.url = f.url;
  line.status = f.status;
  line.ms = Math.round(f.elapsedMs);
  line.route = f.route;
  if (f.repository) line.repository = f.repository;
  if (f.bytesIn > 0) line.bytesIn = f.bytesIn;
  if (f.bytesOut > 0 && f.method !== 'HEAD') line.bytesOut = f.bytesOut;
  return line;
}

/**
 * Writes access lines straight to a JSON-lines destination: the line `log.info(accessLine(f, reqId),
 * 'request')` writes there, byte for byte (test/unit/http/access-log.test.ts), for a third of pino's
 * cost (0.55-0.67 µs a line with its destination, src/cli/log.ts, against pino's 1.9 µs for the line
 * alone; 1.5-1.8 µs when the object went through JSON.stringify): the line is one template, its strings escaped only when they
 * hold a character JSON escapes (never, for a path the hot path serves). pino walks, checks and
 * escapes every field of an object; on the hot path its line was a fifth of a cached manifest GET
 * (callgrind: 119,900 instructions a request with the access line, 98,000 without). For pino's
 * default line only (level number, epoch time, the logger's bindings, "msg"), which is what berth's
 * JSON logger writes. The fields and their order are accessLine()'s.
 */
export function directAccessWriter(log: FastifyBaseLogger, dest: { write(line: string): void }): (f: AccessFigures, reqId: string) => void {
  const logger = log as unknown as Record<symbol, unknown> & { levels: { values: Record<string, number> } };
  const head = `{"level":${logger.levels.values.info},"time":`;
  // the bindings as pino writes them after the time (`,"pid":…,"hostname":…`); pino.symbols is its API for this
  const bindings = String(logger[pino.symbols.chindingsSym] ?? '');
  return (f, reqId) => {
    let line = `${head}${Date.now()}${bindings},"reqId":${str(reqId)},"method":${str(f.method)},"url":${str(f.url)},"status":${f.status},"ms":${Math.round(f.elapsedMs)},"route":${str(f.route)}`;
    if (f.repository) line += `,"repository":${str(f.repository)}`;
    if (f.bytesIn > 0) line += `,"bytesIn":${f.bytesIn}`;
    if (f.bytesOut > 0 && f.method !== 'HEAD') line += `,"bytesOut":${f.bytesOut}`;
    dest.write(`${line},"msg":"request"}\n`);
  };
}

/** Quotes, backslashes, control characters and UTF-16 surrogates: what JSON.stringify may escape. */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `s` as a JSON string, by JSON.stringify only when it holds something to escape. */
function str(s: string): string {
  return ESCAPED.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** Whether a logger writes access lines at all (log.level info or finer). */
export function logsAccess(log: FastifyBaseLogger): boolean {
  return (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') ?? true;
}

export class AccessLog extends LogController {
  constructor(
    private readonly metrics?: Metrics,
    private readonly audit?: FastifyBaseLogger,
  ) {
    super();
  }
  /** Worked out at the first request. */
  private info?: boolean;

  override incomingRequest(): void {}
  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const route = routeOf(request);
    this.info ??= logsAccess(request.log);
    if (this.info) {
      const figures = {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        elapsedMs: reply.elapsedTime,
        route,
        repository: matchedRoute(request)?.repository,
        bytesIn: Number(request.headers['content-length']),
        bytesOut: Number(reply.getHeader('content-length')),
      };
      request.log.info(accessLine(figures), 'request');
    }
    const audit = auditLine(request, reply);
    // the audit trail goes to its own stream when one is configured (log.audit), with the request id
    if (audit) (this.audit ?? request.log).info(this.audit ? { ...audit, reqId: request.id } : audit, audit.event);
    this.metrics?.observe(request, reply, route);
  }
}
