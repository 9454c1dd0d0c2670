/**
 * The metadata index's narrow interfaces. Implementations: LevelDB (level-index.ts, the default)
 * and PostgreSQL (pg-index.ts); each must pass test/shared/index.suite.ts. Callers serialise writes
 * to one repository (see registry/locks.ts); every multi-key change is one atomic write.
 */
import type { RobotIndex } from '../auth/robots.js';
import type { BundleIndex } from '../bundles/records.js';
import type { Descriptor } from '../oci/manifest.js';
import type { Coordination } from '../registry/coordination.js';
import type { FailureLog } from '../auth/limiter.js';
import type { SessionTable } from '../auth/sessions.js';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  /** Blobs (config, layers) and child manifests it references; GC marks through these. */
  blobs: string[];
  manifests: string[];
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  pushedAt: number;
  /**
   * An index stored with only the children of these platforms (os/arch[/variant]), on purpose
   * (mirror.platforms, import or export --platform): the others may be absent.
   */
  platforms?: string[];
  /** Stored by the pull-through mirror: its blobs and children arrive on demand, so may be absent. */
  mirrored?: true;
}

export interface UploadRecord {
  id: string;
  repo: string;
  /** Bytes acknowledged so far (202 sent); the session file is cut back to this after a crash. */
  offset: number;
  startedAt: number;
  /** Last time a chunk arrived; sessions idle longer than storage.uploadTTL expire. */
  updatedAt?: number;
  /** The user who opened it, when auth is on: nobody else may use its URL. */
  owner?: string;
}

export interface Page {
  after?: string;
  limit: number;
}

export interface RepositoryIndex {
  listRepositories(page: Page): Promise<string[]>;
  repositoryExists(repo: string): Promise<boolean>;
}

export interface BlobLink {
  digest: string;
  size: number;
  linkedAt: number;
}

export interface BlobLinkIndex {
  /** Every blob linked to a repository (garbage collection walks them). */
  listBlobLinks(repo: string): Promise<BlobLink[]>;
  blobLink(repo: string, digest: string): Promise<{ size: number } | undefined>;
  /** Links a blob; `endUpload` also ends that upload session in the same atomic write. */
  linkBlob(repo: string, digest: string, size: number, endUpload?: string): Promise<void>;
  unlinkBlob(repo: string, digest: string): Promise<boolean>;
  /** Every link of every repository, in key order (a usage report's one scan). */
  allBlobLinks(): AsyncIterable<{ repo: string; digest: string; size: number }>;
  /**
   * Every (blob, repository) link in ascending order of digest, then repository: one consistent
   * view, taken when the walk starts (garbage collection merges it with the blob store's digests).
   */
  blobHolders(): AsyncIterable<{ digest: string; repo: string }>;
  /** Repositories that link `digest`, in lexical order. */
  reposWithBlob(digest: string, limit: number): Promise<string[]>;
}

/** What a tag or digest names: the digest, and the record and bytes when they are there. */
export interface ResolvedManifest {
  digest: string;
  record?: ManifestRecord;
  bytes?: Buffer;
}

export interface ManifestIndex {
  manifest(repo: string, digest: string): Promise<ManifestRecord | undefined>;
  /**
   * The manifest a tag or digest names, with its bytes: what a pull that misses the manifest cache
   * reads (one round trip on a networked engine). undefined when a tag names nothing.
   */
  resolveManifest(repo: string, ref: { tag: string } | { digest: string }): Promise<ResolvedManifest | undefined>;
  /**
   * The bytes of a manifest, by digest. Manifests (at most a few MiB) live in the index rather than
   * the blob store: one synced write then commits their bytes, record, tag and referrer together.
   */
  manifestBytes(digest: string): Promise<Buffer | undefined>;
  /**
   * Records a manifest and its bytes, and points `tag` (one, or several: all in the same write) at it
   * when given; links the repository into the catalog.
   */
  putManifest(repo: string, record: ManifestRecord, bytes: Buffer, referrer: Descriptor | undefined, tag?: string | readonly string[]): Promise<void>;
  /** Removes a manifest, every tag pointing at it and its referrer entry; returns the removed tags, or undefined if absent. */
  deleteManifest(repo: string, digest: string): Promise<string[] | undefined>;
  listReferrers(repo: string, subject: string): Promise<Descriptor[]>;
  listManifests(repo: string): Promise<ManifestRecord[]>;
  /** Digests that some tag of the repository points at. */
  taggedDigests(repo: string): Promise<Set<string>>;
  /**
   * Digests of manifest bytes no repository's manifest record uses any more, in batches of at most
   * `batch` (memory is bounded by the batch, not the store); deleting a yielded batch before taking
   * the next is allowed.
   */
  orphanManifestBytes(batch?: number): AsyncIterable<string[]>;
  deleteManifestBytes(digests: string[]): Promise<void>;
  /** Last pull times, written in batches (not synced: a lost one only makes a tag look older). */
  recordPulls(entries: { repo: string; digest: string; at: number }[]): Promise<void>;
  pulledAt(repo: string, digest: string): Promise<number | undefined>;
  /** Every stored manifest's bytes, by digest (verification walks them). */
  eachManifestBytes(): AsyncIterable<{ digest: string; bytes: Buffer }>;
}

export interface TagIndex {
  tag(repo: string, tag: string): Promise<string | undefined>;
  listTags(repo: string, page: Page): Promise<string[]>;
  deleteTag(repo: string, tag: string): Promise<boolean>;
  /** The tags that point at `digest`. */
  tagsOf(repo: string, digest: string): Promise<string[]>;
}

export interface UploadIndex {
  upload(id: string): Promise<UploadRecord | undefined>;
  listUploads(): Promise<UploadRecord[]>;
  putUpload(record: UploadRecord): Promise<void>;
  deleteUpload(id: string): Promise<void>;
}

/** Login state kept where every process serving the store sees it. */
export interface SharedAuth {
  sessions: SessionTable;
  failures: FailureLog;
  /** The secret named `name`, made by `make` in whichever process asks first; every process gets that one. */
  secret(name: string, make: () => Promise<string>): Promise<string>;
}

/** What an index that other processes write too (PostgreSQL, many replicas) adds. */
export interface SharedIndex {
  /**
   * Each repository's change stamp, read in one round trip: it moves with every change to the
   * repository's manifests or tags, whichever process made it (absent: no such repository). A cache
   * entry filled after reading a stamp is current while the stamp has not moved.
   */
  stamps(repos: string[]): Promise<Map<string, string>>;
  /** Locks and leases across the processes (opened once, closed with the index). */
  coordination(): Coordination;
  /** Login state the processes share: web sessions, failed logins, generated secrets. */
  readonly auth: SharedAuth;
}

/**
 * What changed, as the index records it for the event sinks (events/): the facts come from the write
 * that made the change, in the same atomic write, so an event exists exactly when its change does.
 */
export type EventType = 'repository.created' | 'manifest.pushed' | 'tag.moved' | 'tag.deleted' | 'manifest.deleted' | 'bundle.imported' | 'manifest.pulled';
export const EVENT_TYPES: readonly EventType[] = ['repository.created', 'manifest.pushed', 'tag.moved', 'tag.deleted', 'manifest.deleted', 'bundle.imported', 'manifest.pulled'];

/** Who made a change: the request's user (when auth is on), its client address, user agent and id. */
export interface ChangeActor {
  name?: string;
  addr?: string;
  userAgent?: string;
  requestId?: string;
}

export interface ChangeEvent {
  type: EventType;
  repo: string;
  /** Milliseconds since the epoch: when the change was written. */
  at: number;
  data: Record<string, unknown>;
  actor?: ChangeActor;
}

/** An event waiting for one sink: `seq` is the event's, the same for every sink, never reused. */
export interface QueuedEvent extends ChangeEvent {
  seq: number;
}

/**
 * The sinks (by name) an event goes to, given when events are on. The index records an event once
 * per sink it routes to, and nothing when it routes nowhere (events off: no router, no cost).
 */
export type EventRouter = (type: EventType, repo: string) => readonly string[];

/** Each sink's queue of events, written with the changes (see ChangeEvent). */
export interface EventQueues {
  /** Records an event that no index change carries (a bundle imported, a pull). */
  appendEvent(event: ChangeEvent): Promise<void>;
  /** The oldest events still waiting for `sink`, in order. */
  queuedEvents(sink: string, limit: number): Promise<QueuedEvent[]>;
  /** `sink` has these: they leave its queue. */
  ackEvents(sink: string, seqs: readonly number[]): Promise<void>;
  /** Every sink with something waiting: how many, and the oldest one's time. */
  eventBacklog(): Promise<Map<string, { count: number; oldestAt: number }>>;
  /** Removes the `count` oldest events waiting for `sink` (a full queue). */
  dropEvents(sink: string, count: number): Promise<void>;
}

export interface MetadataIndex extends RepositoryIndex, BlobLinkIndex, ManifestIndex, TagIndex, UploadIndex, RobotIndex, BundleIndex, EventQueues {
  close(): Promise<void>;
  /** Present when other processes may write this index: see SharedIndex. */
  readonly shared?: SharedIndex;
}

/** putManifest's `tag` as a list. */
export function tagList(tag: string | readonly string[] | undefined): readonly string[] {
  return tag === undefined ? [] : typeof tag === 'string' ? [tag] : tag;
}
