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

/** A full disk (ENOSPC, from the store or from LevelDB) is the registry's condition, said plainly. */
function diskFull(err: unknown): RegistryError | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  const text = `${e?.code ?? ''} ${e?.message ?? ''} ${String((e as { cause?: unknown } | undefined)?.cause ?? '')}`;
  if (!/ENOSPC|No space left on device/i.test(text)) return undefined;
  return new RegistryError('DENIED', "the registry's storage is full; nothing of this request was kept", {
    status: 507,
    detail: { reason: 'ENOSPC' },
  });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const full = isRegistryError(err) ? undefined : diskFull(err);
  if (full) request.log.error({ err }, 'storage full');
  const known = full ?? (isRegistryError(err) ? err : fromFastify(err as FastifyError));
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
  // A body left unread (refused early, or cut short by a failed write) must not be parsed as the
  // next request on this connection: close it after the answer.
  if (known.status === 413 || !request.raw.complete) reply.header('Connection', 'close');
  return reply
    .code(known.status)
    .type('application/json')
    .send(envelope(known.code, known.message, known.detail ?? null));
}
