/**
 * Upload sessions' bytes in the object store: each acknowledged chunk is one object,
 * `uploads/<id>/<offset>` (keys.ts), written all-or-nothing like a blob (put-verified.ts), so chunks
 * of any size are accepted (S3's 5 MiB minimum applies to multipart parts, not to objects) and a
 * session survives a restart of berth: its length is the end of its last chunk, listed from the store.
 *
 * The sha256 state of a session lives in this process only (Node cannot serialise a hash). At
 * commit, a session of one chunk hashed here is copied to its blob's key inside the store; any other
 * (several chunks, a restart, another algorithm) is read back once, hashed and written to the blob's
 * key as it is read: the blob appears only if the digest matched.
 */
import type { Hash } from 'node:crypto';
import { digestOf, newHash, type Digest } from '../../oci/digest.js';
import type { ByteSource, UploadStore } from '../blobstore.js';
import { checkDigest } from '../checks.js';
import { writeHashed } from '../hashing-writer.js';
import { COPY_LIMIT, type ObjectInfo } from './bucket.js';
import { putVerified } from './put-verified.js';
import type { S3BlobStore } from './s3-blobstore.js';

interface HashState {
  hash: Hash;
  /** Bytes the hash has seen; the state is usable while this is the session's length. */
  hashed: number;
}

interface Chunk {
  key: string;
  offset: number;
  size: number;
}

export class S3UploadStore implements UploadStore {
  private readonly states = new Map<string, HashState>();

  constructor(private readonly blobs: S3BlobStore) {}

  private get bucket() {
    return this.blobs.bucket;
  }

  private get keys() {
    return this.blobs.keys;
  }

  /** The session's chunks in offset order (listed each time: another berth may have appended). */
  private async chunks(id: string): Promise<Chunk[]> {
    const out: Chunk[] = [];
    for await (const o of this.bucket.list(this.keys.uploadPrefix(id))) {
      const c = this.keys.chunkOf(o.key);
      if (c && c.id === id) out.push({ key: o.key, offset: c.offset, size: o.size });
    }
    return out;
  }

  private static end(chunks: Chunk[]): number {
    const last = chunks[chunks.length - 1];
    return last ? last.offset + last.size : 0;
  }

  async create(id: string): Promise<void> {
    this.states.set(id, { hash: newHash('sha256'), hashed: 0 });
  }

  async size(id: string): Promise<number> {
    return S3UploadStore.end(await this.chunks(id));
  }

  async append(id: string, body: ByteSource, expectLength?: number): Promise<number> {
    const start = S3UploadStore.end(await this.chunks(id));
    const state = this.states.get(id);
    const usable = state && state.hashed === start ? state : undefined;
    // a copy: the session's hash moves on only if the chunk is stored
    const hash = usable?.hash.copy();
    const key = this.keys.chunk(id, start);
    const n = await putVerified(this.bucket, key, body, { hashes: hash ? [hash] : [], expectLength, accept: () => undefined });
    if (n === 0) await this.bucket.delete(key); // an empty chunk adds nothing
    if (usable && hash) this.states.set(id, { hash, hashed: start + n });
    else this.states.delete(id);
    return start + n;
  }

  async commit(id: string, digest: Digest): Promise<{ size: number }> {
    const chunks = await this.chunks(id);
    const size = S3UploadStore.end(chunks);
    const state = this.states.get(id);
    const hashed = state && state.hashed === size && digest.algorithm === 'sha256' ? digestOf('sha256', state.hash.copy()) : undefined;
    const blobKey = this.keys.blob(digest);
    if (await this.blobs.touch(digest)) {
      // stored already: only the session's bytes are checked against the digest
      checkDigest(hashed ?? (await this.rehash(chunks, digest)), digest);
    } else if (hashed && chunks.length === 1 && size <= COPY_LIMIT) {
      checkDigest(hashed, digest);
      await this.bucket.copy(chunks[0]!.key, blobKey);
    } else {
      const hash = newHash(digest.algorithm);
      await putVerified(this.bucket, blobKey, this.read(chunks), { hashes: [hash], expectLength: size, accept: () => checkDigest(digestOf(digest.algorithm, hash), digest) });
    }
    await this.deleteChunks(chunks);
    this.states.delete(id);
    return { size };
  }

  private async rehash(chunks: Chunk[], want: Digest): Promise<Digest> {
    const hash = newHash(want.algorithm);
    await writeHashed(this.read(chunks), undefined, 0, [hash]);
    return digestOf(want.algorithm, hash);
  }

  private async *read(chunks: Chunk[]): AsyncIterable<Buffer> {
    for (const c of chunks) {
      const body = await this.bucket.get(c.key);
      if (!body) throw new Error(`upload chunk ${c.key} disappeared`);
      yield* body as AsyncIterable<Buffer>;
    }
  }

  private async deleteChunks(chunks: Chunk[]): Promise<void> {
    for (const c of chunks) await this.bucket.delete(c.key);
  }

  async remove(id: string): Promise<void> {
    this.states.delete(id);
    await this.deleteChunks(await this.chunks(id));
    // a chunk whose upload was cut off by a crash left a multipart upload behind
    for await (const u of this.bucket.multipartUploads(this.keys.uploadPrefix(id))) await this.bucket.abortMultipart(u.key, u.uploadId);
  }

  async list(): Promise<{ id: string; mtimeMs: number }[]> {
    const latest = new Map<string, number>();
    const note = (o: Pick<ObjectInfo, 'key' | 'lastModified'>) => {
      const c = this.keys.chunkOf(o.key);
      if (c) latest.set(c.id, Math.max(latest.get(c.id) ?? 0, o.lastModified));
    };
    for await (const o of this.bucket.list(this.keys.uploadsPrefix)) note(o);
    for await (const u of this.bucket.multipartUploads(this.keys.uploadsPrefix)) note({ key: u.key, lastModified: u.initiated });
    return [...latest].map(([id, mtimeMs]) => ({ id, mtimeMs }));
  }

  /** Cuts a session back to `size` bytes (its last acknowledged length after a crash). */
  async truncateTo(id: string, size: number): Promise<void> {
    this.states.delete(id);
    for (const c of await this.chunks(id)) {
      if (c.offset >= size) await this.bucket.delete(c.key);
      else if (c.offset + c.size > size) {
        const body = await this.bucket.get(c.key, 0, size - c.offset - 1);
        if (!body) continue;
        await putVerified(this.bucket, c.key, body as AsyncIterable<Buffer>, { hashes: [], expectLength: size - c.offset, accept: () => undefined });
      }
    }
  }
}
