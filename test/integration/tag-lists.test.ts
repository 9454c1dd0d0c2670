/**
 * Whole tag lists are kept in memory (registry/listings.ts) and must never be served stale: a list
 * read after a tag push, move or delete has been acknowledged shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, imageManifest, pushBlob, pushManifest } from '../helpers/oci.js';

describe('whole tag lists', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.close());

  const list = async (repo: string, q = '') => {
    const r = await reg.request('GET', `/v2/${repo}/tags/list${q}`);
    expect(r.status).toBe(200);
    return r.json<{ tags: string[] }>().tags;
  };

  it('follow every push and delete at once, in this repository and no other', async () => {
    const cfg = blob(64);
    await pushBlob(reg.request, 'tl/a', cfg);
    await pushBlob(reg.request, 'tl/b', cfg);
    const m = imageManifest(cfg, []);
    await pushManifest(reg.request, 'tl/a', 'v1', m);
    await pushManifest(reg.request, 'tl/b', 'x', m);
    expect(await list('tl/a')).toEqual(['v1']);
    expect(await list('tl/a')).toEqual(['v1']); // now kept
    for (let i = 2; i <= 20; i++) {
      await pushManifest(reg.request, 'tl/a', `v${i}`, m);
      expect((await list('tl/a')).includes(`v${i}`)).toBe(true);
    }
    expect(await list('tl/b')).toEqual(['x']);
    expect((await reg.request('DELETE', `/v2/tl/a/manifests/v7`)).status).toBe(202);
    expect((await list('tl/a')).includes('v7')).toBe(false);
    expect(await list('tl/a')).toHaveLength(19);
    // a page is read from the index, and agrees
    expect(await list('tl/a', '?n=3')).toEqual(['v1', 'v10', 'v11']);
    await pushManifest(reg.request, 'tl/b', 'y', m);
    expect(await list('tl/b')).toEqual(['x', 'y']);
  });

  it('answers NAME_UNKNOWN for a repository that has none', async () => {
    const r = await reg.request('GET', '/v2/tl/none/tags/list');
    expect(r.status).toBe(404);
    expect(r.json<{ errors: { code: string }[] }>().errors[0]!.code).toBe('NAME_UNKNOWN');
  });
});
