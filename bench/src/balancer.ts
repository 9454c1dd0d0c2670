/**
 * A round-robin HTTP proxy in front of several registry processes: each request goes to the next
 * replica that is up, so consecutive requests of one client, even on one keep-alive connection, land
 * on different replicas, as behind a Kubernetes Service or a load balancer with no affinity. The
 * tests' replica helper and the benchmark's replica run both stand behind it.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface Balancer {
  url: string;
  host: string;
  /** Indexes of the replicas that take requests; a test takes one out before it kills it. */
  up: Set<number>;
  /** Which replica (index) each proxied request went to, in order. */
  served: number[];
  close(): Promise<void>;
}

/**
 * `ports[i]`: replica i's port on 127.0.0.1 (read at each request: a replica may be replaced);
 * `listen`: the proxy's own port (default any free one).
 */
export async function startBalancer(ports: number[], listen = 0): Promise<Balancer> {
  const up = new Set(ports.map((_, i) => i));
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
    const upstream = httpRequest({ host: '127.0.0.1', port: ports[i], method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    // a replica that dies mid-request: the client sees its connection cut, as through a real balancer
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(listen, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    up,
    served,
    async close() {
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}

// `node balancer.js PORT REPLICA_PORT...`: the benchmark runs it as a process of its own, so its CPU
// is counted apart from the load generator's and the replicas'
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [listen, ...ports] = process.argv.slice(2).map(Number);
  void startBalancer(ports, listen);
}
