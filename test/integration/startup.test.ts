/**
 * Start-up stays fast: with 100,000 blobs in 10,000 repositories the server answers within 2 s of
 * being started (it never scans the store at start). The store is filled through the real
 * FsBlobStore and LevelDB index, without fsync, to keep the test short.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/open.js';
import { parseDigest } from '../../src/oci/digest.js';
import { sha256 } from '../helpers/oci.js';
import { spawnBerth } from '../helpers/spawn.js';

const BLOBS = 100_000;
const REPOS = 10_000;

describe('start-up', () => {
  it(`is ready in under 2 s with ${BLOBS} blobs in ${REPOS} repositories`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-startup-'));
    try {
      const opened = await openRegistry({ root, fsync: false });
      const perRepo = BLOBS / REPOS;
      for (let r = 0; r < REPOS; r += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, k) => {
            const repo = `start/r${String(r + k).padStart(5, '0')}`;
            for (let i = 0; i < perRepo; i++) {
              const bytes = randomBytes(16);
              const d = parseDigest(sha256(bytes));
              await opened.blobs.ingest([bytes], d, bytes.length);
              await opened.index.linkBlob(repo, d.value, bytes.length);
            }
          }),
        );
      }
      await opened.close();
      const t = Date.now();
      const berth = await spawnBerth({ root });
      const ms = Date.now() - t;
      try {
        const cat = await fetch(`${berth.url}/v2/_catalog?n=5`);
        expect((await cat.json()) as { repositories: string[] }).toEqual({ repositories: ['start/r00000', 'start/r00001', 'start/r00002', 'start/r00003', 'start/r00004'] });
        console.log(`start-up with ${BLOBS} blobs in ${REPOS} repositories: ready in ${ms} ms`);
        expect(ms).toBeLessThan(2000);
      } finally {
        await berth.stop();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 300_000);
});
