/** The two registries under test, started fresh on 127.0.0.1, with their resource use read from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Server {
  name: string;
  url: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

async function waitUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${log()}`);
    try {
      if ((await fetch(`${url}/v2/`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start:\n${log()}`);
}

async function start(name: string, cmd: string, args: string[], port: number, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child, () => log);
  return {
    name,
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/**
 * berth as users start it: the `berth` executable (its #! line carries berth's Node flags), with its
 * defaults (fsync on), logging at warn so the log is not what is measured.
 */
export async function startBerth(root: string): Promise<Server> {
  const port = await freePort();
  const config = join(root, '..', 'berth.yaml');
  await writeFile(config, process.env.BENCH_BERTH_CONFIG ?? 'log:\n  level: warn\n');
  return start('berth', CLI, ['serve', '--listen', `127.0.0.1:${port}`, '--root', root, '--config', config], port, process.env);
}

/** Debian's docker-registry (distribution 2.8.2): filesystem storage, delete enabled, no access log. */
export async function startDistribution(root: string): Promise<Server> {
  const port = await freePort();
  const config = join(root, '..', 'distribution.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: error, accesslog: {disabled: true}}',
      'storage:',
      `  filesystem: {rootdirectory: ${root}}`,
      '  delete: {enabled: true}',
      '  redirect: {disable: true}',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: bench',
    ].join('\n'),
  );
  const env = { ...process.env };
  delete env.REGISTRY_AUTH_FILE; // distribution would read it as configuration
  return start('distribution', 'docker-registry', ['serve', config], port, env);
}

/** Peak resident set (VmHWM) in bytes and CPU seconds (user + system) of a process so far. */
export async function usage(pid: number): Promise<{ peakRss: number; cpuSeconds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const peakRss = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime (fields 14 and 15)
  return { peakRss, cpuSeconds: ticks / 100 };
}

/** Samples each server's resident set every 100 ms, to tell which phase drives the peak. */
export class RssWatch {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(servers: Server[]) {
    this.timer = setInterval(() => {
      for (const s of servers) {
        readFile(`/proc/${s.pid}/status`, 'utf8').then(
          (st) => {
            const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(st)?.[1] ?? 0);
            this.peaks.set(s.pid, Math.max(this.peaks.get(s.pid) ?? 0, kb));
          },
          () => undefined,
        );
      }
    }, 100);
  }

  reset(): void {
    this.peaks.clear();
  }

  /** Largest sample since the last reset, in MiB. */
  max(pid: number): number {
    return Math.round((this.peaks.get(pid) ?? 0) / 1024);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
