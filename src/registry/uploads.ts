/**
 * Pushing blobs (distribution-spec v1.1 "Pushing blobs"): sessions (POST, PATCH, PUT, GET, DELETE),
 * monolithic uploads (POST ?digest=) and cross-repository mounts (POST ?mount=&from=).
 *
 * Commit is a named sequence: bytes hashed while written → verified against the digest → moved
 * into the content store → linked into the repository → the session removed.
 */
import { randomUUID } from 'node:crypto';
import { RegistryError } from '../oci/errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { isValidName } from '../oci/names.js';
import type { BlobStore, ByteSource, UploadStore } from '../storage/blobstore.js';
import type { BlobLinkIndex, RepositoryIndex, UploadIndex, UploadRecord } from '../index/metadata.js';
import type { Coordination, KeyedLock, SweepGate } from './coordination.js';
import type { Quotas } from './quotas.js';

export interface UploadState {
  id: string;
  repo: string;
  /** Bytes received so far. */
  offset: number;
}

/** A chunk's declared position: `Content-Range: <start>-<end>` (inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface Chunk {
  body: ByteSource;
  range?: ChunkRange;
  /** Content-Length, when the client sent one (chunked transfer encoding has none). */
  length?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class UploadService {
  /** One request at a time per session, across every process that serves the store. */
  private readonly sessions: KeyedLock;
  private readonly sweep: SweepGate;
  /**
   * Sessions this process opened, as last written to the index: a PATCH or PUT then needs no index
   * read. After a restart the index alone answers (and load() reconciles it with the bytes on disk).
   * Where other processes serve the same store, the next chunk may have gone to any of them: the
   * index always answers, and this only counts sessions (metrics).
   */
  private readonly live = new Map<string, UploadRecord>();
  private readonly trustLive: boolean;

  /** Sessions this process opened that have not ended (metrics). */
  get inProgress(): number {
    return this.live.size;
  }

  constructor(
    private readonly store: BlobStore,
    private readonly data: UploadStore,
    private readonly index: BlobLinkIndex & UploadIndex & RepositoryIndex,
    coordination: Pick<Coordination, 'uploadLocks' | 'sweep' | 'shared'>,
    private readonly quotas?: Quotas,
  ) {
    this.sessions = coordination.uploadLocks;
    this.sweep = coordination.sweep;
    this.trustLive = !coordination.shared;
  }

  /**
   * Links a stored blob into a repository, sharing the sweep lock so garbage collection cannot delete
   * the bytes between the check that they are there and the link that keeps them. Also how
   * pull-through and bundle imports link what they stored.
   */
  link(repo: string, d: Digest, size: number, endUpload?: string): Promise<void> {
    return this.sweep.shared(async () => {
      if (!(await this.store.touch(d))) {
        throw new RegistryError('BLOB_UPLOAD_INVALID', `blob ${d.value} was collected while it uploaded; push it again`);
      }
      await this.quotas?.check(repo, d.value, size);
      const isNew = this.quotas?.active && !(await this.index.repositoryExists(repo));
      await this.index.linkBlob(repo, d.value, size, endUpload);
      if (isNew) this.quotas!.created();
    });
  }

  /** Run before a push writes bytes (mirror.cache makes room on a volume under its low-water mark). */
  beforeWrite?: () => Promise<void>;

  async start(repo: string, owner?: string): Promise<UploadState> {
    const id = randomUUID();
    const rec: UploadRecord = { id, repo, offset: 0, startedAt: Date.now() };
    if (owner !== undefined) rec.owner = owner;
    await this.data.create(id);
    await this.index.putUpload(rec);
    this.live.set(id, rec);
    return { id, repo, offset: 0 };
  }

  /** POST ?digest= with the whole blob as its body. */
  async monolithic(repo: string, digest: string, body: ByteSource, length?: number): Promise<{ digest: Digest; size: number }> {
    const d = parseDigest(digest);
    if (length !== undefined) await this.quotas?.check(repo, d.value, length); // refuse before reading the body
    await this.beforeWrite?.();
    const { size } = await this.store.ingest(body, d, length);
    await this.link(repo, d, size);
    return { digest: d, size };
  }

  /**
   * POST ?mount=&from=: links a blob the client may already read into `repo`. Without `from`
   * (spec v1.1) any repository holding the blob that `canRead` allows will do. Returns undefined when
   * the mount cannot be done, and the caller opens a session instead, as the spec asks.
   */
  async mount(
    repo: string,
    digest: string,
    from: string | undefined,
    canRead: (repo: string) => boolean | Promise<boolean> = () => true,
  ): Promise<{ digest: Digest; size: number } | undefined> {
    const d = parseDigest(digest);
    let source: string | undefined;
    if (from !== undefined) {
      if (isValidName(from) && (await this.index.blobLink(from, d.value)) && (await canRead(from))) source = from;
    } else {
      for (const r of await this.index.reposWithBlob(d.value, 16)) {
        if (await canRead(r)) {
          source = r;
          break;
        }
      }
    }
    if (source === undefined) return undefined;
    return this.sweep.shared(async () => {
      const s = await this.store.stat(d);
      if (!s || !(await this.store.touch(d))) return undefined;
      await this.quotas?.check(repo, d.value, s.size);
      await this.index.linkBlob(repo, d.value, s.size);
      return { digest: d, size: s.size };
    });
  }

  status(repo: string, id: string, owner?: string): Promise<UploadState> {
    return this.sessions.run(id, async () => toState(await this.load(repo, id, owner)));
  }

  /** PATCH: appends a chunk, which must start at the current offset when it declares a range. */
  append(repo: string, id: string, chunk: Chunk, owner?: string): Promise<UploadState> {
    return this.sessions.run(id, async () => {
      const rec = await this.load(repo, id, owner);
      const offset = await this.write(rec, chunk);
      const next = { ...rec, offset, updatedAt: Date.now() };
      await this.index.putUpload(next);
      this.live.set(id, next);
      return toState(next);
    });
  }

  /** PUT ?digest=: appends the last chunk if any, verifies, and publishes the blob. */
  complete(repo: string, id: string, digest: string, chunk: Chunk | undefined, owner?: string): Promise<{ digest: Digest; size: number }> {
    const d = parseDigest(digest);
    return this.sessions.run(id, async () => {
      const rec = await this.load(repo, id, owner);
      let size: number;
      if (rec.offset === 0 && chunk && (!chunk.range || chunk.range.start === 0)) {
        // The whole blob in one PUT (containerd, the spec's POST-then-PUT): straight into the store.
        ({ size } = await this.store.ingest(chunk.body, d, chunkLength(rec, chunk)));
      } else {
        const before = rec.offset;
        if (chunk) rec.offset = await this.write(rec, chunk);
        try {
          ({ size } = await this.data.commit(id, d));
        } catch (err) {
          // A failed PUT leaves the session as it was before it, so the client may try again.
          if (rec.offset !== before) await this.data.truncateTo(id, before);
          throw err;
        }
      }
      await this.link(repo, d, size, id);
      this.live.delete(id);
      await this.data.remove(id);
      return { digest: d, size };
    });
  }

  cancel(repo: string, id: string, owner?: string): Promise<void> {
    return this.sessions.run(id, async () => {
      await this.load(repo, id, owner);
      await this.index.deleteUpload(id);
      this.live.delete(id);
      await this.data.remove(id);
    });
  }

  /**
   * Ends sessions idle for longer than `ttlMs` (storage.uploadTTL): their records, their files, and
   * session files no record knows (left by a crash). Returns how many were removed.
   */
  async expire(ttlMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    const known = new Set<string>();
    for (const rec of await this.index.listUploads()) {
      known.add(rec.id);
      if (now - (rec.updatedAt ?? rec.startedAt) <= ttlMs) continue;
      await this.sessions.run(rec.id, async () => {
        await this.index.deleteUpload(rec.id);
        this.live.delete(rec.id);
        await this.data.remove(rec.id);
      });
      removed++;
    }
    for (const f of await this.data.list()) {
      if (known.has(f.id) || this.live.has(f.id) || now - f.mtimeMs <= ttlMs) continue;
      await this.data.remove(f.id);
      removed++;
    }
    return removed;
  }

  private async write(rec: UploadRecord, chunk: Chunk): Promise<number> {
    await this.beforeWrite?.();
    return this.data.append(rec.id, chunk.body, chunkLength(rec, chunk));
  }

  /** The session's record (a copy), reconciled with its bytes on disk after a crash. */
  private async load(repo: string, id: string, owner?: string): Promise<UploadRecord> {
    const unknown = () => new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload unknown: ${id.slice(0, 64)}`);
    if (!UUID.test(id)) throw unknown();
    const live = this.trustLive ? this.live.get(id) : undefined;
    // A session is bound to its repository and to whoever opened it: another caller holding its URL
    // learns nothing (BLOB_UPLOAD_UNKNOWN, as for a session that does not exist).
    if (live) {
      if (live.repo !== repo || live.owner !== owner) throw unknown();
      return { ...live };
    }
    const rec = await this.index.upload(id);
    if (!rec || rec.repo !== repo || rec.owner !== owner) throw unknown();
    const size = await this.data.size(id);
    if (size > rec.offset) await this.data.truncateTo(id, rec.offset); // an unacknowledged chunk
    if (size < rec.offset) {
      rec.offset = size; // acknowledged bytes lost with fsync off: the client resumes from here
      await this.index.putUpload(rec);
    }
    this.live.set(id, { ...rec });
    return rec;
  }
}

/**
 * The length a chunk must have, from Content-Range and Content-Length, after checking that it
 * continues the session (spec: "Chunks MUST be uploaded in order": else 416 with the current Range).
 */
function chunkLength(rec: UploadRecord, chunk: Chunk): number | undefined {
  if (!chunk.range) return chunk.length;
  const { start, end } = chunk.range;
  if (start !== rec.offset || end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk ${start}-${end} does not continue the upload at ${rec.offset}`, {
      status: 416,
      headers: rangeHeaders(rec.offset),
    });
  }
  const declared = end - start + 1;
  if (chunk.length !== undefined && chunk.length !== declared) {
    throw new RegistryError('SIZE_INVALID', `Content-Length ${chunk.length} does not match Content-Range ${start}-${end}`, {
      status: 416,
      headers: rangeHeaders(rec.offset),
    });
  }
  return declared;
}

function toState(rec: UploadRecord): UploadState {
  return { id: rec.id, repo: rec.repo, offset: rec.offset };
}

/** `Range: 0-<last byte>`, as distribution sends it (0-0 for an empty session). */
export function rangeHeaders(offset: number): Record<string, string> {
  return { Range: `0-${Math.max(offset - 1, 0)}` };
}
