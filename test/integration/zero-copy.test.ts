/**
 * Blob downloads through sendfile(2) (src/http/send-blob.ts) over a real socket: the bytes, ranges,
 * a client that reads slowly (the socket's buffer fills and drains many times), one that leaves
 * midway (no descriptor leaks, the server goes on), keep-alive framing, and the copied way giving
 * the same answers.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { exchange, getRequest, splitHead as body } from '../helpers/raw-http.js';
import { blob, pushBlob } from '../helpers/oci.js';
import { sendfile, sent } from '../../src/http/zero-copy.js';

const MiB = 1024 * 1024;
const big = blob(24 * MiB + 12345);
const repo = 'zc/app';

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A GET that closes the connection after its answer (see raw-http.ts for the options). */
const rawGet = (port: number, path: string, opts: Parameters<typeof exchange>[2] = {}) => exchange(port, getRequest(path, true), opts);

describe('zero-copy blob downloads', () => {
  let reg: TestRegistry;
  let copied: TestRegistry;
  let port: number;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true });
    copied = await startRegistry({ listen: true, zeroCopy: false });
    await pushBlob(reg.request, repo, big);
    await pushBlob(copied.request, repo, big);
    port = Number(new URL(reg.url!).port);
  });
  afterAll(async () => {
    await reg.close();
    await copied.close();
  });

  it('has the sendfile addon (npm run build compiles it; it needs python3, make and g++)', () => {
    expect(sendfile, 'dist/native/sendfile.node is missing: apt-get install -y python3 make g++ && npm run build').toBeDefined();
  });

  it('sends a whole blob by sendfile, byte for byte', async () => {
    const before = { ...sent };
    const r = await reg.request('GET', `/v2/${repo}/blobs/${big.digest}`);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(big.bytes.length);
    expect(hex(r.body)).toBe(hex(big.bytes));
    // every byte went one way or the other: the kernel, or a 64 KiB chunk through Node each time the
    // socket's buffer filled (more of those on a loaded machine: a share above 90% was a flaky bound)
    // (the server counts a call's bytes when the call returns, which may be after the client has them)
    await expect.poll(() => sent.zeroCopy - before.zeroCopy + (sent.copied - before.copied)).toBe(big.bytes.length);
    expect(sent.zeroCopy - before.zeroCopy).toBeGreaterThan(big.bytes.length * 0.5);
  });

  it('serves ranges the same way (206, the exact bytes)', async () => {
    for (const [a, b] of [
      [0, 0],
      [1, 65536],
      [65535, 65537],
      [10 * MiB + 3, big.bytes.length - 1],
      [big.bytes.length - 1, big.bytes.length - 1],
    ] as const) {
      const r = await reg.request('GET', `/v2/${repo}/blobs/${big.digest}`, { headers: { range: `bytes=${a}-${b}` } });
      expect(r.status).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${a}-${b}/${big.bytes.length}`);
      expect(hex(r.body)).toBe(hex(big.bytes.subarray(a, b + 1)));
    }
  });

  it('keeps a slow reader whole: the socket fills and drains many times', async () => {
    const before = { ...sent };
    const { head, body: b } = body(await rawGet(port, `/v2/${repo}/blobs/${big.digest}`, { pauseEvery: 2 * MiB, pauseMs: 15 }));
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(b.length).toBe(big.bytes.length);
    expect(hex(b)).toBe(hex(big.bytes));
    // it waited for the socket several times: more than one chunk went through Node
    expect(sent.copied - before.copied).toBeGreaterThan(64 * 1024);
  });

  it('lets a client leave midway: no descriptor stays open and the next download is whole', async () => {
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const open0 = await fds();
    for (let i = 0; i < 8; i++) await rawGet(port, `/v2/${repo}/blobs/${big.digest}`, { leaveAfter: 3 * MiB, pauseEvery: MiB, pauseMs: 5 });
    let open1 = await fds();
    for (let i = 0; i < 50 && open1 > open0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      open1 = await fds();
    }
    expect(open1).toBeLessThanOrEqual(open0);
    const r = await reg.request('GET', `/v2/${repo}/blobs/${big.digest}`);
    expect(hex(r.body)).toBe(hex(big.bytes));
  });

  it('frames keep-alive answers: a blob, then a manifest-less 404, then the blob again on one connection', async () => {
    const response = await exchange(port, getRequest(`/v2/${repo}/blobs/${big.digest}`) + getRequest(`/v2/${repo}/manifests/nope`) + getRequest(`/v2/${repo}/blobs/${big.digest}`, true));
    const first = body(response);
    expect(first.head).toMatch(/^HTTP\/1\.1 200/);
    expect(hex(first.body.subarray(0, big.bytes.length))).toBe(hex(big.bytes));
    const rest = first.body.subarray(big.bytes.length);
    const second = body(rest);
    expect(second.head).toMatch(/^HTTP\/1\.1 404/);
    const len = Number(/content-length: (\d+)/i.exec(second.head)![1]);
    expect(JSON.parse(second.body.subarray(0, len).toString()).errors[0].code).toBe('MANIFEST_UNKNOWN');
    const third = body(second.body.subarray(len));
    expect(third.head).toMatch(/^HTTP\/1\.1 200/);
    expect(hex(third.body)).toBe(hex(big.bytes));
  });

  it('gives the same answers when it copies (zeroCopy: false)', async () => {
    const before = { ...sent };
    const r = await copied.request('GET', `/v2/${repo}/blobs/${big.digest}`);
    expect(hex(r.body)).toBe(hex(big.bytes));
    const part = await copied.request('GET', `/v2/${repo}/blobs/${big.digest}`, { headers: { range: 'bytes=100-5000000' } });
    expect(hex(part.body)).toBe(hex(big.bytes.subarray(100, 5000001)));
    expect(sent.zeroCopy).toBe(before.zeroCopy);
    expect(sent.copied - before.copied).toBe(big.bytes.length + 5000000 - 100 + 1);
  });
});
