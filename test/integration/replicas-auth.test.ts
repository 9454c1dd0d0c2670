/**
 * Login state across replicas (s3+postgres): a token one replica issues is accepted by another
 * (the signing key made once, in the database), a web login through one is a login on all and a
 * logout on one is a logout everywhere, failed logins count for the registry, not per replica, and
 * a pull credential one replica minted is honoured (for pulls only) by another.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicas, type Replicas } from '../helpers/replicas.js';

let r: Replicas;
let dir: string;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-replicas-auth-'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, ['alice', 'bob'].map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}\n`).join(''));
  r = await startReplicas(2, { http: { auth: { htpasswd: { path: htpasswd }, token: { service: 'berth' }, failedLogins: { perUser: 3, perClient: 100, delayMs: 1 } } } });
}, 60_000);

afterAll(async () => {
  await r?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('login state shared by replicas (s3+postgres)', () => {
  it('accepts on every replica a token any replica issued', async () => {
    const [a, b] = r.berths as [(typeof r.berths)[0], (typeof r.berths)[0]];
    const got = await fetch(`${a.url}/auth/token?service=berth&scope=repository:shared/app:pull,push`, { headers: { authorization: basic('alice', 'alice-pw') } });
    expect(got.status).toBe(200);
    const { token } = (await got.json()) as { token: string };
    const post = await fetch(`${b.url}/v2/shared/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(post.status).toBe(202);
    // a token from one replica and one from the other are signed by the same key
    const other = await fetch(`${b.url}/auth/token?service=berth&scope=repository:shared/app:pull`, { headers: { authorization: basic('alice', 'alice-pw') } });
    const t2 = ((await other.json()) as { token: string }).token;
    expect((await fetch(`${a.url}/v2/shared/app/tags/list`, { headers: { authorization: `Bearer ${t2}` } })).status).not.toBe(401);
  });

  it('keeps a web login on every replica, and a logout on one ends it everywhere', async () => {
    const [a, b] = r.berths as [(typeof r.berths)[0], (typeof r.berths)[0]];
    const login = await fetch(`${a.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'bob-pw' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const onB = await fetch(`${b.url}/api/session`, { headers: { cookie } });
    expect(await onB.json()).toMatchObject({ user: 'bob' });
    expect((await fetch(`${b.url}/api/session`, { method: 'DELETE', headers: { cookie } })).status).toBe(204);
    const onA = await fetch(`${a.url}/api/session`, { headers: { cookie } });
    expect(await onA.json()).toMatchObject({ user: null });
  });

  it('honours on every replica a pull credential any replica minted, and a token from it only pulls', async () => {
    const [a, b] = r.berths as [(typeof r.berths)[0], (typeof r.berths)[0]];
    const minted = await fetch(`${a.url}/_berth/pull-credentials?lifetime=10m`, { method: 'POST', headers: { authorization: basic('bob', 'bob-pw') } });
    expect(minted.status).toBe(200);
    const { username, password, expiresIn } = (await minted.json()) as { username: string; password: string; expiresIn: number };
    expect([username, expiresIn]).toEqual(['bob', 600]);
    // bob may push, but what is signed for this login is pull alone; and no refresh token outlives it
    const got = await fetch(`${b.url}/auth/token?service=berth&scope=repository:shared/app:pull,push&offline_token=true`, { headers: { authorization: basic(username, password) } });
    expect(got.status).toBe(200);
    const body = (await got.json()) as { token: string; scope?: string; refresh_token?: string };
    expect(body.scope).toBe('repository:shared/app:pull');
    expect(body.refresh_token).toBeUndefined();
    expect((await fetch(`${a.url}/v2/shared/app/tags/list`, { headers: { authorization: `Bearer ${body.token}` } })).status).not.toBe(401);
    expect([401, 403]).toContain((await fetch(`${a.url}/v2/shared/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${body.token}` } })).status);
    // nor does it open a web session (which would carry all of bob's access)
    const login = await fetch(`${b.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    expect(login.status).toBe(403);
  });

  it('knows a robot account made through one replica on every replica, and its revocation too', async () => {
    const [a, b] = r.berths as [(typeof r.berths)[0], (typeof r.berths)[0]];
    const made = await fetch(`${a.url}/_berth/robots`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'shared-ci', owner: 'alice', scopes: ['shared/**:pull,push'] }) });
    expect(made.status).toBe(201);
    const { username, secret } = (await made.json()) as { username: string; secret: string };
    const basic = `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`;
    const got = await fetch(`${b.url}/auth/token?service=berth&scope=repository:shared/app:pull,push&scope=repository:other/app:pull`, { headers: { authorization: basic } });
    expect(got.status).toBe(200);
    const { token, scope } = (await got.json()) as { token: string; scope: string };
    expect(scope).toBe('repository:shared/app:pull,push'); // other/app is outside its scopes
    expect((await fetch(`${a.url}/v2/shared/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(202);
    expect((await fetch(`${b.url}/_berth/robots/shared-ci`, { method: 'DELETE' })).status).toBe(200);
    // revoked through B: A refuses the token B issued before, and its secret
    expect((await fetch(`${a.url}/v2/shared/app/tags/list`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await fetch(`${a.url}/auth/token?service=berth&scope=repository:shared/app:pull`, { headers: { authorization: basic } })).status).toBe(401);
  });

  it('counts failed logins across replicas: the limit holds wherever the attempts land', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${r.url}/auth/token?service=berth`, { headers: { authorization: basic('alice', 'wrong') } });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(new Set(r.served.slice(-4)).size).toBe(2); // both replicas took some of them
    // the right password is refused too while the user is over its limit, on either replica
    for (const b of r.berths) {
      expect((await fetch(`${b.url}/auth/token?service=berth`, { headers: { authorization: basic('alice', 'alice-pw') } })).status).toBe(429);
    }
  });
});
