/**
 * A real PostgreSQL for tests: Debian's server, initialised in a temp directory and listening on
 * 127.0.0.1 at a free port by test/engines/postgres.sh (the benchmark uses it too), started once per
 * test run by test/global/engines.ts. Each test file takes a database of its own from it (pgDatabase);
 * a missing server fails the test with the command that installs it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { provided } from './provided.js';
import { pidsIn } from './ports.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface Postgres {
  /** The server's admin URL (user postgres, database postgres; trust auth on loopback). */
  url: string;
  dir: string;
  port: number;
  stop(): Promise<void>;
  /** Its processes, from the pid file (read synchronously: for an exit hook). */
  pids(): number[];
  start(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../engines/postgres.sh', import.meta.url));

async function script(args: string[]): Promise<void> {
  try {
    await run('bash', [SCRIPT, ...args], { timeout: 90_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${e.stderr?.trim() || e.message}\n(test/engines/postgres.sh ${args.join(' ')})`);
  }
}

/** initdb in a fresh temp directory, then start the server (test/engines/postgres.sh). */
export async function startPostgres(): Promise<Postgres> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pg-'));
  const port = await freePort();
  await script(['up', dir, String(port)]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    port,
    start: () => script(['start', dir, String(port)]),
    stop: () => script(['stop', dir]),
    pids: () => pidsIn([join(dir, 'data', 'postmaster.pid')]),
  };
}

export async function removePostgres(pg: Postgres): Promise<void> {
  await pg.stop();
  await rm(pg.dir, { recursive: true, force: true });
}

/** The run's PostgreSQL (test/global/engines.ts); throws with how to install it when it is missing. */
export function runPostgres(): string {
  return provided('postgres').url;
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
