/**
 * What the configuration asks of the registry's rules: the same for `berth serve` and for the
 * command line working on a stopped root (an import there keeps immutable tags and quotas too).
 */
import { durationMs, type BerthConfig } from '../config/config.js';
import { immutableTagRules } from '../registry/immutable-tags.js';
import type { RegistryOptions } from '../registry/registry.js';
import { retentionRules } from '../registry/retention.js';

export function registryOptions(config: BerthConfig): Partial<RegistryOptions> {
  return {
    deleteEnabled: config.storage.delete.enabled,
    retention: retentionRules(config.storage.retention?.policies ?? [], 'storage.retention.policies', durationMs),
    immutableTags: immutableTagRules(config.storage.immutableTags ?? [], 'storage.immutableTags'),
    quotas: { maxRepositories: config.storage.maxRepositories, quotas: config.storage.quotas ?? [] },
  };
}
