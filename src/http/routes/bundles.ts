/**
 * Content bundles over HTTP (issue 7):
 * - POST /api/bundles: a multipart upload (one file part), streamed into the importer, for
 *   administrators (adminPolicy; anyone when auth is off), by Authorization header or UI session;
 * - POST /_berth/bundles and GET /_berth/export?image=...: what `berth import` / `berth export` use
 *   when a running berth holds the data root; loopback callers only, like /_berth/gc.
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import type { BundleImporter, ImportOptions } from '../../bundles/importer.js';
import type { BundleExporter } from '../../bundles/exporter.js';
import { requireAdmin, type ApiAuth } from '../api-caller.js';
import { sendError } from '../errors.js';
import { discard, query } from '../request.js';
import { loopbackOnly } from './admin.js';

export interface Bundles {
  importer: BundleImporter;
  exporter: BundleExporter;
  /** mirror.prefix: where foreign references land unless the upload names a prefix. */
  defaultPrefix?: string;
}

function importOptions(request: FastifyRequest, bundles: Bundles): ImportOptions {
  const q = query(request);
  const opts: ImportOptions = {};
  if (q.get('prefix') !== null) opts.prefix = q.get('prefix')!;
  if (q.get('repository')) opts.repository = q.get('repository')!;
  if (bundles.defaultPrefix) opts.defaultPrefix = bundles.defaultPrefix;
  return opts;
}

export async function bundleRoutes(app: FastifyInstance, bundles: Bundles, auth: ApiAuth): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    await scope.register(multipart, { limits: { files: 1, fields: 10, fileSize: Number.MAX_SAFE_INTEGER } });
    scope.post('/api/bundles', async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        await requireAdmin(auth, request);
      } catch (err) {
        // a small upload is read to its end so the client, still sending, sees the answer
        await discard(request.raw, 8 * 1024 * 1024);
        throw err;
      }
      if (!request.isMultipart()) throw new RegistryError('UNSUPPORTED', 'send the bundle as multipart/form-data', { status: 415 });
      const part = await request.file();
      if (!part) throw new RegistryError('MANIFEST_INVALID', 'bundle refused: the upload has no file');
      const report = await bundles.importer.importTar(part.file, importOptions(request, bundles));
      return reply.code(201).send(report);
    });
  });
  await app.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.post('/_berth/bundles', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const report = await bundles.importer.importTar(request.raw, importOptions(request, bundles));
      return reply.code(201).send(report);
    });
    scope.get('/_berth/export', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const images = query(request).getAll('image');
      if (images.length === 0) throw new RegistryError('NAME_INVALID', 'name at least one ?image=');
      const plan = await bundles.exporter.plan(images); // a missing image is an error before any byte
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-tar', 'x-berth-export-bytes': String(plan.bytes) });
      await bundles.exporter.write(plan, reply.raw).catch(() => reply.raw.destroy());
    });
  });
}
