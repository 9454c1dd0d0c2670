/**
 * The blob store's narrow interfaces (after distribution's BlobStatter/Provider/Ingester/Deleter).
 * Implementations: files (fs-blobstore.ts, the default) and S3 (s3/s3-blobstore.ts); each must pass
 * test/shared/blobstore.suite.ts.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';

/** A request body or any other source of bytes, consumed once. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A store's answer on a connection of its own, its head read (OpenBlob.connection). */
export interface StoreConnection {
  /** The socket's descriptor: nothing in Node reads it any more. */
  readonly fd: number;
  /** Body bytes that arrived with the head (at least one, unless the range is empty). */
  readonly first: Buffer;
  /** How long the store may send nothing before the download fails (its request timeout). */
  readonly idleMs: number;
  /** Ends the connection (after the body, or to abandon it). */
  close(): void;
}

export interface OpenBlob {
  readonly size: number;
  /** A stream of bytes [start, end] (inclusive); the whole blob by default. Closes the blob when done. */
  stream(start?: number, end?: number): Readable;
  /** Reads up to `length` bytes at `position` into `buf`; returns how many (0 at the end). */
  read(buf: Buffer, length: number, position: number): Promise<number>;
  /** Releases the blob (after reads; a stream closes it by itself). */
  close(): Promise<void>;
  /** A descriptor of the complete file, when the blob is one: the kernel may send it to a socket itself (sendfile). */
  readonly fd?: number;
  /**
   * Bytes [start, end] as the store sends them, when the blob is not a file (an object store): a
   * download pipes them to the client as they arrive, with no copy through berth's own buffers.
   */
  body?(start: number, end: number): Promise<Readable>;
  /**
   * Bytes [start, end] on a connection of the store's own that Node no longer reads, its answer's
   * head checked: a download moves them to its client with splice(2). Only for stores reached over
   * plain TCP. The blob's close() ends the connection.
   */
  connection?(start: number, end: number): Promise<StoreConnection>;
}

export interface BlobStatter {
  stat(d: Digest): Promise<{ size: number } | undefined>;
}

export interface BlobProvider {
  open(d: Digest): Promise<OpenBlob | undefined>;
}

export interface BlobIngester {
  /**
   * Streams `body` into the store while hashing it; the blob is visible only once its digest equals
   * `digest` and (when given) its length equals `size`. Throws DIGEST_INVALID / SIZE_INVALID and
   * leaves nothing behind otherwise, or if the body fails midway.
   */
  ingest(body: ByteSource, digest: Digest, size?: number): Promise<{ size: number }>;
}

/**
 * A blob being stored from a source that others may read while it arrives (a pull-through fetch).
 * Readers follow the bytes on disk; the blob is published only once its digest checks out.
 */
export interface BlobFill {
  /** Resolves once the blob is stored under its digest; rejects when the source failed or lied. */
  readonly done: Promise<{ size: number }>;
  /** A reader of the bytes as they arrive; its reads wait for bytes not written yet. */
  reader(size: number): OpenBlob;
  /**
   * True once the fill has ended (stored or failed): a reader then has nothing to follow, and the
   * blob is better opened from the store (a clean miss if it is gone since).
   */
  readonly over?: boolean;
}

export interface BlobFiller {
  fill(body: ByteSource, digest: Digest, size?: number): Promise<BlobFill>;
}

export interface BlobDeleter {
  delete(d: Digest): Promise<boolean>;
}

/** What garbage collection needs beyond the rest: every stored blob, and a way to mark one in use. */
export interface BlobSweeper {
  list(): AsyncIterable<{ digest: Digest; size: number; mtimeMs: number }>;
  /**
   * Every stored blob's digest, in ascending order of `algorithm:hex` (the order of the index's
   * links, which garbage collection merges it with), without reading each blob's metadata.
   */
  digests(): AsyncIterable<Digest>;
  /** Marks a blob as just used (its age restarts); false when it is not there. */
  touch(d: Digest): Promise<boolean>;
  /** When the blob was stored or last touched (ms since the epoch); undefined when it is not there. */
  touchedAt(d: Digest): Promise<number | undefined>;
}

/**
 * A store whose clients may fetch blobs from it directly (S3 with `redirect` on): blob GETs are
 * answered with a redirect to a short-lived URL instead of the bytes.
 */
export interface BlobRedirector {
  /** A URL the blob can be downloaded from for a short while; undefined when it is not stored. */
  downloadUrl?(d: Digest): Promise<string | undefined>;
}

export interface BlobStore extends BlobStatter, BlobProvider, BlobIngester, BlobFiller, BlobDeleter, BlobSweeper, BlobRedirector {
  /** Readiness (/readyz): the store can be written now (a small probe written and removed); throws otherwise. */
  check(): Promise<void>;
}

/**
 * Upload sessions' bytes. Appends are all-or-nothing: a body that fails midway is cut back off, so a
 * session always holds exactly the chunks that were acknowledged.
 */
export interface UploadStore {
  create(id: string): Promise<void>;
  /** Bytes held so far (0 for a session that never received any); the index says which sessions exist. */
  size(id: string): Promise<number>;
  /** Appends a body at the end; returns the new size. `maxBytes` caps the chunk. */
  append(id: string, body: ByteSource, expectLength?: number): Promise<number>;
  /** Verifies the session's bytes against `digest` and moves them into the blob store. */
  commit(id: string, digest: Digest): Promise<{ size: number }>;
  remove(id: string): Promise<void>;
  /** Session files on disk with their last change (ms), for sweeping ones no record knows. */
  list(): Promise<{ id: string; mtimeMs: number }[]>;
  /** Cuts a session back to `size` bytes: its last acknowledged length. */
  truncateTo(id: string, size: number): Promise<void>;
}
