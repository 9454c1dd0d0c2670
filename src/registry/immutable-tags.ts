/**
 * Immutable tags (storage.immutableTags, as Harbor's tag immutability rules): a tag that matches a
 * rule's repository and tag globs, once it exists, keeps pointing at its first manifest. A push that
 * would move it elsewhere and a delete of it (or of the manifest it names) are refused; pushing the
 * same manifest again is allowed (a CI job's retry). Retention skips such tags; garbage collection
 * only ever takes untagged manifests. A mirror's tags follow their upstream and are not pushes.
 */
import { globToRegExp } from '../auth/policy.js';
import { RegistryError } from '../oci/errors.js';

export interface ImmutableTagRule {
  /** Repository globs (`**` any depth, `*` one segment), as accessControl and retention use. */
  repositories: string[];
  /** Tag globs (`v*`, `release-*`, `**` for every tag). */
  tags: string[];
}

export class ImmutableTags {
  private readonly rules: { repos: RegExp[]; tags: RegExp[] }[];

  constructor(rules: ImmutableTagRule[]) {
    this.rules = rules.map((r) => ({ repos: r.repositories.map(globToRegExp), tags: r.tags.map(globToRegExp) }));
  }

  get any(): boolean {
    return this.rules.length > 0;
  }

  protects(repo: string, tag: string): boolean {
    return this.rules.some((r) => r.repos.some((re) => re.test(repo)) && r.tags.some((re) => re.test(tag)));
  }

  /** The refusal for moving `tag` from `current` to another manifest. */
  moved(repo: string, tag: string, current: string): RegistryError {
    return new RegistryError('DENIED', `tag ${tag} of ${repo} is immutable (storage.immutableTags): it stays at ${current}; push under a new tag`, {
      detail: { repository: repo, tag, digest: current },
    });
  }

  deleted(repo: string, tags: string[]): RegistryError {
    return new RegistryError('DENIED', `${tags.length > 1 ? 'tags' : 'tag'} ${tags.join(', ')} of ${repo} ${tags.length > 1 ? 'are' : 'is'} immutable (storage.immutableTags) and cannot be deleted`, {
      detail: { repository: repo, tags },
    });
  }
}

/** Validates storage.immutableTags from the configuration. */
export function immutableTagRules(v: unknown, where: string): ImmutableTagRule[] {
  const fail = (m: string) => new Error(`${where}${m}`);
  if (!Array.isArray(v)) throw fail(': must be a list of {repositories, tags}');
  return v.map((r, i) => {
    if (typeof r !== 'object' || r === null) throw fail(`[${i}]: must be a map`);
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'repositories' && k !== 'tags') throw fail(`[${i}].${k}: unknown key`);
    const globs = (k: 'repositories' | 'tags'): string[] => {
      const x = o[k];
      if (!Array.isArray(x) || x.length === 0 || x.some((g) => typeof g !== 'string' || g === '')) throw fail(`[${i}].${k}: a list of globs`);
      return x as string[];
    };
    return { repositories: globs('repositories'), tags: globs('tags') };
  });
}
