/**
 * Manifest, tag, catalog and referrers endpoints (distribution-spec v1.1 end-3, end-7, end-8, end-9,
 * end-12, _catalog), run once through app.inject() and once through a real socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type Engine, type TestRegistry } from '../helpers/registry.js';
import {
  DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
  blob, desc, errorCode, imageManifest, indexOf, manifestOf, pushBlob, pushImage, pushManifest, sha256, sha512,
} from '../helpers/oci.js';

type TagList = { name: string; tags: string[] };
type Index = { schemaVersion: number; mediaType: string; manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] };

export function manifestEndpointSuite(mode: 'inject' | 'socket', engine: Engine = 'default') {
  describe(`manifests, tags, catalog and referrers (${mode}, ${engine} engines)`, () => {
    let reg: TestRegistry;
    beforeAll(async () => {
      reg = await startRegistry({ listen: mode === 'socket', engine });
    });
    afterAll(() => reg.close());
    const req = (...a: Parameters<TestRegistry['request']>) => reg.request(...a);

    it('stores an OCI manifest by tag and serves the same bytes by tag and by digest', async () => {
      const { manifest: m } = await pushImage(req, 'img/oci', 'v1');
      for (const ref of ['v1', m.digest]) {
        const g = await req('GET', `/v2/img/oci/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
        expect(g.status).toBe(200);
        expect(g.body.equals(m.bytes)).toBe(true);
        expect(g.headers['content-type']).toBe(OCI_MANIFEST);
        expect(g.headers['docker-content-digest']).toBe(m.digest);
        const h = await req('HEAD', `/v2/img/oci/manifests/${ref}`);
        expect(h.status).toBe(200);
        expect(h.headers['content-length']).toBe(String(m.bytes.length));
        expect(h.headers['docker-content-digest']).toBe(m.digest);
        expect(h.body.length).toBe(0);
      }
    });

    it('tags a manifest pushed by digest with ?tag= (one OCI-Tag header each), and serves those tags with the digest it was pushed by, sha512 too', async () => {
      const cfg = blob(64);
      await pushBlob(req, 'img/tagged', cfg);
      const m = imageManifest(cfg, []);
      const d512 = sha512(m.bytes);
      const put = await req('PUT', `/v2/img/tagged/manifests/${d512}?tag=a&tag=b`, { body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
      expect(put.status).toBe(201);
      expect(put.headers['docker-content-digest']).toBe(d512);
      expect(put.headers['oci-tag']).toBe('a, b');
      for (const ref of ['a', 'b', d512]) {
        for (const method of ['GET', 'HEAD']) {
          const r = await req(method, `/v2/img/tagged/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
          expect([ref, method, r.status, r.headers['docker-content-digest']]).toEqual([ref, method, 200, d512]);
        }
      }
      expect((await req('GET', '/v2/img/tagged/tags/list')).json<TagList>().tags).toEqual(['a', 'b']);
      // a bad tag among them: nothing is stored, nothing tagged
      const bad = await req('PUT', `/v2/img/tagged/manifests/${sha256(m.bytes)}?tag=c&tag=-no`, { body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
      expect([bad.status, errorCode(bad)]).toEqual([400, 'MANIFEST_INVALID']);
      expect((await req('GET', '/v2/img/tagged/tags/list')).json<TagList>().tags).toEqual(['a', 'b']);
    });

    it('answers a PUT with 201, Location and Docker-Content-Digest; PUT by digest works too', async () => {
      const config = blob(100);
      await pushBlob(req, 'img/put', config);
      const m = imageManifest(config, []);
      const r = await pushManifest(req, 'img/put', m.digest, m);
      expect(r.headers.location).toBe(`/v2/img/put/manifests/${m.digest}`);
      expect(r.headers['docker-content-digest']).toBe(m.digest);
      expect((await req('GET', `/v2/img/put/manifests/${m.digest}`)).body.equals(m.bytes)).toBe(true);
    });

    it('accepts Docker schema 2 manifests and manifest lists and serves them with their media type', async () => {
      const a = await pushImage(req, 'img/docker', 'amd64', { mediaType: DOCKER_MANIFEST });
      const b = await pushImage(req, 'img/docker', 'arm64', { mediaType: DOCKER_MANIFEST });
      const list = indexOf([a.manifest, b.manifest], {}, DOCKER_LIST);
      await pushManifest(req, 'img/docker', 'multi', list);
      const g = await req('GET', '/v2/img/docker/manifests/multi');
      expect(g.headers['content-type']).toBe(DOCKER_LIST);
      expect(g.body.equals(list.bytes)).toBe(true);
      expect((await req('GET', '/v2/img/docker/manifests/amd64')).headers['content-type']).toBe(DOCKER_MANIFEST);
    });

    it('accepts an OCI index whose children are in the repository, and refuses one whose are not', async () => {
      const a = await pushImage(req, 'img/index', 'a');
      const stray = imageManifest(blob(), []);
      const ok = indexOf([a.manifest]);
      await pushManifest(req, 'img/index', 'ok', ok);
      const bad = indexOf([a.manifest, stray]);
      const r = await req('PUT', '/v2/img/index/manifests/bad', { headers: { 'content-type': OCI_INDEX }, body: bad.bytes });
      expect(r.status).toBe(404);
      expect(errorCode(r)).toBe('MANIFEST_BLOB_UNKNOWN');
    });

    it('refuses a manifest whose config or layer is not in the repository (MANIFEST_BLOB_UNKNOWN)', async () => {
      const config = blob();
      const layer = blob();
      await pushBlob(req, 'img/missing', config);
      await pushBlob(req, 'img/elsewhere', layer); // in the store, but not linked to img/missing
      for (const m of [imageManifest(config, [layer]), imageManifest(blob(), [])]) {
        const r = await req('PUT', '/v2/img/missing/manifests/v1', { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
        expect(r.status).toBe(404);
        expect(errorCode(r)).toBe('MANIFEST_BLOB_UNKNOWN');
      }
      expect((await req('GET', '/v2/img/missing/manifests/v1')).status).toBe(404);
    });

    it('exempts non-distributable layers that carry urls', async () => {
      const config = blob();
      await pushBlob(req, 'img/foreign', config);
      const m = manifestOf(
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: desc('application/vnd.oci.image.config.v1+json', config),
          layers: [{ ...desc('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', blob()), urls: ['https://example.invalid/l'] }],
        },
        OCI_MANIFEST,
      );
      await pushManifest(req, 'img/foreign', 'v1', m);
    });

    it('answers malformed manifests with MANIFEST_INVALID and a wrong digest with DIGEST_INVALID', async () => {
      const config = blob();
      await pushBlob(req, 'img/invalid', config);
      const good = imageManifest(config, []);
      const cases: [string, string, string | Buffer, string][] = [
        ['v1', OCI_MANIFEST, '{not json', 'MANIFEST_INVALID'],
        ['v1', OCI_MANIFEST, '[]', 'MANIFEST_INVALID'],
        ['v1', OCI_MANIFEST, JSON.stringify({ schemaVersion: 1, config: desc('x', config), layers: [] }), 'MANIFEST_INVALID'],
        ['v1', OCI_MANIFEST, JSON.stringify({ schemaVersion: 2, config: { digest: 'sha256:nope', size: 1, mediaType: 'x' }, layers: [] }), 'MANIFEST_INVALID'],
        ['v1', OCI_INDEX, good.bytes, 'MANIFEST_INVALID'], // Content-Type disagrees with the body's mediaType
        ['v1', 'application/vnd.example.unknown+json', JSON.stringify({ schemaVersion: 2 }), 'MANIFEST_INVALID'],
        ['v1', 'application/vnd.docker.distribution.manifest.v1+prettyjws', JSON.stringify({ schemaVersion: 1 }), 'MANIFEST_INVALID'],
        ['-bad-tag', OCI_MANIFEST, good.bytes, 'MANIFEST_INVALID'],
        [sha256('other'), OCI_MANIFEST, good.bytes, 'DIGEST_INVALID'],
        ['sha256:short', OCI_MANIFEST, good.bytes, 'DIGEST_INVALID'],
      ];
      for (const [ref, type, body, code] of cases) {
        const r = await req('PUT', `/v2/img/invalid/manifests/${ref}`, { headers: { 'content-type': type }, body });
        expect(r.status, `${ref} ${String(body).slice(0, 40)}`).toBe(400);
        expect(errorCode(r), `${ref} ${String(body).slice(0, 40)}`).toBe(code);
      }
      const tags = await req('GET', '/v2/img/invalid/tags/list');
      expect(tags.json<TagList>().tags).toEqual([]);
    });

    it('refuses a manifest over 4 MiB with 413 SIZE_INVALID', async () => {
      const config = blob();
      await pushBlob(req, 'img/huge', config);
      const big = imageManifest(config, [], { annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } });
      const r = await req('PUT', '/v2/img/huge/manifests/v1', { headers: { 'content-type': OCI_MANIFEST }, body: big.bytes });
      expect(r.status).toBe(413);
      expect(errorCode(r)).toBe('SIZE_INVALID');
      expect((await req('GET', '/v2/img/huge/manifests/v1')).status).toBe(404);
    });

    it('answers unknown manifests and repositories with MANIFEST_UNKNOWN and NAME_UNKNOWN', async () => {
      await pushImage(req, 'img/known', 'v1');
      const cases: [string, string, number, string][] = [
        ['GET', '/v2/img/known/manifests/v2', 404, 'MANIFEST_UNKNOWN'],
        ['GET', `/v2/img/known/manifests/${sha256('x')}`, 404, 'MANIFEST_UNKNOWN'],
        ['GET', '/v2/img/known/manifests/.INVALID_MANIFEST_NAME', 404, 'MANIFEST_UNKNOWN'],
        ['GET', '/v2/img/never/manifests/v1', 404, 'NAME_UNKNOWN'],
        ['GET', '/v2/img/known/manifests/sha256:totallywrong', 400, 'DIGEST_INVALID'],
        ['DELETE', '/v2/img/known/manifests/v2', 404, 'MANIFEST_UNKNOWN'],
        ['GET', '/v2/img/never/tags/list', 404, 'NAME_UNKNOWN'],
      ];
      for (const [method, path, status, code] of cases) {
        const r = await req(method, path);
        expect(r.status, path).toBe(status);
        expect(errorCode(r), path).toBe(code);
      }
      const head = await req('HEAD', '/v2/img/known/manifests/v2');
      expect(head.status).toBe(404);
    });

    it('DELETE by tag removes only that tag; DELETE by digest removes the manifest and all its tags', async () => {
      const { manifest: m } = await pushImage(req, 'img/del', 'a');
      await pushManifest(req, 'img/del', 'b', m);
      await pushManifest(req, 'img/del', 'c', m);
      expect((await req('DELETE', '/v2/img/del/manifests/a')).status).toBe(202);
      expect((await req('GET', '/v2/img/del/manifests/a')).status).toBe(404);
      expect((await req('GET', `/v2/img/del/manifests/${m.digest}`)).status).toBe(200);
      expect((await req('GET', '/v2/img/del/tags/list')).json<TagList>().tags).toEqual(['b', 'c']);
      expect((await req('DELETE', `/v2/img/del/manifests/${m.digest}`)).status).toBe(202);
      expect((await req('GET', `/v2/img/del/manifests/${m.digest}`)).status).toBe(404);
      expect((await req('GET', '/v2/img/del/manifests/b')).status).toBe(404);
      expect((await req('GET', '/v2/img/del/tags/list')).json<TagList>().tags).toEqual([]);
    });

    it('moves a tag to a new manifest', async () => {
      const one = await pushImage(req, 'img/move', 'latest');
      const two = await pushImage(req, 'img/move', 'latest');
      expect((await req('GET', '/v2/img/move/manifests/latest')).headers['docker-content-digest']).toBe(two.manifest.digest);
      // deleting the old manifest must not take the moved tag with it
      expect((await req('DELETE', `/v2/img/move/manifests/${one.manifest.digest}`)).status).toBe(202);
      expect((await req('GET', '/v2/img/move/manifests/latest')).status).toBe(200);
    });

    it('lists tags in lexical order with n, last and a Link to the next page', async () => {
      const { manifest: m } = await pushImage(req, 'img/tags', 't0');
      const names = ['b', 'a', 'C', '1.0', 'a_b', 'z-9', 't0'];
      for (const t of names) await pushManifest(req, 'img/tags', t, m);
      // spec: lexical, case-insensitive order
      const key = (t: string) => `${t.toLowerCase()}\0${t}`;
      const sorted = [...new Set(names)].sort((x, y) => (key(x) < key(y) ? -1 : 1));
      expect(sorted.indexOf('C')).toBeGreaterThan(sorted.indexOf('b'));
      const all = await req('GET', '/v2/img/tags/tags/list');
      expect(all.json<TagList>()).toEqual({ name: 'img/tags', tags: sorted });
      expect(all.headers.link).toBeUndefined();
      const seen: string[] = [];
      let path: string | undefined = '/v2/img/tags/tags/list?n=3';
      while (path) {
        const r = await req('GET', path);
        const page = r.json<TagList>().tags;
        expect(page.length).toBeLessThanOrEqual(3);
        seen.push(...page);
        path = r.headers.link ? /^<([^>]+)>; rel="next"$/.exec(r.headers.link)![1] : undefined;
      }
      expect(seen).toEqual(sorted);
      expect((await req('GET', '/v2/img/tags/tags/list?last=b')).json<TagList>().tags).toEqual(sorted.slice(sorted.indexOf('b') + 1));
      expect((await req('GET', '/v2/img/tags/tags/list?n=0')).json<TagList>().tags).toEqual([]);
      const bad = await req('GET', '/v2/img/tags/tags/list?n=-1');
      expect(bad.status).toBe(400);
      expect(errorCode(bad)).toBe('UNSUPPORTED');
    });

    it('lists repositories in _catalog with n, last and Link', async () => {
      const r = await req('GET', '/v2/_catalog');
      const repos = r.json<{ repositories: string[] }>().repositories;
      expect(repos).toContain('img/oci');
      expect(repos).toEqual([...repos].sort());
      const first = await req('GET', '/v2/_catalog?n=2');
      expect(first.json<{ repositories: string[] }>().repositories).toEqual(repos.slice(0, 2));
      expect(first.headers.link).toBe(`</v2/_catalog?n=2&last=${encodeURIComponent(repos[1]!)}>; rel="next"`);
      const next = await req('GET', `/v2/_catalog?n=2&last=${encodeURIComponent(repos[1]!)}`);
      expect(next.json<{ repositories: string[] }>().repositories).toEqual(repos.slice(2, 4));
    });

    it('lists referrers of a subject, with artifactType and annotations, filtered on request', async () => {
      const { manifest: subject } = await pushImage(req, 'img/refs', 'v1');
      const empty = { bytes: Buffer.from('{}'), digest: sha256('{}') };
      await pushBlob(req, 'img/refs', empty);
      const sbom = blob(50);
      await pushBlob(req, 'img/refs', sbom);
      const subjectDesc = desc(OCI_MANIFEST, subject);
      const art = (type: string, note: string) =>
        manifestOf(
          {
            schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: type,
            config: desc('application/vnd.oci.empty.v1+json', empty), layers: [desc(type, sbom)],
            subject: subjectDesc, annotations: { note },
          },
          OCI_MANIFEST,
        );
      const a = art('application/spdx+json', 'sbom');
      const b = art('application/vnd.dev.cosign+json', 'sig');
      const pa = await pushManifest(req, 'img/refs', a.digest, a);
      expect(pa.headers['oci-subject']).toBe(subject.digest);
      await pushManifest(req, 'img/refs', b.digest, b);

      const r = await req('GET', `/v2/img/refs/referrers/${subject.digest}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe(OCI_INDEX);
      const idx = r.json<Index>();
      expect(idx.schemaVersion).toBe(2);
      expect(idx.mediaType).toBe(OCI_INDEX);
      expect(idx.manifests.map((d) => d.digest).sort()).toEqual([a.digest, b.digest].sort());
      const found = idx.manifests.find((d) => d.digest === a.digest)!;
      expect(found.artifactType).toBe('application/spdx+json');
      expect(found.annotations).toEqual({ note: 'sbom' });
      const f = await req('GET', `/v2/img/refs/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`);
      expect(f.headers['oci-filters-applied']).toBe('artifactType');
      expect(f.json<Index>().manifests.map((d) => d.digest)).toEqual([a.digest]);
      // deleting a referrer removes it from the list
      await req('DELETE', `/v2/img/refs/manifests/${b.digest}`);
      expect((await req('GET', `/v2/img/refs/referrers/${subject.digest}`)).json<Index>().manifests.map((d) => d.digest)).toEqual([a.digest]);
    });

    it('accepts a manifest whose subject is not in the repository, and lists it', async () => {
      const config = blob();
      await pushBlob(req, 'img/orphan', config);
      const ghost = sha256('not pushed');
      const m = imageManifest(config, [], { subject: { mediaType: OCI_MANIFEST, digest: ghost, size: 10 } });
      const r = await pushManifest(req, 'img/orphan', 'art', m);
      expect(r.headers['oci-subject']).toBe(ghost);
      const refs = await req('GET', `/v2/img/orphan/referrers/${ghost}`);
      const d = refs.json<Index>().manifests;
      expect(d.map((x) => x.digest)).toEqual([m.digest]);
      expect(d[0]!.artifactType).toBe('application/vnd.oci.image.config.v1+json');
    });

    it('answers an unknown subject with an empty index and a malformed one with DIGEST_INVALID', async () => {
      const r = await req('GET', `/v2/img/none/referrers/${sha256('nothing')}`);
      expect(r.status).toBe(200);
      expect(r.json<Index>().manifests).toEqual([]);
      const bad = await req('GET', '/v2/img/none/referrers/sha256:bad');
      expect(bad.status).toBe(400);
      expect(errorCode(bad)).toBe('DIGEST_INVALID');
    });

    it('checks names against the spec grammar before anything else (NAME_INVALID)', async () => {
      const long = Array.from({ length: 26 }, () => 'abcdefghi').join('/'); // 259 characters
      for (const name of ['UPPER/case', 'a/..%2f..%2fetc', '-lead', 'a//b', 'a/b_', long, '%61bc']) {
        for (const path of [`/v2/${name}/manifests/latest`, `/v2/${name}/tags/list`, `/v2/${name}/blobs/uploads/`]) {
          const r = await req(path.endsWith('uploads/') ? 'POST' : 'GET', path);
          expect(r.status, path).toBe(400);
          expect(errorCode(r), path).toBe('NAME_INVALID');
        }
      }
    });

    it('answers unsupported methods with 405 UNSUPPORTED and unknown paths with a JSON 404', async () => {
      const m = await req('POST', '/v2/img/oci/manifests/v1');
      expect(m.status).toBe(405);
      expect(errorCode(m)).toBe('UNSUPPORTED');
      const p = await req('GET', '/v2/img/oci/nothing-here');
      expect(p.status).toBe(404);
      expect(p.headers['docker-distribution-api-version']).toBe('registry/2.0');
      errorCode(p);
    });
  });
}
