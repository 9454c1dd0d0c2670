/**
 * storage.s3.redirect: a blob GET answers 307 with a presigned URL of the real Ceph RGW, which serves
 * the blob's bytes (and a Range) to the client directly; HEAD, manifests and unknown blobs are answered
 * by berth as before. Off by default (the endpoint suites run without it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, pushBlob } from '../helpers/oci.js';
import { runS3 } from '../helpers/ceph.js';

describe('blob GETs redirected to the object store', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true, engine: 's3+postgres', s3: { redirect: true, redirectExpiry: '2m' } });
  });
  afterAll(() => reg.close());

  it('answers 307 with a presigned URL that serves the bytes, whole and by range', async () => {
    const b = blob(70_000);
    await pushBlob(reg.request, 'redir/app', b);
    const r = await fetch(`${reg.url}/v2/redir/app/blobs/${b.digest}`, { redirect: 'manual' });
    expect(r.status).toBe(307);
    expect(r.headers.get('docker-content-digest')).toBe(b.digest);
    const location = new URL(r.headers.get('location')!);
    expect(location.origin).toBe(new URL(runS3()).origin);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('120');
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(Buffer.from(await direct.arrayBuffer()).equals(b.bytes)).toBe(true);
    const followed = await fetch(`${reg.url}/v2/redir/app/blobs/${b.digest}`, { headers: { range: 'bytes=100-199' } });
    expect(followed.status).toBe(206);
    expect(Buffer.from(await followed.arrayBuffer()).equals(b.bytes.subarray(100, 200))).toBe(true);
    const head = await fetch(`${reg.url}/v2/redir/app/blobs/${b.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('70000');
  });

  it('answers an unknown or unlinked blob itself with BLOB_UNKNOWN', async () => {
    const b = blob(10);
    const r = await reg.request('GET', `/v2/redir/app/blobs/${b.digest}`);
    expect(r.status).toBe(404);
    expect(errorCode(r)).toBe('BLOB_UNKNOWN');
  });
});
