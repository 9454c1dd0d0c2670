/**
 * Quotas: `storage.maxRepositories`, and bytes per repository pattern (`storage.quotas`). A push
 * over a quota gets DENIED with a detail naming the quota; its bytes are linked nowhere (garbage
 * collection removes them after its delay). A repository's bytes are the sizes of the blobs linked
 * to it, summed when a push to a repository under a byte quota needs them.
 */
import { RegistryError } from '../oci/errors.js';
import { globToRegExp } from '../auth/policy.js';
import type { BlobLinkIndex, RepositoryIndex } from '../index/metadata.js';
import { allRepositories } from '../index/repositories.js';

export interface QuotaRule {
  repositories: string;
  maxBytes: number;
}

export interface QuotaOptions {
  maxRepositories?: number;
  quotas: QuotaRule[];
}

export class Quotas {
  private readonly rules: { rule: QuotaRule; re: RegExp }[];
  private repoCount: number | undefined;

  constructor(
    private readonly options: QuotaOptions,
    private readonly index: RepositoryIndex & BlobLinkIndex,
    /** Other processes create repositories too: the count is taken anew each time, never kept. */
    private readonly shared = false,
  ) {
    this.rules = options.quotas.map((rule) => ({ rule, re: globToRegExp(rule.repositories) }));
  }

  get active(): boolean {
    return this.options.maxRepositories !== undefined || this.rules.length > 0;
  }

  private async repositories(): Promise<number> {
    if (this.repoCount === undefined || this.shared) {
      let n = 0;
      for await (const _ of allRepositories(this.index, 10_000)) n++;
      this.repoCount = n;
    }
    return this.repoCount;
  }

  /** Throws DENIED when linking `size` more bytes of `digest` into `repo` would break a quota. */
  async check(repo: string, digest: string, size: number): Promise<void> {
    if (!this.active) return;
    const max = this.options.maxRepositories;
    if (max !== undefined && !(await this.index.repositoryExists(repo)) && (await this.repositories()) >= max) {
      throw new RegistryError('DENIED', `the registry holds its maximum of ${max} repositories`, { detail: { quota: 'storage.maxRepositories', limit: max } });
    }
    const q = this.rules.find((r) => r.re.test(repo));
    if (!q || (await this.index.blobLink(repo, digest))) return;
    const used = (await this.index.listBlobLinks(repo)).reduce((sum, l) => sum + l.size, 0);
    if (used + size > q.rule.maxBytes) {
      throw new RegistryError('DENIED', `repository ${repo} would exceed its quota of ${q.rule.maxBytes} bytes`, {
        detail: { quota: `storage.quotas[${q.rule.repositories}]`, limit: q.rule.maxBytes, used },
      });
    }
  }

  /** After a link that created a repository. */
  created(): void {
    if (this.repoCount !== undefined) this.repoCount++;
  }
}
