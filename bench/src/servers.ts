/**
 * The servers under test, started fresh on 127.0.0.1 with their logs going to a file (as operators
 * keep them), and their resource use read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Server {
  name: string;
  url: string;
  host: string;
  pid: number;
  /** Milliseconds from spawn to the first answer of /v2/. */
  startMs: number;
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
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${log()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`server did not start:\n${log()}`);
}

/** Starts `cmd`; stdout and stderr (the access log among them) go to `logFile`. */
async function start(name: string, cmd: string, args: string[], port: number, env: NodeJS.ProcessEnv, logFile: string): Promise<Server> {
  const fd = openSync(logFile, 'a');
  const t = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  const tail = () => readFileSync(logFile, 'utf8').slice(-20_000);
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child, tail);
  return {
    name,
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid!,
    startMs: Date.now() - t,
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
 * berth as users start it: the `berth` executable (its #! line carries berth's Node flags) with its
 * defaults (fsync on, access log at info). `quiet` sets log.level warn: the same server without its
 * access log, to tell what the log costs; `config` is a phase's own configuration.
 * BENCH_BERTH_CONFIG replaces the configuration.
 */
export async function startBerth(root: string, opts: { name?: string; quiet?: boolean; config?: string } = {}): Promise<Server> {
  const port = await freePort();
  const name = opts.name ?? 'berth';
  const config = join(root, '..', `${name}.yaml`);
  await writeFile(config, process.env.BENCH_BERTH_CONFIG ?? opts.config ?? (opts.quiet ? 'log:\n  level: warn\n' : '{}\n'));
  return start(name, CLI, ['serve', '--listen', `127.0.0.1:${port}`, '--root', root, '--config', config], port, process.env, join(root, '..', `${name}.log`));
}

/** The round-robin proxy (balancer.ts) as a process of its own, in front of replicas on `ports`. */
export async function startBalancerProcess(name: string, ports: number[], dir: string): Promise<Server> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./balancer.js', import.meta.url));
  return start(name, process.execPath, [script, String(port), ...ports.map(String)], port, process.env, join(dir, `${name}.log`));
}

/** Debian's docker-registry (distribution 2.8.2): filesystem storage, delete enabled, its default logs (access log on). */
/** `storage`: the storage driver's YAML line (default its filesystem driver under `root`). */
export async function startDistribution(root: string, storage = `  filesystem: {rootdirectory: ${root}}`): Promise<Server> {
  const port = await freePort();
  const config = join(root, '..', 'distribution.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'storage:',
      storage,
      '  delete: {enabled: true}',
      '  redirect: {disable: true}',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: bench',
    ].join('\n'),
  );
  const env = { ...process.env };
  delete env.REGISTRY_AUTH_FILE; // distribution would read it as configuration
  delete env.AWS_CA_BUNDLE; // its s3 driver (aws-sdk-go v1) panics at start on this machine's bundle setting
  return start('distribution', 'docker-registry', ['serve', config], port, env, join(root, '..', 'distribution.log'));
}

/**
 * The physical limit of the stack: plain Node (no flags) answering every request with a fixed small
 * JSON body through node:http, no framework, no log.
 */
export async function startTrivialNode(dir: string): Promise<Server> {
  const port = await freePort();
  const src = `require('node:http').createServer((q, r) => { r.writeHead(200, {'content-type': 'application/json', 'content-length': '2'}); r.end(q.method === 'HEAD' ? undefined : '{}'); }).listen(${port}, '127.0.0.1');`;
  return start('node-trivial', process.execPath, ['-e', src], port, process.env, join(dir, 'node-trivial.log'));
}

/**
 * Peak resident set (VmHWM) in bytes, current resident set (VmRSS) with its anonymous and file-backed
 * parts (the node binary, LevelDB's memory-mapped tables), and CPU seconds (user + system) of a process.
 */
export async function usage(pid: number): Promise<{ peakRss: number; rss: number; rssAnon: number; rssFile: number; cpuSeconds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime (fields 14 and 15)
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), cpuSeconds: ticks / 100 };
}

/** Resident set after the server has idled `seconds` more (it answered /v2/ once when it started), in MiB. */
export async function idleRss(s: Pick<Server, 'pid'>, seconds = 1): Promise<number> {
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (await usage(s.pid)).rss / (1024 * 1024);
}

/**
 * Peak resident set per phase: VmHWM is reset before a phase (writing 5 to /proc/PID/clear_refs,
 * proc(5)) and read after it, so every peak is exact, never a sample that missed a spike; the
 * largest of them is the peak over the whole run.
 */
export class Peaks {
  private readonly overall = new Map<number, number>();

  /** Bytes of the peak since the last reset; records it in the overall peak and starts a new window. */
  async take(pid: number): Promise<number> {
    const { peakRss } = await usage(pid);
    this.overall.set(pid, Math.max(this.overall.get(pid) ?? 0, peakRss));
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return peakRss;
  }

  /** The largest peak of every window taken so far, plus the current one. */
  async max(pid: number): Promise<number> {
    const { peakRss } = await usage(pid);
    return Math.max(this.overall.get(pid) ?? 0, peakRss);
  }
}
