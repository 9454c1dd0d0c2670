/**
 * The contract every Coordination must meet (src/registry/coordination.ts). `make` returns two
 * handles that serve one store: for the in-process one the same object twice, for PostgreSQL two
 * replicas' own, so what is checked here is that the processes exclude each other.
 */
import { describe, expect, it } from 'vitest';
import type { Coordination } from '../../src/registry/coordination.js';

export interface Pair {
  a: Coordination;
  b: Coordination;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `n` tasks at once and records the most that were inside at one time. */
async function overlap(n: number, enter: (i: number, body: () => Promise<void>) => Promise<void>): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      enter(i, async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(15);
        inside--;
      }),
    ),
  );
  return most;
}

export function coordinationSuite(name: string, make: () => Promise<Pair>) {
  describe(`Coordination contract: ${name}`, () => {
    it('lets one holder at a time have a key, and different keys go on together', async () => {
      const p = await make();
      try {
        const h = [p.a, p.b];
        expect(await overlap(6, (i, body) => h[i % 2]!.repoLocks.run('library/alpine', body))).toBe(1);
        expect(await overlap(6, (i, body) => h[i % 2]!.uploadLocks.run('session-1', body))).toBe(1);
        expect(await overlap(4, (i, body) => h[i % 2]!.repoLocks.run(`repo-${i}`, body))).toBe(4);
      } finally {
        await p.close();
      }
    });

    it('shares the sweep gate among linkers and gives it to a sweep alone, before later linkers', async () => {
      const p = await make();
      try {
        expect(await overlap(4, (i, body) => (i % 2 ? p.a : p.b).sweep.shared(body))).toBe(4);
        const order: string[] = [];
        let release!: () => void;
        const holding = new Promise<void>((r) => (release = r));
        const first = p.a.sweep.shared(async () => {
          order.push('shared 1 in');
          await holding;
          order.push('shared 1 out');
        });
        await sleep(50);
        const sweep = p.b.sweep.alone(async () => {
          order.push('alone');
        });
        await sleep(50);
        const later = [p.b, p.a].map((c, i) => c.sweep.shared(async () => void order.push(`shared ${i + 2}`)));
        await sleep(50);
        expect(order).toEqual(['shared 1 in']); // the sweep waits for the holder, later linkers (either side) for the sweep
        release();
        await Promise.all([first, sweep, ...later]);
        expect(order.slice(0, 3)).toEqual(['shared 1 in', 'shared 1 out', 'alone']);
        expect(order.slice(3).sort()).toEqual(['shared 2', 'shared 3']);
      } finally {
        await p.close();
      }
    });

    it('frees a key when its holder throws', async () => {
      const p = await make();
      try {
        await expect(p.a.repoLocks.run('r', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
        expect(await p.b.repoLocks.run('r', async () => 'after')).toBe('after');
      } finally {
        await p.close();
      }
    });

    it('runs a job in one process at a time, and not again before its interval has passed', async () => {
      const p = await make();
      try {
        let runs = 0;
        const job = async () => {
          runs++;
          await sleep(60);
          return runs;
        };
        const [x, y] = await Promise.all([p.a.leases.run('gc', 0, job), p.b.leases.run('gc', 0, job)]);
        expect([x.ran, y.ran].sort()).toEqual([false, true]);
        expect(runs).toBe(1);
        expect(await p.b.leases.run('gc', 60_000, job)).toEqual({ ran: false }); // finished just now
        expect(await p.b.leases.run('gc', 0, job)).toEqual({ ran: true, value: 2 });
        expect(await p.a.leases.run('scrub', 60_000, job)).toEqual({ ran: true, value: 3 }); // another job
      } finally {
        await p.close();
      }
    });

    it('lets a job run again at once after a run that failed', async () => {
      const p = await make();
      try {
        await expect(p.a.leases.run('expiry', 60_000, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
        expect(await p.b.leases.run('expiry', 60_000, async () => 'ok')).toEqual({ ran: true, value: 'ok' });
      } finally {
        await p.close();
      }
    });
  });
}
