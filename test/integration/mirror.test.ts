/**
 * The pull-through mirror (issue 7) between real servers on 127.0.0.1: a spawned `berth serve`
 * mirrors an upstream berth in token mode (the bearer flow), directly as docker.io and through a
 * TCP proxy (which can throttle, black-hole or refuse) as quay.io and 10.10.254.254:8000.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as undiciRequest, Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { OCI_INDEX, OCI_MANIFEST, pushImage, sha256 } from '../helpers/oci.js';
import { startRegistry } from '../helpers/registry.js';

const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;

async function get(url: string, headers: Record<string, string> = {}) {
  const started = Date.now();
  const r = await fetch(url, { headers: { accept: ACCEPT, ...headers } });
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body, ms: Date.now() - started, json: () => JSON.parse(body.toString()) };
}

async function mirrorConfig(dir: string, name: string, upstream: string, proxied: string, extra = ''): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const creds = `username: ${UPSTREAM_USER}, password: ${UPSTREAM_PASSWORD}`;
  await writeFile(
    file,
    `log: {level: info}
mirror:
  prefix: spectro-images
  tagTTL: 0s
  connectTimeout: 1s
  timeout: 2s
  retryAfter: 4s
  upstreams:
    - {host: docker.io, url: "${upstream}", ${creds}}
    - {host: quay.io, url: "${proxied}", ${creds}}
    - {host: "10.10.254.254:8000", url: "${proxied}", ${creds}}
${extra}`,
  );
  return file;
}

describe('pull-through mirror', () => {
  let up: Upstream;
  let proxy: Proxy;
  let mirror: Berth;
  let dir: string;
  let alpine: Awaited<ReturnType<typeof pushImage>>;
  let core: Awaited<ReturnType<typeof pushImage>>;

  beforeAll(async () => {
    up = await startUpstream();
    proxy = await startProxy({ host: '127.0.0.1', port: Number(new URL(up.url).port) });
    alpine = await pushImage(await up.as('library/alpine'), 'library/alpine', '3.20');
    core = await pushImage(await up.as('kairos/core'), 'kairos/core', 'v1', { layers: 3 });
    dir = await testDirPersistent('berth-mirror-');
    mirror = await spawnBerth({ args: ['--config', await mirrorConfig(dir, 'mirror', up.url, proxy.url)] });
  });
  afterAll(async () => {
    await mirror?.stop();
    await proxy?.close();
    await up?.close();
  });

  it('serves docker.io names in containerd mirror mode (?ns=), library/ added, byte-identical', async () => {
    for (const name of ['library/alpine', 'alpine']) {
      const m = await get(`${mirror.url}/v2/${name}/manifests/3.20?ns=docker.io`);
      expect(m.status, m.body.toString()).toBe(200);
      expect(m.body.equals(alpine.manifest.bytes)).toBe(true);
      expect(m.headers.get('docker-content-digest')).toBe(alpine.manifest.digest);
      expect(m.headers.get('content-type')).toBe(OCI_MANIFEST);
    }
    for (const b of [alpine.config, ...alpine.layers]) {
      const r = await get(`${mirror.url}/v2/library/alpine/blobs/${b.digest}?ns=docker.io`);
      expect(r.status).toBe(200);
      expect(sha256(r.body)).toBe(b.digest);
    }
    // stored under <prefix>/<host>/<repo>, where a pull by that path finds it too
    const tags = await get(`${mirror.url}/v2/spectro-images/docker.io/library/alpine/tags/list`);
    expect(tags.json()).toEqual({ name: 'spectro-images/docker.io/library/alpine', tags: ['3.20'] });
    expect((await get(`${mirror.url}/v2/_catalog`)).json().repositories).toContain('spectro-images/docker.io/library/alpine');
    // a digest it never saw upstream: the upstream's answer, as the spec's error
    const missing = await get(`${mirror.url}/v2/library/alpine/manifests/sha256:${'0'.repeat(64)}?ns=docker.io`);
    expect(missing.status).toBe(404);
    expect(missing.json().errors[0].code).toBe('MANIFEST_UNKNOWN');
    expect(mirror.log()).not.toContain(UPSTREAM_PASSWORD);
  });

  it('serves path mode (<prefix>/<host>/<repo>), hosts with a port as host_port', async () => {
    for (const host of ['quay.io', '10.10.254.254_8000']) {
      const m = await get(`${mirror.url}/v2/spectro-images/${host}/kairos/core/manifests/v1`);
      expect(m.status, m.body.toString()).toBe(200);
      expect(m.body.equals(core.manifest.bytes)).toBe(true);
      for (const b of [core.config, ...core.layers]) {
        const r = await get(`${mirror.url}/v2/spectro-images/${host}/kairos/core/blobs/${b.digest}`);
        expect(r.status).toBe(200);
        expect(sha256(r.body)).toBe(b.digest);
      }
    }
    // HEAD of a blob it has not fetched: the upstream's size, nothing stored
    const extra = await pushImage(await up.as('kairos/other'), 'kairos/other', 'v9');
    const h = await fetch(`${mirror.url}/v2/spectro-images/quay.io/kairos/other/blobs/${extra.layers[0]!.digest}`, { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers.get('content-length')).toBe(String(extra.layers[0]!.bytes.length));
  });

  it('keeps local pushes working beside the mirror', async () => {
    const request = async (method: string, path: string, o: { headers?: Record<string, string>; body?: Buffer | string } = {}) => {
      const r = await fetch(mirror.url + path, { method, headers: o.headers, body: o.body });
      const body = Buffer.from(await r.arrayBuffer());
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => (headers[k] = v));
      return { status: r.status, headers, body, json: <T>() => JSON.parse(body.toString()) as T };
    };
    const img = await pushImage(request, 'team/app', '1.0');
    const m = await get(`${mirror.url}/v2/team/app/manifests/1.0`);
    expect(m.body.equals(img.manifest.bytes)).toBe(true);
  });

  it('serves cached tags at once when the upstream black-holes, and recovers when it returns', async () => {
    const before = proxy.requests.length;
    proxy.mode = 'blackhole';
    try {
      const path = `${mirror.url}/v2/spectro-images/quay.io/kairos/core/manifests/v1`;
      // tagTTL is 0: the first request tries to re-validate and gives up after `timeout` (2 s) ...
      const first = await get(path);
      expect(first.status).toBe(200);
      expect(first.body.equals(core.manifest.bytes)).toBe(true);
      expect(first.ms, mirror.log().split("\n").filter((l) => /warn|upstream/.test(l)).join("\n")).toBeGreaterThanOrEqual(1500);
      expect(first.ms).toBeLessThan(4000);
      // ... then the breaker is open: every later pull is answered from the cache without waiting.
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await get(path);
        expect(r.status).toBe(200);
        times.push(r.ms);
        for (const b of core.layers) expect((await get(`${mirror.url}/v2/spectro-images/quay.io/kairos/core/blobs/${b.digest}`)).status).toBe(200);
      }
      expect(Math.max(...times)).toBeLessThan(500);
      // never cached: a clear 503 at once, not a hang
      const miss = await get(`${mirror.url}/v2/spectro-images/quay.io/kairos/nothere/manifests/v1`);
      expect(miss.status).toBe(503);
      expect(miss.json().errors[0].code).toBe('UNAVAILABLE');
      expect(miss.ms).toBeLessThan(500);
      console.log(`blackholed upstream: first pull ${first.ms} ms, next 10 max ${Math.max(...times)} ms, uncached miss ${miss.ms} ms`);
    } finally {
      proxy.mode = 'up';
    }
    // after retryAfter (4 s) the upstream is tried again and new content flows
    await new Promise((r) => setTimeout(r, 4200));
    const fresh = await pushImage(await up.as('kairos/core'), 'kairos/core', 'v2');
    const r = await get(`${mirror.url}/v2/spectro-images/quay.io/kairos/core/manifests/v2`);
    expect(r.status).toBe(200);
    expect(r.body.equals(fresh.manifest.bytes)).toBe(true);
    expect(proxy.requests.length).toBeGreaterThan(before);
  });

  it('re-validates a moved tag and serves the new digest', async () => {
    const moved = await pushImage(await up.as('library/alpine'), 'library/alpine', '3.20');
    const r = await get(`${mirror.url}/v2/alpine/manifests/3.20?ns=docker.io`);
    expect(r.headers.get('docker-content-digest')).toBe(moved.manifest.digest);
    alpine = moved;
  });

  it('fetches a missing 256 MiB blob once for 100 concurrent pulls, streaming before it is stored', async () => {
    const size = 256 * 1024 * 1024;
    const big = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 4096) big.writeUInt32BE(i, i); // not all zero, and unlike any other blob
    const digest = sha256(big);
    const push = await up.as('kairos/big');
    const p = await push('POST', `/v2/kairos/big/blobs/uploads/?digest=${digest}`, { headers: { 'content-type': 'application/octet-stream' }, body: big });
    expect(p.status).toBe(201);
    proxy.throttle = 96 * 1024 * 1024; // 96 MiB/s: the fetch takes ~2.7 s
    const agent = new Agent({ connections: 200 });
    const started = Date.now();
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const r = await undiciRequest(`${mirror.url}/v2/spectro-images/quay.io/kairos/big/blobs/${digest}`, { dispatcher: agent });
          const firstByte = Date.now() - started;
          const h = i < 3 ? createHash('sha256') : undefined;
          let n = 0;
          for await (const c of r.body) {
            n += (c as Buffer).length;
            h?.update(c as Buffer);
          }
          return { status: r.statusCode, n, firstByte, digest: h ? `sha256:${h.digest('hex')}` : undefined };
        }),
      );
      const total = Date.now() - started;
      expect(results.every((r) => r.status === 200 && r.n === size)).toBe(true);
      for (const r of results.slice(0, 3)) expect(r.digest).toBe(digest);
      const fetches = proxy.requests.filter((l) => l.startsWith(`GET /v2/kairos/big/blobs/${digest}`));
      expect(fetches).toHaveLength(1);
      const firstByte = Math.min(...results.map((r) => r.firstByte));
      console.log(`100 concurrent pulls of a 256 MiB blob: upstream fetches ${fetches.length}, first byte after ${firstByte} ms, all done in ${total} ms`);
      expect(firstByte).toBeLessThan(total / 2);
    } finally {
      proxy.throttle = 0;
      await agent.close();
    }
    // stored and linked: a HEAD answers locally
    const h = await fetch(`${mirror.url}/v2/spectro-images/quay.io/kairos/big/blobs/${digest}`, { method: 'HEAD' });
    expect(h.status).toBe(200);
  }, 180_000);

  it('never contacts an upstream with mirror.sync.enable: false', async () => {
    const file = await mirrorConfig(dir, 'offline', up.url, proxy.url, '  sync: {enable: false}\n');
    const offline = await spawnBerth({ args: ['--config', file] });
    try {
      const before = proxy.requests.length;
      const r = await get(`${offline.url}/v2/spectro-images/quay.io/kairos/core/manifests/v1`);
      expect(r.status).toBe(404);
      expect(r.json().errors[0].code).toBe('NAME_UNKNOWN');
      const b = await get(`${offline.url}/v2/spectro-images/quay.io/kairos/core/blobs/${core.config.digest}`);
      expect(b.status).toBe(404);
      expect(b.json().errors[0].code).toBe('BLOB_UNKNOWN');
      expect(proxy.requests.length).toBe(before);
    } finally {
      await offline.stop();
    }
  });

  it('prefetches mirror.sync.images, then serves them with the upstream gone', async () => {
    const file = await mirrorConfig(dir, 'sync', up.url, proxy.url, '  sync:\n    interval: 1h\n    images:\n      - {repository: quay.io/kairos/core, tags: ["v*"]}\n');
    const warm = await spawnBerth({ args: ['--config', file] });
    try {
      const deadline = Date.now() + 20_000;
      while (!warm.log().includes('"msg":"mirror sync"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const line = warm.log().split('\n').find((l) => l.includes('"msg":"mirror sync"'));
      expect(line, warm.log()).toBeDefined();
      const report = JSON.parse(line!).sync;
      expect(report).toMatchObject({ images: 1, tags: 2, errors: [] });
      proxy.mode = 'refuse';
      const m = await get(`${warm.url}/v2/spectro-images/quay.io/kairos/core/manifests/v1`);
      expect(m.status).toBe(200);
      expect(m.body.equals(core.manifest.bytes)).toBe(true);
      for (const b of [core.config, ...core.layers]) {
        const r = await get(`${warm.url}/v2/kairos/core/blobs/${b.digest}?ns=quay.io`);
        expect(r.status).toBe(200);
        expect(sha256(r.body)).toBe(b.digest);
      }
    } finally {
      proxy.mode = 'up';
      await warm.stop();
    }
  });

  it('reaches a TLS upstream signed by a private CA (mirror ca), and refuses an untrusted one unless insecure', async () => {
    const certs = join(dir, 'certs');
    execFileSync('bash', [
      '-c',
      `mkdir -p ${certs} && cd ${certs} &&
       openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=berth-test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
       openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null &&
       printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf &&
       openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf 2>/dev/null`,
    ]);
    const open = await startRegistry({ listen: true });
    const img = await pushImage(open.request, 'org/tool', 't1');
    const target = new URL(open.url!);
    // TLS terminated in front of the upstream
    const tls = createTlsServer({ key: readFileSync(join(certs, 'server.key')), cert: readFileSync(join(certs, 'server.crt')) }, (s) => {
      const upstream = netConnect(Number(target.port), '127.0.0.1');
      s.pipe(upstream).pipe(s);
      s.on('error', () => upstream.destroy());
      upstream.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(tls.address() as { port: number }).port}`;
    const run = async (name: string, extra: string) => {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, `mirror:\n  upstreams:\n    - {host: ghcr.io, url: "${url}"${extra}}\n`);
      const b = await spawnBerth({ args: ['--config', file] });
      try {
        return await get(`${b.url}/v2/org/tool/manifests/t1?ns=ghcr.io`);
      } finally {
        await b.stop();
      }
    };
    try {
      const trusted = await run('tls-ca', `, ca: "${join(certs, 'ca.crt')}"`);
      expect(trusted.status, trusted.body.toString()).toBe(200);
      expect(trusted.body.equals(img.manifest.bytes)).toBe(true);
      const untrusted = await run('tls-none', '');
      expect(untrusted.status).toBe(503);
      expect(untrusted.json().errors[0].message).toMatch(/certificate/i);
      expect((await run('tls-insecure', ', insecure: true')).status).toBe(200);
    } finally {
      tls.close();
      await open.close();
    }
  });

  it('keeps serving what it cached after the upstream is stopped', async () => {
    await up.close();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await get(`${mirror.url}/v2/library/alpine/manifests/3.20?ns=docker.io`);
      expect(m.status).toBe(200);
      expect(m.body.equals(alpine.manifest.bytes)).toBe(true);
      times.push(m.ms);
    }
    console.log(`upstream stopped: 5 cached tag pulls took ${times.join(', ')} ms`);
    expect(Math.max(...times)).toBeLessThan(1000);
  });
});
