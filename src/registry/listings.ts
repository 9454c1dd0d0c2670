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

export class ListingService {
  constructor(
    private readonly index: MetadataIndex,
    private readonly options: RegistryOptions,
  ) {}

  async tags(repo: string, page: PageRequest): Promise<PageResult> {
    if (!(await this.index.repositoryExists(repo))) throw new RegistryError('NAME_UNKNOWN', `repository unknown: ${repo}`);
    return this.page(page, (p) => this.index.listTags(repo, p));
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
