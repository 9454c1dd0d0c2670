/**
 * A blob stored from a source while others read it (pull-through, issue 7): the bytes go to a temp
 * file while they are hashed, readers follow the file's length, and the file is published under its
 * digest only once the digest and length check out. Readers that started before the rename keep
 * reading through the same open file. The file stays open until the fill and every reader are done.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { digestOf, newHash, type Digest } from '../oci/digest.js';
import type { BlobFill, ByteSource, OpenBlob } from './blobstore.js';
import { publish, unlinkQuiet, type DirMaker, type FsyncPolicy } from './fsync.js';
import { writeHashed } from './hashing-writer.js';
import { checkDigest } from './checks.js';

/** What one fill writes, from where, to where. */
export interface FillJob {
  /** The temp file the bytes go to while they arrive, and the blob's path once verified. */
  tmp: string;
  target: string;
  body: ByteSource;
  digest: Digest;
  size: number | undefined;
  dirs: DirMaker;
  policy: FsyncPolicy;
  syncEvery: number;
}

export class FsFill implements BlobFill {
  readonly done: Promise<{ size: number }>;
  private written = 0;
  private ended = false;
  private failure: unknown;
  private refs = 1; // the fill's own
  /** Set when the last holder let go of the temp file's handle: later readers open the published file. */
  private released = false;
  private waiters: (() => void)[] = [];
  private readonly target: string;

  private constructor(
    private readonly fh: FileHandle,
    job: FillJob,
  ) {
    this.target = job.target;
    this.done = this.run(job);
    this.done.catch(() => undefined); // readers and the caller see the failure; never unhandled
  }

  static async start(job: FillJob): Promise<FsFill> {
    return new FsFill(await open(job.tmp, 'wx+'), job);
  }

  private async run({ tmp, target, body, digest, size, dirs, policy, syncEvery }: FillJob): Promise<{ size: number }> {
    const hash = newHash(digest.algorithm);
    try {
      const n = await writeHashed(body, this.fh, 0, [hash], size, syncEvery, (position) => {
        this.written = position;
        this.wake();
      });
      checkDigest(digestOf(digest.algorithm, hash), digest);
      if (policy.fsync) await this.fh.sync();
      await publish(tmp, target, dirs, policy);
      return { size: n };
    } catch (err) {
      this.failure = err;
      await unlinkQuiet(tmp).catch(() => undefined);
      throw err;
    } finally {
      this.ended = true;
      this.wake();
      await this.release();
    }
  }

  get over(): boolean {
    return this.ended;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async release(): Promise<void> {
    if (--this.refs === 0) {
      this.released = true;
      await this.fh.close().catch(() => undefined);
    }
  }

  /** Reads at `position` once bytes are there; 0 only at the end of a fill that succeeded. */
  private async read(buf: Buffer, length: number, position: number): Promise<number> {
    while (this.written <= position && !this.ended) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
    if (this.written <= position) return 0;
    const n = Math.min(length, this.written - position);
    return (await this.fh.read(buf, 0, n, position)).bytesRead;
  }

  reader(size: number): OpenBlob {
    // a reader asked for once the fill is over and its handle closed (the caller found the fill
    // before it was forgotten): the bytes are in the published file, or the fill failed
    if (this.released) return afterFill(this.target, size, this.failure);
    this.refs++;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await this.release();
    };
    const read = (buf: Buffer, length: number, position: number) => this.read(buf, length, position);
    return readerOf(size, read, close);
  }
}

/** An OpenBlob over `read`: its stream reads 1 MiB at a time and closes the blob when done. */
function readerOf(size: number, read: OpenBlob['read'], close: () => Promise<void>): OpenBlob {
  return {
    size,
    read,
    close,
    stream(start = 0, end = size - 1) {
      return Readable.from(
        (async function* () {
          try {
            for (let pos = start; pos <= end; ) {
              const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, end - pos + 1));
              const n = await read(buf, buf.length, pos);
              if (n === 0) throw new Error(`blob ended early at ${pos}`);
              pos += n;
              yield buf.subarray(0, n);
            }
          } finally {
            await close();
          }
        })(),
      );
    },
  };
}

/** A reader of a fill that is over: its published file, opened at the first read. */
function afterFill(target: string, size: number, failure: unknown): OpenBlob {
  let handle: Promise<FileHandle> | undefined;
  const fh = () => {
    if (failure) return Promise.reject(failure);
    return (handle ??= open(target, 'r'));
  };
  const read = async (buf: Buffer, length: number, position: number) => (await (await fh()).read(buf, 0, length, position)).bytesRead;
  const close = async () => {
    const h = handle;
    handle = undefined;
    if (h) await (await h.catch(() => undefined))?.close().catch(() => undefined);
  };
  return readerOf(size, read, close);
}
