/**
 * `berth credential-provider`, exactly as the kubelet calls it: a CredentialProviderRequest on
 * standard input, a CredentialProviderResponse on standard output (credentialprovider.kubelet.k8s.io/v1),
 * one line on standard error and a non-zero exit for anything wrong. The credential it hands out (a
 * static pull-only user, or a password berth mints from the node's bootstrap credential) is used by
 * skopeo against a real berth: it pulls, and it can neither push nor delete; a minted one that has
 * expired is refused.
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
import { makeCa, makeServerCert } from '../helpers/certs.js';
import { readFileSync } from 'node:fs';

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
  let manifest: Buffer;
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

  /** skopeo with this login pulls apps/web:1 whole, and its copy (a push) and delete are refused. */
  async function pullsOnly(user: string, password: string): Promise<void> {
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    const creds = `${user}:${password}`;
    const as = [`--creds=${creds}`, '--tls-verify=false'];
    const raw = await sh(skopeo, ['inspect', '--raw', ...as, `docker://${berth.host}/apps/web:1`]);
    expect(Buffer.from(raw).equals(manifest)).toBe(true);
    const copy = await sh(skopeo, ['copy', `--src-creds=${creds}`, `--dest-creds=${creds}`, '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${berth.host}/apps/web:1`, `docker://${berth.host}/apps/copy:1`]).then(() => 'pushed', (err: Error) => err.message);
    expect(copy).toMatch(/denied|unauthorized|401|403/i);
    const del = await sh(skopeo, ['delete', ...as, `docker://${berth.host}/apps/web:1`]).then(() => 'deleted', (err: Error) => err.message);
    expect(del).toMatch(/denied|unauthorized|401|403/i);
    const root = basic('root', 'root-pw');
    expect((await fetch(`${berth.url}/v2/apps/web/manifests/1`, { method: 'HEAD', headers: { authorization: root, accept: OCI_MANIFEST } })).status).toBe(200);
    expect((await fetch(`${berth.url}/v2/apps/copy/tags/list`, { headers: { authorization: root } })).status).toBe(404);
  }

  beforeAll(async () => {
    dir = await testDirPersistent('berth-credprov-');
    const htpasswd = join(dir, 'htpasswd');
    // node-bootstrap may push too: what berth mints from it still only pulls
    await writeFile(htpasswd, ['root:root-pw', 'node-puller:puller-pw', 'node-bootstrap:bootstrap-pw'].map((l) => `${l.split(':')[0]}:${bcrypt.hashSync(l.split(':')[1]!, 4)}\n`).join(''));
    await writeFile(
      join(dir, 'berth.yaml'),
      `http:\n  auth:\n    htpasswd: {path: ${htpasswd}}\naccessControl:\n  repositories:\n    "**": {policies: [{users: [node-puller], actions: [read]}, {users: [node-bootstrap], actions: [read, create, update, delete]}], defaultPolicy: []}\n  adminPolicy: {users: [root], actions: [read, create, update, delete]}\n`,
    );
    berth = await spawnBerth({ args: ['--config', join(dir, 'berth.yaml')] });
    await writeFile(join(dir, 'puller.password'), 'puller-pw\n');
    config = join(dir, 'credential-provider.yaml');
    await writeFile(config, `registries: ["${berth.host}"]\nmirrored: [docker.io, quay.io]\nusername: node-puller\npasswordFile: ${join(dir, 'puller.password')}\ncacheDuration: 30m\n`);
    // root pushes the image the credentials are tried on
    const cfg = blob(64);
    const root = basic('root', 'root-pw');
    expect((await fetch(`${berth.url}/v2/apps/web/blobs/uploads/?digest=${cfg.digest}`, { method: 'POST', body: cfg.bytes, headers: { authorization: root } })).status).toBe(201);
    manifest = imageManifest(cfg, []).bytes;
    expect((await fetch(`${berth.url}/v2/apps/web/manifests/1`, { method: 'PUT', body: manifest, headers: { authorization: root, 'content-type': OCI_MANIFEST } })).status).toBe(201);
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

    await pullsOnly(creds.username, creds.password);
  });

  it('trades a bootstrap credential for a minted pull-only password that lives cacheDuration (the kubelet caches it a little less)', async () => {
    await writeFile(join(dir, 'bootstrap.password'), 'bootstrap-pw\n');
    const minting = join(dir, 'minting.yaml');
    await writeFile(minting, `registries: ["${berth.host}"]\nmirrored: [quay.io]\nusername: node-bootstrap\npasswordFile: ${join(dir, 'bootstrap.password')}\ncacheDuration: 30m\nmint: {url: "${berth.url}"}\n`);
    const r = await provider(minting, request('quay.io/kairos/core:v1'));
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout) as { cacheDuration: string; auth: Record<string, { username: string; password: string }> };
    expect(res.cacheDuration).toBe('0h27m0s');
    const creds = res.auth['quay.io']!;
    expect(res.auth[berth.host]).toEqual(creds);
    expect(creds.username).toBe('node-bootstrap');
    expect(creds.password).toMatch(/^berth-pull\.v1\.\d+\./);
    const expiry = Number(creds.password.split('.')[2]) * 1000;
    expect(Math.abs(expiry - (Date.now() + 30 * 60_000))).toBeLessThan(60_000);
    // the bootstrap user may push; the minted password may not
    await pullsOnly(creds.username, creds.password);
    // and a minted password cannot mint another that would outlive it
    const again = await fetch(`${berth.url}/_berth/pull-credentials`, { method: 'POST', headers: { authorization: basic(creds.username, creds.password) } });
    expect(again.status).toBe(403);
  });

  it('refuses a minted password once it has expired, and one signed for another user', async () => {
    const got = await fetch(`${berth.url}/_berth/pull-credentials?lifetime=2s`, { method: 'POST', headers: { authorization: basic('node-bootstrap', 'bootstrap-pw') } });
    expect(got.status).toBe(200);
    const { password, expiresIn } = (await got.json()) as { password: string; expiresIn: number };
    expect(expiresIn).toBe(2);
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    const inspect = () => sh(skopeo, ['inspect', '--raw', `--creds=node-bootstrap:${password}`, '--tls-verify=false', `docker://${berth.host}/apps/web:1`]).then(() => 'pulled', (err: Error) => err.message);
    expect(await inspect()).toBe('pulled');
    // someone else's name with this password: the user is signed in
    const other = await fetch(`${berth.url}/v2/apps/web/manifests/1`, { headers: { authorization: basic('node-puller', password), accept: OCI_MANIFEST } });
    expect(other.status).toBe(401);
    await new Promise((res) => setTimeout(res, 2500));
    expect(await inspect()).toMatch(/unauthorized|401/i);
    const late = await fetch(`${berth.url}/v2/apps/web/manifests/1`, { headers: { authorization: basic('node-bootstrap', password), accept: OCI_MANIFEST } });
    expect(late.status).toBe(401);
    expect(await late.text()).toMatch(/expired/);
  });

  it('mints over https from a berth whose certificate a private CA signed (mint.caFile), and refuses one it cannot verify', async () => {
    const pki = join(dir, 'pki');
    const { ca } = makeCa(pki);
    const { cert, key } = makeServerCert(pki, 'tls-berth');
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(join(dir, 'tls.yaml'), `http:\n  tls: {cert: ${cert}, key: ${key}}\n  auth:\n    htpasswd: {path: ${htpasswd}}\n`);
    const tls = await spawnBerth({ args: ['--config', join(dir, 'tls.yaml')], tlsCa: readFileSync(ca) });
    try {
      const cfg = join(dir, 'mint-tls.yaml');
      const base = `registries: ["${tls.host}"]\nusername: node-bootstrap\npasswordFile: ${join(dir, 'bootstrap.password')}\ncacheDuration: 10m\n`;
      await writeFile(join(dir, 'bootstrap.password'), 'bootstrap-pw\n');
      await writeFile(cfg, `${base}mint: {url: "${tls.url}", caFile: ${ca}}\n`);
      const r = await provider(cfg, request(`${tls.host}/apps/web:1`));
      expect(r.stderr).toBe('');
      const res = JSON.parse(r.stdout) as { cacheDuration: string; auth: Record<string, { password: string }> };
      expect(res.cacheDuration).toBe('0h9m0s'); // a tenth less than 10 minutes
      expect(res.auth[tls.host]!.password).toMatch(/^berth-pull\.v1\./);
      // without the CA: the certificate is not trusted, and the plugin says so in one line
      await writeFile(cfg, `${base}mint: {url: "${tls.url}"}\n`);
      const untrusted = await provider(cfg, request(`${tls.host}/apps/web:1`));
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr.trim().split('\n')).toHaveLength(1);
      expect(untrusted.stderr).toMatch(/could not be reached.*(certificate|self.signed|issuer)/i);
    } finally {
      await tls.stop();
    }
  });

  it('exits 1 with one line when berth cannot be reached to mint, or refuses the bootstrap credential', async () => {
    await writeFile(join(dir, 'wrong.password'), 'not-it\n');
    for (const [url, pw, message] of [
      ['http://127.0.0.1:9', 'bootstrap.password', /could not be reached/],
      [berth.url, 'wrong.password', /refused a pull credential: 401/],
    ] as const) {
      const cfg = join(dir, 'mint-bad.yaml');
      await writeFile(cfg, `registries: ["${berth.host}"]\nusername: node-bootstrap\npasswordFile: ${join(dir, pw)}\nmint: {url: "${url}"}\n`);
      const r = await provider(cfg, request(`${berth.host}/apps/web:1`));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
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
