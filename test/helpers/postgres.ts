/**
 * A real PostgreSQL for tests: Debian's server, initialised in a temp directory and listening on
 * 127.0.0.1 at a free port, started once per test run by test/global/engines.ts. PostgreSQL refuses
 * to run as root: as root it runs as the `postgres` user (runuser). Each test file takes a database
 * of its own from it (pgDatabase); a missing server fails the test with the command that installs it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { freePort } from './ports.js';

const run = promisify(execFile);
export const INSTALL_POSTGRES = 'apt-get install -y postgresql (.ci/run does)';

export interface Postgres {
  /** The server's admin URL (user postgres, database postgres; trust auth on loopback). */
  url: string;
  dir: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The newest server Debian installed: /usr/lib/postgresql/<major>/bin. */
function binDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!majors.length) throw new Error(`PostgreSQL is not installed (no ${base}/*/bin/initdb): ${INSTALL_POSTGRES}`);
  return join(base, majors[0]!, 'bin');
}

async function asPostgres(cmd: string, args: string[]): Promise<string> {
  const root = process.getuid?.() === 0;
  try {
    const { stdout } = root ? await run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 60_000 }) : await run(cmd, args, { timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/** initdb in a fresh temp directory, then start the server. */
export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  const dir = await mkdtemp(join(tmpdir(), 'berth-pg-'));
  const data = join(dir, 'data');
  await mkdir(data);
  if (process.getuid?.() === 0) {
    const ids = (await run('id', ['-u', 'postgres'])).stdout.trim();
    const gid = (await run('id', ['-g', 'postgres'])).stdout.trim();
    await chown(dir, Number(ids), Number(gid));
    await chown(data, Number(ids), Number(gid));
  }
  await asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const pg: Postgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    port,
    async start() {
      // the socket directory is the data directory: /var/run/postgresql may not exist or be writable
      const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${data} -c max_connections=300 -c shared_buffers=32MB`;
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    },
    async stop() {
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    },
  };
  await pg.start();
  return pg;
}

export async function removePostgres(pg: Postgres): Promise<void> {
  await pg.stop();
  await rm(pg.dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test run's PostgreSQL admin URL, or why it could not start. */
    postgres: { url: string } | { error: string };
  }
}

/** The run's PostgreSQL (test/global/engines.ts); throws with how to install it when it is missing. */
export function runPostgres(): string {
  const p = inject('postgres');
  if ('error' in p) throw new Error(p.error);
  return p.url;
}

let made = 0;

/** A new, empty database on the run's PostgreSQL, for one test file or test; its URL. */
export async function pgDatabase(prefix = 'berth'): Promise<string> {
  const admin = runPostgres();
  const name = `${prefix}_${process.pid}_${++made}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
