/** The bundle services a running berth serves (http/routes/bundles.ts), made from one opened root. */
import type { OpenRegistry } from '../open.js';
import type { Bundles } from '../http/routes/bundles.js';
import { StorePaths } from '../storage/paths.js';
import { BundleExporter } from './exporter.js';
import { BundleImporter } from './importer.js';
import { inventoryJson } from './inventory.js';

export function bundleServices(opened: Pick<OpenRegistry, 'registry' | 'blobs' | 'index'>, root: string, defaultPrefix?: string): Bundles {
  return {
    importer: new BundleImporter(opened.registry, opened.blobs, new StorePaths(root)),
    exporter: new BundleExporter(opened.registry, opened.blobs),
    inventory: () => inventoryJson(opened.index, opened.blobs),
    lifecycle: opened.registry.bundles,
    ...(defaultPrefix ? { defaultPrefix } : {}),
  };
}
