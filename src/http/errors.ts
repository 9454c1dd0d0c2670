/**
 * The one place that writes the spec's error envelope (distribution-spec v1.1 "Error Codes"):
 *   {"errors": [{"code": "<CODE>", "message": "<text>", "detail": <any>}]}
 * Domain code throws RegistryError; Fastify's own errors and anything unexpected are mapped here.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError, isRegistryError, type ErrorCode } from '../oci/errors.js';

export interface ErrorBody {
  errors: { code: string; message: string; detail: unknown }[];
}

export function envelope(code: string, message: string, detail: unknown = null): ErrorBody {
  return { errors: [{ code, message, detail }] };
}

/** Fastify's own errors that are the client's fault, as the closest spec code. */
function fromFastify(err: FastifyError): RegistryError | undefined {
  const status = err.statusCode ?? 500;
  if (status >= 500) return undefined;
  const code: ErrorCode = status === 413 ? 'SIZE_INVALID' : status === 415 ? 'MANIFEST_INVALID' : 'UNSUPPORTED';
  return new RegistryError(code, err.message, { status });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const known = isRegistryError(err) ? err : fromFastify(err as FastifyError);
  if (!known) {
    // A client that went away mid-body is not a server fault; nobody is left to answer.
    if (request.raw.destroyed || (err as NodeJS.ErrnoException)?.code === 'ECONNRESET') {
      request.log.info({ err }, 'request aborted by the client');
    } else {
      request.log.error({ err }, 'internal error');
    }
    return reply.code(500).type('application/json').send(envelope('UNKNOWN', 'internal server error'));
  }
  for (const [k, v] of Object.entries(known.headers)) reply.header(k, v);
  if (known.status === 413) reply.header('Connection', 'close'); // the unread body must not be parsed as a request
  return reply
    .code(known.status)
    .type('application/json')
    .send(envelope(known.code, known.message, known.detail ?? null));
}
