/**
 * `berth credential-provider`, exactly as the kubelet calls it: a CredentialProviderRequest on
 * standard input, a CredentialProviderResponse on standard output (credentialprovider.kubelet.k8s.io/v1),
 * one line on standard error and a non-zero exit for anything wrong. The credential it hands out is
 * used by skopeo against a real berth: it pulls, and it can neither push nor delete.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnBerth, type Berth } from '../helpers/spawn.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';
import { sh, which } from '../helpers/tools.js';

function provider(config: string, stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, ['credential-provider', '--config', config]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const request = (image: string) => JSON.stringify({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image });

describe('berth credential-provider (kubelet credentialprovider.kubelet.k8s.io/v1)', () => {
  let berth: Berth;
  let dir: string;
  let config: string;
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

  beforeAll(async () => {
    dir = await testDirPersistent('berth-credprov-');
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `root:${bcrypt.hashSync('root-pw', 4)}\nnode-puller:${bcrypt.hashSync('puller-pw', 4)}\n`);
    await writeFile(
      join(dir, 'berth.yaml'),
      `http:\n  auth:\n    htpasswd: {path: ${htpasswd}}\naccessControl:\n  repositories:\n    "**": {policies: [{users: [node-puller], actions: [read]}], defaultPolicy: []}\n  adminPolicy: {users: [root], actions: [read, create, update, delete]}\n`,
    );
    berth = await spawnBerth({ args: ['--config', join(dir, 'berth.yaml')] });
    await writeFile(join(dir, 'puller.password'), 'puller-pw\n');
    config = join(dir, 'credential-provider.yaml');
    await writeFile(config, `registries: ["${berth.host}"]\nmirrored: [docker.io, quay.io]\nusername: node-puller\npasswordFile: ${join(dir, 'puller.password')}\ncacheDuration: 30m\n`);
  });
  afterAll(() => berth?.stop());

  it('answers with a pull-only login for berth and the hosts it mirrors, which pulls and cannot push or delete', async () => {
    const r = await provider(config, request(`${berth.host}/apps/web:1`));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const creds = { username: 'node-puller', password: 'puller-pw' };
    expect(JSON.parse(r.stdout)).toEqual({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderResponse',
      cacheKeyType: 'Registry',
      cacheDuration: '0h30m0s',
      auth: { [berth.host]: creds, 'docker.io': creds, 'quay.io': creds },
    });
    // a mirrored image (mirror mode) gets the same answer
    expect(JSON.parse((await provider(config, request('nginx:1.27'))).stdout).auth).toHaveProperty('docker.io');

    // the login against berth: root pushes an image, node-puller pulls it and can change nothing
    const cfg = blob(64);
    const root = basic('root', 'root-pw');
    expect((await fetch(`${berth.url}/v2/apps/web/blobs/uploads/?digest=${cfg.digest}`, { method: 'POST', body: cfg.bytes, headers: { authorization: root } })).status).toBe(201);
    const m = imageManifest(cfg, []);
    expect((await fetch(`${berth.url}/v2/apps/web/manifests/1`, { method: 'PUT', body: m.bytes, headers: { authorization: root, 'content-type': OCI_MANIFEST } })).status).toBe(201);
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    const as = [`--creds=${creds.username}:${creds.password}`, '--tls-verify=false'];
    const raw = await sh(skopeo, ['inspect', '--raw', ...as, `docker://${berth.host}/apps/web:1`]);
    expect(Buffer.from(raw).equals(m.bytes)).toBe(true);
    const copy = await sh(skopeo, ['copy', `--src-creds=${creds.username}:${creds.password}`, `--dest-creds=${creds.username}:${creds.password}`, '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${berth.host}/apps/web:1`, `docker://${berth.host}/apps/copy:1`]).then(() => 'pushed', (err: Error) => err.message);
    expect(copy).toMatch(/denied|unauthorized|401|403/i);
    const del = await sh(skopeo, ['delete', ...as, `docker://${berth.host}/apps/web:1`]).then(() => 'deleted', (err: Error) => err.message);
    expect(del).toMatch(/denied|unauthorized|401|403/i);
    expect((await fetch(`${berth.url}/v2/apps/web/manifests/1`, { method: 'HEAD', headers: { authorization: root, accept: OCI_MANIFEST } })).status).toBe(200);
    expect((await fetch(`${berth.url}/v2/apps/copy/tags/list`, { headers: { authorization: root } })).status).toBe(404);
  });

  it.each([
    ['a body that is not JSON', '{"apiVersion":', /not JSON/],
    ['another kind', JSON.stringify({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'Pod' }), /CredentialProviderRequest/],
    ['an image of a host berth does not serve', request('ghcr.io/a/b:1'), /ghcr\.io is neither berth/],
    ['an image reference that does not parse', request('Not An Image'), /not an image reference/],
  ])('exits 1 with one line on standard error for %s', async (_what, body, message) => {
    const r = await provider(config, body);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 with one line when its configuration cannot be read', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, `registries: ["${berth.host}"]\nusername: node-puller\npasswordFile: ${join(dir, 'missing')}\n`);
    const r = await provider(bad, request(`${berth.host}/apps/web:1`));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/passwordFile: ENOENT/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
