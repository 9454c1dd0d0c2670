/**
 * Blob downloads from the object store are piped from its GET to the client: the bytes arrive whole
 * and by range, and a blob collected between its open and its download is a 404 with the error
 * envelope, not a connection cut after a 200's headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, pushBlob } from '../helpers/oci.js';
import { parseDigest } from '../../src/oci/digest.js';

describe('blob downloads from S3 (s3+postgres)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true, engine: 's3+postgres' });
  });
  afterAll(() => reg.close());

  it('serves a blob whole, by range, and to its last byte', async () => {
    const b = blob(3 * 1024 * 1024 + 5);
    await pushBlob(reg.request, 'dl/app', b);
    const whole = await fetch(`${reg.url}/v2/dl/app/blobs/${b.digest}`);
    expect(whole.headers.get('content-length')).toBe(String(b.bytes.length));
    expect(Buffer.from(await whole.arrayBuffer()).equals(b.bytes)).toBe(true);
    const part = await fetch(`${reg.url}/v2/dl/app/blobs/${b.digest}`, { headers: { range: 'bytes=1000000-2999999' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(b.bytes.subarray(1_000_000, 3_000_000))).toBe(true);
    const tail = await fetch(`${reg.url}/v2/dl/app/blobs/${b.digest}`, { headers: { range: `bytes=${b.bytes.length - 1}-` } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(b.bytes.subarray(-1))).toBe(true);
  });

  it('answers 404 BLOB_UNKNOWN for a blob deleted after it was opened, before its bytes were read', async () => {
    const b = blob(5000);
    await pushBlob(reg.request, 'dl/gone', b);
    const blobs = reg.opened.registry.blobs;
    const open = blobs.open.bind(blobs);
    blobs.open = async (repo, ref) => {
      const opened = await open(repo, ref);
      await reg.opened.blobs.delete(parseDigest(b.digest)); // a collection between the open and the download
      return opened;
    };
    try {
      const r = await fetch(`${reg.url}/v2/dl/gone/blobs/${b.digest}`);
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
