/**
 * The policy matrix, through real HTTP, in Basic and in token mode: callers (anonymous, users in
 * groups, a plain user, the admin) x repository patterns x every action. The expected answer comes
 * from the policy engine, which test/unit/auth/policy.test.ts checks on its own.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';
import { BasicGate, BearerGate } from '../../src/auth/authenticator.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { AccessPolicy, type AccessControlConfig, type RepoAction } from '../../src/auth/policy.js';
import { TokenIssuer } from '../../src/auth/tokens.js';
import { TokenService } from '../../src/auth/token-service.js';
import { dockerAction } from '../../src/http/authorize.js';

export const USERS = ['dana', 'olga', 'root', 'eve'] as const;
export const ACCESS: AccessControlConfig = {
  groups: { devs: { users: ['dana'] }, ops: { users: ['olga'] } },
  repositories: {
    '**': { defaultPolicy: ['read'] },
    'team-a/**': { policies: [{ groups: ['devs'], actions: ['read', 'create', 'update', 'delete'] }] },
    'spectro-images/*': { anonymousPolicy: ['read'], policies: [{ groups: ['ops'], actions: ['read', 'create'] }] },
  },
  adminPolicy: { users: ['root'], actions: ['read', 'create', 'update', 'delete'] },
};
export const REPOS = ['team-a/app', 'spectro-images/app', 'other/app'];
export const basic = (u: string, p = `${u}-pw`) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

export interface AuthHarness {
  reg: TestRegistry;
  policy: AccessPolicy;
  /** Headers that carry `who`'s credentials for `action` on `repo` in this mode. */
  creds(who: string | undefined, repo: string, action: RepoAction): Promise<Record<string, string>>;
}

export async function startAuthRegistry(mode: 'basic' | 'token'): Promise<AuthHarness> {
  const dir = await testDirPersistent('berth-auth-');
  const file = join(dir, 'htpasswd');
  await writeFile(file, USERS.map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}\n`).join(''));
  const policy = new AccessPolicy(ACCESS);
  const users = new Htpasswd(file);
  if (mode === 'basic') {
    const reg = await startRegistry({ listen: true, auth: { gate: new BasicGate(users, 'berth-test'), policy } });
    return { reg, policy, creds: async (who) => (who ? basic(who) : {}) };
  }
  const issuer = await TokenIssuer.open(join(dir, 'token.key'), true, { service: 'berth-test', issuer: 'berth-test', expiresIn: 300, refreshExpiresIn: 3600 });
  const reg = await startRegistry({ listen: true, auth: { gate: new BearerGate(issuer, undefined), policy }, tokens: new TokenService(issuer, users, policy) });
  return {
    reg,
    policy,
    async creds(who, repo, action) {
      const verb = dockerAction(action);
      const scope = `repository:${repo}:${verb === 'push' ? 'pull,push' : verb}`;
      const r = await reg.request('GET', `/auth/token?service=berth-test&scope=${encodeURIComponent(scope)}`, { headers: who ? basic(who) : {} });
      expect(r.status).toBe(200);
      return { authorization: `Bearer ${r.json<{ token: string }>().token}` };
    },
  };
}

export function authMatrixSuite(mode: 'basic' | 'token') {
  describe(`policy matrix over real HTTP (${mode})`, () => {
    let h: AuthHarness;
    beforeAll(async () => {
      h = await startAuthRegistry(mode);
      for (const repo of REPOS) {
        const config = blob(50);
        const r = await h.reg.request('POST', `/v2/${repo}/blobs/uploads/?digest=${config.digest}`, { headers: await h.creds('root', repo, 'create'), body: config.bytes });
        expect(r.status).toBe(201);
        for (const tag of ['v1', 'keep']) {
          const m = await h.reg.request('PUT', `/v2/${repo}/manifests/${tag}`, {
            headers: { ...(await h.creds('root', repo, 'create')), 'content-type': OCI_MANIFEST },
            body: imageManifest(config, []).bytes,
          });
          expect(m.status).toBe(201);
        }
      }
    });
    afterAll(() => h.reg.close());

    async function attempt(who: string | undefined, repo: string, action: RepoAction): Promise<number> {
      const c = await h.creds(who, repo, action);
      const root = async (a: RepoAction) => h.creds('root', repo, a);
      switch (action) {
        case 'read':
          return (await h.reg.request('GET', `/v2/${repo}/manifests/v1`, { headers: c })).status;
        case 'create': {
          const b = blob(20);
          return (await h.reg.request('POST', `/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { headers: c, body: b.bytes })).status;
        }
        case 'update': {
          const config = blob(30); // the admin pushes the blob; the caller moves tag v1 onto a new manifest
          await h.reg.request('POST', `/v2/${repo}/blobs/uploads/?digest=${config.digest}`, { headers: await root('create'), body: config.bytes });
          const m = imageManifest(config, []);
          return (await h.reg.request('PUT', `/v2/${repo}/manifests/v1`, { headers: { ...c, 'content-type': OCI_MANIFEST }, body: m.bytes })).status;
        }
        case 'delete': {
          const r = await h.reg.request('DELETE', `/v2/${repo}/manifests/keep`, { headers: c });
          if (r.status === 202) {
            const g = await h.reg.request('GET', `/v2/${repo}/manifests/v1`, { headers: await root('read') });
            await h.reg.request('PUT', `/v2/${repo}/manifests/keep`, { headers: { ...(await root('update')), 'content-type': OCI_MANIFEST }, body: g.body });
          }
          return r.status;
        }
      }
    }

    const callers = [undefined, ...USERS];
    const cases = callers.flatMap((who) => REPOS.flatMap((repo) => (['read', 'create', 'update', 'delete'] as const).map((a) => [who, repo, a] as const)));
    it.each(cases)('%s on %s: %s', async (who, repo, action) => {
      const status = await attempt(who, repo, action);
      if (h.policy.allowed(who, repo, action)) expect(status).toBeLessThan(300);
      // Basic: anonymous is asked to log in (401); token mode: every caller holds a token, short of the action (403)
      else expect(status).toBe(mode === 'basic' && who === undefined ? 401 : 403);
    });
  });
}
