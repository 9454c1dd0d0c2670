/**
 * Content bundles over HTTP:
 * - POST /api/bundles: a multipart upload (one file part), streamed into the importer, for
 *   administrators (adminPolicy; anyone when auth is off), by Authorization header or UI session;
 * - POST /_berth/bundles, GET /_berth/export?image=... (POST with a site's inventory as the body: a
 *   delta bundle) and GET /_berth/inventory: what `berth import`, `berth export` and `berth
 *   inventory` use when a running berth holds the data root; loopback callers only, like /_berth/gc;
 * - GET /_berth/bundles and DELETE /_berth/bundles?bundle=NAME@VERSION (`berth bundles list|remove`,
 *   loopback only), GET /api/bundles (the web UI's list, administrators).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import type { BundleImporter, ImportOptions } from '../../bundles/importer.js';
import { splitPlan, type BundleExporter } from '../../bundles/exporter.js';
import { requireAdmin, type ApiAuth } from '../api-caller.js';
import { sendError } from '../errors.js';
import { discard, query, readBounded } from '../request.js';
import { parseInventory } from '../../bundles/inventory.js';
import { parseBundleRef } from '../../bundles/records.js';
import type { BundleLifecycle } from '../../registry/bundle-lifecycle.js';
import { loopbackOnly } from './admin.js';

export interface Bundles {
  importer: BundleImporter;
  exporter: BundleExporter;
  /** mirror.prefix: where foreign references land unless the upload names a prefix. */
  defaultPrefix?: string;
  /** This registry's inventory as JSON text, in pieces (bundles/inventory.ts). */
  inventory(): AsyncIterable<string>;
  /** Imported bundles' records. */
  lifecycle: BundleLifecycle;
}

/** An inventory of a million blobs is some 70 MB of JSON. */
const MAX_INVENTORY_BYTES = 512 * 1024 * 1024;

function importOptions(request: FastifyRequest, bundles: Bundles): ImportOptions {
  const q = query(request);
  const opts: ImportOptions = {};
  if (q.get('prefix') !== null) opts.prefix = q.get('prefix')!;
  if (q.get('repository')) opts.repository = q.get('repository')!;
  for (const k of ['name', 'version', 'fileName'] as const) if (q.get(k)) opts[k] = q.get(k)!;
  if (q.getAll('platform').length) opts.platforms = q.getAll('platform');
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
      const report = await bundles.importer.importTar(part.file, { fileName: part.filename, ...importOptions(request, bundles) });
      return reply.code(201).send(report);
    });
    scope.get('/api/bundles', async (request: FastifyRequest, reply: FastifyReply) => {
      await requireAdmin(auth, request);
      return reply.send({ bundles: await bundles.lifecycle.list() });
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
    const exportRoute = async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const images = query(request).getAll('image');
      if (images.length === 0) throw new RegistryError('NAME_INVALID', 'name at least one ?image=');
      const exclude =
        request.method === 'POST'
          ? parseInventory((await readBounded(request, MAX_INVENTORY_BYTES, () => new RegistryError('SIZE_INVALID', 'the inventory is too large', { status: 413 }))).toString('utf8')).blobs
          : undefined;
      const q = query(request);
      const opts = {
        ...(exclude ? { exclude } : {}),
        ...(q.get('name') ? { name: q.get('name')! } : {}),
        ...(q.get('version') ? { version: q.get('version')! } : {}),
        ...(q.getAll('platform').length ? { platforms: q.getAll('platform') } : {}),
      };
      const plan = await bundles.exporter.plan(images, opts); // a missing image is an error before any byte
      // --split: the command line cuts the stream into parts; it needs their count and id first
      const split = q.get('split') ? splitPlan(plan, Number(q.get('split'))) : undefined;
      reply.hijack();
      const headers: Record<string, string> = { 'content-type': 'application/x-tar', 'x-berth-export-bytes': String(plan.bytes) };
      if (plan.excluded) headers['x-berth-export-excluded'] = JSON.stringify(plan.excluded);
      if (split) {
        headers['x-berth-split-parts'] = String(split.parts);
        headers['x-berth-split-bundle'] = split.bundle;
      }
      reply.raw.writeHead(200, headers);
      await bundles.exporter.write(plan, reply.raw).catch(() => reply.raw.destroy());
    };
    scope.get('/_berth/export', exportRoute);
    scope.post('/_berth/export', exportRoute);
    scope.get('/_berth/bundles', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      return reply.send({ bundles: await bundles.lifecycle.list() });
    });
    scope.delete('/_berth/bundles', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const q = query(request);
      const { name, version } = parseBundleRef(q.get('bundle') ?? '');
      return reply.send(await bundles.lifecycle.remove(name, version, q.get('dryRun') === '1'));
    });
    scope.get('/_berth/inventory', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const pieces = bundles.inventory()[Symbol.asyncIterator]();
      const first = await pieces.next(); // an index that is away is an error before any byte
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/json' });
      async function* rest(): AsyncIterable<string> {
        for (let p = first; !p.done; p = await pieces.next()) yield p.value;
      }
      // cut short (the index failing, the client gone), the body ends without its closing brace
      await pipeline(Readable.from(rest()), reply.raw).catch(() => reply.raw.destroy());
    });
  });
}
