/**
 * Blob and upload endpoints (distribution-spec v1.1 end-2, end-4a/4b, end-5, end-6, end-10, end-11,
 * end-13), run once through app.inject() and once through a real socket, on any engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type Engine, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, pushBlob, sha256, sha512 } from '../helpers/oci.js';

export function blobEndpointSuite(mode: 'inject' | 'socket', engine: Engine = 'default') {
  describe(`blobs and uploads (${mode}, ${engine} engines)`, () => {
    let reg: TestRegistry;
    beforeAll(async () => {
      reg = await startRegistry({ listen: mode === 'socket', engine });
    });
    afterAll(() => reg.close());
    const req = (...a: Parameters<TestRegistry['request']>) => reg.request(...a);

    it('GET /v2/ answers 200 with the API version header (end-1)', async () => {
      const r = await req('GET', '/v2/');
      expect(r.status).toBe(200);
      expect(r.headers['docker-distribution-api-version']).toBe('registry/2.0');
    });

    it('monolithic POST ?digest= stores a blob that GET and HEAD serve back', async () => {
      const b = blob(5000);
      const r = await req('POST', `/v2/mono/blobs/uploads/?digest=${b.digest}`, { body: b.bytes });
      expect(r.status).toBe(201);
      expect(r.headers.location).toBe(`/v2/mono/blobs/${b.digest}`);
      expect(r.headers['docker-content-digest']).toBe(b.digest);
      const g = await req('GET', `/v2/mono/blobs/${b.digest}`);
      expect(g.status).toBe(200);
      expect(g.body.equals(b.bytes)).toBe(true);
      expect(g.headers['docker-content-digest']).toBe(b.digest);
      expect(g.headers['content-length']).toBe('5000');
      expect(g.headers['accept-ranges']).toBe('bytes');
      const h = await req('HEAD', `/v2/mono/blobs/${b.digest}`);
      expect(h.status).toBe(200);
      expect(h.headers['content-length']).toBe('5000');
      expect(h.body.length).toBe(0);
    });

    it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
      const b = blob(100);
      await pushBlob(req, 'ranges', b);
      const path = `/v2/ranges/blobs/${b.digest}`;
      const cases: [string, number, number][] = [
        ['bytes=10-19', 10, 19],
        ['bytes=90-', 90, 99],
        ['bytes=-5', 95, 99],
        ['bytes=95-500', 95, 99],
      ];
      for (const [range, start, end] of cases) {
        const r = await req('GET', path, { headers: { range } });
        expect(r.status, range).toBe(206);
        expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/100`);
        expect(r.body.equals(b.bytes.subarray(start, end + 1))).toBe(true);
      }
      for (const range of ['bytes=100-', 'bytes=50-10', 'bytes=-0', 'items=1-2', 'bytes=1-2,4-5']) {
        const r = await req('GET', path, { headers: { range } });
        expect(r.status, range).toBe(416);
        expect(r.headers['content-range']).toBe('bytes */100');
        expect(errorCode(r)).toBe('SIZE_INVALID');
      }
    });

    it('keeps repositories apart: a blob is BLOB_UNKNOWN elsewhere until mounted', async () => {
      const b = blob();
      await pushBlob(req, 'team-a/src', b);
      const r = await req('GET', `/v2/team-b/dst/blobs/${b.digest}`);
      expect(r.status).toBe(404);
      expect(errorCode(r)).toBe('BLOB_UNKNOWN');
      expect((await req('HEAD', `/v2/team-b/dst/blobs/${b.digest}`)).status).toBe(404);
      const m = await req('POST', `/v2/team-b/dst/blobs/uploads/?mount=${b.digest}&from=team-a/src`);
      expect(m.status).toBe(201);
      expect(m.headers.location).toBe(`/v2/team-b/dst/blobs/${b.digest}`);
      expect((await req('GET', `/v2/team-b/dst/blobs/${b.digest}`)).body.equals(b.bytes)).toBe(true);
    });

    it('mounts without `from` when some repository holds the blob (spec v1.1), else opens a session', async () => {
      const b = blob();
      await pushBlob(req, 'auto/src', b);
      const m = await req('POST', `/v2/auto/dst/blobs/uploads/?mount=${b.digest}`);
      expect(m.status).toBe(201);
      const missing = blob();
      for (const q of [`mount=${missing.digest}&from=auto/src`, `mount=${missing.digest}`, `mount=${b.digest}&from=NOT..valid`]) {
        const r = await req('POST', `/v2/auto/other/blobs/uploads/?${q}`);
        expect(r.status, q).toBe(202);
        expect(r.headers.location).toMatch(/^\/v2\/auto\/other\/blobs\/uploads\/[0-9a-f-]{36}$/);
      }
    });

    it('runs a chunked session: Content-Range chunks, 416 out of order, GET status, PUT completes', async () => {
      const b = blob(3000);
      const post = await req('POST', '/v2/chunked/blobs/uploads/');
      expect(post.status).toBe(202);
      expect(post.headers.range).toBe('0-0');
      expect(post.headers['docker-upload-uuid']).toMatch(/^[0-9a-f-]{36}$/);
      const loc = post.headers.location!;
      const c1 = await req('PATCH', loc, { headers: { 'content-range': '0-999' }, body: b.bytes.subarray(0, 1000) });
      expect(c1.status).toBe(202);
      expect(c1.headers.range).toBe('0-999');
      expect(c1.headers.location).toBe(loc);
      const ooo = await req('PATCH', loc, { headers: { 'content-range': '1500-2999' }, body: b.bytes.subarray(1500) });
      expect(ooo.status).toBe(416);
      expect(ooo.headers.range).toBe('0-999');
      expect(errorCode(ooo)).toBe('BLOB_UPLOAD_INVALID');
      const again = await req('PATCH', loc, { headers: { 'content-range': '0-999' }, body: b.bytes.subarray(0, 1000) });
      expect(again.status).toBe(416);
      const st = await req('GET', loc);
      expect(st.status).toBe(204);
      expect(st.headers.range).toBe('0-999');
      expect(st.headers.location).toBe(loc);
      const c2 = await req('PATCH', loc, { headers: { 'content-range': '1000-1999' }, body: b.bytes.subarray(1000, 2000) });
      expect(c2.headers.range).toBe('0-1999');
      const put = await req('PUT', `${loc}?digest=${b.digest}`, { headers: { 'content-range': '2000-2999' }, body: b.bytes.subarray(2000) });
      expect(put.status).toBe(201);
      expect(put.headers['docker-content-digest']).toBe(b.digest);
      expect((await req('GET', `/v2/chunked/blobs/${b.digest}`)).body.equals(b.bytes)).toBe(true);
      expect((await req('GET', loc)).status).toBe(404);
    });

    it('appends PATCH bodies without Content-Range (streamed upload) and completes with an empty PUT', async () => {
      const b = blob(4096);
      const loc = (await req('POST', '/v2/streamed/blobs/uploads/')).headers.location!;
      expect((await req('PATCH', loc, { body: b.bytes.subarray(0, 100) })).headers.range).toBe('0-99');
      expect((await req('PATCH', loc, { body: b.bytes.subarray(100) })).headers.range).toBe('0-4095');
      const put = await req('PUT', `${loc}&digest=${b.digest}`.replace('&', '?'), { headers: { 'content-length': '0' } });
      expect(put.status).toBe(201);
    });

    it('a PUT whose digest does not match stores nothing and leaves the session as it was', async () => {
      const b = blob(2000);
      const loc = (await req('POST', '/v2/mismatch/blobs/uploads/')).headers.location!;
      await req('PATCH', loc, { body: b.bytes.subarray(0, 1000) });
      const wrong = blob(10).digest;
      const bad = await req('PUT', `${loc}?digest=${wrong}`, { body: b.bytes.subarray(1000) });
      expect(bad.status).toBe(400);
      expect(errorCode(bad)).toBe('DIGEST_INVALID');
      expect((await req('GET', `/v2/mismatch/blobs/${wrong}`)).status).toBe(404);
      expect((await req('GET', loc)).headers.range).toBe('0-999');
      const ok = await req('PUT', `${loc}?digest=${b.digest}`, { body: b.bytes.subarray(1000) });
      expect(ok.status).toBe(201);
    });

    it('a monolithic upload with the wrong digest or length stores nothing and leaves no temp file', async () => {
      const b = blob(3000);
      const other = blob(10).digest;
      const r = await req('POST', `/v2/bad/blobs/uploads/?digest=${other}`, { body: b.bytes });
      expect(r.status).toBe(400);
      expect(errorCode(r)).toBe('DIGEST_INVALID');
      const held = await reg.stored();
      expect(held.some((f) => f.endsWith(b.digest.slice(7)) || f.endsWith(other.slice(7)))).toBe(false);
      expect(held.filter((f) => f.startsWith('tmp/') || f.startsWith('multipart '))).toEqual([]);
    });

    it('accepts sha512 digests, monolithic and through a session', async () => {
      const b = blob(777);
      const d = sha512(b.bytes);
      expect((await req('POST', `/v2/sha512/blobs/uploads/?digest=${d}`, { body: b.bytes })).status).toBe(201);
      const g = await req('GET', `/v2/sha512/blobs/${d}`);
      expect(g.body.equals(b.bytes)).toBe(true);
      const c = blob(999);
      const loc = (await req('POST', '/v2/sha512/blobs/uploads/')).headers.location!;
      await req('PATCH', loc, { body: c.bytes });
      const put = await req('PUT', `${loc}?digest=${sha512(c.bytes)}`);
      expect(put.status).toBe(201);
      expect((await req('HEAD', `/v2/sha512/blobs/${sha512(c.bytes)}`)).headers['content-length']).toBe('999');
    });

    it('stores an empty blob', async () => {
      const d = sha256('');
      expect((await req('POST', `/v2/empty/blobs/uploads/?digest=${d}`, { headers: { 'content-length': '0' } })).status).toBe(201);
      expect((await req('HEAD', `/v2/empty/blobs/${d}`)).headers['content-length']).toBe('0');
    });

    it('answers bad digests, unknown sessions and missing digests with their codes', async () => {
      const cases: [string, string, number, string][] = [
        ['GET', '/v2/x/blobs/sha256:abc', 400, 'DIGEST_INVALID'],
        ['GET', '/v2/x/blobs/md5:d41d8cd98f00b204e9800998ecf8427e', 400, 'DIGEST_INVALID'],
        ['GET', `/v2/x/blobs/sha256:${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'],
        ['POST', '/v2/x/blobs/uploads/?digest=sha256:zz', 400, 'DIGEST_INVALID'],
        ['GET', '/v2/x/blobs/uploads/00000000-0000-0000-0000-000000000000', 404, 'BLOB_UPLOAD_UNKNOWN'],
        ['PATCH', '/v2/x/blobs/uploads/not-a-uuid', 404, 'BLOB_UPLOAD_UNKNOWN'],
        ['DELETE', '/v2/x/blobs/uploads/00000000-0000-0000-0000-000000000000', 404, 'BLOB_UPLOAD_UNKNOWN'],
        ['DELETE', `/v2/x/blobs/${sha256('nothing')}`, 404, 'BLOB_UNKNOWN'],
      ];
      for (const [method, path, status, code] of cases) {
        const r = await req(method, path);
        expect(r.status, `${method} ${path}`).toBe(status);
        expect(errorCode(r), `${method} ${path}`).toBe(code);
      }
      const loc = (await req('POST', '/v2/x/blobs/uploads/')).headers.location!;
      const noDigest = await req('PUT', loc);
      expect(noDigest.status).toBe(400);
      expect(errorCode(noDigest)).toBe('DIGEST_INVALID');
      const elsewhere = await req('GET', loc.replace('/v2/x/', '/v2/y/'));
      expect(errorCode(elsewhere)).toBe('BLOB_UPLOAD_UNKNOWN');
      const badRange = await req('PATCH', loc, { headers: { 'content-range': 'zero-ten' }, body: 'abc' });
      expect(errorCode(badRange)).toBe('BLOB_UPLOAD_INVALID');
      const lengthMismatch = await req('PATCH', loc, { headers: { 'content-range': '0-9' }, body: 'abc' });
      expect(lengthMismatch.status).toBe(416);
      expect(errorCode(lengthMismatch)).toBe('SIZE_INVALID');
    });

    it('cancels a session with DELETE and removes its data', async () => {
      const loc = (await req('POST', '/v2/cancel/blobs/uploads/')).headers.location!;
      await req('PATCH', loc, { body: Buffer.alloc(100, 1) });
      expect((await req('DELETE', loc)).status).toBe(204);
      expect((await req('GET', loc)).status).toBe(404);
      const id = loc.split('/').pop()!;
      expect((await reg.stored()).some((f) => f.startsWith('uploads/') && f.includes(id))).toBe(false);
    });

    it('deletes a blob from one repository only (202, then 404)', async () => {
      const b = blob();
      await pushBlob(req, 'del/a', b);
      await pushBlob(req, 'del/b', b);
      const d = await req('DELETE', `/v2/del/a/blobs/${b.digest}`);
      expect(d.status).toBe(202);
      expect((await req('GET', `/v2/del/a/blobs/${b.digest}`)).status).toBe(404);
      expect((await req('GET', `/v2/del/b/blobs/${b.digest}`)).status).toBe(200);
    });

    it('ignores query parameters it does not know (containerd adds ?ns=)', async () => {
      const b = blob();
      await pushBlob(req, 'ns/test', b);
      expect((await req('GET', `/v2/ns/test/blobs/${b.digest}?ns=docker.io&x=1`)).status).toBe(200);
    });
  });
}
