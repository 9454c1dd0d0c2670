/**
 * buildApp(deps): the Fastify application as a function of its dependencies. It never listens;
 * src/cli/serve.ts does, and tests use app.inject() or listen on 127.0.0.1 themselves.
 */
import { createRequire } from 'node:module';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { sendError } from './errors.js';
import { RegistryError } from '../oci/errors.js';
import { API_VERSION, match, type V2Route } from './router.js';
import { hotPath, putInFront } from './hot-path.js';
import { withActor } from '../index/change-events.js';
import type { ChangeActor } from '../index/metadata.js';
import { Urls } from './urls.js';
import { rememberPrincipal } from './audit.js';
import { AccessLog, directAccessWriter } from './access-log.js';
import { authorize, type AuthDeps } from './authorize.js';
import type { TokenService } from '../auth/token-service.js';
import { tokenRoutes } from './routes/token.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes, type Health } from './routes/health.js';
import { blobRoutes } from './routes/blobs.js';
import { uploadRoutes } from './routes/uploads.js';
import { manifestRoutes } from './routes/manifests.js';
import { listingRoutes } from './routes/listings.js';
import type { Mirror } from '../mirror/mirror.js';
import { mirrorHostsRoute } from './routes/mirror-hosts.js';
import type { Bundles } from './routes/bundles.js';
import type { Metrics } from './metrics.js';
import type { UiDeps } from '../ui/ui.js';
import type { SessionStore } from '../auth/sessions.js';
import type { PasswordCheck } from '../auth/passwords.js';
import type { Robots } from '../auth/robots.js';
import { DEFAULT_LIMITS, UploadSlots, clientError, registerRateLimit, type Limits } from './limits.js';

export interface AppDeps {
  registry: Registry;
  /** Authentication and access control; absent means an open registry (the feature is wholly off). */
  auth?: AuthDeps;
  /** The token service at /auth/token, when auth runs in token mode. */
  tokens?: TokenService;
  /** Grace delay of garbage collections started through /_berth/gc (storage.gc.delay). */
  gcDelayMs?: number;
  /** Readiness: what /readyz checks; absent, /readyz answers ok while the app runs. */
  health?: Health;
  /** Absolute base of the URLs berth hands out, when it sits behind an ingress. */
  externalUrl?: string;
  logger?: FastifyServerOptions['logger'];
  /** A logger made by the caller (its own destination); takes the place of `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** loggerInstance's destination when it writes pino's JSON lines: the hot path writes access lines there itself. */
  accessLines?: { write(line: string): void };
  /** The pull-through mirror (issue 7); absent, names are never mapped and nothing is fetched. */
  mirror?: Pick<Mirror, 'names' | 'pull'> & Partial<Pick<Mirror, 'cache'>>;
  /** Serve https with these (key, cert, and for mutual TLS ca + requestCert); absent, plain http. */
  https?: import('node:https').ServerOptions;
  /** Header size, idle timeout, concurrent uploads, rate limit (defaults: DEFAULT_LIMITS, no rate limit). */
  limits?: Limits;
  /** Where audit lines go when not with the access log (log.audit). */
  auditLog?: FastifyBaseLogger;
  /** Prometheus metrics at /metrics (issue 8); absent, no series are kept. */
  metrics?: Metrics;
  /** Content bundles: /api/bundles and the CLI's /_berth/ endpoints (issue 7). */
  bundles?: Bundles;
  /** Cached manifest pulls answered before Fastify (hot-path.ts; default true); false sends every request through Fastify. */
  hotPath?: boolean;
  /** The web UI at / and its API under /api/ (issue 9); absent, neither exists. */
  ui?: UiDeps;
  /** Blob downloads through sendfile(2) when the addon is built (default true); false copies them through user space. */
  zeroCopy?: boolean;
  /** The UI's login sessions (with auth and the UI on); /api/ endpoints accept their cookie. */
  sessions?: SessionStore;
  /** Users' password check (with auth on); when it mints pull credentials, /_berth/pull-credentials hands them out. */
  passwords?: PasswordCheck;
  /** Robot accounts (with auth on): the command line's /_berth/robots. */
  robots?: Robots;
}

/** Fastify's own request ids (req-1, req-2, ... in base 36), from one counter shared with the hot path. */
let requestCount = 0;
const nextRequestId = () => `req-${(++requestCount).toString(36)}`;

const V2_METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'] as const;

/** require() as Fastify itself resolves: its compilers are its dependencies, not berth's. */
const requireFastifyPart = createRequire(createRequire(import.meta.url).resolve('fastify'));

/**
 * Fastify loads Ajv and fast-json-stringify at start (about 5 MiB resident) although only the web
 * UI's few routes have schemas: this compiler factory loads Fastify's own compiler, with the same
 * arguments, the first time one of those routes is called (schemaController.compilersFactory, a
 * Fastify option). Until then a route's validator is a stub that compiles on its first call.
 */
function lazyCompilers(module: '@fastify/ajv-compiler' | '@fastify/fast-json-stringify-compiler') {
  return (...factoryArgs: unknown[]) => {
    let compiler: ((route: unknown) => CompiledFn) | undefined;
    return (route: unknown) => {
      let compiled: CompiledFn | undefined;
      const stub: CompiledFn = (data: unknown) => {
        compiler ??= (requireFastifyPart(module) as () => (...a: unknown[]) => (route: unknown) => CompiledFn)()(...factoryArgs);
        compiled ??= compiler(route);
        const result = compiled(data);
        stub.errors = compiled.errors; // where Fastify reads a validator's errors
        return result;
      };
      return stub;
    };
  };
}
type CompiledFn = ((data: unknown) => unknown) & { errors?: unknown };

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const app = Fastify({
    ...(deps.https ? { https: { ...deps.https, maxHeaderSize: limits.headerBytes } } : { http: { maxHeaderSize: limits.headerBytes } }),
    connectionTimeout: limits.idleTimeoutMs,
    clientErrorHandler: clientError,
    ...(deps.loggerInstance ? { loggerInstance: deps.loggerInstance } : { logger: deps.logger ?? false }),
    logController: new AccessLog(deps.metrics, deps.auditLog),
    genReqId: nextRequestId,
    schemaController: {
      compilersFactory: { buildValidator: lazyCompilers('@fastify/ajv-compiler'), buildSerializer: lazyCompilers('@fastify/fast-json-stringify-compiler') },
    } as FastifyServerOptions['schemaController'],
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 8192 },
    // A path that is not valid percent-encoding never reaches a route: answer it in the spec's envelope
    // too (under /v2/ the bad part is the repository name: NAME_INVALID, as for every other bad name).
    frameworkErrors: (err, request, reply) => {
      const v2 = (request.raw.url ?? '').startsWith('/v2/');
      void sendError(request, reply, v2 && err.code === 'FST_ERR_BAD_URL' ? new RegistryError('NAME_INVALID', 'the path is not valid percent-encoding') : err);
    },
    // Uploads can be long: no Fastify-level request timeout (issue: slow-client limits in ops/).
    requestTimeout: 0,
  });
  const urls = new Urls(deps.externalUrl?.replace(/\/+$/, '') ?? '');

  // distribution-spec "API Version Check": every response carries the version header.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('Docker-Distribution-API-Version', API_VERSION);
    done();
  });
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  if (limits.rateLimit) await registerRateLimit(app, limits.rateLimit);
  const uploadSlots = new UploadSlots(limits.maxConcurrentUploads);
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, Object.assign(new Error(`no such endpoint: ${request.method} ${request.url.slice(0, 200)}`), { statusCode: 404 })),
  );

  const routes: V2Route[] = [
    // manifests first: the most frequent requests (a pull's HEAD and GET by tag); no other pattern
    // ends in /manifests/<reference>. Uploads stay before blobs: /blobs/uploads would match both.
    manifestRoutes(deps.registry, urls, deps.mirror?.pull),
    ...listingRoutes(deps.registry, urls),
    ...uploadRoutes(deps.registry, urls),
    blobRoutes(deps.registry, deps.mirror?.pull, deps.zeroCopy ?? true),
  ];

  if (deps.tokens) await tokenRoutes(app, deps.tokens);
  await adminRoutes(app, deps.registry, deps.gcDelayMs ?? 3_600_000, deps.mirror?.cache);
  await mirrorHostsRoute(app, () => (deps.mirror ? [...deps.mirror.pull.upstreams.keys()].sort() : []));
  const apiAuth = { ...(deps.auth ? { auth: deps.auth } : {}), ...(deps.sessions ? { sessions: deps.sessions } : {}) };
  // optional features: their modules load only when they are on (every module loaded stays resident)
  if (deps.robots) await (await import('./routes/robots.js')).robotRoutes(app, deps.robots, deps.ui ? apiAuth : undefined);
  if (deps.passwords?.pull) await (await import('./routes/pull-credentials.js')).pullCredentialRoutes(app, deps.passwords, deps.passwords.pull);
  if (deps.bundles) await (await import('./routes/bundles.js')).bundleRoutes(app, deps.bundles, apiAuth);
  if (deps.ui) await (await import('../ui/ui.js')).uiRoutes(app, deps.ui, apiAuth);
  if (deps.metrics) await deps.metrics.routes(app);
  await healthRoutes(app, deps.health ?? { shuttingDown: false, check: async () => undefined });

  await app.register(async (v2) => {
    // Bodies under /v2/ are streams the handlers read themselves (blobs) or bound (manifests):
    // no parser may buffer them first.
    v2.removeAllContentTypeParsers();
    v2.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handler = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      const { route, method, ctx } = match(routes, request);
      if (route.kind === 'upload') uploadSlots.take(request, reply);
      if (deps.mirror && ctx.name) {
        // containerd's ?ns=<host> (mirror mode) or <prefix>/<host>/... (path mode): the local name
        // is what permissions, storage and the challenge's scope are about.
        const r = deps.mirror.names.resolve(ctx.name, ctx.query.get('ns'));
        ctx.name = r.local;
        if (r.remote) ctx.remote = r.remote;
      }
      if (deps.auth) {
        ctx.access = await authorize(deps.auth, deps.registry, request, method.action, ctx);
        rememberPrincipal(request, ctx.access.principal);
      }
      const { events, pullEvents } = deps.registry.options;
      if (events && (method.action !== 'pull' || pullEvents)) {
        // the events this request's changes make say who made them (index/change-events.ts)
        return withActor(actorOf(request, ctx.access.principal), () => method.handler(request, reply, ctx));
      }
      return method.handler(request, reply, ctx);
    };
    v2.route({ method: [...V2_METHODS], url: '/v2', handler });
    v2.route({ method: [...V2_METHODS], url: '/v2/*', handler });
  });
  // Features that decide per request before a route runs keep every request on Fastify's path.
  // (pull events too: each GET then records who pulled)
  if ((deps.hotPath ?? true) && !deps.auth && !deps.mirror && !limits.rateLimit && !deps.registry.options.pullEvents) {
    const writeAccess = deps.loggerInstance && deps.accessLines ? directAccessWriter(deps.loggerInstance, deps.accessLines) : undefined;
    putInFront(app, hotPath({ manifests: deps.registry.manifests, log: app.log, metrics: deps.metrics, nextId: nextRequestId, ...(writeAccess ? { writeAccess } : {}) }));
  }
  return app;
}

/** Who makes a request's changes, as its events carry it (distribution's notifications carry the same). */
function actorOf(request: import('fastify').FastifyRequest, principal: string | undefined): ChangeActor {
  const actor: ChangeActor = { addr: request.ip, requestId: String(request.id) };
  if (principal !== undefined) actor.name = principal;
  const agent = request.headers['user-agent'];
  if (agent) actor.userAgent = agent;
  return actor;
}
