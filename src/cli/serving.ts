/**
 * The running berth's own word on where it listens, kept in its data root (StorePaths.serving): the
 * command line (`berth gc`, `import`, `export` with `--root` alone) reaches the server there, whether
 * it was started from a config file or with --listen flags.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { writeAtomic } from './atomic-file.js';
import { StorePaths } from '../storage/paths.js';

export interface Serving {
  pid: number;
  /** Where this host reaches it: loopback when it listens on every address. */
  url: string;
}

export async function recordServing(root: string, address: AddressInfo, tls: boolean): Promise<void> {
  const unspecified = address.address === '0.0.0.0' || address.address === '::';
  const host = unspecified ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const serving: Serving = { pid: process.pid, url: `${tls ? 'https' : 'http'}://${host}:${address.port}` };
  await writeAtomic(new StorePaths(root).serving, `${JSON.stringify(serving)}\n`);
}

export async function forgetServing(root: string): Promise<void> {
  await rm(new StorePaths(root).serving, { force: true });
}

/** The record of a berth that still runs; undefined when there is none (or its process is gone). */
export function readServing(root: string): Serving | undefined {
  let s: Serving;
  try {
    s = JSON.parse(readFileSync(new StorePaths(root).serving, 'utf8')) as Serving;
  } catch {
    return undefined;
  }
  try {
    process.kill(s.pid, 0); // a record left by a berth that was killed is not believed
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return typeof s.url === 'string' ? s : undefined;
}
