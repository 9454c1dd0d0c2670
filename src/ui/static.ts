/**
 * The UI's files, served from the package itself (dist/ui/public: the compiled scripts, the page and
 * its stylesheet): nothing comes from a CDN or the internet. The directory is read once at start-up
 * into memory (a few tens of KiB), so a request can only ever name one of those files. Types come
 * from `mime`; every response forbids framing and any script or connection outside this origin.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mime from 'mime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// ../ui/public from this module: dist/ui/ (tsc), dist/berth/ (the bundle's chunks) and src/ui/
// (tests) are each one level below their root
export const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('../ui/public/', import.meta.url));

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

export function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return files; // not built (tests that run the API from the sources): the pages answer 404
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!statSync(path).isFile() || name.endsWith('.map')) continue;
    const body = readFileSync(path);
    const type = mime.getType(name) ?? 'application/octet-stream';
    files.set(name, {
      body,
      type: /^text\/|javascript|json|svg/.test(type) ? `${type}; charset=utf-8` : type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return files;
}

export async function staticRoutes(app: FastifyInstance, dir: string): Promise<void> {
  const files = loadFiles(dir);
  const send = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const f = files.get(name);
    reply.headers(SECURITY_HEADERS);
    if (!f) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    reply.header('content-type', f.type).header('etag', f.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === f.etag) return reply.code(304).send();
    return reply.send(f.body);
  };
  app.get('/', send('index.html'));
  app.get('/ui/:file', (request, reply) => send((request.params as { file: string }).file)(request, reply));
}
