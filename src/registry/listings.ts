/**
 * Content discovery (distribution-spec v1.1 "Listing Tags", "Listing Referrers", and the
 * `_catalog` extension that clients expect). Pages are LevelDB range scans: a page of n costs n
 * reads, whatever the number of tags or repositories.
 */
import { RegistryError } from '../oci/errors.js';
import { MT } from '../oci/mediatypes.js';
import { parseDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import type { MetadataIndex } from '../index/metadata.js';
import type { RegistryOptions } from './registry.js';
import type { Stamp } from './stamps.js';

export interface PageRequest {
  /** `n`; undefined asks for everything (tags) or the default page (catalog). */
  n?: number;
  last?: string;
}

export interface PageResult {
  items: string[];
  /** The `last` of the next page, when more may remain. */
  next?: { n: number; last: string };
}

export interface ReferrersResult {
  index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] };
  filtered: boolean;
}

/**
 * Whole tag lists (tags/list without n or last: skopeo list-tags, crane ls) kept in memory. Reading
 * 10,000 tags from LevelDB takes 10-20 ms (about 1 µs a key in the native iterator); a kept list is
 * valid while the manifest service's change counter has not moved since before it was read (every
 * tag change passes through that service), so a list is never served after a change was acknowledged.
 * Where other processes write the index too, a list also carries its repository's change stamp
 * (stamps.ts), checked like the manifest cache's.
 */
class WholeTagLists {
  private readonly lists = new Map<string, { version: number; items: string[]; cost: number; stamp?: string }>();
  private bytes = 0;

  constructor(
    private readonly changes: () => number,
    private readonly maxBytes: number,
  ) {}

  get(repo: string, stamp: Stamp | undefined): string[] | undefined {
    const hit = this.lists.get(repo);
    if (!hit) return undefined;
    if (hit.version === this.changes() && (stamp == null || hit.stamp === stamp)) return hit.items;
    this.drop(repo);
    return undefined;
  }

  /** `version`: the counter read before the list was; `stamp`: the repository's, read before too. */
  set(repo: string, version: number, items: string[], stamp: Stamp | undefined): void {
    const cost = items.reduce((n, t) => n + t.length + 32, 64); // strings and array slots, an estimate
    if (version !== this.changes() || stamp === null || cost > this.maxBytes / 4) return;
    this.drop(repo);
    this.lists.set(repo, stamp === undefined ? { version, items, cost } : { version, items, cost, stamp });
    this.bytes += cost;
    while (this.bytes > this.maxBytes) this.drop(this.lists.keys().next().value!);
  }

  private drop(repo: string): void {
    const old = this.lists.get(repo);
    if (!old) return;
    this.lists.delete(repo);
    this.bytes -= old.cost;
  }
}

export class ListingService {
  private readonly wholeTags: WholeTagLists;

  /** `changes`: the manifest service's change counter (ManifestService.changes); `stampOf`: its stamps (ManifestService.stampOf). */
  constructor(
    private readonly index: MetadataIndex,
    private readonly options: RegistryOptions,
    private readonly changes: () => number,
    private readonly stampOf: (repo: string) => Promise<Stamp> | undefined = () => undefined,
  ) {
    this.wholeTags = new WholeTagLists(changes, options.tagListCacheBytes);
  }

  async tags(repo: string, page: PageRequest): Promise<PageResult> {
    if (page.n === undefined && page.last === undefined) return { items: await this.allTags(repo) };
    if (!(await this.index.repositoryExists(repo))) throw new RegistryError('NAME_UNKNOWN', `repository unknown: ${repo}`);
    return this.page(page, (p) => this.index.listTags(repo, p));
  }

  private async allTags(repo: string): Promise<string[]> {
    const stamp = await this.stampOf(repo);
    const kept = this.wholeTags.get(repo, stamp);
    if (kept) return kept;
    const version = this.changes();
    if (!(await this.index.repositoryExists(repo))) throw new RegistryError('NAME_UNKNOWN', `repository unknown: ${repo}`);
    const items = await this.index.listTags(repo, { limit: Infinity });
    this.wholeTags.set(repo, version, items, stamp);
    return items;
  }

  /** Without `n` the catalog still pages (at maxPageSize), since it may hold any number of repositories. */
  catalog(page: PageRequest): Promise<PageResult> {
    const n = page.n ?? this.options.maxPageSize;
    return this.page({ ...page, n }, (p) => this.index.listRepositories(p));
  }

  private async page(req: PageRequest, scan: (p: { after?: string; limit: number }) => Promise<string[]>): Promise<PageResult> {
    if (req.n === 0) return { items: [] };
    const n = req.n === undefined ? undefined : Math.min(req.n, this.options.maxPageSize);
    const limit = n === undefined ? Infinity : n + 1; // one more tells whether another page exists
    const items = await scan({ after: req.last, limit });
    if (n === undefined || items.length <= n) return { items };
    items.length = n;
    return { items, next: { n, last: items[n - 1]! } };
  }

  async referrers(repo: string, subject: string, artifactType?: string): Promise<ReferrersResult> {
    const d = parseDigest(subject);
    let manifests = await this.index.listReferrers(repo, d.value);
    if (artifactType !== undefined) manifests = manifests.filter((m) => m.artifactType === artifactType);
    return { index: { schemaVersion: 2, mediaType: MT.ociIndex, manifests }, filtered: artifactType !== undefined };
  }
}
