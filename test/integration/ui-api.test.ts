/**
 * The web UI's JSON API (issue 9) over the real store and index, through app.inject(): who may see
 * and delete what (the registry's own gate and policy), sessions (cookie, CSRF header, logout, expiry,
 * removed users), bad input answered with the spec's envelope, pages and search, the image details,
 * the storage page's data, the static files, and `ui.enabled: false` leaving no trace.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { openRegistry, type OpenRegistry } from '../../src/open.js';
import { BasicGate, BearerGate } from '../../src/auth/authenticator.js';
import { TokenIssuer } from '../../src/auth/tokens.js';
import { TokenService } from '../../src/auth/token-service.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { AccessPolicy, type AccessControlConfig } from '../../src/auth/policy.js';
import { PasswordCheck } from '../../src/auth/passwords.js';
import { LoginLimiter } from '../../src/auth/limiter.js';
import { SessionStore } from '../../src/auth/sessions.js';
import { createUi } from '../../src/ui/ui.js';
import { StorageStatsCache } from '../../src/registry/storage-stats.js';
import { bundleServices } from '../../src/bundles/services.js';
import type { Requester, Resp } from '../helpers/registry.js';
import { SHARED_TOOLS } from '../helpers/tools.js';
import { blob, imageManifest, indexOf, manifestOf, pushBlob, pushImage, pushManifest, sha256, OCI_MANIFEST } from '../helpers/oci.js';

const PUBLIC_DIR = fileURLToPath(new URL('../../dist/ui/public/', import.meta.url));
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

interface Ui {
  app: FastifyInstance;
  opened: OpenRegistry;
  htpasswd: string;
  sessions?: SessionStore;
  request: Requester;
  /** As a user over Basic (pushes go through /v2/ like any client's). */
  as(user: string): Requester;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function start(opts: { access?: AccessControlConfig; auth?: boolean; ui?: boolean; sessionTtlMs?: number; deleteEnabled?: boolean; token?: boolean } = {}): Promise<Ui> {
  const root = await mkdtemp(join(tmpdir(), 'berth-ui-'));
  const opened = await openRegistry({ root, fsync: false, registry: { deleteEnabled: opts.deleteEnabled ?? true } });
  const htpasswd = join(root, 'htpasswd');
  const users = ['admin', 'alice', 'bob'].map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}`);
  await writeFile(htpasswd, users.join('\n') + '\n');
  const auth = opts.auth ?? true;
  const limiter = new LoginLimiter({ perClient: 1000, perUser: 1000, windowMs: 60_000, failureDelayMs: 1 });
  const policy = new AccessPolicy(
    opts.access ?? {
      repositories: {
        'team-a/**': { policies: [{ users: ['alice'], actions: ['read', 'create', 'update', 'delete'] }], defaultPolicy: ['read'] },
        'team-b/**': { policies: [{ users: ['bob'], actions: ['read', 'create'] }] },
        'public/**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] },
      },
      adminPolicy: { users: ['admin'], actions: ['read', 'create', 'update', 'delete'] },
    },
  );
  const passwords = new PasswordCheck(new Htpasswd(htpasswd), limiter);
  const sessions = auth ? new SessionStore(opts.sessionTtlMs ?? 60_000, (u) => passwords.users.has(u)) : undefined;
  const ui =
    opts.ui === false
      ? undefined
      : createUi(opened.index, opened.registry, {
          ...(auth ? { passwords } : {}),
          storage: new StorageStatsCache(opened.blobs, opened.index, 0).get,
          gcSchedule: { enabled: true, interval: '24h', delay: '1h' },
          secureCookies: false,
          publicDir: PUBLIC_DIR,
        });
  const issuer = opts.token ? await TokenIssuer.open(join(root, 'token.key'), true, { service: 'berth-test', issuer: 'berth-test', expiresIn: 300, refreshExpiresIn: 3600 }) : undefined;
  const gate = issuer ? new BearerGate(issuer, undefined) : new BasicGate(passwords.users, 'berth-test', limiter);
  const app = await buildApp({
    registry: opened.registry,
    ...(auth ? { auth: { gate, policy }, sessions } : {}),
    ...(issuer ? { tokens: new TokenService(issuer, passwords.users, policy, limiter) } : {}),
    ...(ui ? { ui } : {}),
    bundles: bundleServices(opened, root),
  });
  const request: Requester = async (method, url, o = {}) => {
    const r = await app.inject({ method: method as 'GET', url, headers: o.headers, payload: o.body });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    return { status: r.statusCode, headers, body: r.rawPayload, json: () => JSON.parse(r.body) } as Resp;
  };
  const as = (user: string): Requester => (m, u, o = {}) => request(m, u, { ...o, headers: { ...o.headers, authorization: basic(user, `${user}-pw`) } });
  const handle = { app, opened, htpasswd, request, as, ...(sessions ? { sessions } : {}) };
  open.push({
    async close() {
      await app.close();
      await opened.close();
      await rm(root, { recursive: true, force: true });
    },
  });
  return handle;
}

function code(r: Resp): string {
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  return r.json<{ errors: { code: string }[] }>().errors[0]!.code;
}

async function login(ui: Ui, user: string, password = `${user}-pw`): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const r = await ui.request('POST', '/api/session', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
  expect(r.status, r.body.toString()).toBe(200);
  const setCookie = r.headers['set-cookie']!;
  return { cookie: setCookie.split(';')[0]!, csrf: r.json<{ csrf: string }>().csrf, setCookie };
}

describe('web UI API: permissions as the registry decides them', () => {
  it('lists only what the caller may read; anonymous only where anonymousPolicy reads', async () => {
    const ui = await start();
    await pushImage(ui.as('alice'), 'team-a/app', 'v1');
    await pushImage(ui.as('bob'), 'team-b/secret', 'v1');
    await pushImage(ui.as('admin'), 'public/tools', 'v1');

    const names = async (r: Requester) => (await r('GET', '/api/repositories')).json<{ items: { name: string }[] }>().items.map((i) => i.name);
    expect(await names(ui.as('admin'))).toEqual(['public/tools', 'team-a/app', 'team-b/secret']);
    expect(await names(ui.as('alice'))).toEqual(['public/tools', 'team-a/app']);
    expect(await names(ui.as('bob'))).toEqual(['public/tools', 'team-a/app', 'team-b/secret']);
    expect(await names(ui.request)).toEqual(['public/tools']);
    const projects = (await ui.as('alice')('GET', '/api/projects')).json<{ projects: { name: string; repositories: number; size: number }[] }>().projects;
    expect(projects.map((p) => p.name)).toEqual(['public', 'team-a']);
    expect(projects[1]!.size).toBe(200 + 2 * 2048); // the config and two layers, counted once
    await pushImage(ui.as('alice'), 'team-a/app2', 'v1'); // seen at once, not after a cache's lifetime
    const grown = (await ui.as('alice')('GET', '/api/projects')).json<{ projects: { name: string; repositories: number; size: number }[] }>().projects;
    expect(grown[1]).toEqual({ name: 'team-a', repositories: 2, size: 2 * (200 + 2 * 2048) });

    // details: read needed; anonymous gets 401 without a challenge (a browser would pop up a dialog)
    const denied = await ui.as('alice')('GET', '/api/image?repository=team-b/secret&reference=v1');
    expect(denied.status).toBe(403);
    expect(code(denied)).toBe('DENIED');
    const anon = await ui.request('GET', '/api/tags?repository=team-a/app');
    expect(anon.status).toBe(401);
    expect(code(anon)).toBe('UNAUTHORIZED');
    expect(anon.headers['www-authenticate']).toBeUndefined();
    expect((await ui.request('GET', '/api/tags?repository=public/tools')).status).toBe(200);

    // delete: shown as canDelete only with `delete`; refused without it, and nothing changes
    expect((await ui.as('bob')('GET', '/api/tags?repository=team-b/secret')).json<{ canDelete: boolean }>().canDelete).toBe(false);
    expect((await ui.as('alice')('GET', '/api/tags?repository=team-a/app')).json<{ canDelete: boolean }>().canDelete).toBe(true);
    const refused = await ui.as('bob')('DELETE', '/api/image?repository=team-b/secret&reference=v1');
    expect(refused.status).toBe(403);
    expect((await ui.as('bob')('GET', '/v2/team-b/secret/manifests/v1')).status).toBe(200);
    const ok = await ui.as('alice')('DELETE', '/api/image?repository=team-a/app&reference=v1');
    expect(ok.status).toBe(202);
    expect((await ui.as('alice')('GET', '/v2/team-a/app/manifests/v1')).status).toBe(404);
  });

  it('in token mode a bearer token is held to its grants, as on /v2/; the UI login works the same', async () => {
    const ui = await start({ token: true });
    const token = async (user: string, scope: string) => {
      const r = await ui.request('GET', `/auth/token?service=berth-test&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic(user, `${user}-pw`) } });
      expect(r.status).toBe(200);
      return { authorization: `Bearer ${r.json<{ token: string }>().token}` };
    };
    const all = await token('admin', 'repository:team-a/app:*');
    const withAll: Requester = (m, u, o = {}) => ui.request(m, u, { ...o, headers: { ...o.headers, ...all } });
    await pushImage(withAll, 'team-a/app', 'v1');
    await pushImage(withAll, 'team-a/app', 'v2');
    const pullOnly = await token('admin', 'repository:team-a/app:pull');
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: pullOnly })).json()).toMatchObject({ total: 2, canDelete: false });
    expect((await ui.request('DELETE', '/api/image?repository=team-a/app&reference=v1', { headers: pullOnly })).status).toBe(403);
    // a token for another repository reads nothing here
    const other = await token('admin', 'repository:team-b/x:pull');
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: other })).status).toBe(403);
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: all })).json()).toMatchObject({ canDelete: true });
    const { cookie, csrf } = await login(ui, 'admin');
    expect((await ui.request('DELETE', '/api/image?repository=team-a/app&reference=v1', { headers: { cookie, 'x-berth-csrf': csrf } })).status).toBe(202);
    expect((await ui.request('GET', '/v2/team-a/app/tags/list', { headers: all })).json()).toEqual({ name: 'team-a/app', tags: ['v2'] });
  });

  it('without anonymousPolicy read anywhere, anonymous browsing is refused with 401', async () => {
    const ui = await start({ access: { repositories: { '**': { defaultPolicy: ['read'] } } } });
    const r = await ui.request('GET', '/api/projects');
    expect(r.status).toBe(401);
    expect(code(r)).toBe('UNAUTHORIZED');
    expect((await ui.request('GET', '/api/session')).json()).toMatchObject({ auth: true, user: null, admin: false, anonymousRead: false });
    expect((await ui.request('GET', '/api/storage')).status).toBe(401);
  });

  it('with auth off, everyone browses and deletes, and there is nothing to log in to', async () => {
    const ui = await start({ auth: false });
    const { manifest } = await pushImage(ui.request, 'a/b', 'v1');
    await pushManifest(ui.request, 'a/b', 'same', manifest);
    await pushImage(ui.request, 'a/b', 'other');
    expect((await ui.request('GET', '/api/session')).json()).toMatchObject({ auth: false, admin: true, deleteEnabled: true });
    expect((await ui.request('GET', '/api/tags?repository=a/b')).json()).toMatchObject({ canDelete: true, total: 3 });
    // a manifest deleted by digest takes every tag on it with it (as DELETE /v2/.../manifests/<digest>)
    expect((await ui.request('DELETE', `/api/image?repository=a/b&reference=${manifest.digest}`)).status).toBe(202);
    expect((await ui.request('GET', '/v2/a/b/tags/list')).json()).toEqual({ name: 'a/b', tags: ['other'] });
    expect((await ui.request('GET', `/v2/a/b/manifests/${manifest.digest}`)).status).toBe(404);
    const r = await ui.request('POST', '/api/session', { headers: { 'content-type': 'application/json' }, body: '{"username":"x","password":"y"}' });
    expect(r.status).toBe(405);
    expect(code(r)).toBe('UNSUPPORTED');
  });

  it('storage.delete.enabled false: nobody is offered a delete, and a delete is refused', async () => {
    const ui = await start({ deleteEnabled: false });
    await pushImage(ui.as('admin'), 'team-a/app', 'v1');
    expect((await ui.as('admin')('GET', '/api/tags?repository=team-a/app')).json<{ canDelete: boolean }>().canDelete).toBe(false);
    const r = await ui.as('admin')('DELETE', '/api/image?repository=team-a/app&reference=v1');
    expect(r.status).toBe(405);
    expect(code(r)).toBe('UNSUPPORTED');
  });
});

describe('web UI API: sessions', () => {
  it('logs in with a cookie that is HttpOnly and SameSite=Strict, needs the CSRF header to change anything, and ends on logout', async () => {
    const ui = await start();
    await pushImage(ui.as('admin'), 'team-a/app', 'v1');
    await pushImage(ui.as('admin'), 'team-a/app', 'v2');
    const wrong = await ui.request('POST', '/api/session', { headers: { 'content-type': 'application/json' }, body: '{"username":"alice","password":"nope"}' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.headers['www-authenticate']).toBeUndefined();

    const { cookie, csrf, setCookie } = await login(ui, 'alice');
    expect(setCookie).toMatch(/^berth_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60$/);
    const me = (await ui.request('GET', '/api/session', { headers: { cookie } })).json();
    expect(me).toMatchObject({ auth: true, user: 'alice', admin: false, csrf });
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: { cookie } })).json()).toMatchObject({ total: 2, canDelete: true });

    const noCsrf = await ui.request('DELETE', '/api/image?repository=team-a/app&reference=v1', { headers: { cookie } });
    expect(noCsrf.status).toBe(403);
    expect(code(noCsrf)).toBe('DENIED');
    const badCsrf = await ui.request('DELETE', '/api/image?repository=team-a/app&reference=v1', { headers: { cookie, 'x-berth-csrf': `${csrf.slice(1)}x` } });
    expect(badCsrf.status).toBe(403);
    expect((await ui.as('alice')('GET', '/v2/team-a/app/manifests/v1')).status).toBe(200);
    const del = await ui.request('DELETE', '/api/image?repository=team-a/app&reference=v1', { headers: { cookie, 'x-berth-csrf': csrf } });
    expect(del.status).toBe(202);
    expect((await ui.as('alice')('GET', '/v2/team-a/app/manifests/v1')).status).toBe(404);
    expect((await ui.as('alice')('GET', '/v2/team-a/app/manifests/v2')).status).toBe(200);

    const out = await ui.request('DELETE', '/api/session', { headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']).toMatch(/^berth_session=; .*Max-Age=0/);
    // the old cookie is now anonymous: team-a is not readable anonymously
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: { cookie } })).status).toBe(401);
  });

  it('a session ends when it expires and when its user is removed from htpasswd', async () => {
    const ui = await start({ sessionTtlMs: 400 });
    await pushImage(ui.as('admin'), 'team-a/app', 'v1');
    const a = await login(ui, 'alice');
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: { cookie: a.cookie } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect((await ui.request('GET', '/api/tags?repository=team-a/app', { headers: { cookie: a.cookie } })).status).toBe(401);

    const b = await login(ui, 'bob');
    expect((await ui.request('GET', '/api/session', { headers: { cookie: b.cookie } })).json()).toMatchObject({ user: 'bob' });
    await writeFile(ui.htpasswd, `admin:${bcrypt.hashSync('admin-pw', 4)}\n`);
    await new Promise((r) => setTimeout(r, 1100)); // htpasswd is re-read at most once a second
    expect((await ui.request('GET', '/api/session', { headers: { cookie: b.cookie } })).json()).toMatchObject({ user: null });
  });

  it('the bundle upload takes the session: administrators only, with the CSRF header', async () => {
    const ui = await start();
    const dir = await mkdtemp(join(tmpdir(), 'berth-ui-bundle-'));
    execFileSync('bash', [join(SHARED_TOOLS, 'mkoci.sh'), 'image', join(dir, 'img'), '16']);
    const index = JSON.parse(await readFile(join(dir, 'img', 'index.json'), 'utf8'));
    index.manifests[0].annotations = { 'org.opencontainers.image.ref.name': 'quay.io/edge/bundled:v3' };
    await writeFile(join(dir, 'img', 'index.json'), JSON.stringify(index));
    execFileSync('tar', ['-C', join(dir, 'img'), '-cf', join(dir, 'bundle.tar'), '.']);
    const boundary = 'berthtestboundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="bundle"; filename="bundle.tar"\r\ncontent-type: application/x-tar\r\n\r\n`),
      await readFile(join(dir, 'bundle.tar')),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const post = (headers: Record<string, string>) => ui.request('POST', '/api/bundles', { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers }, body });
    const alice = await login(ui, 'alice');
    const r1 = await post({ cookie: alice.cookie, 'x-berth-csrf': alice.csrf });
    expect(r1.status).toBe(403);
    expect(code(r1)).toBe('DENIED');
    const admin = await login(ui, 'admin');
    expect((await post({ cookie: admin.cookie })).status).toBe(403); // no CSRF header
    expect((await ui.as('admin')('GET', '/v2/quay.io/edge/bundled/manifests/v3')).status).toBe(404);
    const ok = await post({ cookie: admin.cookie, 'x-berth-csrf': admin.csrf });
    expect(ok.status, ok.body.toString()).toBe(201);
    expect(ok.json<{ images: unknown[] }>().images).toEqual([{ repository: 'quay.io/edge/bundled', tag: 'v3', digest: index.manifests[0].digest }]);
    expect((await ui.as('admin')('GET', '/v2/quay.io/edge/bundled/manifests/v3')).status).toBe(200);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('web UI API: bad input gets the envelope and changes nothing', () => {
  it('answers malformed names, references, pages and login bodies', async () => {
    const ui = await start();
    await pushImage(ui.as('admin'), 'team-a/app', 'v1');
    const admin = ui.as('admin');
    const cases: [string, string, number, string][] = [
      ['GET', '/api/tags?repository=Team-A/../x', 400, 'NAME_INVALID'],
      ['GET', '/api/tags?repository=team-a/nope', 404, 'NAME_UNKNOWN'],
      ['GET', '/api/image?repository=team-a/app&reference=../../etc', 404, 'MANIFEST_UNKNOWN'],
      ['GET', '/api/image?repository=team-a/app&reference=sha256:abc', 400, 'DIGEST_INVALID'],
      ['GET', `/api/image?repository=team-a/app&reference=sha256:${'0'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN'],
      ['GET', '/api/image?repository=team-a/app', 400, 'UNSUPPORTED'],
      ['GET', '/api/repositories?limit=100000', 400, 'UNSUPPORTED'],
      ['GET', '/api/repositories?offset=-1', 400, 'UNSUPPORTED'],
      ['DELETE', '/api/image?repository=team-a/app&reference=nope', 404, 'MANIFEST_UNKNOWN'],
    ];
    for (const [method, url, status, want] of cases) {
      const r = await admin(method, url);
      expect([url, r.status, code(r)]).toEqual([url, status, want]);
    }
    const big = await ui.request('POST', '/api/session', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'a', password: 'x'.repeat(10_000) }) });
    expect(big.status).toBe(413);
    expect(code(big)).toBe('SIZE_INVALID');
    const notJson = await ui.request('POST', '/api/session', { headers: { 'content-type': 'application/json' }, body: '{"username":' });
    expect(notJson.status).toBe(400);
    const missing = await ui.request('POST', '/api/session', { headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' });
    expect(missing.status).toBe(400);
    expect((await admin('GET', '/v2/team-a/app/tags/list')).json()).toEqual({ name: 'team-a/app', tags: ['v1'] });
  });
});

describe('web UI API: what the pages show', () => {
  it('pages and searches repositories, per project and across all', async () => {
    const ui = await start({ auth: false });
    for (let i = 0; i < 120; i++) await ui.opened.index.linkBlob(`spectro-images/app-${String(i).padStart(3, '0')}`, sha256(`b${i}`), 10 + i);
    await ui.opened.index.linkBlob('spectro-imagesx/other', sha256('o'), 1); // sorts next to the project: not in it
    await ui.opened.index.linkBlob('top', sha256('t'), 1);
    const page = (q: string) => ui.request('GET', `/api/repositories?${q}`).then((r) => r.json<{ total: number; items: { name: string; size: number }[] }>());
    const third = await page('project=spectro-images&offset=100&limit=50');
    expect(third.total).toBe(120);
    expect(third.items.map((i) => i.name)).toEqual(Array.from({ length: 20 }, (_, i) => `spectro-images/app-${100 + i}`));
    expect(third.items[0]!.size).toBe(110);
    expect((await page('q=app-11')).items.map((i) => i.name)).toEqual(Array.from({ length: 10 }, (_, i) => `spectro-images/app-${110 + i}`));
    expect((await page('project=_')).items.map((i) => i.name)).toEqual(['top']);
    expect((await page('q=APP-005')).items.map((i) => i.name)).toEqual(['spectro-images/app-005']);
    expect((await page('')).total).toBe(122);
    const projects = (await ui.request('GET', '/api/projects')).json<{ projects: { name: string; repositories: number }[] }>().projects;
    expect(projects).toEqual([
      { name: 'spectro-images', repositories: 120, size: Array.from({ length: 120 }, (_, i) => 10 + i).reduce((a, b) => a + b) },
      { name: 'spectro-imagesx', repositories: 1, size: 1 },
      { name: '', repositories: 1, size: 1 },
    ]);
  });

  it('at 10,000 repositories: pages, search and projects stay range scans (figures printed, not asserted)', async () => {
    const ui = await start({ auth: false });
    const N = 10_000;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const repo = `project-${i % 20}/app-${String(i).padStart(5, '0')}`;
      for (let j = 0; j < 5; j++) writes.push(ui.opened.index.linkBlob(repo, sha256(`${i}/${j}`), 1000 + j));
      if (writes.length >= 5000) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const timed = async (url: string) => {
      const ms: number[] = [];
      let body: { total?: number; items?: { name: string }[]; projects?: unknown[] } = {};
      for (let k = 0; k < 5; k++) {
        const t = performance.now();
        const r = await ui.request('GET', url);
        ms.push(performance.now() - t);
        expect(r.status).toBe(200);
        body = r.json();
      }
      ms.sort((a, b) => a - b);
      console.log(`ui api at ${N} repositories: ${url} median ${ms[2]!.toFixed(1)} ms (min ${ms[0]!.toFixed(1)}, max ${ms[4]!.toFixed(1)})`);
      return body;
    };
    expect((await timed('/api/repositories?offset=0&limit=50')).total).toBe(N);
    const last = await timed('/api/repositories?offset=9950&limit=50');
    expect(last.items!.at(-1)!.name).toBe('project-9/app-09989'); // i % 20 = 9, the last such i
    const inProject = await timed('/api/repositories?project=project-7&offset=450&limit=50');
    expect(inProject.total).toBe(500);
    expect(inProject.items).toHaveLength(50);
    expect((await timed('/api/repositories?q=app-0999')).total).toBe(10);
    expect((await timed('/api/projects')).projects).toHaveLength(20);
  });

  it('shows an image: layers, config, history, tags, platforms of an index, referrers as a tree, pull commands', async () => {
    const ui = await start({ auth: false });
    const config = {
      created: '2026-11-01T10:00:00Z',
      architecture: 'arm64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin', 'MODE=edge'], Entrypoint: ['/app'], Cmd: ['--serve'], Labels: { 'org.opencontainers.image.source': 'https://example.com/app' }, WorkingDir: '/srv', ExposedPorts: { '8080/tcp': {} } },
      history: [{ created: '2026-11-01T09:00:00Z', created_by: 'COPY app /app' }, { created_by: 'ENV MODE=edge', empty_layer: true }],
      rootfs: { type: 'layers', diff_ids: [] },
    };
    const cfg = { bytes: Buffer.from(JSON.stringify(config)), digest: sha256(JSON.stringify(config)) };
    const layers = [blob(3000), blob(1000)];
    for (const b of [cfg, ...layers]) await pushBlob(ui.request, 'edge/app', b);
    const image = imageManifest({ ...cfg, mediaType: 'application/vnd.oci.image.config.v1+json' } as never, layers);
    await pushManifest(ui.request, 'edge/app', 'v1', image);
    await pushManifest(ui.request, 'edge/app', 'stable', image);
    // an SBOM referring to the image, and a signature referring to the SBOM
    const empty = { bytes: Buffer.from('{}'), digest: sha256('{}') };
    await pushBlob(ui.request, 'edge/app', empty);
    const sbomLayer = blob(500);
    await pushBlob(ui.request, 'edge/app', sbomLayer);
    const referrer = (subject: { digest: string; bytes: Buffer }, artifactType: string, layer: { digest: string; bytes: Buffer }) =>
      manifestOf(
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty.digest, size: 2 },
          layers: [{ mediaType: 'application/octet-stream', digest: layer.digest, size: layer.bytes.length }],
          subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
        },
        OCI_MANIFEST,
      );
    const sbom = referrer(image, 'application/spdx+json', sbomLayer);
    await pushManifest(ui.request, 'edge/app', sbom.digest, sbom);
    const sig = referrer(sbom, 'application/vnd.dev.cosign.artifact.sig.v1+json', sbomLayer);
    await pushManifest(ui.request, 'edge/app', sig.digest, sig);

    const r = await ui.request('GET', '/api/image?repository=edge/app&reference=v1', { headers: { host: '10.0.0.5:30003' } });
    expect(r.status, r.body.toString()).toBe(200);
    const v = r.json<Record<string, unknown>>();
    expect(v).toMatchObject({
      digest: image.digest,
      kind: 'image',
      tags: ['stable', 'v1'],
      size: image.bytes.length + cfg.bytes.length + 4000,
      layers: layers.map((l) => ({ digest: l.digest, size: l.bytes.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
      config: {
        digest: cfg.digest,
        created: '2026-11-01T10:00:00Z',
        os: 'linux',
        architecture: 'arm64',
        env: ['PATH=/usr/bin', 'MODE=edge'],
        entrypoint: ['/app'],
        cmd: ['--serve'],
        labels: { 'org.opencontainers.image.source': 'https://example.com/app' },
        workingDir: '/srv',
        exposedPorts: ['8080/tcp'],
        history: [{ created: '2026-11-01T09:00:00Z', createdBy: 'COPY app /app' }, { createdBy: 'ENV MODE=edge', emptyLayer: true }],
      },
      referrers: [
        { digest: sbom.digest, artifactType: 'application/spdx+json', referrers: [{ digest: sig.digest, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', referrers: [] }] },
      ],
      pull: { byTag: '10.0.0.5:30003/edge/app:v1', byDigest: `10.0.0.5:30003/edge/app@${image.digest}` },
    });
    const byDigest = (await ui.request('GET', `/api/image?repository=edge/app&reference=${image.digest}`, { headers: { host: 'h:1' } })).json<{ pull: object }>();
    expect(byDigest.pull).toEqual({ byTag: 'h:1/edge/app:stable', byDigest: `h:1/edge/app@${image.digest}` });

    // an index: platforms, children stored here or not
    const amd = await pushImage(ui.request, 'edge/multi', 'amd');
    const arm = await pushImage(ui.request, 'edge/multi', 'arm');
    const missing = imageManifest(blob(10), [blob(10)]); // named by the index, never pushed (a mirror's lazy child)
    const idx = indexOf([amd.manifest, arm.manifest]);
    await pushManifest(ui.request, 'edge/multi', 'v1', idx);
    const iv = (await ui.request('GET', '/api/image?repository=edge/multi&reference=v1')).json<{ kind: string; manifests: unknown[]; platforms: string[]; size: number }>();
    expect(iv.kind).toBe('index');
    expect(iv.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(iv.manifests).toEqual([
      { platform: 'linux/amd64', digest: amd.manifest.digest, mediaType: OCI_MANIFEST, size: amd.manifest.bytes.length, present: true },
      { platform: 'linux/arm64', digest: arm.manifest.digest, mediaType: OCI_MANIFEST, size: arm.manifest.bytes.length, present: true },
    ]);
    const imageSize = (m: typeof amd) => m.manifest.bytes.length + m.config.bytes.length + m.layers.reduce((n, l) => n + l.bytes.length, 0);
    expect(iv.size).toBe(idx.bytes.length + imageSize(amd) + imageSize(arm));
    // a child the index names but this repository does not hold (mirrored content arrives lazily)
    const lazy = indexOf([amd.manifest, missing]);
    const put = await ui.opened.registry.manifests.put('edge/multi', 'lazy', lazy.mediaType, lazy.bytes, { mirrored: true });
    expect(put.digest).toBe(lazy.digest);
    const lv = (await ui.request('GET', '/api/image?repository=edge/multi&reference=lazy')).json<{ manifests: { present: boolean }[] }>();
    expect(lv.manifests.map((m) => m.present)).toEqual([true, false]);
    const tags = (await ui.request('GET', '/api/tags?repository=edge/multi')).json<{ items: { tag: string; platforms?: string[] }[] }>();
    expect(tags.items.map((t) => [t.tag, t.platforms])).toEqual([['amd', undefined], ['arm', undefined], ['lazy', ['linux/amd64', 'linux/arm64']], ['v1', ['linux/amd64', 'linux/arm64']]]);
  });

  it('reports storage use and the last garbage collection', async () => {
    const ui = await start({ auth: false });
    await pushImage(ui.request, 'a/b', 'v1');
    const before = (await ui.request('GET', '/api/storage')).json<{ storage: { blobs: number; bytes: number; repositories: number }; gc: { last: unknown; running: boolean } }>();
    expect(before.storage).toMatchObject({ blobs: 3, bytes: 200 + 2 * 2048, repositories: 1 });
    expect(before.gc).toMatchObject({ last: null, running: false, enabled: true, interval: '24h', delay: '1h' });
    await ui.request('DELETE', '/v2/a/b/manifests/v1');
    await ui.opened.registry.gc.run({ delayMs: 0, dryRun: false });
    const after = (await ui.request('GET', '/api/storage')).json<{ storage: { blobs: number }; gc: { last: { blobsDeleted: number; bytesReclaimed: number; startedAt: number }; totals: { runs: number } } }>();
    expect(after.gc.last).toMatchObject({ blobsDeleted: 3, bytesReclaimed: 200 + 2 * 2048 });
    expect(after.gc.last.startedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(after.gc.totals.runs).toBe(1);
    expect(after.storage.blobs).toBe(0);
  });
});

describe('web UI: its files, and switched off', () => {
  it('serves the page and its scripts from the package with their types and a strict CSP', async () => {
    const ui = await start({ auth: false });
    const page = await ui.request('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body.toString()).toContain('<script type="module" src="/ui/app.js">');
    const js = await ui.request('GET', '/ui/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await ui.request('GET', '/ui/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await ui.request('GET', '/ui/favicon.svg')).headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    const again = await ui.request('GET', '/ui/app.js', { headers: { 'if-none-match': js.headers.etag! } });
    expect(again.status).toBe(304);
    for (const bad of ['/ui/..%2fpackage.json', '/ui/nope.js', '/ui/%2e%2e%2f%2e%2e%2fcli%2fmain.js']) expect((await ui.request('GET', bad)).status).toBe(404);
    // nothing outside this origin is referenced by the page or its scripts
    for (const f of ['/', '/ui/app.js', '/ui/browse.js', '/ui/image.js', '/ui/admin.js', '/ui/style.css']) {
      expect((await ui.request('GET', f)).body.toString()).not.toMatch(/https?:\/\/(?!example)/);
    }
  });

  it('ui.enabled false: no page at / and no /api/ UI endpoints; the registry is unchanged', async () => {
    const ui = await start({ ui: false });
    for (const path of ['/', '/ui/app.js', '/api/session', '/api/projects', '/api/repositories']) {
      const r = await ui.request('GET', path);
      expect([path, r.status]).toEqual([path, 404]);
    }
    expect((await ui.as('admin')('GET', '/v2/')).status).toBe(200);
  });
});
