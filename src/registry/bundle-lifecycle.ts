/**
 * Imported bundles over their life: recorded at import (bundles/records.ts), listed, and removed by
 * hand (`berth bundles remove NAME@VERSION`) or by retention (storage.retention.bundles: keep the last
 * N versions of each bundle, by first import). Removing a version untags what only it brought: a tag
 * another recorded bundle also brought (same repository, tag and digest) stays, and so does one that
 * has moved since the import or that storage.immutableTags protects. Garbage collection then frees
 * what nothing else keeps; nothing is deleted here but tags and the record.
 */
import { globToRegExp } from '../auth/policy.js';
import { RegistryError } from '../oci/errors.js';
import type { BundleIndex, BundleRecord } from '../bundles/records.js';
import type { TagIndex } from '../index/metadata.js';
import type { ManifestService } from './manifests.js';

export interface BundleRetentionRule {
  /** Bundle names (globs); every bundle when absent. */
  names?: string[];
  keepLastVersions: number;
}

export interface BundleRemoval {
  bundle: string;
  untagged: { repository: string; tag: string }[];
  kept: { repository: string; tag: string; why: string }[];
  dryRun: boolean;
}

const imageKey = (repo: string, tag: string, digest: string) => `${repo}\0${tag}\0${digest}`;

export class BundleLifecycle {
  constructor(
    private readonly index: BundleIndex & Pick<TagIndex, 'tag'>,
    private readonly manifests: ManifestService,
  ) {}

  list(): Promise<BundleRecord[]> {
    return this.index.listBundles();
  }

  record(record: BundleRecord): Promise<void> {
    return this.index.putBundle(record);
  }

  async remove(name: string, version: string, dryRun = false): Promise<BundleRemoval> {
    const all = await this.index.listBundles();
    const record = all.find((r) => r.name === name && r.version === version);
    if (!record) throw new RegistryError('NAME_UNKNOWN', `no bundle ${name}@${version} is recorded (berth bundles list shows them)`);
    const others = new Set<string>();
    for (const r of all) if (r !== record) for (const i of r.images) if (i.tag) others.add(imageKey(i.repository, i.tag, i.digest));
    const removal: BundleRemoval = { bundle: `${name}@${version}`, untagged: [], kept: [], dryRun };
    for (const { repository, tag, digest } of record.images) {
      if (!tag) continue; // imported by digest only: untagged already, garbage collection decides
      const keep = (why: string) => removal.kept.push({ repository, tag, why });
      if (others.has(imageKey(repository, tag, digest))) keep('another recorded bundle brought it too');
      else if ((await this.index.tag(repository, tag)) !== digest) keep('moved or deleted since the import');
      else if (this.manifests.immutable.protects(repository, tag)) keep('immutable (storage.immutableTags)');
      // the tag is taken only while it still names the digest (checked again under the repository's lock)
      else if (dryRun || (await this.manifests.delete(repository, tag, { force: true, ifDigest: digest }))) removal.untagged.push({ repository, tag });
      else keep('moved or deleted since the import');
    }
    if (!dryRun) await this.index.deleteBundle(name, version);
    return removal;
  }

  /** Removes every version past the last `keepLastVersions` (by first import) of each bundle a rule names. */
  async retain(rules: readonly BundleRetentionRule[], dryRun: boolean): Promise<BundleRemoval[]> {
    if (rules.length === 0) return [];
    const compiled = rules.map((rule) => ({ rule, names: (rule.names ?? ['*']).map(globToRegExp) }));
    const byName = new Map<string, BundleRecord[]>();
    for (const r of await this.index.listBundles()) {
      const list = byName.get(r.name);
      if (list) list.push(r);
      else byName.set(r.name, [r]);
    }
    const removals: BundleRemoval[] = [];
    for (const [name, versions] of byName) {
      const c = compiled.find((x) => x.names.some((re) => re.test(name)));
      if (!c) continue;
      // listBundles gives oldest first: the older ones past the last N go
      for (const old of versions.slice(0, Math.max(0, versions.length - c.rule.keepLastVersions))) {
        removals.push(await this.remove(name, old.version, dryRun));
      }
    }
    return removals;
  }
}

/** Validates storage.retention.bundles from the configuration. */
export function bundleRetentionRules(v: unknown, where: string): BundleRetentionRule[] {
  const fail = (m: string) => new Error(`${where}${m}`);
  if (!Array.isArray(v)) throw fail(': must be a list of {names: [patterns], keepLastVersions: N}');
  return v.map((p, i) => {
    const o = p as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) throw fail(`[${i}]: must be a map`);
    for (const k of Object.keys(o)) if (k !== 'names' && k !== 'keepLastVersions') throw fail(`[${i}].${k}: unknown key`);
    if (typeof o.keepLastVersions !== 'number' || !Number.isInteger(o.keepLastVersions) || o.keepLastVersions < 1) {
      throw fail(`[${i}].keepLastVersions: must be a whole number of at least 1`);
    }
    const rule: BundleRetentionRule = { keepLastVersions: o.keepLastVersions };
    if (o.names !== undefined) {
      if (!Array.isArray(o.names) || o.names.some((n) => typeof n !== 'string')) throw fail(`[${i}].names: must be a list of patterns`);
      rule.names = o.names as string[];
    }
    return rule;
  });
}
