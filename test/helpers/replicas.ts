/**
 * Several `berth serve` processes over one store (the run's PostgreSQL and Ceph RGW), each with a
 * root of its own, behind a round-robin HTTP proxy that sends each request to the next replica
 * that is up: consecutive requests of one client, even on one keep-alive connection, land on
 * different replicas, as behind a Kubernetes Service or a load balancer with no affinity.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineConfig } from './engines.js';
import { freePort } from './ports.js';
import { spawnBerth, type Berth } from './spawn.js';

export interface Replicas {
  /** The proxy's base URL. */
  url: string;
  host: string;
  /** The replicas; an entry is replaced when it is restarted. */
  berths: Berth[];
  /** The config file every replica runs with (for `berth verify` and the like). */
  configArgs: string[];
  /** Which replica (index) answered each proxied request, in order. */
  served: number[];
  /** SIGKILL: the proxy stops sending it requests at once. */
  kill(i: number): Promise<void>;
  /** Starts replica i again on its address with the same configuration. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** `config`: merged into the engines' configuration (gc intervals and the like). */
export async function startReplicas(n = 3, config: Record<string, unknown> = {}): Promise<Replicas> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-replicas-'));
  const engines = await engineConfig('s3+postgres');
  const file = join(dir, 'config.yaml');
  await writeFile(file, `${JSON.stringify(merge({ ...engines }, config))}\n`);
  const configArgs = ['--config', file];
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const start = (i: number) => spawnBerth({ root: join(dir, `replica-${i}`), port: ports[i]!, args: configArgs });
  const berths: Berth[] = [];
  // one after another: the first migrates the empty database, the others find it done
  for (let i = 0; i < n; i++) berths.push(await start(i));
  const up = new Set(berths.map((_, i) => i));
  const served: number[] = [];
  let turn = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const live = [...up].sort((a, b) => a - b);
    if (live.length === 0) {
      res.writeHead(502).end();
      return;
    }
    const i = live[turn++ % live.length]!;
    served.push(i);
    const upstream = httpRequest(
      { host: '127.0.0.1', port: ports[i], method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    // a replica that dies mid-request: the client sees its connection cut, as through a real balancer
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  const replicas: Replicas = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    berths,
    configArgs,
    served,
    async kill(i) {
      up.delete(i);
      const child = berths[i]!.child;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    },
    async restart(i) {
      await replicas.kill(i);
      berths[i] = await start(i);
      up.add(i);
    },
    async stop() {
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      await closed;
      agent.destroy();
      await Promise.all(berths.map((b) => b.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return replicas;
}

function merge(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    into[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' ? merge({ ...(cur as Record<string, unknown>) }, v as Record<string, unknown>) : v;
  }
  return into;
}
