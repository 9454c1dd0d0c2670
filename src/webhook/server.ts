/**
 * The image-redirect webhook's HTTPS listener (webhook.enabled): POST /mutate-pods takes an
 * AdmissionReview and answers it (admission.ts); GET /healthz is its probe. A listener of its own,
 * apart from the registry's: the API server reaches it through a Service with the certificate in
 * the MutatingWebhookConfiguration's caBundle, whatever TLS the registry port has. Loaded only when
 * enabled. A replaced certificate is picked up as the registry's is (src/cli/tls.ts).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { parseListen, type WebhookConfig } from '../config/config.js';
import { readTls, watchTls } from '../cli/tls.js';
import { MirrorNames, canonicalHost } from '../mirror/names.js';
import type { Registry } from '../registry/registry.js';
import { BadReview, review, type ReviewDeps } from './admission.js';
import { ImageRewriter } from './rewrite.js';

/** The API server sends pods of up to its request limit (3 MiB by default); a little more is allowed. */
const MAX_BODY = 4 * 1024 * 1024;
export const DEFAULT_OPT_OUT = { key: 'berth.dev/imageswap', value: 'disable' };

export interface Webhook {
  url: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new BadReview(`the AdmissionReview is larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `mirror.prefix`: where mirrored content lives; `mirror.fills`: the upstream hosts berth may fetch from now. */
export async function startWebhook(config: WebhookConfig, registry: Registry, mirror: { prefix: string; fills: string[] }, log: FastifyBaseLogger): Promise<Webhook> {
  const rewriter = new ImageRewriter({ registry: config.registry!, names: new MirrorNames(mirror.prefix, mirror.fills), exclude: config.exclude ?? [] });
  const fillable = new Set(mirror.fills.map(canonicalHost));
  const deps: ReviewDeps = {
    rewriter,
    optOut: config.optOutLabel ?? DEFAULT_OPT_OUT,
    ...(config.rewrite === 'available'
      ? { available: async (ref, local) => fillable.has(ref.host) || (await registry.manifests.find(local, ref.digest ?? ref.tag ?? 'latest')) !== undefined }
      : {}),
  };
  const tls = { cert: config.tls!.cert, key: config.tls!.key };
  const server: Server = createServer(readTls(tls, 'webhook.tls'), (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path !== '/mutate-pods') return send(res, 404, { error: `no such webhook: ${path}` });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST an AdmissionReview' });
    const started = process.hrtime.bigint();
    readBody(req)
      .then((body) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch (err) {
          throw new BadReview(`the body is not JSON: ${(err as Error).message}`);
        }
        return review(parsed, deps);
      })
      .then((answer) => {
        send(res, 200, answer);
        const r = answer.response as { uid: string; patch?: string };
        log.info({ webhook: 'mutate-pods', uid: r.uid, patched: r.patch !== undefined, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'admission review');
      })
      .catch((err: unknown) => {
        if (err instanceof BadReview) return send(res, 400, { error: err.message });
        log.error({ err }, 'admission review failed');
        send(res, 500, { error: (err as Error).message });
      });
  });
  const { host, port } = parseListen(config.listen ?? '0.0.0.0:8443');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const stopWatch = watchTls(server, tls, log);
  const bound = server.address() as { port: number };
  log.info({ listen: `${host}:${bound.port}`, rewrite: config.rewrite ?? 'always', registry: config.registry }, 'image-redirect webhook listening');
  return {
    url: `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound.port}`,
    async close() {
      stopWatch();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
