import { describe, expect, it } from 'vitest';
import { formatImageRef, parseImageRef } from '../../../src/webhook/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef (the Docker reference grammar, normalised)', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['library/nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    ['registry-1.docker.io/grafana/grafana', 'docker.io/grafana/grafana'],
    ['quay.io/kairos/core:v1', 'quay.io/kairos/core:v1'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['Quay.IO/kairos/core', 'quay.io/kairos/core'],
    ['localhost/app', 'localhost/app'],
    ['UPPER/case', 'upper/case'], // an upper-case first component is a host (paths are lower case)
    ['localhost:5000/team/app:dev', 'localhost:5000/team/app:dev'],
    ['10.10.254.254:30003/spectro-images/quay.io/kairos/core:v1', '10.10.254.254:30003/spectro-images/quay.io/kairos/core:v1'],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`],
    [`quay.io/a/b:v1@${D}`, `quay.io/a/b:v1@${D}`],
    ['ghcr.io/a/b__c/d-e.f:1.0_rc-2', 'ghcr.io/a/b__c/d-e.f:1.0_rc-2'],
    ['[fd00::1]:5000/app:1', '[fd00::1]:5000/app:1'],
  ])('%s is %s', (input, want) => {
    const r = parseImageRef(input);
    expect(r).toBeDefined();
    expect(formatImageRef(r!)).toBe(want);
  });

  it('keeps the parts apart: host with its port, repository, tag, digest', () => {
    expect(parseImageRef(`localhost:5000/team/app:dev@${D}`)).toEqual({ host: 'localhost:5000', repo: 'team/app', tag: 'dev', digest: D });
    expect(parseImageRef('nginx')).toEqual({ host: 'docker.io', repo: 'library/nginx' });
  });

  it.each([
    '',
    'Nginx',
    'quay.io/Kairos/core',
    'nginx:',
    'nginx:-bad',
    `nginx:${'t'.repeat(129)}`,
    'nginx@sha256:short',
    'nginx@',
    'a//b',
    '/nginx',
    'nginx/',
    'quay.io/a..b',
    'exa_mple.com/app',
    `x/${'a'.repeat(260)}`,
  ])('refuses %j', (input) => {
    expect(parseImageRef(input)).toBeUndefined();
  });
});
