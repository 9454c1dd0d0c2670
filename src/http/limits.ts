/**
 * Limits (issue 8): a cap on upload bodies in flight, an optional per-client rate limit
 * (@fastify/rate-limit), oversized headers answered with an error envelope. Each refusal carries
 * the spec's error code: TOOMANYREQUESTS (429, with Retry-After) for the caps.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { rawPath } from './request.js';

export interface Limits {
  /** Largest request head (Node's maxHeaderSize); larger ones get 431. */
  headerBytes: number;
  /** A connection silent this long is closed (slow or stalled clients). */
  idleTimeoutMs: number;
  /** Upload requests carrying a body at once; 0 = no cap. */
  maxConcurrentUploads: number;
  /** Requests per client (IP) per window; absent = no rate limit. */
  rateLimit?: { max: number; windowMs: number };
}

export const DEFAULT_LIMITS: Limits = { headerBytes: 16 * 1024, idleTimeoutMs: 60_000, maxConcurrentUploads: 0 };

const PROBES = new Set(['/livez', '/readyz', '/startupz', '/metrics']);

/**
 * For Fastify's clientErrorHandler: a head over the limit gets the error envelope, then the socket
 * closes. As Fastify's own handler does, nothing is written once a response has gone out on the
 * socket (a client still sending the body of a refused request must not get a second answer).
 */
export function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable && socket.bytesWritten === 0) {
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      errors: [{ code: tooLarge ? 'SIZE_INVALID' : 'UNSUPPORTED', message: tooLarge ? 'request headers are too large' : 'malformed request', detail: null }],
    });
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.write(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** Counts upload bodies in flight; refuses past the cap. */
export class UploadSlots {
  private inFlight = 0;
  constructor(private readonly max: number) {}

  /** For a request to an upload endpoint: takes a slot when it carries a body, released when its response is done. */
  take(request: FastifyRequest, reply: FastifyReply): void {
    if (this.max <= 0 || request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE') return;
    if (this.inFlight >= this.max) {
      throw new RegistryError('TOOMANYREQUESTS', `more than ${this.max} uploads at once; retry shortly`, { headers: { 'Retry-After': '1' } });
    }
    this.inFlight++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.inFlight--;
      }
    };
    reply.raw.once('close', release);
    reply.raw.once('finish', release);
  }
}

/** Loaded only when a rate limit is configured. */
export async function registerRateLimit(app: FastifyInstance, limit: { max: number; windowMs: number }): Promise<void> {
  const { default: rateLimit } = await import('@fastify/rate-limit');
  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.windowMs,
    allowList: (request) => PROBES.has(rawPath(request)),
    errorResponseBuilder: (_request, ctx) =>
      new RegistryError('TOOMANYREQUESTS', `more than ${ctx.max} requests in ${ctx.after}; retry later`, { headers: { 'Retry-After': String(Math.ceil(ctx.ttl / 1000)) } }),
  });
}
