/**
 * Several `berth serve` processes over one store (the run's PostgreSQL and Ceph RGW), each with a
 * root of its own, behind a round-robin HTTP proxy that sends each request to the next replica
 * that is up (bench/src/balancer.ts).
 */
import { startBalancer } from '../../bench/src/balancer.js';
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
  const balancer = await startBalancer(ports);
  const replicas: Replicas = {
    url: balancer.url,
    host: balancer.host,
    berths,
    configArgs,
    served: balancer.served,
    async kill(i) {
      balancer.up.delete(i);
      const child = berths[i]!.child;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    },
    async restart(i) {
      await replicas.kill(i);
      berths[i] = await start(i);
      balancer.up.add(i);
    },
    async stop() {
      await balancer.close();
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
