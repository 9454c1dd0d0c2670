/**
 * Test harness: the real filesystem store and the real LevelDB index in a fresh temp root (or with
 * `engine: 'postgres'` a fresh database on the run's real PostgreSQL), the real Fastify app, reached
 * through app.inject() or a real socket on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { openRegistry, type OpenRegistry } from '../../src/open.js';
import type { RegistryOptions } from '../../src/registry/registry.js';
import type { AuthDeps } from '../../src/http/authorize.js';
import type { TokenService } from '../../src/auth/token-service.js';
import { pgDatabase } from './postgres.js';

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

/** Which engines a test registry runs on: the defaults, or its metadata in PostgreSQL. */
export type Engine = 'default' | 'postgres';

export type Requester = (method: string, path: string, opts?: ReqOpts) => Promise<Resp>;

export interface TestRegistry {
  root: string;
  app: FastifyInstance;
  opened: OpenRegistry;
  request: Requester;
  /** Set when listening: http://127.0.0.1:PORT */
  url?: string;
  close(): Promise<void>;
}

function resp(status: number, headers: Record<string, string>, body: Buffer): Resp {
  return { status, headers, body, json: () => JSON.parse(body.toString('utf8')) };
}

export async function startRegistry(
  opts: { listen?: boolean; registry?: Partial<RegistryOptions>; fsync?: boolean; auth?: AuthDeps; tokens?: TokenService; zeroCopy?: boolean; hotPath?: boolean; engine?: Engine } = {},
): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const metadata = opts.engine === 'postgres' ? { driver: 'postgres' as const, postgres: { url: await pgDatabase('registry') } } : undefined;
  const opened = await openRegistry({ root, fsync: opts.fsync ?? true, registry: opts.registry, ...(metadata ? { metadata } : {}) });
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
