/** Reading what a request says: query, lengths, ranges and bounded bodies. */
import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';

export function query(request: FastifyRequest): URLSearchParams {
  const url = request.raw.url ?? '';
  const i = url.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : url.slice(i + 1));
}

/** The raw (undecoded) path: names are validated on it, so encoded separators never pass. */
export function rawPath(request: FastifyRequest): string {
  const url = request.raw.url ?? '';
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function contentLength(request: FastifyRequest): number | undefined {
  const v = header(request, 'content-length');
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new RegistryError('SIZE_INVALID', 'invalid Content-Length');
  return Number(v);
}

/** True when the request carries a body (a Content-Length above 0, or a chunked body). */
export function hasBody(request: FastifyRequest): boolean {
  const len = contentLength(request);
  if (len !== undefined) return len > 0;
  return header(request, 'transfer-encoding') !== undefined;
}

/**
 * A refused body up to this size is still read to its end before the answer goes out. HTTP/1.1 has
 * no way to refuse a body midway: a client still sending when the server closes the connection gets
 * a reset, often before it reads the 413 (undici's fetch then says only "fetch failed"). Bodies larger
 * than this are cut off all the same; reading them would cost more than the clear answer is worth.
 */
export const DRAIN_BYTES = 16 * 1024 * 1024;

/** Reads and drops up to `limit` bytes of a body (a refused one, so the client still sending sees the answer). */
export async function discard(body: AsyncIterable<Buffer>, limit: number): Promise<void> {
  let n = 0;
  for await (const c of body) if ((n += c.length) > limit) return;
}

/** Reads a whole body of at most `limit` bytes (manifests); larger ones are drained (to DRAIN_BYTES) and refused. */
export async function readBounded(request: FastifyRequest, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const len = contentLength(request);
  if (len !== undefined && len > limit) {
    if (len <= DRAIN_BYTES) await discard(request.raw, DRAIN_BYTES);
    throw tooLarge();
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.raw) {
    total += (chunk as Buffer).length;
    if (total > DRAIN_BYTES) break; // leaving the loop destroys the request: the connection closes
    if (total <= limit) parts.push(chunk as Buffer);
  }
  if (total > limit) throw tooLarge();
  return Buffer.concat(parts, total);
}

/** `n` of tags/list and _catalog: a non-negative integer. */
export function pageSize(q: URLSearchParams): number | undefined {
  const v = q.get('n');
  if (v === null || v === '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new RegistryError('UNSUPPORTED', `invalid page size n=${v.slice(0, 20)}`, { status: 400 });
  return Number(v);
}

/** `Content-Range` of a PATCH chunk: `<start>-<end>` (spec), with an optional `bytes ` unit. */
export function chunkRange(request: FastifyRequest): { start: number; end: number } | undefined {
  const v = header(request, 'content-range');
  if (v === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(v.trim());
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', `malformed Content-Range: ${v.slice(0, 60)}`, { status: 416 });
  return { start: Number(m[1]), end: Number(m[2]) };
}

export type ByteRange = { start: number; end: number };

/**
 * A single byte range of a GET (RFC 9110 §14.1.2): `bytes=a-b`, `bytes=a-`, `bytes=-n`.
 * Returns undefined without a Range header; throws 416 for one berth cannot satisfy.
 */
export function byteRange(request: FastifyRequest, size: number): ByteRange | undefined {
  const v = header(request, 'range');
  if (v === undefined) return undefined;
  const unsatisfiable = () =>
    new RegistryError('SIZE_INVALID', `range not satisfiable: ${v.slice(0, 60)}`, {
      status: 416,
      headers: { 'Content-Range': `bytes */${size}` },
    });
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(v.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(size - n, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) throw unsatisfiable();
  return { start, end };
}
