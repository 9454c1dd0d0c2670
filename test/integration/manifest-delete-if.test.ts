/** A conditional untag (ManifestService.delete with ifDigest), as `berth bundles remove` uses it: only while the tag still names the digest. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushImage } from '../helpers/oci.js';

describe('untag only while the tag names a digest', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.close());

  it('leaves a tag moved to another digest, and takes one that still names it', async () => {
    const one = await pushImage(reg.request, 'cond/app', 'v1');
    const two = await pushImage(reg.request, 'cond/app', 'v1'); // the tag moved
    const manifests = reg.opened.registry.manifests;
    expect(await manifests.delete('cond/app', 'v1', { ifDigest: one.manifest.digest })).toBe(false);
    expect(await reg.opened.index.tag('cond/app', 'v1')).toBe(two.manifest.digest);
    expect(await manifests.delete('cond/app', 'v1', { ifDigest: two.manifest.digest })).toBe(true);
    expect(await reg.opened.index.tag('cond/app', 'v1')).toBeUndefined();
  });
});
