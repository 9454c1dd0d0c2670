/**
 * A collection on a large store outlasts the idle timeout meant for slow clients: the loopback
 * caller of POST /_berth/gc (`berth gc` on a running registry) waits for the report, its socket is
 * not cut while the server works.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/open.js';
import { buildApp } from '../../src/http/app.js';
import { DEFAULT_LIMITS } from '../../src/http/limits.js';

describe('POST /_berth/gc', () => {
  it('answers a collection that takes longer than the idle timeout', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-admin-gc-'));
    const opened = await openRegistry({ root, fsync: false });
    const run = opened.registry.gc.run.bind(opened.registry.gc);
    // stands in for the minutes a store of a million blobs takes
    opened.registry.gc.run = async (o) => {
      await new Promise((r) => setTimeout(r, 1500));
      return run(o);
    };
    const app = await buildApp({ registry: opened.registry, limits: { ...DEFAULT_LIMITS, idleTimeoutMs: 300 } });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/_berth/gc`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ dryRun: false, blobsDeleted: 0 });
    } finally {
      await app.close();
      await opened.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
