/**
 * An upstream registry for mirror tests: a real berth on 127.0.0.1 in token mode (the Docker Hub /
 * quay.io / Harbor flow: 401, token from the realm, retry), with one user the mirror logs in as.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { expect } from 'vitest';
import { startRegistry, type Requester, type TestRegistry } from './registry.js';
import { testDirPersistent } from './tmp.js';
import { BearerGate } from '../../src/auth/authenticator.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { AccessPolicy } from '../../src/auth/policy.js';
import { TokenIssuer } from '../../src/auth/tokens.js';
import { TokenService } from '../../src/auth/token-service.js';

export const UPSTREAM_USER = 'mirror';
export const UPSTREAM_PASSWORD = 'mirror-secret-pw';

export interface Upstream extends TestRegistry {
  url: string;
  /** A requester holding a push token for `repo`. */
  as(repo: string): Promise<Requester>;
}

export async function startUpstream(): Promise<Upstream> {
  const dir = await testDirPersistent('berth-upstream-');
  const file = join(dir, 'htpasswd');
  await writeFile(file, `${UPSTREAM_USER}:${bcrypt.hashSync(UPSTREAM_PASSWORD, 4)}\n`);
  const issuer = await TokenIssuer.open(join(dir, 'token.key'), true, { service: 'upstream', issuer: 'upstream', expiresIn: 300, refreshExpiresIn: 3600 });
  const policy = new AccessPolicy({
    repositories: { '**': { policies: [{ users: [UPSTREAM_USER], actions: ['read', 'create', 'update', 'delete'] }], anonymousPolicy: [] } },
  });
  const reg = await startRegistry({
    listen: true,
    auth: { gate: new BearerGate(issuer, undefined), policy },
    tokens: new TokenService(issuer, new Htpasswd(file), policy),
  });
  const basic = `Basic ${Buffer.from(`${UPSTREAM_USER}:${UPSTREAM_PASSWORD}`).toString('base64')}`;
  return {
    ...reg,
    url: reg.url!,
    async as(repo: string) {
      const r = await reg.request('GET', `/auth/token?service=upstream&scope=repository:${repo}:pull,push`, { headers: { authorization: basic } });
      expect(r.status).toBe(200);
      const token = r.json<{ token: string }>().token;
      return (method, path, o = {}) => reg.request(method, path, { ...o, headers: { ...o.headers, authorization: `Bearer ${token}` } });
    },
  };
}

/** A real image (mkoci: a config containerd can unpack by) made under `dir` and copied by skopeo into the upstream as `repoTag`; its manifest digest. */
export async function seedUpstream(up: Upstream, dir: string, repoTag: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { SHARED_TOOLS, requireTool, sh, which } = await import('./tools.js');
  const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
  const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
  await sh('bash', [mkoci, 'image', dir, '256', '64']);
  const digest = (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest;
  await sh(skopeo, ['copy', `--dest-creds=${UPSTREAM_USER}:${UPSTREAM_PASSWORD}`, '--dest-tls-verify=false', `oci:${dir}:latest`, `docker://${new URL(up.url).host}/${repoTag}`]);
  return digest;
}
