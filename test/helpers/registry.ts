/**
 * Test harness: the real filesystem store and the real LevelDB index in a fresh temp root (or, by
 * `engine`, a fresh database on the run's real PostgreSQL and a fresh prefix in its real Ceph RGW
 * bucket), the real Fastify app, reached through app.inject() or a real socket on 127.0.0.1.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { openRegistry, type OpenRegistry } from '../../src/open.js';
import type { RegistryOptions } from '../../src/registry/registry.js';
import type { AuthDeps } from '../../src/http/authorize.js';
import type { TokenService } from '../../src/auth/token-service.js';
import { engineConfig, type Engine } from './engines.js';
import type { S3Config } from '../../src/config/config.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blobstore.js';

export type { Engine } from './engines.js';

export interface Resp {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json<T = unknown>(): T;
}

export interface ReqOpts {
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export type Requester = (method: string, path: string, opts?: ReqOpts) => Promise<Resp>;

export interface TestRegistry {
  root: string;
  app: FastifyInstance;
  opened: OpenRegistry;
  request: Requester;
  /** Set when listening: http://127.0.0.1:PORT */
  url?: string;
  /**
   * What the blob and upload stores hold, relative to their root or key prefix: files (`blobs/...`,
   * `uploads/...`, `tmp/...`), or objects, and `multipart <key>` for an unfinished multipart upload.
   */
  stored(): Promise<string[]>;
  close(): Promise<void>;
}

function resp(status: number, headers: Record<string, string>, body: Buffer): Resp {
  return { status, headers, body, json: () => JSON.parse(body.toString('utf8')) };
}

export async function startRegistry(
  opts: { listen?: boolean; registry?: Partial<RegistryOptions>; fsync?: boolean; auth?: AuthDeps; tokens?: TokenService; zeroCopy?: boolean; hotPath?: boolean; engine?: Engine; s3?: Partial<S3Config> } = {},
): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const opened = await openRegistry({ root, fsync: opts.fsync ?? true, registry: opts.registry, ...(await engineConfig(opts.engine ?? 'default', opts.s3)) });
  const app = await buildApp({ registry: opened.registry, auth: opts.auth, tokens: opts.tokens, ...(opts.zeroCopy !== undefined ? { zeroCopy: opts.zeroCopy } : {}), ...(opts.hotPath !== undefined ? { hotPath: opts.hotPath } : {}) });
  let url: string | undefined;
  let request: Requester;
  if (opts.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    const base = `http://127.0.0.1:${addr.port}`;
    url = base;
    request = async (method, path, o = {}) => {
      const r = await fetch(base + path, { method, headers: o.headers, body: o.body });
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => (headers[k] = v));
      return resp(r.status, headers, Buffer.from(await r.arrayBuffer()));
    };
  } else {
    request = async (method, path, o = {}) => {
      const r = await app.inject({
        method: method as 'GET',
        url: path,
        headers: o.headers,
        payload: o.body,
      });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      return resp(r.statusCode, headers, r.rawPayload);
    };
  }
  return {
    root,
    app,
    opened,
    request,
    url,
    stored: () => storedIn(opened, root),
    async close() {
      // fetch keeps connections alive; the tests are done with them.
      const closing = app.close();
      if (opts.listen) app.server.closeAllConnections();
      await closing;
      await opened.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function storedIn(opened: OpenRegistry, root: string): Promise<string[]> {
  const out: string[] = [];
  if (opened.blobs instanceof S3BlobStore) {
    const { bucket, keys } = opened.blobs;
    for await (const o of bucket.list(keys.prefix)) out.push(o.key.slice(keys.prefix.length));
    for await (const u of bucket.multipartUploads(keys.prefix)) out.push(`multipart ${u.key.slice(keys.prefix.length)}`);
    return out;
  }
  for (const dir of ['blobs', 'uploads', 'tmp']) {
    for (const e of await readdir(join(root, dir), { withFileTypes: true, recursive: true }).catch(() => [])) {
      if (e.isFile()) out.push(relative(root, join(e.parentPath, e.name)));
    }
  }
  return out;
}
