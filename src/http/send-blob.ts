/**
 * Serves blob bytes with two reused buffers: one is read from the file while the other is written
 * to the socket. Nothing is allocated per chunk (no garbage, resident memory bounded by 2 buffers
 * per download), and a read waits only for the write two chunks back. Node's stream pipe allocates
 * a buffer per chunk and ran at about half this speed on these machines.
 */
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { OpenBlob } from '../storage/blobstore.js';

const CHUNK = 1024 * 1024;

/** Resolves when the chunk is handed to the kernel, with the error if the write failed (never rejects). */
function writeChunk(res: ServerResponse, buf: Buffer): Promise<Error | null | undefined> {
  return new Promise((resolve) => {
    res.write(buf, resolve);
  });
}

/** Sends bytes [start, end] of `blob`; the status and headers are the reply's. */
export async function sendBlob(reply: FastifyReply, status: number, blob: OpenBlob, start: number, end: number): Promise<void> {
  reply.hijack(); // Fastify's 'finish' listener still logs the request
  const res = reply.raw;
  const headers: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = typeof v === 'number' ? String(v) : v;
  res.writeHead(status, headers);
  const bufs = [Buffer.allocUnsafe(Math.min(CHUNK, end - start + 1)), Buffer.allocUnsafe(Math.min(CHUNK, end - start + 1))];
  const inFlight: (Promise<Error | null | undefined> | undefined)[] = [undefined, undefined];
  let i = 0;
  try {
    for (let pos = start; pos <= end && !res.destroyed; ) {
      const failed = await inFlight[i]; // this buffer's previous write must be done before it is refilled
      if (failed) throw failed;
      const buf = bufs[i]!;
      const n = await blob.read(buf, Math.min(buf.length, end - pos + 1), pos);
      if (n === 0) throw new Error(`blob ended early at ${pos}`);
      pos += n;
      inFlight[i] = writeChunk(res, n === buf.length ? buf : buf.subarray(0, n));
      i ^= 1;
    }
    for (const failed of await Promise.all(inFlight)) if (failed) throw failed;
    res.end();
  } catch {
    res.destroy(); // the client sees a cut transfer, never wrong bytes; a client that left needs nothing
  } finally {
    await blob.close();
  }
}
