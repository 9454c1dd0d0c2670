/** The filesystem BlobStore: content-addressed files under <root>/blobs (see paths.ts). */
import { open, readdir, rm, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { digestOf, newHash, tryParseDigest, type Digest } from '../oci/digest.js';
import type { BlobFill, ByteSource, BlobStore, OpenBlob } from './blobstore.js';
import { DirMaker, isNotFound, publish, unlinkQuiet, type FsyncPolicy } from './fsync.js';
import { StorePaths } from './paths.js';
import { writeHashed } from './hashing-writer.js';
import { checkDigest } from './checks.js';
import { FsFill } from './fs-fill.js';

/** Large blobs are flushed to disk in the background every this many bytes while they arrive. */
const SYNC_EVERY = 32 * 1024 * 1024;

/** Large reads: fewer syscalls and event-loop turns per byte served (64 KiB is Node's default). */
const READ_CHUNK = 1024 * 1024;

export class FsBlobStore implements BlobStore {
  readonly dirs = new DirMaker();

  constructor(
    readonly paths: StorePaths,
    readonly policy: FsyncPolicy,
  ) {}

  get syncEvery(): number {
    return this.policy.fsync ? SYNC_EVERY : 0;
  }

  /** `cleanTemp`: only the serving process may, since temp files belong to its requests. */
  async init(opts: { cleanTemp: boolean }): Promise<void> {
    await this.dirs.ensure(this.paths.blobsDir);
    await this.dirs.ensure(this.paths.uploadsDir);
    // Temp files left by a previous process belong to requests that can no longer finish.
    if (opts.cleanTemp) await rm(this.paths.tmpDir, { recursive: true, force: true });
    await this.dirs.ensure(this.paths.tmpDir);
    // The 256 sha256 shard directories exist from the start, so no upload pays for creating one.
    await Promise.all(Array.from({ length: 256 }, (_, i) => this.dirs.ensure(this.paths.shardDir('sha256', i))));
  }

  async check(): Promise<void> {
    const probe = this.paths.readinessProbe();
    await writeFile(probe, 'ok');
    await unlink(probe);
  }

  async stat(d: Digest): Promise<{ size: number } | undefined> {
    try {
      const s = await stat(this.paths.blob(d));
      return { size: s.size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async open(d: Digest): Promise<OpenBlob | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(this.paths.blob(d), 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const { size } = await fh.stat();
    return {
      size,
      stream: (start?: number, end?: number) => fh.createReadStream({ start, end, autoClose: true, highWaterMark: READ_CHUNK }),
      read: async (buf: Buffer, length: number, position: number) => (await fh.read(buf, 0, length, position)).bytesRead,
      close: () => fh.close(),
      fd: fh.fd,
    };
  }

  async ingest(body: ByteSource, digest: Digest, size?: number): Promise<{ size: number }> {
    const hash = newHash(digest.algorithm);
    if (await this.touch(digest)) {
      // touched: its age restarts, so garbage collection leaves it alone while this upload runs
      // Already stored: verify the body against the digest without writing it again.
      const n = await writeHashed(body, undefined, 0, [hash], size);
      checkDigest(digestOf(digest.algorithm, hash), digest);
      return { size: n };
    }
    const tmp = this.paths.newTemp();
    const fh = await open(tmp, 'wx');
    let ok = false;
    try {
      const n = await writeHashed(body, fh, 0, [hash], size, this.syncEvery);
      checkDigest(digestOf(digest.algorithm, hash), digest);
      if (this.policy.fsync) await fh.sync();
      await fh.close();
      await publish(tmp, this.paths.blob(digest), this.dirs, this.policy);
      ok = true;
      return { size: n };
    } finally {
      if (!ok) {
        await fh.close().catch(() => undefined);
        await unlinkQuiet(tmp);
      }
    }
  }

  fill(body: ByteSource, digest: Digest, size?: number): Promise<BlobFill> {
    return FsFill.start({ tmp: this.paths.newTemp(), target: this.paths.blob(digest), body, digest, size, dirs: this.dirs, policy: this.policy, syncEvery: this.syncEvery });
  }

  async touch(d: Digest): Promise<boolean> {
    try {
      const now = new Date();
      await utimes(this.paths.blob(d), now, now);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async *digests(): AsyncIterable<Digest> {
    // 'sha256:' sorts before 'sha512:'; within one, shard and file names sort as the hex does.
    for (const algorithm of ['sha256', 'sha512'] as const) {
      let shards: string[];
      try {
        shards = (await readdir(this.paths.algorithmDir(algorithm))).sort();
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      for (const shard of shards) {
        for (const hex of (await readdir(this.paths.shardDirNamed(algorithm, shard))).sort()) {
          const digest = tryParseDigest(`${algorithm}:${hex}`);
          if (digest) yield digest; // else not a blob berth wrote
        }
      }
    }
  }

  async *list(): AsyncIterable<{ digest: Digest; size: number; mtimeMs: number }> {
    for await (const digest of this.digests()) {
      try {
        const s = await stat(this.paths.blob(digest));
        yield { digest, size: s.size, mtimeMs: s.mtimeMs };
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  async touchedAt(d: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.paths.blob(d))).mtimeMs;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(d: Digest): Promise<boolean> {
    try {
      await unlink(this.paths.blob(d));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
