/** The inventory's JSON (bundles/inventory.ts): grouped by algorithm, read back exactly, bad input refused. */
import { describe, expect, it } from 'vitest';
import { inventoryJson, parseInventory } from '../../../src/bundles/inventory.js';
import { parseDigest, type Digest } from '../../../src/oci/digest.js';
import type { MetadataIndex } from '../../../src/index/metadata.js';

const h = (c: string, n = 64) => c.repeat(n);

/** The index and store reads inventoryJson makes, over fixed lists (one module under test). */
function fixture(repos: Record<string, string[]>, stored: string[], links: { digest: string; repo: string }[]) {
  const index = {
    async listRepositories({ after }: { after?: string }) {
      return after ? [] : Object.keys(repos).sort();
    },
    async listManifests(repo: string) {
      return repos[repo]!.map((digest) => ({ digest }));
    },
    async *blobHolders() {
      yield* [...links].sort((a, b) => (a.digest < b.digest ? -1 : 1));
    },
  } as unknown as MetadataIndex;
  const store = {
    async *digests(): AsyncIterable<Digest> {
      for (const d of [...stored].sort()) yield parseDigest(d);
    },
  };
  return { index, store };
}

async function text(pieces: AsyncIterable<string>): Promise<string> {
  let s = '';
  for await (const p of pieces) s += p;
  return s;
}

describe('inventory', () => {
  it('groups digests by algorithm, lists only linked blobs, and reads back the same sets', async () => {
    const m1 = `sha256:${h('a')}`;
    const m2 = `sha512:${h('b', 128)}`;
    const linked = [`sha256:${h('1')}`, `sha256:${h('2')}`, `sha512:${h('3', 128)}`];
    const unlinked = `sha256:${h('9')}`;
    const { index, store } = fixture({ 'a/b': [m1, m2], 'c/d': [m1] }, [...linked, unlinked], linked.map((digest) => ({ digest, repo: 'a/b' })));
    const json = await text(inventoryJson(index, store, new Date(0)));
    expect(JSON.parse(json)).toEqual({
      berthInventory: 1,
      createdAt: '1970-01-01T00:00:00.000Z',
      manifests: { sha256: [h('a')], sha512: [h('b', 128)] },
      blobs: { sha256: [h('1'), h('2')], sha512: [h('3', 128)] },
    });
    const inv = parseInventory(json);
    expect([...inv.blobs]).toEqual(linked);
    expect([...inv.manifests].sort()).toEqual([m1, m2]);
  });

  it('writes an empty registry as empty groups', async () => {
    const { index, store } = fixture({}, [], []);
    const json = await text(inventoryJson(index, store, new Date(0)));
    expect(JSON.parse(json)).toMatchObject({ manifests: {}, blobs: {} });
    expect(parseInventory(json).blobs.size).toBe(0);
  });

  it('refuses what is not a version-1 inventory, naming what is wrong', () => {
    expect(() => parseInventory('[')).toThrow(/inventory refused: not valid JSON/);
    expect(() => parseInventory('{"berthInventory":2}')).toThrow(/not a berth inventory of version 1/);
    expect(() => parseInventory('{"berthInventory":1,"blobs":[]}')).toThrow(/"blobs" is not an object/);
    expect(() => parseInventory('{"berthInventory":1,"blobs":{"sha256":"x"}}')).toThrow(/"blobs.sha256" is not a list/);
    expect(() => parseInventory('{"berthInventory":1,"blobs":{"sha256":[1]}}')).toThrow(/holds a number/);
    expect(() => parseInventory('{"berthInventory":1,"blobs":{"md5":["abc"]}}')).toThrow(/not a md5 digest/);
  });
});
