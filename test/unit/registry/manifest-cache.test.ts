/** The hot-manifest cache: its budget (bytes plus each entry's overhead), second-chance eviction, and fills that raced a change. */
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD, ManifestCache } from '../../../src/registry/manifest-cache.js';

const entry = (digest: string, size = 100) => ({
  record: { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size, blobs: [], manifests: [], pushedAt: 0 },
  bytes: Buffer.alloc(size),
});

describe('ManifestCache', () => {
  it('holds at most its budget, counting each entry as its bytes plus ENTRY_OVERHEAD', () => {
    const cost = 100 + ENTRY_OVERHEAD;
    const c = new ManifestCache(cost * 10, 100);
    for (let i = 0; i < 25; i++) c.fillManifest('r', entry(`sha256:${i}`), c.version());
    const held = Array.from({ length: 25 }, (_, i) => c.manifest('r', `sha256:${i}`)).filter(Boolean).length;
    expect(held).toBe(10);
    // the newest ten stay when none was read
    expect(c.manifest('r', 'sha256:24')).toBeDefined();
    expect(c.manifest('r', 'sha256:14')).toBeUndefined();
  });

  it('gives an entry read since it came in a second chance over one never read', () => {
    const cost = 100 + ENTRY_OVERHEAD;
    const c = new ManifestCache(cost * 8, 100);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const d of names) c.fillManifest('r', entry(d), c.version());
    expect(c.manifest('r', 'a')).toBeDefined(); // the oldest, but read
    c.fillManifest('r', entry('i'), c.version());
    expect(c.manifest('r', 'a')).toBeDefined();
    expect(c.manifest('r', 'b')).toBeUndefined(); // the oldest never read went
    for (const d of [...names.slice(2), 'i']) expect(c.manifest('r', d)).toBeDefined();
  });

  it('refuses entries larger than an eighth of the budget, and fills that raced a change', () => {
    const c = new ManifestCache(8 * (ENTRY_OVERHEAD + 1000), 100);
    c.fillManifest('r', entry('big', 2000), c.version());
    expect(c.manifest('r', 'big')).toBeUndefined();
    const seen = c.version();
    c.bump();
    c.fillManifest('r', entry('late'), seen);
    c.fillTag('r', 'v1', 'late', seen);
    expect(c.manifest('r', 'late')).toBeUndefined();
    expect(c.tag('r', 'v1')).toBeUndefined();
  });

  it('forgets a manifest with its tags, and bounds tags by count', () => {
    const c = new ManifestCache(1 << 20, 2);
    c.fillManifest('r', entry('m'), c.version());
    c.fillTag('r', 'v1', 'm', c.version());
    c.fillTag('r', 'v2', 'm', c.version());
    c.fillTag('r', 'v3', 'm', c.version());
    expect(c.tag('r', 'v1')).toBeUndefined();
    c.forgetManifest('r', 'm', ['v2', 'v3']);
    expect(c.manifest('r', 'm')).toBeUndefined();
    expect(c.tag('r', 'v2')).toBeUndefined();
    expect(c.tag('r', 'v3')).toBeUndefined();
  });
});
