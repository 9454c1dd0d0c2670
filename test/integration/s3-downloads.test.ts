/**
 * Blob downloads from the object store (the run's Ceph RGW, over plain HTTP): from 1 MiB they are
 * spliced from a connection of berth's own to the client (src/http/send-blob.ts), below that and
 * with zeroCopy off they are piped from the SDK's GET. Either way the bytes arrive whole and by
 * range, a slow client and one that leaves midway are handled (no descriptor left open), keep-alive
 * answers stay framed, and a blob collected between its open and its download is a 404 with the
 * error envelope, not a connection cut after a 200's headers.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, pushBlob } from '../helpers/oci.js';
import { parseDigest } from '../../src/oci/digest.js';
import { sent } from '../../src/http/zero-copy.js';
import { exchange as raw, getRequest as get, splitHead as split } from '../helpers/raw-http.js';

const MiB = 1024 * 1024;
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('blob downloads from S3 (s3+postgres)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true, engine: 's3+postgres' });
  });
  afterAll(() => reg.close());

  it('serves a blob whole, by range, and to its last byte', async () => {
    const b = blob(3 * 1024 * 1024 + 5);
    await pushBlob(reg.request, 'dl/app', b);
    const before = { ...sent };
    const whole = await fetch(`${reg.url}/v2/dl/app/blobs/${b.digest}`);
    expect(whole.headers.get('content-length')).toBe(String(b.bytes.length));
    expect(Buffer.from(await whole.arrayBuffer()).equals(b.bytes)).toBe(true);
    const part = await fetch(`${reg.url}/v2/dl/app/blobs/${b.digest}`, { headers: { range: 'bytes=1000000-2999999' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(b.bytes.subarray(1_000_000, 3_000_000))).toBe(true);
    const tail = await fetch(`${reg.url}/v2/dl/app/blobs/${b.digest}`, { headers: { range: `bytes=${b.bytes.length - 1}-` } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(b.bytes.subarray(-1))).toBe(true);
    // the whole blob and the 2 MB range were spliced, but for what came with each answer's head;
    // the last byte was piped
    const spliced = sent.spliced - before.spliced;
    expect(spliced).toBeGreaterThan(b.bytes.length + 2_000_000 - 2 * 64 * 1024);
    expect(spliced + sent.copied - before.copied).toBe(b.bytes.length + 2_000_000 + 1);
  });

  it('keeps a slow reader whole, frames keep-alive answers, and lets a client leave midway', async () => {
    const b = blob(20 * MiB + 7);
    await pushBlob(reg.request, 'dl/big', b);
    const port = Number(new URL(reg.url!).port);
    const path = `/v2/dl/big/blobs/${b.digest}`;
    // slowly: the client's socket fills and drains many times under the splicing thread
    const slow = split(await raw(port, get(path, true), { pauseEvery: 2 * MiB }));
    expect(slow.head).toMatch(/^HTTP\/1\.1 200/);
    expect(hex(slow.body)).toBe(hex(b.bytes));
    // a blob, a 404, the blob again on one connection
    const three = await raw(port, get(path) + get('/v2/dl/big/manifests/nope') + get(path, true));
    const first = split(three);
    expect(hex(first.body.subarray(0, b.bytes.length))).toBe(hex(b.bytes));
    const second = split(first.body.subarray(b.bytes.length));
    expect(second.head).toMatch(/^HTTP\/1\.1 404/);
    const len = Number(/content-length: (\d+)/i.exec(second.head)![1]);
    const third = split(second.body.subarray(len));
    expect(third.head).toMatch(/^HTTP\/1\.1 200/);
    expect(hex(third.body)).toBe(hex(b.bytes));
    // clients that leave: the transfers stop, every descriptor (client and store) is closed
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const open0 = await fds();
    for (let i = 0; i < 6; i++) await raw(port, get(path), { leaveAfter: 3 * MiB, pauseEvery: MiB });
    await expect.poll(fds, { timeout: 10_000 }).toBeLessThanOrEqual(open0);
    const again = await fetch(`${reg.url}${path}`);
    expect(hex(Buffer.from(await again.arrayBuffer()))).toBe(hex(b.bytes));
  });

  it('gives the same answers piped (zeroCopy off)', async () => {
    const piped = await startRegistry({ listen: true, engine: 's3+postgres', zeroCopy: false });
    try {
      const b = blob(2 * MiB + 3);
      await pushBlob(piped.request, 'dl/piped', b);
      const before = { ...sent };
      const whole = await fetch(`${piped.url}/v2/dl/piped/blobs/${b.digest}`);
      expect(hex(Buffer.from(await whole.arrayBuffer()))).toBe(hex(b.bytes));
      const part = await fetch(`${piped.url}/v2/dl/piped/blobs/${b.digest}`, { headers: { range: 'bytes=5-1500000' } });
      expect(hex(Buffer.from(await part.arrayBuffer()))).toBe(hex(b.bytes.subarray(5, 1500001)));
      expect(sent.spliced).toBe(before.spliced);
      expect(sent.copied - before.copied).toBe(b.bytes.length + 1500000 - 5 + 1);
    } finally {
      await piped.close();
    }
  });

  it.each([
    ['piped', 5000],
    ['spliced', 2 * MiB],
  ])('answers 404 BLOB_UNKNOWN for a blob deleted after it was opened, before its bytes were read (%s)', async (_way, size) => {
    const b = blob(size);
    await pushBlob(reg.request, `dl/gone${size}`, b);
    const blobs = reg.opened.registry.blobs;
    const open = blobs.open.bind(blobs);
    blobs.open = async (repo, ref) => {
      const opened = await open(repo, ref);
      await reg.opened.blobs.delete(parseDigest(b.digest)); // a collection between the open and the download
      return opened;
    };
    try {
      const r = await fetch(`${reg.url}/v2/dl/gone${size}/blobs/${b.digest}`);
      const body = Buffer.from(await r.arrayBuffer());
      expect(r.status).toBe(404);
      expect(r.headers.get('content-length')).toBe(String(body.length));
      expect(r.headers.get('cache-control')).toBeNull();
      expect(errorCode({ json: () => JSON.parse(body.toString()), headers: Object.fromEntries(r.headers) })).toBe('BLOB_UNKNOWN');
    } finally {
      blobs.open = open;
    }
  });
});
