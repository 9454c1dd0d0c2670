/**
 * Token mode through real HTTP (distribution token spec; RFC 6750): tokens carry only what was both
 * asked for and allowed, and every bad token is refused: expired, foreign key, other repository,
 * `alg: none`, tampered payload; an upload URL replayed by another user learns nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { blob, errorCode, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';
import { BearerGate } from '../../src/auth/authenticator.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { AccessPolicy, type AccessControlConfig } from '../../src/auth/policy.js';
import { TokenIssuer } from '../../src/auth/tokens.js';
import { TokenService } from '../../src/auth/token-service.js';

const ACCESS: AccessControlConfig = {
  repositories: {
    '**': { defaultPolicy: ['read'], anonymousPolicy: [] },
    'team/**': { policies: [{ users: ['dana', 'erin'], actions: ['read', 'create', 'update', 'delete'] }], anonymousPolicy: ['read'] },
  },
};
const SETTINGS = { service: 'berth-test', issuer: 'berth-test-issuer', expiresIn: 300, refreshExpiresIn: 3600 };
const basic = (u: string, p = `${u}-pw`) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
type Token = { token: string; access_token: string; expires_in: number; issued_at: string; refresh_token?: string; scope?: string };

describe('token mode (real HTTP)', () => {
  let reg: TestRegistry;
  let keyFile: string;
  beforeAll(async () => {
    const dir = await testDirPersistent('berth-token-');
    const file = join(dir, 'htpasswd');
    await writeFile(file, ['dana', 'erin', 'eve'].map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}\n`).join(''));
    keyFile = join(dir, 'token.key');
    const issuer = await TokenIssuer.open(keyFile, true, SETTINGS);
    const policy = new AccessPolicy(ACCESS);
    reg = await startRegistry({
      listen: true,
      auth: { gate: new BearerGate(issuer, undefined), policy },
      tokens: new TokenService(issuer, new Htpasswd(file), policy),
    });
  });
  afterAll(() => reg.close());

  async function token(user: string | undefined, ...scopes: string[]): Promise<Token> {
    const q = new URLSearchParams({ service: 'berth-test' });
    for (const s of scopes) q.append('scope', s);
    const r = await reg.request('GET', `/auth/token?${q}`, { headers: user ? { authorization: basic(user) } : {} });
    expect(r.status, r.body.toString()).toBe(200);
    return r.json<Token>();
  }
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  async function push(t: string, repo: string, tag: string) {
    const config = blob(40);
    const r = await reg.request('POST', `/v2/${repo}/blobs/uploads/?digest=${config.digest}`, { headers: bearer(t), body: config.bytes });
    if (r.status !== 201) return r;
    return reg.request('PUT', `/v2/${repo}/manifests/${tag}`, { headers: { ...bearer(t), 'content-type': OCI_MANIFEST }, body: imageManifest(config, []).bytes });
  }

  it('challenges a caller without a token with realm, service and the scope it needs', async () => {
    const r = await reg.request('POST', '/v2/team/app/blobs/uploads/');
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHORIZED');
    const host = new URL(reg.url!).host;
    expect(r.headers['www-authenticate']).toBe(`Bearer realm="http://${host}/auth/token",service="berth-test",scope="repository:team/app:pull,push"`);
    const ping = await reg.request('GET', '/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers['www-authenticate']).toMatch(/^Bearer realm=".*\/auth\/token",service="berth-test"$/);
  });

  it('issues {token, access_token, expires_in, issued_at} with only the access granted', async () => {
    const t = await token('eve', 'repository:team/app:pull,push', 'repository:other/app:pull,push,delete');
    expect(t.token).toBe(t.access_token);
    expect(t.expires_in).toBe(300);
    expect(Date.parse(t.issued_at)).toBeGreaterThan(Date.now() - 60_000);
    const claims = JSON.parse(Buffer.from(t.token.split('.')[1]!, 'base64url').toString()) as { access: { name: string; actions: string[] }[]; sub: string; aud: string; iss: string };
    expect(claims.sub).toBe('eve');
    expect(claims.aud).toBe('berth-test');
    expect(claims.iss).toBe('berth-test-issuer');
    expect(claims.access).toEqual([
      { type: 'repository', name: 'team/app', actions: [] },
      { type: 'repository', name: 'other/app', actions: ['pull'] },
    ]);
  });

  it('lets a granted token push and pull, and answers a token without the action with 403 DENIED', async () => {
    const dana = await token('dana', 'repository:team/app:pull,push');
    expect((await push(dana.token, 'team/app', 'v1')).status).toBe(201);
    expect((await reg.request('GET', '/v2/team/app/manifests/v1', { headers: bearer(dana.token) })).status).toBe(200);
    expect((await reg.request('GET', '/v2/', { headers: bearer(dana.token) })).status).toBe(200);
    const readOnly = await token('dana', 'repository:team/app:pull');
    const denied = await push(readOnly.token, 'team/app', 'v2');
    expect(denied.status).toBe(403);
    expect(errorCode(denied)).toBe('DENIED');
    const anon = await token(undefined, 'repository:team/app:pull');
    expect((await reg.request('GET', '/v2/team/app/manifests/v1', { headers: bearer(anon.token) })).status).toBe(200);
    const del = await reg.request('DELETE', '/v2/team/app/manifests/v1', { headers: bearer(dana.token) });
    expect(del.status).toBe(403); // the token asked for pull,push only
  });

  it('refuses a token for another repository', async () => {
    const t = await token('dana', 'repository:team/other:pull,push');
    const r = await reg.request('GET', '/v2/team/app/manifests/v1', { headers: bearer(t.token) });
    expect(r.status).toBe(403);
  });

  it('refuses expired, foreign-key, alg:none and tampered tokens with 401', async () => {
    const good = (await token('dana', 'repository:team/app:pull')).token;
    const [h, p, s] = good.split('.') as [string, string, string];
    const access = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }];
    const { privateKey: foreign } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sign = (key: Parameters<SignJWT['sign']>[0], exp: number) =>
      new SignJWT({ access }).setProtectedHeader({ alg: 'ES256' }).setIssuer(SETTINGS.issuer).setAudience(SETTINGS.service).setSubject('dana').setIssuedAt().setExpirationTime(exp).sign(key);
    const own = (await import('node:crypto')).createPrivateKey(await (await import('node:fs/promises')).readFile(keyFile, 'utf8'));
    const now = Math.floor(Date.now() / 1000);
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const bad = {
      expired: await sign(own, now - 3600),
      foreign: await sign(foreign, now + 300),
      none: `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`,
      tampered: `${h}.${Buffer.from(JSON.stringify({ ...payload, access })).toString('base64url')}.${s}`,
      garbage: 'abc.def.ghi',
    };
    expect((await reg.request('GET', '/v2/team/app/manifests/v1', { headers: bearer(await sign(own, now + 300)) })).status).toBe(200); // the signer works
    for (const [what, t] of Object.entries(bad)) {
      const r = await reg.request('GET', '/v2/team/app/manifests/v1', { headers: bearer(t) });
      expect(r.status, what).toBe(401);
      expect(errorCode(r), what).toBe('UNAUTHORIZED');
    }
  });

  it('refuses wrong passwords at the token endpoint', async () => {
    const r = await reg.request('GET', '/auth/token?service=berth-test&scope=repository:team/app:pull', { headers: { authorization: basic('dana', 'nope') } });
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHORIZED');
    const other = await reg.request('GET', '/auth/token?service=someone-else');
    expect(other.status).toBe(400);
  });

  it('speaks the OAuth2 form: password grant with a refresh token, then a refresh_token grant', async () => {
    const form = (o: Record<string, string>) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString() });
    const r = await reg.request('POST', '/auth/token', form({ grant_type: 'password', username: 'dana', password: 'dana-pw', service: 'berth-test', scope: 'repository:team/app:pull', client_id: 'test', access_type: 'offline' }));
    expect(r.status).toBe(200);
    const t = r.json<Token>();
    expect(t.refresh_token).toBeTruthy();
    expect(t.scope).toBe('repository:team/app:pull');
    const again = await reg.request('POST', '/auth/token', form({ grant_type: 'refresh_token', refresh_token: t.refresh_token!, service: 'berth-test', scope: 'repository:team/app:pull,push', client_id: 'test' }));
    expect(again.status).toBe(200);
    expect((await push(again.json<Token>().access_token, 'team/app', 'v3')).status).toBe(201);
    const wrong = await reg.request('POST', '/auth/token', form({ grant_type: 'password', username: 'dana', password: 'x', service: 'berth-test' }));
    expect(wrong.status).toBe(401);
    const badRefresh = await reg.request('POST', '/auth/token', form({ grant_type: 'refresh_token', refresh_token: t.access_token, service: 'berth-test' }));
    expect(badRefresh.status).toBe(401); // an access token is no refresh token
  });

  it('binds an upload URL to the user who opened it', async () => {
    const dana = await token('dana', 'repository:team/app:pull,push');
    const erin = await token('erin', 'repository:team/app:pull,push');
    const loc = (await reg.request('POST', '/v2/team/app/blobs/uploads/', { headers: bearer(dana.token) })).headers.location!;
    const b = blob(32);
    const replay = await reg.request('PUT', `${loc}?digest=${b.digest}`, { headers: bearer(erin.token), body: b.bytes });
    expect(replay.status).toBe(404);
    expect(errorCode(replay)).toBe('BLOB_UPLOAD_UNKNOWN');
    expect((await reg.request('PUT', `${loc}?digest=${b.digest}`, { headers: bearer(dana.token), body: b.bytes })).status).toBe(201);
  });
});
