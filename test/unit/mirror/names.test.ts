/** Mirror naming (issue 7): ?ns= and path mode to local repositories, Docker references, challenges, the breaker. */
import { describe, expect, it } from 'vitest';
import { MirrorNames, hostComponent } from '../../../src/mirror/names.js';
import { parseImageReference, localRepository } from '../../../src/bundles/reference.js';
import { parseChallenge } from '../../../src/mirror/upstream.js';
import { Breaker } from '../../../src/mirror/breaker.js';
import { parseConfig } from '../../../src/config/config.js';

describe('MirrorNames', () => {
  const names = new MirrorNames('spectro-images', ['docker.io', 'quay.io', '10.10.254.254:8000']);

  it('maps containerd mirror mode (?ns=) with docker.io normalisation', () => {
    expect(names.resolve('library/alpine', 'docker.io')).toEqual({ local: 'spectro-images/docker.io/library/alpine', remote: { host: 'docker.io', repo: 'library/alpine' } });
    expect(names.resolve('alpine', 'docker.io')).toEqual({ local: 'spectro-images/docker.io/library/alpine', remote: { host: 'docker.io', repo: 'library/alpine' } });
    expect(names.resolve('alpine', 'index.docker.io').remote).toEqual({ host: 'docker.io', repo: 'library/alpine' });
    expect(names.resolve('kairos/core', 'quay.io').remote).toEqual({ host: 'quay.io', repo: 'kairos/core' });
    expect(names.resolve('team/app', '10.10.254.254:8000').local).toBe('spectro-images/10.10.254.254_8000/team/app');
    // a host no upstream has: mapped (bundles may hold it), never fetched
    expect(names.resolve('app', 'ghcr.io')).toEqual({ local: 'spectro-images/ghcr.io/app' });
  });

  it('maps path mode and leaves other names alone', () => {
    expect(names.resolve('spectro-images/quay.io/kairos/core', null)).toEqual({ local: 'spectro-images/quay.io/kairos/core', remote: { host: 'quay.io', repo: 'kairos/core' } });
    expect(names.resolve('spectro-images/docker.io/alpine', null)).toEqual({ local: 'spectro-images/docker.io/library/alpine', remote: { host: 'docker.io', repo: 'library/alpine' } });
    expect(names.resolve('spectro-images/10.10.254.254_8000/x', null).remote).toEqual({ host: '10.10.254.254:8000', repo: 'x' });
    expect(names.resolve('spectro-images/ghcr.io/x', null)).toEqual({ local: 'spectro-images/ghcr.io/x' });
    expect(names.resolve('team/app', null)).toEqual({ local: 'team/app' });
    expect(names.resolve('team/app', 'not a host!')).toEqual({ local: 'team/app' });
    expect(new MirrorNames('', ['quay.io']).resolve('quay.io/a/b', null)).toEqual({ local: 'quay.io/a/b', remote: { host: 'quay.io', repo: 'a/b' } });
  });

  it('writes a host with a port as one valid name component', () => {
    expect(hostComponent('Registry.Example:5000')).toBe('registry.example_5000');
  });
});

describe('bundle references', () => {
  it('reads references as Docker does', () => {
    expect(parseImageReference('quay.io/kairos/core:v1')).toEqual({ host: 'quay.io', path: 'kairos/core', tag: 'v1' });
    expect(parseImageReference('alpine:3.20')).toEqual({ host: 'docker.io', path: 'alpine', tag: '3.20' });
    expect(parseImageReference('localhost:5000/a/b')).toEqual({ host: 'localhost:5000', path: 'a/b' });
    expect(parseImageReference(`team/app@sha256:${'a'.repeat(64)}`)).toEqual({ host: 'docker.io', path: 'team/app', digest: `sha256:${'a'.repeat(64)}` });
    expect(localRepository(parseImageReference('alpine:3.20'), 'p')).toBe('p/docker.io/library/alpine');
    expect(localRepository(parseImageReference('registry.example:5000/team/tool:2.1'), '')).toBe('registry.example_5000/team/tool');
    expect(() => parseImageReference('a@sha256:zz')).toThrow(/invalid digest/);
  });
});

describe('upstream auth challenges and the breaker', () => {
  it('parses WWW-Authenticate', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
  });

  it('opens after a failure, lets one probe through after retryAfter, closes on success', () => {
    let now = 1000;
    const b = new Breaker(500, () => now);
    expect(b.allow()).toBe(true);
    b.failed();
    expect(b.closed).toBe(false);
    expect(b.allow()).toBe(false);
    now += 500;
    expect(b.allow()).toBe(true); // the probe
    expect(b.allow()).toBe(false); // only one
    b.succeeded();
    expect(b.closed).toBe(true);
    expect(b.allow()).toBe(true);
  });
});

describe('mirror configuration', () => {
  it('names the bad key and its place', () => {
    expect(() => parseConfig('mirror:\n  upstreams:\n    - {host: quay.io}\n', 'f')).toThrow('mirror.upstreams[0].url: required');
    expect(() => parseConfig('mirror:\n  upstreams:\n    - {host: quay.io, url: x, insecure: yes please}\n', 'f')).toThrow('mirror.upstreams[0].insecure: must be a boolean');
    expect(() => parseConfig('mirror:\n  sync: {images: [{repository: a/b, tags: v1}]}\n', 'f')).toThrow('mirror.sync.images[0].tags: must be a list of strings');
    expect(() => parseConfig('mirror:\n  tagTTL: soon\n', 'f')).toThrow(/mirror.tagTTL/);
    expect(() => parseConfig('mirror:\n  upstream: []\n', 'f')).toThrow('mirror.upstream: unknown key');
    expect(parseConfig('mirror:\n  prefix: p\n  upstreams: [{host: docker.io, url: "http://x"}]\n', 'f').mirror?.upstreams?.[0]?.host).toBe('docker.io');
  });
});
