/**
 * The hot path (src/http/hot-path.ts): cached manifest GET/HEAD answered before Fastify, through a
 * real socket. Its answers must be Fastify's route's to the byte (app.inject() always runs Fastify's
 * path, so it is the reference), and whatever it cannot answer the same way must reach Fastify.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRegistry, type Requester, type Resp, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, imageManifest, OCI_MANIFEST, pushBlob, pushImage, pushManifest } from '../helpers/oci.js';
import { spawnBerth } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { BasicGate } from '../../src/auth/authenticator.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { AccessPolicy } from '../../src/auth/policy.js';

/** What a response says, less what the connection adds (Date, Connection, Keep-Alive). */
function answer(r: Resp) {
  const { date: _d, connection: _c, 'keep-alive': _k, ...headers } = r.headers;
  return { status: r.status, headers, body: r.body.toString('base64') };
}

async function viaFastify(reg: TestRegistry, method: string, path: string): Promise<Resp> {
  const r = await reg.app.inject({ method: method as 'GET', url: path, headers: { accept: OCI_MANIFEST } });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = String(v);
  return { status: r.statusCode, headers, body: r.rawPayload, json: () => r.json() };
}

describe('hot path for cached manifest pulls', () => {
  let reg: TestRegistry | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await reg?.close();
    reg = undefined;
  });

  for (const hot of [true, false]) {
    it(`${hot ? 'answers' : 'with hotPath: false, Fastify answers'} cached GET and HEAD by tag and digest exactly as Fastify's route does`, async () => {
      reg = await startRegistry({ listen: true, hotPath: hot });
      const { manifest } = await pushImage(reg.request, 'hot/app', 'v1');
      const paths = ['/v2/hot/app/manifests/v1', `/v2/hot/app/manifests/${manifest.digest}`];
      for (const p of paths) await reg.request('GET', p); // a miss fills the cache
      const get = vi.spyOn(reg.opened.registry.manifests, 'get'); // Fastify's route reads through get()
      for (const p of paths) {
        for (const method of ['GET', 'HEAD']) {
          const r = await reg.request(method, p);
          expect(answer(r)).toEqual(answer(await viaFastify(reg, method, p)));
          expect(r.status).toBe(200);
          if (method === 'GET') expect(r.body.equals(manifest.bytes)).toBe(true);
          expect(r.headers['docker-content-digest']).toBe(manifest.digest);
          expect(r.headers['docker-distribution-api-version']).toBe('registry/2.0');
        }
      }
      // four requests over the socket, four through inject (always Fastify)
      expect(get).toHaveBeenCalledTimes(hot ? 4 : 8);
    });
  }

  it('leaves to Fastify what it cannot answer the same way, and never serves a moved or deleted manifest', async () => {
    reg = await startRegistry({ listen: true });
    const { manifest, config } = await pushImage(reg.request, 'hot/edge', 'v1');
    await reg.request('GET', '/v2/hot/edge/manifests/v1');
    const get = vi.spyOn(reg.opened.registry.manifests, 'get');
    // a query or a percent-escape: Fastify's path, same answer
    expect((await reg.request('GET', '/v2/hot/edge/manifests/v1?x=1')).status).toBe(200);
    expect((await reg.request('GET', `/v2/hot/edge/manifests/${manifest.digest.replace(':', '%3A')}`)).status).toBe(200);
    expect(get).toHaveBeenCalledTimes(2);
    // unknown references and names get the spec's errors
    const unknown = await reg.request('GET', '/v2/hot/edge/manifests/nope');
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('MANIFEST_UNKNOWN');
    const badName = await reg.request('GET', '/v2/Hot/Edge/manifests/v1');
    expect(badName.status).toBe(400);
    expect(errorCode(badName)).toBe('NAME_INVALID');
    // a tag moved: the new manifest at once
    const other = imageManifest(config, [], { annotations: { moved: 'yes' } });
    await pushManifest(reg.request, 'hot/edge', 'v1', other);
    const moved = await reg.request('GET', '/v2/hot/edge/manifests/v1');
    expect(moved.headers['docker-content-digest']).toBe(other.digest);
    await reg.request('GET', '/v2/hot/edge/manifests/v1'); // cached again
    // deleted: gone at once, by tag and by digest
    expect((await reg.request('DELETE', `/v2/hot/edge/manifests/${other.digest}`)).status).toBe(202);
    expect((await reg.request('GET', '/v2/hot/edge/manifests/v1')).status).toBe(404);
    expect((await reg.request('HEAD', `/v2/hot/edge/manifests/${other.digest}`)).status).toBe(404);
  });

  it('is off when auth is on: a cached manifest still needs credentials', async () => {
    const dir = await testDir('berth-hot-auth-');
    const file = join(dir, 'htpasswd');
    await writeFile(file, `root:${bcrypt.hashSync('root-pw', 4)}\n`);
    reg = await startRegistry({ listen: true, auth: { gate: new BasicGate(new Htpasswd(file), 'berth-test'), policy: new AccessPolicy({ repositories: {}, adminPolicy: { users: ['root'], actions: ['read', 'create', 'update', 'delete'] } }) } });
    const auth = { authorization: `Basic ${Buffer.from('root:root-pw').toString('base64')}` };
    const withAuth: Requester = (method, path, o = {}) => reg!.request(method, path, { ...o, headers: { ...auth, ...o.headers } });
    const config = blob(60);
    await pushBlob(withAuth, 'hot/private', config);
    await pushManifest(withAuth, 'hot/private', 'v1', imageManifest(config, []));
    expect((await withAuth('GET', '/v2/hot/private/manifests/v1')).status).toBe(200);
    expect((await withAuth('GET', '/v2/hot/private/manifests/v1')).status).toBe(200); // cached by now
    const anonymous = await reg.request('GET', '/v2/hot/private/manifests/v1');
    expect(anonymous.status).toBe(401);
    expect(errorCode(anonymous)).toBe('UNAUTHORIZED');
  });
});

describe('hot path in the berth process', () => {
  it('writes the access line Fastify would, counts the request in /metrics and keeps request ids unique', async () => {
    const berth = await spawnBerth();
    let metrics = '';
    try {
      const reqOf: Requester = (method, path, o = {}) =>
        fetch(berth.url + path, { method, ...o }).then(async (r) => {
          const headers: Record<string, string> = {};
          r.headers.forEach((v, k) => (headers[k] = v));
          const body = Buffer.from(await r.arrayBuffer());
          return { status: r.status, headers, body, json: () => JSON.parse(body.toString()) };
        });
      await pushImage(reqOf, 'hot/logged', 'v1');
      for (let i = 0; i < 3; i++) expect((await reqOf('GET', '/v2/hot/logged/manifests/v1')).status).toBe(200);
      expect((await reqOf('HEAD', '/v2/hot/logged/manifests/v1')).status).toBe(200);
      metrics = (await reqOf('GET', '/metrics')).body.toString();
      await berth.logMatching((l) => l.split('"method":"HEAD"').length > 1);
    } finally {
      await berth.stop();
    }
    const lines = berth.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const pulls = lines.filter((l) => l.msg === 'request' && l.url === '/v2/hot/logged/manifests/v1' && l.method !== 'PUT');
    expect(pulls).toHaveLength(4);
    const shape = (l: Record<string, unknown>) => Object.keys(l).map((k) => (['time', 'reqId', 'ms'].includes(k) ? k : `${k}=${JSON.stringify(l[k])}`));
    // the first GET was a miss (Fastify's path), the others hits: the same fields in the same order
    expect(shape(pulls[1]!)).toEqual(shape(pulls[0]!));
    expect(shape(pulls[2]!)).toEqual(shape(pulls[0]!));
    expect(pulls[0]).toMatchObject({ route: 'manifest', repository: 'hot/logged', status: 200 });
    expect(pulls[3]).toMatchObject({ method: 'HEAD', route: 'manifest', status: 200 });
    expect(pulls[3]!.bytesOut).toBeUndefined();
    const ids = lines.filter((l) => l.msg === 'request').map((l) => l.reqId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(metrics).toMatch(/berth_http_requests_total\{route="manifest",method="GET",status="200"\} 3\n/);
    expect(metrics).toMatch(/berth_http_requests_total\{route="manifest",method="HEAD",status="200"\} 1\n/);
  });
});
