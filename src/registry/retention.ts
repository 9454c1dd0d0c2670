/**
 * Retention (storage.retention): per repository pattern, which tags to keep; every other tag is
 * deleted (and the manifests it leaves unreachable go with the next garbage collection). A tag is kept
 * when any rule keeps it: among the N most recently pushed, matching a pattern, pushed within a period,
 * or pulled within a period. `deleteUntagged: false` keeps a repository's untagged manifests from GC.
 * A manifest's push time stands for its tags' (a re-push under a new tag renews it).
 * storage.retention.bundles keeps the last N versions of each imported bundle (bundle-lifecycle.ts).
 */
import { globToRegExp } from '../auth/policy.js';
import type { MetadataIndex } from '../index/metadata.js';
import type { ManifestService } from './manifests.js';
import { allRepositories } from '../index/repositories.js';
import type { BundleLifecycle, BundleRetentionRule } from './bundle-lifecycle.js';

export interface RetentionRule {
  repositories: string[];
  keepTags?: {
    mostRecentlyPushedCount?: number;
    patterns?: string[];
    pushedWithinMs?: number;
    pulledWithinMs?: number;
  };
  deleteUntagged?: boolean;
}

export interface RetentionReport {
  tagsDeleted: { repository: string; tag: string }[];
  /** Bundle versions removed (NAME@VERSION), their untagged images among tagsDeleted. */
  bundlesRemoved: string[];
  dryRun: boolean;
}

interface Compiled {
  rule: RetentionRule;
  repos: RegExp[];
  tags: RegExp[];
}

export class Retention {
  private readonly rules: Compiled[];

  constructor(
    rules: RetentionRule[],
    private readonly index: MetadataIndex,
    private readonly manifests: ManifestService,
    private readonly bundles?: { rules: readonly BundleRetentionRule[]; lifecycle: BundleLifecycle },
  ) {
    this.rules = rules.map((rule) => ({
      rule,
      repos: rule.repositories.map(globToRegExp),
      tags: (rule.keepTags?.patterns ?? []).map(globToRegExp),
    }));
  }

  /** The first rule whose patterns match the repository. */
  private ruleFor(repo: string): Compiled | undefined {
    return this.rules.find((r) => r.repos.some((re) => re.test(repo)));
  }

  /** GC asks: may untagged manifests of this repository be collected? */
  collectsUntagged(repo: string): boolean {
    return this.ruleFor(repo)?.rule.deleteUntagged ?? true;
  }

  async run(dryRun: boolean, now = Date.now()): Promise<RetentionReport> {
    const report: RetentionReport = { tagsDeleted: [], bundlesRemoved: [], dryRun };
    for (const removal of (await this.bundles?.lifecycle.retain(this.bundles.rules, dryRun)) ?? []) {
      report.bundlesRemoved.push(removal.bundle);
      for (const t of removal.untagged) report.tagsDeleted.push(t);
    }
    if (this.rules.length === 0) return report;
    for await (const repo of allRepositories(this.index)) {
      const c = this.ruleFor(repo);
      if (!c?.rule.keepTags) continue;
      const keep = c.rule.keepTags;
      const tags: { tag: string; pushedAt: number; pulledAt: number }[] = [];
      for (const tag of await this.index.listTags(repo, { limit: Infinity })) {
        const digest = await this.index.tag(repo, tag);
        const rec = digest && (await this.index.manifest(repo, digest));
        if (!rec) continue;
        tags.push({ tag, pushedAt: rec.pushedAt, pulledAt: (await this.manifests.lastPulled(repo, digest!)) ?? 0 });
      }
      const recent = new Set(
        [...tags].sort((a, b) => b.pushedAt - a.pushedAt).slice(0, keep.mostRecentlyPushedCount ?? 0).map((t) => t.tag),
      );
      for (const t of tags) {
        const kept =
          recent.has(t.tag) ||
          c.tags.some((re) => re.test(t.tag)) ||
          (keep.pushedWithinMs !== undefined && now - t.pushedAt <= keep.pushedWithinMs) ||
          (keep.pulledWithinMs !== undefined && now - t.pulledAt <= keep.pulledWithinMs);
        if (kept || this.manifests.immutable.protects(repo, t.tag)) continue; // storage.immutableTags
        report.tagsDeleted.push({ repository: repo, tag: t.tag });
        if (!dryRun) await this.manifests.delete(repo, t.tag, { force: true });
      }
    }
    return report;
  }
}

/** Validates storage.retention.policies from the configuration (durations such as "720h"). */
export function retentionRules(v: unknown, where: string, duration: (d: string | number) => number): RetentionRule[] {
  const fail = (m: string) => new Error(`${where}${m}`);
  if (!Array.isArray(v)) throw fail(': must be a list');
  return v.map((p, i) => {
    const at = `[${i}]`;
    if (typeof p !== 'object' || p === null) throw fail(`${at}: must be a map`);
    const o = p as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['repositories', 'keepTags', 'deleteUntagged'].includes(k)) throw fail(`${at}.${k}: unknown key`);
    if (!Array.isArray(o.repositories) || o.repositories.some((r) => typeof r !== 'string')) throw fail(`${at}.repositories: must be a list of patterns`);
    const rule: RetentionRule = { repositories: o.repositories as string[] };
    if (o.deleteUntagged !== undefined) {
      if (typeof o.deleteUntagged !== 'boolean') throw fail(`${at}.deleteUntagged: must be a boolean`);
      rule.deleteUntagged = o.deleteUntagged;
    }
    if (o.keepTags !== undefined) {
      const k = o.keepTags as Record<string, unknown>;
      if (typeof k !== 'object' || k === null) throw fail(`${at}.keepTags: must be a map`);
      const keep: NonNullable<RetentionRule['keepTags']> = {};
      for (const [key, val] of Object.entries(k)) {
        if (key === 'mostRecentlyPushedCount' && typeof val === 'number' && val >= 0) keep.mostRecentlyPushedCount = val;
        else if (key === 'patterns' && Array.isArray(val) && val.every((x) => typeof x === 'string')) keep.patterns = val as string[];
        else if (key === 'pushedWithin' || key === 'pulledWithin') {
          try {
            keep[key === 'pushedWithin' ? 'pushedWithinMs' : 'pulledWithinMs'] = duration(val as string | number);
          } catch (err) {
            throw fail(`${at}.keepTags.${key}: ${(err as Error).message}`);
          }
        } else throw fail(`${at}.keepTags.${key}: unknown key or wrong type`);
      }
      rule.keepTags = keep;
    }
    return rule;
  });
}
