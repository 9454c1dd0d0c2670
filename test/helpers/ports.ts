/**
 * Ports and pid files for the engine helpers. A module of its own: helpers that need only these must
 * not load undici from node_modules (spawn.ts does), which changes what the global fetch accepts.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The process ids in the first line of each pid file that exists. */
export function pidsIn(files: string[]): number[] {
  const out: number[] = [];
  for (const f of files) {
    try {
      const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
      if (pid > 0) out.push(pid);
    } catch {
      /* not started, or already stopped */
    }
  }
  return out;
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
