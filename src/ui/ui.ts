/**
 * The web UI (issue 9), wholly on or off (`ui.enabled`): its pages at `/` and `/ui/*`, and the JSON
 * API under /api/ they talk to. Nothing else in berth knows it exists; it browses through the
 * registry's own services and index, and asks the registry's own gate and policy.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from '../registry/registry.js';
import type { StorageStats } from '../registry/storage-stats.js';
import type { PasswordCheck } from '../auth/passwords.js';
import type { ApiAuth } from '../http/api-caller.js';
import type { MetadataIndex } from '../index/metadata.js';
import { Browse } from './browse.js';
import { ImageDetails } from './image.js';
import { UsageCache } from './usage.js';
import { apiRoutes } from './api.js';
import { DEFAULT_PUBLIC_DIR, staticRoutes } from './static.js';

export interface MirrorCacheView {
  bytes: number;
  limit: number | null;
  lowWaterPercent: number | null;
  totals: { evictions: number; bytesFreed: number };
  last: { evicted: { repository: string; digest: string; tags: string[] }[]; ms: number } | null;
}

export interface UiDeps {
  registry: Registry;
  browse: Browse;
  image: ImageDetails;
  /** The login check (htpasswd, failed-login limits); absent when auth is off. */
  passwords?: PasswordCheck;
  /** What storage holds (a walk of the store, cached). */
  storage: () => Promise<StorageStats>;
  /** mirror.cache's budget and evictions, when one is set (the storage page). */
  mirrorCache?: () => Promise<MirrorCacheView>;
  /** storage.gc as configured, for the storage page. */
  gcSchedule: { enabled: boolean; interval: string; delay: string };
  /** Mark the session cookie Secure (berth serves https). */
  secureCookies: boolean;
  /** host[:port] for the pull commands; else the request's Host. */
  registryHost?: string;
  /** Where the built pages are (dist/ui/public by default). */
  publicDir?: string;
}

/** The UI's services over the registry and its index; the rest of UiDeps comes from configuration. */
export function createUi(index: MetadataIndex, registry: Registry, rest: Omit<UiDeps, 'registry' | 'browse' | 'image'>): UiDeps {
  return { registry, browse: new Browse(index, registry, new UsageCache(index, () => registry.manifests.changes())), image: new ImageDetails(index, registry), ...rest };
}

export async function uiRoutes(app: FastifyInstance, ui: UiDeps, auth: ApiAuth): Promise<void> {
  await staticRoutes(app, ui.publicDir ?? DEFAULT_PUBLIC_DIR);
  await apiRoutes(app, ui, auth);
}
