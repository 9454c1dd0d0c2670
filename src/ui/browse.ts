/**
 * What the web UI lists: projects (a repository name's first path segment), repositories with search
 * and pages, and a repository's tags with what each points at. Every listing is filtered by the
 * caller's read permission, given as `canRead` by the HTTP layer (permission checks stay at the edge).
 * Repository pages are range scans of the catalog's keys (~20 ms for 10,000 names here); only the rows
 * of the page shown are read in detail.
 */
import type { MetadataIndex } from '../index/metadata.js';
import type { Registry } from '../registry/registry.js';
import { allRepositories } from '../index/repositories.js';
import { imageSummary } from './summary.js';
import type { ProjectRow, RepositoryRow, TagRow } from './api-types.js';
import type { UsageCache } from './usage.js';

export type CanRead = (repo: string) => boolean;

export function projectOf(repo: string): string {
  const i = repo.indexOf('/');
  return i < 0 ? '' : repo.slice(0, i);
}

export class Browse {
  constructor(
    private readonly index: MetadataIndex,
    private readonly registry: Registry,
    private readonly usage: UsageCache,
  ) {}

  async projects(canRead: CanRead): Promise<{ projects: ProjectRow[]; computedAt: number }> {
    const snapshot = await this.usage.get();
    const byProject = new Map<string, { repositories: number; blobs: Map<string, number> }>();
    for await (const repo of allRepositories(this.index)) {
      if (!canRead(repo)) continue;
      const name = projectOf(repo);
      let p = byProject.get(name);
      if (!p) byProject.set(name, (p = { repositories: 0, blobs: new Map() }));
      p.repositories++;
      for (const l of snapshot.links.get(repo) ?? []) p.blobs.set(l.digest, l.size);
    }
    const projects = [...byProject].map(([name, p]) => ({ name, repositories: p.repositories, size: sum(p.blobs.values()) }));
    return { projects, computedAt: snapshot.computedAt };
  }

  /** Names in `project` ('' = top level, undefined = all) containing `q` (case-insensitive), a page of them. */
  async repositories(
    opts: { project?: string; q?: string; offset: number; limit: number },
    canRead: CanRead,
  ): Promise<{ total: number; items: RepositoryRow[] }> {
    const q = opts.q?.toLowerCase();
    const names: string[] = [];
    for await (const repo of this.names(opts.project)) {
      if ((q && !repo.includes(q)) || !canRead(repo)) continue;
      names.push(repo);
    }
    const page = names.slice(opts.offset, opts.offset + opts.limit);
    return { total: names.length, items: await Promise.all(page.map((n) => this.repositoryRow(n))) };
  }

  /** The catalog's names under a project: a range of keys, stopped where the prefix ends. */
  private async *names(project: string | undefined): AsyncIterable<string> {
    if (project === undefined || project === '') {
      for await (const repo of allRepositories(this.index)) if (project === undefined || !repo.includes('/')) yield repo;
      return;
    }
    const prefix = `${project}/`;
    for (let after = prefix, page: string[]; (page = await this.index.listRepositories({ after, limit: 1000 })).length > 0; after = page[page.length - 1]!) {
      for (const repo of page) {
        if (!repo.startsWith(prefix)) return;
        yield repo;
      }
    }
  }

  async repositoryRow(name: string): Promise<RepositoryRow> {
    const [tags, links, manifests] = await Promise.all([
      this.index.listTags(name, { limit: Infinity }),
      this.index.listBlobLinks(name),
      this.index.listManifests(name),
    ]);
    const row: RepositoryRow = { name, tags: tags.length, size: sum(links.map((l) => l.size)) };
    if (manifests.length) row.updatedAt = Math.max(...manifests.map((m) => m.pushedAt));
    return row;
  }

  async tags(repo: string, page: { n: number; last?: string }): Promise<{ total: number; items: TagRow[]; next?: string }> {
    const [all, listed] = await Promise.all([this.index.listTags(repo, { limit: Infinity }), this.registry.listings.tags(repo, page)]);
    const items = await Promise.all(
      listed.items.map(async (tag) => {
        const m = await this.registry.manifests.find(repo, tag);
        return { tag, ...(m ? await imageSummary(this.registry, repo, m) : { digest: '', mediaType: '', size: 0, pushedAt: 0 }) };
      }),
    );
    return { total: all.length, items, ...(listed.next ? { next: listed.next.last } : {}) };
  }
}

function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
