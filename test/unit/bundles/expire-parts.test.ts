/** Split bundles whose parts stopped arriving are forgotten after storage.importTTL (BundleImporter.expireParts). */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleImporter } from '../../../src/bundles/importer.js';
import { StorePaths } from '../../../src/storage/paths.js';
import type { Registry } from '../../../src/registry/registry.js';
import type { BlobStore } from '../../../src/storage/blobstore.js';
import { testDir } from '../../helpers/tmp.js';

describe('expireParts', () => {
  it('forgets an import whose last part is older than the TTL, and keeps one a part reached lately', async () => {
    const paths = new StorePaths(await testDir('berth-expire-parts-'));
    const old = paths.importState('a'.repeat(64));
    const fresh = paths.importState('b'.repeat(64));
    const day = 86_400_000;
    for (const dir of [old, fresh]) {
      await mkdir(join(dir, 'files'), { recursive: true });
      await writeFile(join(dir, 'part-1.json'), '{"blobs":[]}');
    }
    const tenDaysAgo = new Date(Date.now() - 10 * day);
    for (const p of [join(old, 'part-1.json'), join(old, 'files'), old]) await utimes(p, tenDaysAgo, tenDaysAgo);
    // the fresh one's directory is old too, but a part came an hour ago
    for (const p of [join(fresh, 'files'), fresh]) await utimes(p, tenDaysAgo, tenDaysAgo);
    await utimes(join(fresh, 'part-1.json'), new Date(Date.now() - day / 24), new Date(Date.now() - day / 24));
    const importer = new BundleImporter({} as Registry, {} as BlobStore, paths);
    expect(await importer.expireParts(7 * day)).toBe(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(await importer.expireParts(7 * day)).toBe(0);
  });
});
