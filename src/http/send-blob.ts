/**
 * Serves blob bytes. Two ways, the same answer:
 * - zero-copy (a plain TCP socket, a blob that is a complete file, the sendfile addon built): the
 *   kernel moves the file's pages to the socket (sendfile(2)); no byte passes through JavaScript but
 *   a 64 KiB chunk at the start (with the headers, so everything Node holds for the socket is in the
 *   kernel before sendfile writes behind it) and one each time the socket's buffer fills (its write
 *   callback is the wait for the socket to drain: Node offers no other).
 * - copied (TLS, a blob still being filled by the mirror, no addon): two reused buffers, one read from
 *   the file while the other is written to the socket; nothing allocated per chunk, and a read waits
 *   only for the write two chunks back.
 * - spliced (an object store's blob of SPLICE_MIN or more, reached over plain TCP, to a plain TCP
 *   client, the addon built): the store's answer on a connection of berth's own (its head read by
 *   Node, storage/s3/raw-get.ts), then its body moved socket to socket by splice(2) on a thread of
 *   the addon's; no byte passes through JavaScript but those that came with the answer's head.
 * - piped (an object store's blob otherwise): its GET's body goes to the socket chunk by chunk as it
 *   arrives, paused while PIPED_AHEAD waits to be sent; no copy in berth.
 */
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { OpenBlob, StoreConnection } from '../storage/blobstore.js';
import { sendfile, sent, socketFd, type SendFile, type Splice } from './zero-copy.js';
import { countPiped } from '../storage/body-memory.js';

/** Buffers of the copied way (two per download). */
const CHUNK = 256 * 1024;
/** The chunks that go through Node on the zero-copy way. */
const HANDOFF = 64 * 1024;
/** Most bytes one sendfile call moves (it holds a pool thread meanwhile). */
const SLICE = 8 * 1024 * 1024;
/**
 * Bytes a piped download may have waiting in its response before it pauses the store's body. 256 KiB
 * and 1 MiB pulled at the same rate within this machine's noise (medians of 5 rounds from Ceph RGW:
 * 447 and 473 MiB/s for one stream, 537 and 475 for four, rounds spread by a fifth); the smaller one
 * leaves fewer chunks waiting long enough to be promoted out of V8's young generation.
 */
const PIPED_AHEAD = 256 * 1024;
/**
 * The least an object store's download must be to go by splice(2): each such download opens a
 * connection of its own to the store (smaller ones reuse the SDK's kept-alive connections), and the
 * connections closed behind them must stay few.
 */
const SPLICE_MIN = 1024 * 1024;
/** How long a spliced download's client may take nothing before it fails, when its socket has no idle timeout of its own. */
const SPLICE_IDLE_MS = 60_000;
/** Sent by the kernel alone before another chunk goes through Node, so its idle timer sees activity. */
const MAX_UNSEEN = 64 * 1024 * 1024;

/** What a blob route sets before the body; an error answer instead of the body goes without them. */
const BLOB_HEADERS = ['content-length', 'content-range', 'content-type', 'docker-content-digest', 'accept-ranges', 'etag', 'cache-control'];

/** Resolves when the chunk is handed to the kernel, with the error if the write failed (never rejects). */
function writeChunk(res: ServerResponse, buf: Buffer): Promise<Error | null | undefined> {
  return new Promise((resolve) => {
    res.write(buf, resolve);
  });
}

/** Sends bytes [start, end] of `blob`; the status and headers are the reply's. `zeroCopy: false` always copies. */
export async function sendBlob(reply: FastifyReply, status: number, blob: OpenBlob, start: number, end: number, zeroCopy = true): Promise<void> {
  // an object store's GET starts before the headers go: a blob collected since it was opened is
  // then still a 404 with the error envelope, not a cut connection
  let body: Readable | undefined;
  let conn: StoreConnection | undefined;
  const kernelFd = zeroCopy && sendfile ? socketFd(reply.raw.socket) : undefined;
  try {
    if (blob.fd === undefined) {
      if (kernelFd !== undefined && blob.connection && end - start + 1 >= SPLICE_MIN) conn = await blob.connection(start, end);
      else if (blob.body) body = await blob.body(start, end);
    }
  } catch (err) {
    await blob.close();
    // the error answer must not go out under the blob's headers (its length, a year of caching)
    for (const h of BLOB_HEADERS) reply.removeHeader(h);
    throw err;
  }
  reply.hijack(); // Fastify's 'finish' listener still logs the request
  const res = reply.raw;
  const headers: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = typeof v === 'number' ? String(v) : v;
  res.writeHead(status, headers);
  try {
    if (kernelFd !== undefined && blob.fd !== undefined) await sendZeroCopy(res, sendfile!, kernelFd, blob, start, end);
    else if (kernelFd !== undefined && conn) await sendSpliced(res, sendfile!, kernelFd, conn, end - start + 1);
    else if (body) await sendPiped(res, body, end - start + 1);
    else await sendCopied(res, blob, start, end);
    res.end();
  } catch {
    res.destroy(); // the client sees a cut transfer, never wrong bytes; a client that left needs nothing
  } finally {
    await blob.close();
  }
}

async function sendZeroCopy(res: ServerResponse, kernel: SendFile, socketFd: number, blob: OpenBlob, start: number, end: number): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(HANDOFF, end - start + 1));
  const sock = kernel.hold(socketFd);
  try {
    for (let pos = start; pos <= end; ) {
      const n = await blob.read(buf, Math.min(buf.length, end - pos + 1), pos);
      if (n === 0) throw new Error(`blob ended early at ${pos}`);
      const failed = await writeChunk(res, n === buf.length ? buf : buf.subarray(0, n));
      if (failed) throw failed;
      if (res.destroyed) throw new Error('the client left');
      pos += n;
      sent.copied += n;
      for (let unseen = 0; pos <= end && unseen < MAX_UNSEEN; ) {
        const want = Math.min(SLICE, end - pos + 1);
        const n = await kernel.send(sock, blob.fd!, pos, want);
        pos += n;
        unseen += n;
        sent.zeroCopy += n;
        if (n < want) break; // the socket's buffer is full (or the file ended: the read above says so)
      }
    }
  } finally {
    kernel.release(sock);
  }
}

async function sendSpliced(res: ServerResponse, kernel: Splice, socketFd: number, conn: StoreConnection, length: number): Promise<void> {
  // the bytes that came with the store's head go through Node, behind the response's head: all that
  // Node holds for the socket is in the kernel before the thread writes behind it
  const failed = await writeChunk(res, conn.first);
  if (failed) throw failed;
  if (res.destroyed) throw new Error('the client left');
  sent.copied += conn.first.length;
  if (conn.first.length === length) return;
  const sock = kernel.hold(socketFd);
  const leave = () => kernel.shutdown(sock); // the thread's next wait or write fails at once
  res.once('close', leave);
  // Node's idle timer sees none of the thread's bytes: it is kept from firing while the thread
  // runs, and the thread applies the same limit to the client, and the store's own to the store
  const socket = res.socket!;
  const idleMs = socket.timeout || SPLICE_IDLE_MS;
  const keepAlive = socket.timeout ? setInterval(() => socket.setTimeout(idleMs), idleMs / 3) : undefined;
  try {
    const n = await kernel.splice(sock, conn.fd, length - conn.first.length, idleMs, conn.idleMs);
    sent.spliced += n;
  } finally {
    clearInterval(keepAlive);
    res.off('close', leave);
    kernel.release(sock);
  }
  if (socket.timeout) socket.setTimeout(idleMs);
}

async function sendPiped(res: ServerResponse, body: Readable, length: number): Promise<void> {
  let n = 0;
  // Not pipe(): it pauses the store's body whenever the response holds more than its 16 KiB high-water
  // mark, that is after every chunk, and each pause costs event-loop turns both ways. Up to PIPED_AHEAD
  // may wait in the response before the body pauses; it resumes once the socket took it all.
  const resume = () => body.resume();
  body.on('data', (c: Buffer) => {
    n += c.length;
    countPiped(c.length); // the GET's chunks are fresh 64 KiB Buffers, as an upload's are
    if (res.destroyed) return; // the race below ends the download
    res.write(c);
    if (res.writableLength > PIPED_AHEAD) {
      body.pause();
      res.once('drain', resume);
    }
  });
  try {
    // the client leaving ends the download; the store's body failing or ending short, too
    await Promise.race([finished(body), once(res, 'close').then(() => Promise.reject(new Error('the client left')))]);
  } finally {
    body.removeAllListeners('data');
    res.off('drain', resume);
  }
  if (n !== length) throw new Error(`blob ended early: ${n} of ${length} bytes`);
  sent.copied += n;
}

async function sendCopied(res: ServerResponse, blob: OpenBlob, start: number, end: number): Promise<void> {
  const bufs = [Buffer.allocUnsafe(Math.min(CHUNK, end - start + 1)), Buffer.allocUnsafe(Math.min(CHUNK, end - start + 1))];
  const inFlight: (Promise<Error | null | undefined> | undefined)[] = [undefined, undefined];
  let i = 0;
  for (let pos = start; pos <= end && !res.destroyed; ) {
    const failed = await inFlight[i]; // this buffer's previous write must be done before it is refilled
    if (failed) throw failed;
    const buf = bufs[i]!;
    const n = await blob.read(buf, Math.min(buf.length, end - pos + 1), pos);
    if (n === 0) throw new Error(`blob ended early at ${pos}`);
    pos += n;
    sent.copied += n;
    inFlight[i] = writeChunk(res, n === buf.length ? buf : buf.subarray(0, n));
    i ^= 1;
  }
  for (const failed of await Promise.all(inFlight)) if (failed) throw failed;
}
