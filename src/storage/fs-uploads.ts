/**
 * Upload sessions' bytes on the filesystem: one file per session under <root>/uploads.
 *
 * The sha256 state of each session lives in this process only (Node cannot serialise a hash); after
 * a restart, or when PUT asks for another algorithm, the session's file is re-hashed at commit.
 */
import { open, readdir, stat, truncate } from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { digestOf, newHash, type Digest } from '../oci/digest.js';
import type { ByteSource, UploadStore } from './blobstore.js';
import type { FsBlobStore } from './fs-blobstore.js';
import { checkDigest } from './checks.js';
import { isNotFound, publish, unlinkQuiet } from './fsync.js';
import { writeHashed } from './hashing-writer.js';

interface HashState {
  hash: Hash;
  /** Bytes the hash has seen; equals the file's size while the state is usable. */
  hashed: number;
  /** Whether the session's file exists yet (it is made by the first append). */
  file: boolean;
}

export class FsUploadStore implements UploadStore {
  private readonly states = new Map<string, HashState>();

  constructor(private readonly blobs: FsBlobStore) {}

  private get paths() {
    return this.blobs.paths;
  }

  /** The session's file is created by its first append: most sessions end in one monolithic PUT. */
  async create(id: string): Promise<void> {
    this.states.set(id, { hash: newHash('sha256'), hashed: 0, file: false });
  }

  async size(id: string): Promise<number> {
    const state = this.states.get(id);
    if (state && !state.file) return 0; // made by this process and never written: no file to ask
    try {
      return (await stat(this.paths.upload(id))).size;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  async append(id: string, body: ByteSource, expectLength?: number): Promise<number> {
    const path = this.paths.upload(id);
    const fh = await open(path, 'a');
    const state = this.states.get(id);
    if (state) state.file = true;
    const start = (await fh.stat()).size;
    const usable = state && state.hashed === start ? state : undefined;
    const before = usable?.hash.copy();
    try {
      const n = await writeHashed(body, fh, start, usable ? [usable.hash] : [], expectLength, this.blobs.syncEvery);
      if (usable) usable.hashed += n;
      else this.states.delete(id);
      return start + n;
    } catch (err) {
      // All-or-nothing: cut the partial chunk off and roll the hash back to before it.
      await fh.truncate(start).catch(() => undefined);
      if (usable && before) this.states.set(id, { hash: before, hashed: start, file: true });
      throw err;
    } finally {
      await fh.close();
    }
  }

  async commit(id: string, digest: Digest): Promise<{ size: number }> {
    const path = this.paths.upload(id);
    const fh = await open(path, 'a+');
    let size: number;
    try {
      size = (await fh.stat()).size;
      const actual = await this.digestOf(id, fh, size, digest);
      checkDigest(actual, digest);
      if (this.blobs.policy.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await publish(path, this.paths.blob(digest), this.blobs.dirs, this.blobs.policy);
    this.states.delete(id);
    return { size };
  }

  private async digestOf(id: string, fh: import('node:fs/promises').FileHandle, size: number, want: Digest): Promise<Digest> {
    const state = this.states.get(id);
    if (state && state.hashed === size && want.algorithm === 'sha256') {
      // copy(): a mismatch must leave the session usable for another PUT.
      return digestOf('sha256', state.hash.copy());
    }
    const hash = newHash(want.algorithm);
    await writeHashed(fh.createReadStream({ start: 0, autoClose: false }), undefined, 0, [hash]);
    return digestOf(want.algorithm, hash);
  }

  async remove(id: string): Promise<void> {
    const state = this.states.get(id);
    this.states.delete(id);
    if (state && !state.file) return;
    await unlinkQuiet(this.paths.upload(id));
  }

  async list(): Promise<{ id: string; mtimeMs: number }[]> {
    const out: { id: string; mtimeMs: number }[] = [];
    for (const id of await readdir(this.paths.uploadsDir)) {
      try {
        out.push({ id, mtimeMs: (await stat(this.paths.upload(id))).mtimeMs });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  /** Cuts a session's file back to `size` (its last acknowledged length after a crash). */
  async truncateTo(id: string, size: number): Promise<void> {
    try {
      await truncate(this.paths.upload(id), size);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.states.delete(id);
  }
}
