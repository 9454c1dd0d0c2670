/**
 * rawGet (src/storage/s3/raw-get.ts) against a local server that answers as told, byte by byte when
 * asked: the request it writes, the answers it accepts (the body's first bytes handed over, Node
 * reading no more), and the ones it refuses with UNAVAILABLE or reads as "not there". The real
 * store's answers are the S3 download tests' (test/integration/s3-downloads.test.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { rawGet } from '../../../src/storage/s3/raw-get.js';
import { RegistryError } from '../../../src/oci/errors.js';

const servers: Server[] = [];
const t = { connectTimeoutMs: 1000, requestTimeoutMs: 300 };

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A store that answers each request with `parts`, written `gapMs` apart; resolves the request it read. */
async function store(parts: (string | Buffer)[], gapMs = 0): Promise<{ url: URL; request: Promise<string> }> {
  let gotRequest!: (r: string) => void;
  const request = new Promise<string>((r) => (gotRequest = r));
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined);
    s.once('data', async (d) => {
      gotRequest(d.toString('latin1'));
      for (const p of parts) {
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        if (!s.destroyed) s.write(p);
      }
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: new URL(`http://127.0.0.1:${port}/bucket/key?X-Amz-Signature=abc`), request };
}

const ok = (length: number, status = 206) => `HTTP/1.1 ${status} Partial Content\r\nContent-Length: ${length}\r\nContent-Type: application/octet-stream\r\n\r\n`;

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe('UNAVAILABLE');
  return (err as Error).message;
}

describe('rawGet', () => {
  it('writes a ranged GET of the presigned path and hands over the first body bytes', async () => {
    const s = await store([ok(10) + 'abcd']);
    const conn = (await rawGet(s.url, 5, 14, 'store', t))!;
    expect(await s.request).toBe('GET /bucket/key?X-Amz-Signature=abc HTTP/1.1\r\nHost: ' + s.url.host + '\r\nRange: bytes=5-14\r\nConnection: close\r\n\r\n');
    expect(conn.first.toString()).toBe('abcd');
    expect(conn.fd).toBeGreaterThan(2);
    expect(conn.idleMs).toBe(300); // the store's request timeout
    conn.close();
  });

  it('reads a head that arrives in pieces, and waits for the first body byte after it', async () => {
    const head = ok(3, 200);
    const s = await store([head.slice(0, 7), head.slice(7, 30), head.slice(30), 'xyz'], 20);
    const conn = (await rawGet(s.url, 0, 2, 'store', t))!;
    expect(conn.first.toString()).toBe('xyz');
    conn.close();
  });

  it('answers undefined for 404 (the object is not there)', async () => {
    const s = await store(['HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNoSuchKey']);
    expect(await rawGet(s.url, 0, 9, 'store', t)).toBeUndefined();
  });

  it('refuses an error answer, naming its status and body', async () => {
    const s = await store(['HTTP/1.1 403 Forbidden\r\nContent-Length: 21\r\n\r\nSignatureDoesNotMatch']);
    expect(await refusal(rawGet(s.url, 0, 9, 'rgw:1/b', t))).toMatch(/S3 at rgw:1\/b.*HTTP 403.*SignatureDoesNotMatch/);
  });

  it('refuses a length other than the range asked, and a chunked body', async () => {
    const short = await store([ok(9) + 'a']);
    expect(await refusal(rawGet(short.url, 0, 9, 'store', t))).toMatch(/content-length 9/);
    const chunked = await store(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n']);
    expect(await refusal(rawGet(chunked.url, 0, 0, 'store', t))).toMatch(/chunked/);
  });

  it('refuses a head longer than any store sends', async () => {
    const s = await store(['HTTP/1.1 200 OK\r\n' + 'X-Pad: 0123456789\r\n'.repeat(1000)]);
    expect(await refusal(rawGet(s.url, 0, 0, 'store', t))).toMatch(/head over/);
  });

  it('fails within its timeouts: no answer, a closed connection, nobody listening', async () => {
    const silent = await store([]);
    const t0 = Date.now();
    expect(await refusal(rawGet(silent.url, 0, 0, 'store', t))).toMatch(/no answer within 300 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
    const server = createServer((s) => s.once('data', () => s.end()));
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const closing = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/b/k`);
    expect(await refusal(rawGet(closing, 0, 0, 'store', t))).toMatch(/closed before the answer/);
    server.close();
    await once(server, 'close');
    expect(await refusal(rawGet(closing, 0, 0, 'store', t))).toMatch(/ECONNREFUSED/);
  });
});
