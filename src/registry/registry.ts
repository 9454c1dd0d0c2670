/**
 * The registry's use cases, free of HTTP: what the OCI distribution spec asks of a registry, over a
 * BlobStore, an UploadStore and a MetadataIndex. Permission checks happen at the HTTP edge; the
 * services trust their callers.
 */
import type { ImmutableTagRule } from './immutable-tags.js';
import type { BlobStore, UploadStore } from '../storage/blobstore.js';
import type { EventQueues, MetadataIndex } from '../index/metadata.js';
import { BlobService } from './blobs.js';
import { UploadService } from './uploads.js';
import { ManifestService } from './manifests.js';
import { ListingService } from './listings.js';
import { localCoordination, type Coordination } from './coordination.js';
import { StampReader } from './stamps.js';
import { GarbageCollector } from './gc.js';
import { Verifier } from './verify.js';
import { Retention, type RetentionRule } from './retention.js';
import { BundleLifecycle, type BundleRetentionRule } from './bundle-lifecycle.js';
import { Quotas, type QuotaOptions } from './quotas.js';

export interface RegistryOptions {
  /** DELETE of manifests, tags and blobs; UNSUPPORTED (405) when off. */
  deleteEnabled: boolean;
  /** Largest manifest a PUT may carry (the spec suggests registries accept at least 4 MiB). */
  maxManifestBytes: number;
  /** Largest page `tags/list` and `_catalog` answer with; larger `n` are clamped (spec: "MAY return fewer"). */
  maxPageSize: number;
  /** Memory for hot manifests (GET/HEAD by tag served without an index read). */
  manifestCacheBytes: number;
  /** Memory for whole tag lists (tags/list without n), kept until a tag changes. */
  tagListCacheBytes: number;
  /** storage.retention's rules (none by default). */
  retention: RetentionRule[];
  /** storage.retention.bundles: how many versions of each bundle to keep (none by default). */
  bundleRetention: BundleRetentionRule[];
  /** storage.maxRepositories and storage.quotas (none by default). */
  quotas: QuotaOptions;
  /** storage.immutableTags (none by default). */
  immutableTags: ImmutableTagRule[];
  /** Changes are recorded as events for sinks (events.sinks): requests then say who makes them. */
  events: boolean;
  /** Each manifest GET is recorded as a manifest.pulled event (an event sink asked for pulls). */
  pullEvents: boolean;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = {
  deleteEnabled: true,
  maxManifestBytes: 4 * 1024 * 1024,
  maxPageSize: 10_000,
  manifestCacheBytes: 8 * 1024 * 1024,
  tagListCacheBytes: 2 * 1024 * 1024,
  retention: [],
  bundleRetention: [],
  quotas: { quotas: [] },
  immutableTags: [],
  events: false,
  pullEvents: false,
};

export interface RegistryDeps {
  blobs: BlobStore;
  uploads: UploadStore;
  index: MetadataIndex;
  options: RegistryOptions;
  /** Locks and leases (in-process when absent: this process is the index's only writer). */
  coordination?: Coordination;
}

export class Registry {
  readonly blobs: BlobService;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly listings: ListingService;
  readonly gc: GarbageCollector;
  readonly verifier: Verifier;
  readonly retention: Retention;
  /** Imported bundles' records: listed, removed by hand or by retention. */
  readonly bundles: BundleLifecycle;
  readonly options: RegistryOptions;
  readonly coordination: Coordination;
  /** The event sinks' queues (the index writes them with each change; events/ delivers them). */
  readonly events: EventQueues;

  constructor(deps: RegistryDeps) {
    this.events = deps.index;
    const c = (this.coordination = deps.coordination ?? localCoordination());
    const { repoLocks, sweep } = c;
    this.options = deps.options;
    this.blobs = new BlobService(deps.blobs, deps.index, deps.options);
    this.uploads = new UploadService(deps.blobs, deps.uploads, deps.index, c, new Quotas(deps.options.quotas, deps.index, c.shared));
    const stamps = c.shared && deps.index.shared ? new StampReader(deps.index.shared.stamps) : undefined;
    this.manifests = new ManifestService(deps.index, deps.options, repoLocks, sweep, stamps);
    this.listings = new ListingService(deps.index, deps.options, () => this.manifests.changes(), (repo) => this.manifests.stampOf(repo));
    this.gc = new GarbageCollector(deps.blobs, deps.index, this.manifests, repoLocks, sweep, c.leases);
    this.verifier = new Verifier(deps.blobs, deps.index, this.manifests, repoLocks);
    this.bundles = new BundleLifecycle(deps.index, this.manifests);
    this.retention = new Retention(deps.options.retention, deps.index, this.manifests, { rules: deps.options.bundleRetention, lifecycle: this.bundles });
    this.gc.collectsUntagged = (repo) => this.retention.collectsUntagged(repo);
  }
}
