/**
 * The S3 BlobStore (`storage.driver: s3`): a blob is one object at its content address (keys.ts),
 * written only once its digest and length checked out (put-verified.ts) and never rewritten.
 */
import { Readable } from 'node:stream';
import { digestOf, newHash, type Digest } from '../../oci/digest.js';
import type { BlobFill, BlobStore, ByteSource, OpenBlob } from '../blobstore.js';
import { checkDigest } from '../checks.js';
import { writeHashed } from '../hashing-writer.js';
import type { S3Bucket } from './bucket.js';
import type { S3Keys } from './keys.js';
import { S3OpenBlob } from './open-blob.js';
import { putVerified } from './put-verified.js';

/**
 * S3 gives LastModified in whole seconds (HeadObject's Last-Modified header): a blob touched at
 * 10.9 s reads as touched at 10 s. Ages are taken from the end of that second, so a blob never looks
 * older than it is: garbage collection deleted, under load with a 5 s delay, a shared layer that a
 * push had just touched and was about to link.
 */
const latest = (lastModified: number) => lastModified + 999;

export class S3BlobStore implements BlobStore {
  /** Present only with storage.s3.redirect: blob GETs then redirect to a presigned URL. */
  readonly downloadUrl?: (d: Digest) => Promise<string | undefined>;

  /** `redirectSeconds`: how long a presigned download URL stays valid; absent: no redirects. */
  constructor(
    readonly bucket: S3Bucket,
    readonly keys: S3Keys,
    redirectSeconds?: number,
  ) {
    if (redirectSeconds !== undefined) {
      this.downloadUrl = async (d) => ((await this.bucket.head(this.keys.blob(d))) ? this.bucket.presignGet(this.keys.blob(d), redirectSeconds) : undefined);
    }
  }

  /** The readiness probe: an object written and removed. */
  async check(): Promise<void> {
    const key = this.keys.probe();
    await this.bucket.put(key, Buffer.from('ok'));
    await this.bucket.delete(key);
  }

  async stat(d: Digest): Promise<{ size: number } | undefined> {
    const h = await this.bucket.head(this.keys.blob(d));
    return h && { size: h.size };
  }

  async open(d: Digest): Promise<OpenBlob | undefined> {
    const h = await this.bucket.head(this.keys.blob(d));
    return h && new S3OpenBlob(this.bucket, this.keys.blob(d), h.size);
  }

  async ingest(body: ByteSource, digest: Digest, size?: number): Promise<{ size: number }> {
    const hash = newHash(digest.algorithm);
    const accept = () => checkDigest(digestOf(digest.algorithm, hash), digest);
    if (await this.touch(digest)) {
      // Already stored (and its age restarted, so garbage collection leaves it while this upload
      // runs): the body is verified against the digest, not written again.
      const n = await writeHashed(body, undefined, 0, [hash], size);
      accept();
      return { size: n };
    }
    return { size: await putVerified(this.bucket, this.keys.blob(digest), body, { hashes: [hash], expectLength: size, accept }) };
  }

  /**
   * A pull-through fill. Readers wait for the whole blob to be stored and read it then: an object
   * cannot be read while it is being written (the filesystem store lets readers follow the bytes).
   */
  async fill(body: ByteSource, digest: Digest, size?: number): Promise<BlobFill> {
    const done = this.ingest(body, digest, size);
    done.catch(() => undefined); // a reader or the caller sees the failure
    return {
      done,
      reader: (n: number) => new FillReader(done.then(() => this.open(digest)), n),
    };
  }

  /** Restarts the blob's age (garbage collection's delay) by writing its `touched/` marker (keys.ts). */
  async touch(d: Digest): Promise<boolean> {
    if (!(await this.bucket.head(this.keys.blob(d)))) return false;
    await this.bucket.put(this.keys.touched(d), Buffer.alloc(0));
    return true;
  }

  async touchedAt(d: Digest): Promise<number | undefined> {
    const [h, mark] = await Promise.all([this.bucket.head(this.keys.blob(d)), this.bucket.head(this.keys.touched(d))]);
    // a marker left by a blob deleted before is older than the blob stored again: the later time counts
    return h && latest(Math.max(h.lastModified, mark?.lastModified ?? 0));
  }

  async *digests(): AsyncIterable<Digest> {
    for await (const o of this.bucket.list(this.keys.blobsPrefix)) {
      const d = this.keys.digestOf(o.key);
      if (d) yield d; // else not a blob berth wrote
    }
  }

  /** The blobs' listing merged with the markers' (both in the same key order): one pass over each. */
  async *list(): AsyncIterable<{ digest: Digest; size: number; mtimeMs: number }> {
    const { blobsPrefix, touchedPrefix } = this.keys;
    const marks = this.bucket.list(touchedPrefix)[Symbol.asyncIterator]();
    try {
      let mark = await marks.next();
      for await (const o of this.bucket.list(blobsPrefix)) {
        const digest = this.keys.digestOf(o.key);
        if (!digest) continue; // not a blob berth wrote
        const name = o.key.slice(blobsPrefix.length);
        while (!mark.done && mark.value.key.slice(touchedPrefix.length) < name) mark = await marks.next();
        const touched = !mark.done && mark.value.key.slice(touchedPrefix.length) === name ? mark.value.lastModified : 0;
        yield { digest, size: o.size, mtimeMs: latest(Math.max(o.lastModified, touched)) };
      }
    } finally {
      await marks.return?.();
    }
  }

  async delete(d: Digest): Promise<boolean> {
    const key = this.keys.blob(d);
    if (!(await this.bucket.head(key))) return false;
    await this.bucket.delete(key);
    await this.bucket.delete(this.keys.touched(d)); // a marker left behind is harmless: see touchedAt
    return true;
  }
}

/** A reader of a blob being filled: opens the stored blob once the fill is done. */
class FillReader implements OpenBlob {
  private opened: Promise<OpenBlob>;

  constructor(
    stored: Promise<OpenBlob | undefined>,
    readonly size: number,
  ) {
    this.opened = stored.then((b) => b ?? Promise.reject(new Error('the filled blob is not in the store')));
    this.opened.catch(() => undefined);
  }

  stream(start?: number, end?: number): Readable {
    const opened = this.opened;
    return Readable.from(
      (async function* () {
        yield* (await opened).stream(start, end) as AsyncIterable<Buffer>;
      })(),
      { objectMode: false },
    );
  }

  async read(buf: Buffer, length: number, position: number): Promise<number> {
    return (await this.opened).read(buf, length, position);
  }

  async close(): Promise<void> {
    await (await this.opened.catch(() => undefined))?.close();
  }
}
