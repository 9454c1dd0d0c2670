import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../src/oci/manifest.js';
import { MT } from '../../../src/oci/mediatypes.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 2 };
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('1'), size: 3 };
const buf = (o: object) => Buffer.from(JSON.stringify(o));

describe('parseManifest', () => {
  it('reads an OCI image manifest: blobs to check, artifactType from config.mediaType', () => {
    const p = parseManifest(buf({ schemaVersion: 2, mediaType: MT.ociManifest, config: cfg, layers: [layer] }), MT.ociManifest);
    expect(p.kind).toBe('image');
    expect(p.blobs).toEqual([d('c'), d('1')]);
    expect(p.artifactType).toBe(cfg.mediaType);
  });
  it('takes the media type from the body when Content-Type is generic or absent', () => {
    expect(parseManifest(buf({ schemaVersion: 2, mediaType: MT.dockerManifest, config: cfg, layers: [] }), 'application/json').mediaType).toBe(MT.dockerManifest);
    expect(parseManifest(buf({ schemaVersion: 2, manifests: [] }), undefined).mediaType).toBe(MT.ociIndex);
  });
  it('reads an index: children to check, subject and annotations kept', () => {
    const p = parseManifest(
      buf({ schemaVersion: 2, mediaType: MT.ociIndex, artifactType: 'x/y', manifests: [{ ...layer, mediaType: MT.ociManifest }], subject: { ...cfg, mediaType: MT.ociManifest }, annotations: { a: 'b' } }),
      `${MT.ociIndex}; charset=utf-8`,
    );
    expect(p.kind).toBe('index');
    expect(p.manifests).toEqual([d('1')]);
    expect(p.subject?.digest).toBe(d('c'));
    expect(p.artifactType).toBe('x/y');
    expect(p.annotations).toEqual({ a: 'b' });
  });
  it('skips non-distributable layers with urls', () => {
    const p = parseManifest(buf({ schemaVersion: 2, config: cfg, layers: [{ ...layer, urls: ['https://x.invalid'] }] }), MT.ociManifest);
    expect(p.blobs).toEqual([d('c')]);
  });
  it.each([
    ['not JSON', Buffer.from('{'), MT.ociManifest],
    ['an array', buf([]), MT.ociManifest],
    ['schemaVersion 1', buf({ schemaVersion: 1, config: cfg, layers: [] }), MT.ociManifest],
    ['no config', buf({ schemaVersion: 2, layers: [] }), MT.ociManifest],
    ['a bad layer size', buf({ schemaVersion: 2, config: cfg, layers: [{ ...layer, size: -1 }] }), MT.ociManifest],
    ['a bad digest', buf({ schemaVersion: 2, config: { ...cfg, digest: 'sha256:x' }, layers: [] }), MT.ociManifest],
    ['mismatched types', buf({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }), MT.ociManifest],
    ['an unknown type', buf({ schemaVersion: 2 }), 'application/x-unknown'],
    ['schema 1', buf({ schemaVersion: 1 }), MT.dockerSchema1Signed],
    ['non-string annotations', buf({ schemaVersion: 2, config: cfg, layers: [], annotations: { a: 1 } }), MT.ociManifest],
    ['an index without manifests', buf({ schemaVersion: 2, mediaType: MT.ociIndex }), MT.ociIndex],
  ])('refuses %s with MANIFEST_INVALID', (_what, bytes, type) => {
    expect(() => parseManifest(bytes, type)).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
  });
});
