/**
 * The contract every BlobStore + UploadStore pair must meet (after distribution's driver test
 * suites). A new backend's test file is a few lines that run this against it.
 */
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import type { BlobStore, UploadStore } from '../../src/storage/blobstore.js';
import { parseDigest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';

export interface StoreUnderTest {
  blobs: BlobStore;
  uploads: UploadStore;
  /** Files left in the store's scratch areas (temp and upload files). */
  leftovers(): Promise<string[]>;
}

const dg = (b: Buffer, alg: 'sha256' | 'sha512' = 'sha256') => parseDigest(`${alg}:${createHash(alg).update(b).digest('hex')}`);

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function* failing(first: Buffer): AsyncIterable<Uint8Array> {
  yield first;
  throw new Error('connection reset');
}

export function blobStoreSuite(name: string, make: () => Promise<StoreUnderTest>) {
  describe(`BlobStore contract: ${name}`, () => {
    it('fills a blob that readers follow, and a reader asked for after the fill ended still reads it whole', async () => {
      const s = await make();
      const b = randomBytes(300_000);
      const d = dg(b);
      const fill = await s.blobs.fill([b.subarray(0, 100_000), b.subarray(100_000)], d, b.length);
      const early = fill.reader(b.length);
      expect(await fill.done).toEqual({ size: b.length });
      expect((await readAll(early.stream())).equals(b)).toBe(true);
      // the pull-through mirror may find a fill in its table just after it ended (its handle closed)
      const late = fill.reader(b.length);
      expect((await readAll(late.stream())).equals(b)).toBe(true);
      const buf = Buffer.alloc(10);
      const r2 = fill.reader(b.length);
      expect(await r2.read(buf, 10, 1000)).toBe(10);
      expect(buf.equals(b.subarray(1000, 1010))).toBe(true);
      await r2.close();
      expect(await s.blobs.stat(d)).toEqual({ size: b.length });
    });

    it('ingests, stats, streams whole and by range, and deletes', async () => {
      const s = await make();
      const b = randomBytes(10_000);
      const d = dg(b);
      expect(await s.blobs.stat(d)).toBeUndefined();
      expect(await s.blobs.ingest([b.subarray(0, 4000), b.subarray(4000)], d, b.length)).toEqual({ size: 10_000 });
      expect(await s.blobs.stat(d)).toEqual({ size: 10_000 });
      const o = (await s.blobs.open(d))!;
      expect(o.size).toBe(10_000);
      expect((await readAll(o.stream())).equals(b)).toBe(true);
      const o2 = (await s.blobs.open(d))!;
      expect((await readAll(o2.stream(100, 199))).equals(b.subarray(100, 200))).toBe(true);
      expect(await s.blobs.delete(d)).toBe(true);
      expect(await s.blobs.open(d)).toBeUndefined();
      expect(await s.leftovers()).toEqual([]);
    });

    it('walks every blob digest in ascending algorithm:hex order, and tells when each was stored or touched', async () => {
      const s = await make();
      const bodies = [...Array.from({ length: 40 }, () => randomBytes(20)), randomBytes(30)];
      const digests = bodies.map((b, i) => dg(b, i === 40 ? 'sha512' : 'sha256'));
      const before = Date.now();
      for (let i = 0; i < bodies.length; i++) await s.blobs.ingest([bodies[i]!], digests[i]!);
      const walked: string[] = [];
      for await (const d of s.blobs.digests()) walked.push(d.value);
      expect(walked).toEqual(digests.map((d) => d.value).sort());
      const at = (await s.blobs.touchedAt(digests[0]!))!;
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await s.blobs.touchedAt(dg(randomBytes(5)))).toBeUndefined();
    });

    it('touch() restarts a stored blob\'s age (garbage collection keeps what is being pushed again)', async () => {
      const s = await make();
      const b = randomBytes(300);
      await s.blobs.ingest([b], dg(b));
      const stored = (await s.blobs.touchedAt(dg(b)))!;
      await new Promise((r) => setTimeout(r, 2100)); // S3 keeps LastModified in whole seconds
      const before = Date.now();
      expect(await s.blobs.touch(dg(b))).toBe(true);
      const touched = (await s.blobs.touchedAt(dg(b)))!;
      expect(touched).toBeGreaterThanOrEqual(stored + 1000);
      // never earlier than the touch itself (1 ms for a file's mtime rounding): an age read too old
      // lets GC take a blob being pushed
      expect(touched).toBeGreaterThanOrEqual(before - 1);
      const listed = [];
      for await (const e of s.blobs.list()) if (e.digest.value === dg(b).value) listed.push(e.mtimeMs);
      expect(listed[0]).toBeGreaterThanOrEqual(before - 1);
      await s.blobs.ingest([b], dg(b)); // an upload of what is stored restarts it too
      expect(await s.blobs.touch(dg(randomBytes(3)))).toBe(false);
    });

    it('serves every read of a blob while it is being pushed again (touched and ingested) all along', async () => {
      // a popular base layer: nodes pull it while CI pushes images that carry it; restarting its age
      // must never disturb a read (on Ceph RGW a ranged GET racing a rewrite of its object fails)
      const s = await make();
      const b = Buffer.from('shared layer 1');
      const d = dg(b);
      await s.blobs.ingest([b], d);
      const end = Date.now() + 4000;
      const failures: string[] = [];
      let reads = 0;
      const pusher = async () => {
        for (let i = 0; Date.now() < end; i++) {
          if (i % 4) await s.blobs.touch(d);
          else await s.blobs.ingest([b], d, b.length);
        }
      };
      const reader = async () => {
        while (Date.now() < end) {
          try {
            const o = (await s.blobs.open(d))!;
            // what a download uses: the store's own body where it has one, else the stream
            const got = await readAll(o.body ? await o.body(0, b.length - 1) : o.stream(0, b.length - 1));
            await o.close();
            if (!got.equals(b)) failures.push(`read ${got.length} wrong bytes`);
            reads++;
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      };
      await Promise.all([...Array.from({ length: 5 }, pusher), ...Array.from({ length: 5 }, reader)]);
      expect(failures.slice(0, 3)).toEqual([]);
      expect(reads).toBeGreaterThan(20);
    }, 20_000);

    it('refuses a wrong digest or length and keeps nothing', async () => {
      const s = await make();
      const b = randomBytes(1000);
      const other = dg(randomBytes(10));
      await expect(s.blobs.ingest([b], other)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
      await expect(s.blobs.ingest([b], dg(b), 999)).rejects.toMatchObject({ code: 'SIZE_INVALID' });
      await expect(s.blobs.ingest([b], dg(b), 1001)).rejects.toMatchObject({ code: 'SIZE_INVALID' });
      expect(await s.blobs.stat(dg(b))).toBeUndefined();
      expect(await s.blobs.stat(other)).toBeUndefined();
      expect(await s.leftovers()).toEqual([]);
    });

    it('leaves nothing behind when the body fails midway', async () => {
      const s = await make();
      const b = randomBytes(5000);
      await expect(s.blobs.ingest(failing(b), dg(b))).rejects.toThrow('connection reset');
      expect(await s.blobs.stat(dg(b))).toBeUndefined();
      expect(await s.leftovers()).toEqual([]);
    });

    it('stores a blob of many MiB streamed in small pieces, and nothing of one that fails after many MiB', async () => {
      const s = await make();
      const b = randomBytes(20 * 1024 * 1024 + 123);
      const pieces = (buf: Buffer) => Array.from({ length: Math.ceil(buf.length / 65536) }, (_, i) => buf.subarray(i * 65536, (i + 1) * 65536));
      expect(await s.blobs.ingest(pieces(b), dg(b), b.length)).toEqual({ size: b.length });
      expect((await readAll((await s.blobs.open(dg(b)))!.stream(b.length - 1000))).equals(b.subarray(b.length - 1000))).toBe(true);
      const c = randomBytes(18 * 1024 * 1024);
      async function* cut() {
        yield* pieces(c.subarray(0, 17 * 1024 * 1024));
        throw new Error('connection reset');
      }
      await expect(s.blobs.ingest(cut(), dg(c))).rejects.toThrow('connection reset');
      await expect(s.blobs.ingest(pieces(c), dg(randomBytes(8)))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
      expect(await s.blobs.stat(dg(c))).toBeUndefined();
      expect(await s.leftovers()).toEqual([]);
    });

    it('upload sessions: small chunks and a large one make one blob, read back by offset', async () => {
      const s = await make();
      const b = randomBytes(12 * 1024 * 1024 + 7);
      await s.uploads.create('u4');
      let at = 0;
      for (const n of [1, 1000, 5 * 1024 * 1024, b.length - 5 * 1024 * 1024 - 1001]) {
        expect(await s.uploads.append('u4', [b.subarray(at, at + n)])).toBe(at + n);
        at += n;
      }
      expect(await s.uploads.size('u4')).toBe(b.length);
      expect(await s.uploads.commit('u4', dg(b))).toEqual({ size: b.length });
      const o = (await s.blobs.open(dg(b)))!;
      const part = Buffer.alloc(300_000);
      expect(await o.read(part, part.length, 5_000_000)).toBe(part.length);
      expect(part.equals(b.subarray(5_000_000, 5_300_000))).toBe(true);
      expect(await o.read(part, part.length, 5_300_000)).toBe(part.length);
      expect(part.equals(b.subarray(5_300_000, 5_600_000))).toBe(true);
      await o.close();
      await s.uploads.remove('u4');
      expect(await s.leftovers()).toEqual([]);
    });

    it('verifies but does not rewrite a blob it already has', async () => {
      const s = await make();
      const b = randomBytes(100);
      await s.blobs.ingest([b], dg(b));
      await expect(s.blobs.ingest([randomBytes(100)], dg(b))).rejects.toBeInstanceOf(RegistryError);
      expect(await s.blobs.ingest([b], dg(b))).toEqual({ size: 100 });
      expect((await readAll((await s.blobs.open(dg(b)))!.stream())).equals(b)).toBe(true);
    });

    it('upload sessions: append, roll back a failed chunk, commit with sha256 and sha512', async () => {
      const s = await make();
      const b = randomBytes(3000);
      await s.uploads.create('u1');
      expect(await s.uploads.size('u1')).toBe(0);
      expect(await s.uploads.append('u1', [b.subarray(0, 1000)])).toBe(1000);
      await expect(s.uploads.append('u1', failing(b.subarray(1000, 1500)))).rejects.toThrow();
      expect(await s.uploads.size('u1')).toBe(1000);
      await expect(s.uploads.append('u1', [b.subarray(1000, 2000)], 999)).rejects.toMatchObject({ code: 'SIZE_INVALID' });
      expect(await s.uploads.size('u1')).toBe(1000);
      expect(await s.uploads.append('u1', [b.subarray(1000)])).toBe(3000);
      await expect(s.uploads.commit('u1', dg(randomBytes(3)))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
      expect(await s.uploads.commit('u1', dg(b))).toEqual({ size: 3000 });
      expect((await readAll((await s.blobs.open(dg(b)))!.stream())).equals(b)).toBe(true);
      await s.uploads.remove('u1');

      const c = randomBytes(500);
      await s.uploads.create('u2');
      await s.uploads.append('u2', [c]);
      expect(await s.uploads.commit('u2', dg(c, 'sha512'))).toEqual({ size: 500 });
      expect(await s.blobs.stat(dg(c, 'sha512'))).toEqual({ size: 500 });
      await s.uploads.remove('u2');
      expect(await s.uploads.size('u2')).toBe(0);
      expect(await s.leftovers()).toEqual([]);
    });

    it('upload sessions: truncateTo cuts back to the acknowledged length and the digest is recomputed', async () => {
      const s = await make();
      const b = randomBytes(2000);
      await s.uploads.create('u3');
      await s.uploads.append('u3', [b]);
      await s.uploads.append('u3', [randomBytes(100)]);
      await s.uploads.truncateTo('u3', 2000);
      expect(await s.uploads.commit('u3', dg(b))).toEqual({ size: 2000 });
      await s.uploads.remove('u3');
    });
  });
}
