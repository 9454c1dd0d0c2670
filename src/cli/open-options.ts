/**
 * What the configuration asks of the registry: its engines, its rules and its events, the same for
 * `berth serve` and for the command line working on a stopped root (an import there keeps immutable
 * tags and quotas, and queues its events for the sinks).
 */
import { durationMs, type BerthConfig } from '../config/config.js';
import type { OpenOptions } from '../open.js';
import { immutableTagRules } from '../registry/immutable-tags.js';
import type { RegistryOptions } from '../registry/registry.js';
import { retentionRules } from '../registry/retention.js';
import { bundleRetentionRules } from '../registry/bundle-lifecycle.js';

export function registryOptions(config: BerthConfig): Partial<RegistryOptions> {
  return {
    deleteEnabled: config.storage.delete.enabled,
    retention: retentionRules(config.storage.retention?.policies ?? [], 'storage.retention.policies', durationMs),
    bundleRetention: bundleRetentionRules(config.storage.retention?.bundles ?? [], 'storage.retention.bundles'),
    immutableTags: immutableTagRules(config.storage.immutableTags ?? [], 'storage.immutableTags'),
    quotas: { maxRepositories: config.storage.maxRepositories, quotas: config.storage.quotas ?? [] },
  };
}

/** openRegistry's options for `config`; `serving`: the process that serves the root (it cleans up after an earlier run). */
export function openOptions(config: BerthConfig, serving: boolean): OpenOptions {
  return {
    root: config.storage.root,
    fsync: config.storage.fsync,
    storage: config.storage,
    metadata: config.metadata,
    events: config.events,
    registry: registryOptions(config),
    serving,
  };
}
