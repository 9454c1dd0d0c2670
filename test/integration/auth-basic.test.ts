/**
 * Basic auth and access control through real HTTP (RFC 7617; distribution-spec "Error Codes"
 * UNAUTHORIZED/DENIED): a policy matrix of users, groups, anonymous and admin over repository
 * patterns and every action, plus wrong passwords, the catalog filter, mounts and upload binding.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { blob, errorCode, imageManifest, OCI_MANIFEST, sha256 } from '../helpers/oci.js';
import { BasicGate } from '../../src/auth/authenticator.js';
import { LoginLimiter } from '../../src/auth/limiter.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { AccessPolicy } from '../../src/auth/policy.js';
import { ACCESS, REPOS, USERS, basic } from '../shared/auth-matrix.suite.js';

describe('Basic auth and access control (real HTTP)', () => {
  let reg: TestRegistry;
  const policy = new AccessPolicy(ACCESS);
  beforeAll(async () => {
    const dir = await testDirPersistent('berth-auth-');
    const file = join(dir, 'htpasswd');
    await writeFile(file, USERS.map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}\n`).join(''));
    reg = await startRegistry({ listen: true, auth: { gate: new BasicGate(new Htpasswd(file), 'berth-test'), policy } });
    // content to read, update and delete, pushed by the admin
    for (const repo of REPOS) {
      const config = blob(50);
      for (const b of [config]) {
        const r = await reg.request('POST', `/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { headers: basic('root'), body: b.bytes });
        expect(r.status).toBe(201);
      }
      const m = imageManifest(config, []);
      for (const tag of ['v1', 'keep']) {
        const r = await reg.request('PUT', `/v2/${repo}/manifests/${tag}`, { headers: { ...basic('root'), 'content-type': OCI_MANIFEST }, body: m.bytes });
        expect(r.status).toBe(201);
      }
    }
  });
  afterAll(() => reg.close());

  it('answers no or wrong credentials with 401, UNAUTHORIZED and a Basic challenge, on every endpoint', async () => {
    for (const [method, path] of [['GET', '/v2/'], ['GET', '/v2/other/app/tags/list'], ['HEAD', '/v2/team-a/app/manifests/v1'], ['POST', '/v2/team-a/app/blobs/uploads/']]) {
      for (const h of [{}, basic('dana', 'wrong'), basic('nobody'), { authorization: 'Basic !!!' }, { authorization: 'Bearer x' }]) {
        const r = await reg.request(method!, path!, { headers: h });
        expect(r.status, `${method} ${path} ${JSON.stringify(h)}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Basic realm="berth-test"');
        if (method !== 'HEAD') expect(errorCode(r)).toBe('UNAUTHORIZED');
      }
    }
    expect((await reg.request('GET', '/v2/', { headers: basic('eve') })).status).toBe(200);
  });

  it('answers an authenticated caller without the right with 403 DENIED', async () => {
    const r = await reg.request('DELETE', '/v2/other/app/manifests/keep', { headers: basic('eve') });
    expect(r.status).toBe(403);
    expect(errorCode(r)).toBe('DENIED');
  });

  it('lists in _catalog only the repositories the caller may read', async () => {
    const anon = await reg.request('GET', '/v2/_catalog');
    expect(anon.json<{ repositories: string[] }>().repositories).toEqual(['spectro-images/app']);
    const eve = await reg.request('GET', '/v2/_catalog', { headers: basic('eve') });
    expect(eve.json<{ repositories: string[] }>().repositories).toEqual(['other/app']); // spectro-images/* decides there, and has no defaultPolicy
    const root = await reg.request('GET', '/v2/_catalog', { headers: basic('root') });
    expect(root.json<{ repositories: string[] }>().repositories).toEqual([...REPOS].sort());
  });

  it('mounts only from a repository the caller may read, else opens a session', async () => {
    const secret = blob(40);
    await reg.request('POST', `/v2/team-a/hidden/blobs/uploads/?digest=${secret.digest}`, { headers: basic('dana'), body: secret.bytes });
    // olga may create in spectro-images/* but not read team-a/**
    const olga = await reg.request('POST', `/v2/spectro-images/x/blobs/uploads/?mount=${secret.digest}&from=team-a/hidden`, { headers: basic('olga') });
    expect(olga.status).toBe(202);
    const olgaAuto = await reg.request('POST', `/v2/spectro-images/x/blobs/uploads/?mount=${secret.digest}`, { headers: basic('olga') });
    expect(olgaAuto.status).toBe(202);
    const root = await reg.request('POST', `/v2/spectro-images/x/blobs/uploads/?mount=${secret.digest}&from=team-a/hidden`, { headers: basic('root') });
    expect(root.status).toBe(201);
  });

  it('binds an upload session to the user who opened it: a replayed URL is BLOB_UPLOAD_UNKNOWN', async () => {
    const loc = (await reg.request('POST', '/v2/team-a/app/blobs/uploads/', { headers: basic('dana') })).headers.location!;
    const b = blob(64);
    const replay = await reg.request('PUT', `${loc}?digest=${b.digest}`, { headers: basic('root'), body: b.bytes });
    expect(replay.status).toBe(404);
    expect(errorCode(replay)).toBe('BLOB_UPLOAD_UNKNOWN');
    const own = await reg.request('PUT', `${loc}?digest=${b.digest}`, { headers: basic('dana'), body: b.bytes });
    expect(own.status).toBe(201);
    expect(sha256(b.bytes)).toBe(b.digest);
  });
});

describe('failed-login limits', () => {
  it('answers after a delay, then 429 TOOMANYREQUESTS per user and per client, even with the right password', async () => {
    const dir = await testDirPersistent('berth-limit-');
    const file = join(dir, 'htpasswd');
    await writeFile(file, ['kim', 'lee'].map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}\n`).join(''));
    const limiter = new LoginLimiter({ perClient: 5, perUser: 3, windowMs: 60_000, failureDelayMs: 150 });
    const reg = await startRegistry({ listen: true, auth: { gate: new BasicGate(new Htpasswd(file), 'berth-test', limiter), policy: new AccessPolicy({ repositories: { '**': { defaultPolicy: ['read'] } } }) } });
    try {
      const t = Date.now();
      expect((await reg.request('GET', '/v2/', { headers: basic('kim', 'bad') })).status).toBe(401);
      expect(Date.now() - t).toBeGreaterThanOrEqual(140);
      for (let i = 0; i < 2; i++) expect((await reg.request('GET', '/v2/', { headers: basic('kim', 'bad') })).status).toBe(401);
      const locked = await reg.request('GET', '/v2/', { headers: basic('kim') });
      expect(locked.status).toBe(429);
      expect(errorCode(locked)).toBe('TOOMANYREQUESTS');
      expect(locked.headers['retry-after']).toBe('60');
      expect((await reg.request('GET', '/v2/', { headers: basic('lee') })).status).toBe(200); // another user is fine
      for (let i = 0; i < 2; i++) await reg.request('GET', '/v2/', { headers: basic('lee', 'bad') });
      // 5 failures from this client now: the client itself is refused, whoever it claims to be
      expect((await reg.request('GET', '/v2/', { headers: basic('lee') })).status).toBe(429);
    } finally {
      await reg.close();
    }
  });
});
