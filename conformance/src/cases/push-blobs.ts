/** distribution-spec v1.1 "Push", blobs: end-4a/4b, end-5, end-6, end-11, end-13, session DELETE. */
import { check, errorEnvelope, header, status } from '../check.js';
import { blob, digest } from '../content.js';
import type { Case, Context } from '../context.js';

async function fetchBlob(ctx: Context, repo: string, d: string): Promise<Buffer> {
  const r = await ctx.req('GET', `/v2/${repo}/blobs/${d}`);
  status(r, 200);
  return r.body;
}

export const pushBlobCases: Case[] = [
  {
    workflow: 'push',
    name: 'POST then PUT ?digest= with the blob (monolithic, two requests): 201 with Location',
    async run(ctx) {
      const repo = ctx.repo('push-postput');
      const b = blob(2048);
      const loc = await ctx.open(repo);
      const r = await ctx.req('PUT', ctx.withDigest(loc, b.digest), { headers: { 'content-type': 'application/octet-stream' }, body: b.bytes });
      status(r, 201);
      header(r, 'location');
      check((await fetchBlob(ctx, repo, b.digest)).equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'POST ?digest= with the blob (monolithic, one request): 201 (or 202 to fall back to a session)',
    async run(ctx) {
      const repo = ctx.repo('push-single-post');
      const b = blob(2048);
      const r = await ctx.req('POST', `/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: b.bytes,
      });
      status(r, 201, 202);
      header(r, 'location');
      if (r.status === 201) check((await fetchBlob(ctx, repo, b.digest)).equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'streamed upload: PATCH without Content-Range, then PUT ?digest= with no body',
    async run(ctx) {
      const repo = ctx.repo('push-streamed');
      const b = blob(5000);
      const loc = await ctx.open(repo);
      const p = await ctx.req('PATCH', loc, { headers: { 'content-type': 'application/octet-stream' }, body: b.bytes });
      status(p, 202);
      header(p, 'range', '0-4999');
      const next = header(p, 'location');
      status(await ctx.req('PUT', ctx.withDigest(next, b.digest)), 201);
      check((await fetchBlob(ctx, repo, b.digest)).equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'PATCH with Transfer-Encoding: chunked and no Content-Length (as podman and crane send it)',
    async run(ctx) {
      const repo = ctx.repo('push-te-chunked');
      const b = blob(70_000);
      const loc = await ctx.open(repo);
      const p = await ctx.req('PATCH', loc, { body: { chunked: [b.bytes.subarray(0, 30_000), b.bytes.subarray(30_000)] } });
      status(p, 202);
      status(await ctx.req('PUT', ctx.withDigest(header(p, 'location'), b.digest)), 201);
      check((await fetchBlob(ctx, repo, b.digest)).equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'chunked upload: PATCH chunks with Content-Range, each answered with Range; PUT with the last chunk',
    async run(ctx) {
      const repo = ctx.repo('push-chunked');
      const b = blob(3000);
      let loc = await ctx.open(repo);
      for (const [s, e] of [[0, 999], [1000, 1999]] as const) {
        const p = await ctx.req('PATCH', loc, {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${s}-${e}`, 'content-length': String(e - s + 1) },
          body: b.bytes.subarray(s, e + 1),
        });
        status(p, 202);
        header(p, 'range', `0-${e}`);
        loc = header(p, 'location');
      }
      const put = await ctx.req('PUT', ctx.withDigest(loc, b.digest), {
        headers: { 'content-type': 'application/octet-stream', 'content-range': '2000-2999', 'content-length': '1000' },
        body: b.bytes.subarray(2000),
      });
      status(put, 201);
      check((await fetchBlob(ctx, repo, b.digest)).equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'an out-of-order chunk is refused with 416 and the current Range',
    async run(ctx) {
      const repo = ctx.repo('push-ooo');
      const b = blob(2000);
      const loc = await ctx.open(repo);
      const first = await ctx.req('PATCH', loc, { headers: { 'content-range': '0-999', 'content-length': '1000' }, body: b.bytes.subarray(0, 1000) });
      status(first, 202);
      const skip = await ctx.req('PATCH', header(first, 'location'), {
        headers: { 'content-range': '1500-1999', 'content-length': '500' },
        body: b.bytes.subarray(1500),
      });
      status(skip, 416);
      const repeat = await ctx.req('PATCH', header(first, 'location'), {
        headers: { 'content-range': '0-999', 'content-length': '1000' },
        body: b.bytes.subarray(0, 1000),
      });
      status(repeat, 416);
    },
  },
  {
    workflow: 'push',
    name: 'resumed upload: GET on the session says 204 with Range, and the upload continues from there',
    async run(ctx) {
      const repo = ctx.repo('push-resume');
      const b = blob(4000);
      const loc = await ctx.open(repo);
      const p = await ctx.req('PATCH', loc, { headers: { 'content-range': '0-2499', 'content-length': '2500' }, body: b.bytes.subarray(0, 2500) });
      status(p, 202);
      const st = await ctx.req('GET', header(p, 'location'));
      status(st, 204);
      const range = header(st, 'range', /^0-\d+$/);
      const offset = Number(range.split('-')[1]) + 1;
      check(offset === 2500, `status Range says ${range}, 0-2499 was sent`);
      const rest = await ctx.req('PATCH', header(st, 'location'), {
        headers: { 'content-range': `${offset}-3999`, 'content-length': String(4000 - offset) },
        body: b.bytes.subarray(offset),
      });
      status(rest, 202);
      status(await ctx.req('PUT', ctx.withDigest(header(rest, 'location'), b.digest)), 201);
      check((await fetchBlob(ctx, repo, b.digest)).equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'a PUT whose digest does not match the content: 400 DIGEST_INVALID, nothing stored',
    async run(ctx) {
      const repo = ctx.repo('push-baddigest');
      const b = blob(1000);
      const wrong = digest('something else');
      const loc = await ctx.open(repo);
      errorEnvelope(await ctx.req('PUT', ctx.withDigest(loc, wrong), { body: b.bytes }), [400], ['DIGEST_INVALID']);
      status(await ctx.req('HEAD', `/v2/${repo}/blobs/${wrong}`), 404);
      status(await ctx.req('HEAD', `/v2/${repo}/blobs/${b.digest}`), 404);
    },
  },
  {
    workflow: 'push',
    name: 'a sha512 blob is stored and served under its sha512 digest',
    async run(ctx) {
      const repo = ctx.repo('push-sha512');
      const b = blob(3333);
      const d = digest(b.bytes, 'sha512');
      const loc = await ctx.open(repo);
      status(await ctx.req('PUT', ctx.withDigest(loc, d), { headers: { 'content-type': 'application/octet-stream' }, body: b.bytes }), 201);
      const g = await ctx.req('GET', `/v2/${repo}/blobs/${d}`);
      status(g, 200);
      check(g.body.equals(b.bytes), 'stored bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'cross-repository mount with from: 201 and the blob readable in the target (or 202 session)',
    async run(ctx) {
      const src = ctx.repo('mount-src');
      const dst = ctx.repo('mount-dst');
      const b = blob(1500);
      await ctx.pushBlob(src, b);
      const r = await ctx.req('POST', `/v2/${dst}/blobs/uploads/?mount=${b.digest}&from=${src}`);
      status(r, 201, 202);
      if (r.status === 201) {
        header(r, 'location');
        check((await fetchBlob(ctx, dst, b.digest)).equals(b.bytes), 'mounted bytes differ');
      }
    },
  },
  {
    workflow: 'push',
    name: 'cross-repository mount without from: 201 when the registry finds the blob, else 202',
    async run(ctx) {
      const src = ctx.repo('automount-src');
      const dst = ctx.repo('automount-dst');
      const b = blob(1500);
      await ctx.pushBlob(src, b);
      const r = await ctx.req('POST', `/v2/${dst}/blobs/uploads/?mount=${b.digest}`);
      status(r, 201, 202);
      header(r, 'location');
      if (r.status === 201) check((await fetchBlob(ctx, dst, b.digest)).equals(b.bytes), 'mounted bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'mount of a blob the source does not have: 202 with a session Location',
    async run(ctx) {
      const src = ctx.repo('mount-empty-src');
      await ctx.pushBlob(src, blob(10));
      const dst = ctx.repo('mount-empty-dst');
      const r = await ctx.req('POST', `/v2/${dst}/blobs/uploads/?mount=${digest('absent')}&from=${src}`);
      status(r, 202);
      header(r, 'location');
    },
  },
  {
    workflow: 'push',
    name: 'a blob pushed to one repository is not readable from another (BLOB_UNKNOWN)',
    async run(ctx) {
      const a = ctx.repo('isolated-a');
      const b = ctx.repo('isolated-b');
      const x = blob(100);
      await ctx.pushBlob(a, x);
      await ctx.pushBlob(b, blob(10));
      errorEnvelope(await ctx.req('GET', `/v2/${b}/blobs/${x.digest}`), [404], ['BLOB_UNKNOWN']);
    },
  },
  {
    workflow: 'push',
    name: 'DELETE an upload session: 204, then the session is BLOB_UPLOAD_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('push-cancel');
      const loc = await ctx.open(repo);
      status(await ctx.req('DELETE', loc), 204);
      errorEnvelope(await ctx.req('GET', loc), [404], ['BLOB_UPLOAD_UNKNOWN']);
    },
  },
];
