/**
 * One phase in alternation: every round, each server in turn, its figures and its peak RSS logged;
 * and the random data file the large pushes and pulls are cut from.
 */
import { execFile } from 'node:child_process';
import { randomFill } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Env, Figures } from './phases.js';
import type { Peaks } from './servers.js';

const run = promisify(execFile);
const fill = promisify(randomFill);
const MiB = 1024 * 1024;

export type Phase = (e: Env, round: number) => Promise<Figures>;
export type Add = (server: string, f: Figures) => void;

/** Every figure of every round, by server then figure, and the function that records a round's. */
export function collector(): { samples: Map<string, Map<string, number[]>>; add: Add } {
  const samples = new Map<string, Map<string, number[]>>();
  const add: Add = (server, f) => {
    const m = samples.get(server) ?? new Map<string, number[]>();
    for (const [k, v] of Object.entries(f)) m.set(k, [...(m.get(k) ?? []), v]);
    samples.set(server, m);
  };
  return { samples, add };
}

export async function flushDisk(): Promise<void> {
  await run('sync');
}

/** `beforeRound`: figures of the round's own (the disk alone) taken before the servers' turns. */
export async function runRounds(label: string, phase: Phase, on: Env[], rounds: number, add: Add, peaks: Peaks, beforeRound?: (round: number) => Promise<void>): Promise<void> {
  for (let round = 1; round <= rounds; round++) {
    await beforeRound?.(round);
    for (const e of on) {
      await flushDisk(); // each server starts its turn on a disk without the other's dirty pages
      await peaks.take(e.server.pid);
      const f = await phase(e, round);
      const peak = (await peaks.take(e.server.pid)) / MiB;
      if (label === 'node-start storm') f.stormRss = peak;
      add(e.server.name, f);
      console.log(`${label.padEnd(24)} round ${round} ${e.server.name.padEnd(12)} ${Object.entries(f).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(' ')}  [peak rss ${peak.toFixed(0)} MiB]`);
    }
  }
}

/** A file of `size` random bytes in `dir`. */
export async function dataFile(dir: string, size: number): Promise<string> {
  const path = join(dir, 'data.bin');
  const fh = await open(path, 'w');
  const buf = Buffer.alloc(16 * 1024 * 1024);
  for (let off = 0; off < size; off += buf.length) {
    await fill(buf);
    await fh.write(buf, 0, Math.min(buf.length, size - off));
  }
  await fh.close();
  return path;
}
