/** Runs the real `berth serve` (dist/cli/main.js) as a child process on 127.0.0.1. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { Requester } from './registry.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

import { freePort } from './ports.js';

export { freePort };

export interface Berth {
  url: string;
  host: string;
  root: string;
  child: ChildProcess;
  log(): string;
  /**
   * The log once it matches `pattern`, or as it is after `timeoutMs`: berth writes its access lines in
   * batches, up to a second after the request (src/cli/log.ts).
   */
  logMatching(pattern: RegExp | string | ((log: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Resident set size now and at its peak (VmRSS, VmHWM), in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  stop(): Promise<void>;
}

/** `tlsCa`: berth serves https (its config says so); the CA that signed its certificate. `port`: a free one when absent. */
export async function spawnBerth(opts: { root?: string; port?: number; args?: string[]; tlsCa?: Buffer; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Berth> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'berth-spawn-')));
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, 'serve', '--listen', host, '--root', root, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = `${opts.tlsCa ? 'https' : 'http'}://${host}`;
  const deadline = Date.now() + 15_000;
  const dispatcher = opts.tlsCa ? new Agent({ connect: { ca: opts.tlsCa } }) : undefined;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`berth exited with ${child.exitCode}:\n${log}`);
    try {
      const r = await request(`${url}/v2/`, { dispatcher });
      await r.body.dump();
      if (r.statusCode < 500) break; // 401 when auth is on: up all the same
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`berth did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await dispatcher?.close();
  return {
    url,
    host,
    root,
    child,
    log: () => log,
    async logMatching(pattern: RegExp | string | ((log: string) => boolean), timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      const matches = () => (typeof pattern === 'string' ? log.includes(pattern) : typeof pattern === 'function' ? pattern(log) : pattern.test(log));
      while (!matches() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return log;
    },
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
      return { rss: kb('VmRSS'), peak: kb('VmHWM') };
    },
    async stop() {
      // a child killed by a signal has no exit code, and has sent its 'exit' already
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      if (!opts.root) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Waits until the berth at `url` answers /readyz with 200 (an engine it needs came back); throws after `ms`. */
export async function readyAgain(url: string, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; (await fetch(`${url}/readyz`)).status !== 200; ) {
    if (Date.now() > deadline) throw new Error(`berth at ${url} did not become ready again within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the `berth` command line once; its exit code and what it wrote (stdout, then stderr). */
export function runCli(args: string[]): Promise<{ code: number; out: string; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(CLI, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr, stdout, stderr }),
    ),
  );
}

/** A Requester (test/helpers/oci.ts's pushers take one) over a spawned berth's real socket. */
export function requesterOf(b: Pick<Berth, 'url'>): Requester {
  return async (method, path, o = {}) => {
    const r = await fetch(b.url + path, { method, headers: o.headers, body: o.body });
    const body = Buffer.from(await r.arrayBuffer());
    const headers: Record<string, string> = {};
    r.headers.forEach((v, k) => (headers[k] = v));
    return { status: r.status, headers, body, json: () => JSON.parse(body.toString()) };
  };
}
