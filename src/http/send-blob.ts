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
 * - piped (an object store's blob): its GET's body goes to the socket chunk by chunk as it arrives,
 *   paused while PIPED_AHEAD waits to be sent; no copy in berth.
 */
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { OpenBlob } from '../storage/blobstore.js';
import { sendfile, sent, socketFd, type SendFile } from './zero-copy.js';
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
  try {
    if (blob.fd === undefined && blob.body) body = await blob.body(start, end);
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
  const fd = zeroCopy && sendfile && blob.fd !== undefined ? socketFd(res.socket) : undefined;
  try {
    if (fd !== undefined) await sendZeroCopy(res, sendfile!, fd, blob, start, end);
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
