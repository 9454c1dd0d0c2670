/**
 * An object's bytes on a connection of berth's own, for a download that moves them to its client
 * with splice(2) (src/http/send-blob.ts): a presigned GET (the signature is in the URL, so no SDK
 * code runs per request or per chunk) as plain HTTP/1.1, one connection per GET (`Connection:
 * close`). Node reads the answer's head (RFC 9112 §2-§6) and the body bytes that came with it, then
 * stops reading the socket (an `onread` socket's pause() stops libuv at once), and the rest of the
 * body is the caller's to move. Only for `http:` endpoints: over TLS every byte must pass through
 * OpenSSL in this process anyway.
 */
import { connect, type Socket } from 'node:net';
import { RegistryError } from '../../oci/errors.js';
import type { StoreConnection } from '../blobstore.js';

/** A store's answer head is a few hundred bytes; anything longer than this is not one. */
const HEAD_MAX = 16 * 1024;
/** What each socket read may fill before the head is found (reused: the bytes are copied out). */
const READ_BUFFER = 16 * 1024;

interface Timeouts {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * GETs bytes [start, end] of the object at the presigned `url`; undefined when it is not there
 * (404). Fails with UNAVAILABLE when the store cannot be reached or answers otherwise than 206/200
 * with exactly the asked length.
 */
export function rawGet(url: URL, start: number, end: number, where: string, t: Timeouts): Promise<StoreConnection | undefined> {
  const length = end - start + 1;
  return new Promise((resolve, reject) => {
    const unavailable = (why: string) => new RegistryError('UNAVAILABLE', `object store unavailable (S3 at ${where}): ${why}`);
    let seen = Buffer.alloc(0);
    let settled = false;
    const settle = (err: Error | undefined, value?: StoreConnection) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(value);
    };
    const onRead = (n: number, buf: Buffer): boolean => {
      seen = Buffer.concat([seen, buf.subarray(0, n)]);
      const i = seen.indexOf('\r\n\r\n');
      if (i < 0) {
        if (seen.length > HEAD_MAX) settle(unavailable(`an answer head over ${HEAD_MAX} bytes`));
        return true;
      }
      const [statusLine, ...lines] = seen.subarray(0, i).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
      const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const first = seen.subarray(i + 4);
      if (status === 404) {
        sock.destroy();
        settle(undefined, undefined);
        return false;
      }
      if (status !== 200 && status !== 206) {
        settle(unavailable(`GET answered HTTP ${status || statusLine}: ${first.toString('utf8', 0, 200)}`));
        return false;
      }
      const announced = Number(headers.get('content-length'));
      if (headers.has('transfer-encoding') || announced !== length || first.length > length) {
        settle(unavailable(`GET of ${length} bytes answered with ${headers.has('transfer-encoding') ? 'a chunked body' : `content-length ${headers.get('content-length')}`}`));
        return false;
      }
      if (first.length === 0 && length > 0) return true; // the head alone: wait for the body's first bytes
      const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) {
        settle(new Error('the store connection has no descriptor'));
        return false;
      }
      settle(undefined, { fd, first, idleMs: t.requestTimeoutMs, close: () => sock.destroy() });
      return false; // Node reads no more of this socket
    };
    const sock: Socket = connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80), onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: onRead } });
    sock.setNoDelay(true);
    let timer = setTimeout(() => settle(unavailable(`no connection within ${t.connectTimeoutMs} ms`)), t.connectTimeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => settle(unavailable(`no answer within ${t.requestTimeoutMs} ms`)), t.requestTimeoutMs);
      sock.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nRange: bytes=${start}-${end}\r\nConnection: close\r\n\r\n`);
    });
    sock.on('error', (err) => settle(unavailable(err.message)));
    sock.on('close', () => settle(unavailable('the connection closed before the answer')));
  });
}
