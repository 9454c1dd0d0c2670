import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgCoordination } from '../../../src/index/pg-coordination.js';
import { PgIndex } from '../../../src/index/pg-index.js';
import { coordinationSuite } from '../../shared/coordination.suite.js';
import { pgDatabase } from '../../helpers/postgres.js';

let url: string;
let schemas = 0;
const options = (schema: string, poolSize = 4) => ({ url, schema, poolSize, connectTimeoutMs: 5_000, queryTimeoutMs: 15_000 });

/** Two replicas' indexes over one schema (the jobs table comes from the index's migrations). */
async function replicas(poolSize = 4) {
  const schema = `coord_${++schemas}`;
  const ia = await PgIndex.open(options(schema, poolSize));
  const ib = await PgIndex.open(options(schema, poolSize));
  return { ia, ib, a: ia.shared.coordination(), b: ib.shared.coordination(), close: async () => void (await Promise.all([ia.close(), ib.close()])) };
}

beforeAll(async () => {
  url = await pgDatabase('coordination');
});

// two processes' worth: each handle has its own sessions
coordinationSuite('PostgreSQL', () => replicas());

describe('PostgreSQL coordination', () => {
  it('frees a lease whose holder died: its session ends, and another replica runs the job', async () => {
    const r = await replicas();
    try {
      let stop!: () => void;
      const stuck = r.a.leases.run('gc', 0, () => new Promise<void>((res) => (stop = res)));
      await new Promise((res) => setTimeout(res, 100));
      expect(await r.b.leases.run('gc', 0, async () => 'second')).toEqual({ ran: false });
      // the holder's process is gone: the server ends its sessions (as when a replica is killed)
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'berth-locks' AND query LIKE '%finished_at AS at FROM jobs%' AND pid <> pg_backend_pid()");
      await admin.end();
      expect(await r.b.leases.run('gc', 0, async () => 'second')).toEqual({ ran: true, value: 'second' });
      stop();
      await stuck.catch(() => undefined); // its own end fails: its session is gone
    } finally {
      await r.close();
    }
  });

  it('takes the locks one operation nests on one session: a pool of one never waits for itself', async () => {
    const r = await replicas(1);
    try {
      const got = await r.a.repoLocks.run('repo', () => r.a.sweep.shared(async () => 'nested'));
      expect(got).toBe('nested');
    } finally {
      await r.close();
    }
  });

  it('keeps replicas of different schemas in one database out of each other’s locks', async () => {
    const a = new PgCoordination(options('one'), 'test');
    const b = new PgCoordination(options('two'), 'test');
    try {
      let inside = 0;
      let most = 0;
      const body = async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((res) => setTimeout(res, 30));
        inside--;
      };
      await Promise.all([a.repoLocks.run('same', body), b.repoLocks.run('same', body)]);
      expect(most).toBe(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('PostgreSQL change stamps', () => {
  it('move with every change to a repository’s manifests or tags, whichever replica made it, and not with blob links', async () => {
    const r = await replicas();
    try {
      const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
      const rec = { digest: d(1), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 2, blobs: [], manifests: [], pushedAt: 1 };
      const stamp = async () => (await r.ib.shared.stamps(['app', 'none'])).get('app');
      expect(await r.ib.shared.stamps(['none'])).toEqual(new Map());
      await r.ia.linkBlob('app', d(9), 1);
      const s0 = await stamp();
      await r.ia.linkBlob('app', d(8), 1);
      expect(await stamp()).toBe(s0);
      await r.ia.putManifest('app', rec, Buffer.from('{}'), undefined, 'v1');
      const s1 = await stamp();
      expect(s1).not.toBe(s0);
      await r.ia.putManifest('app', rec, Buffer.from('{}'), undefined, 'v1'); // the same tag again still moves it
      const s2 = await stamp();
      expect(s2).not.toBe(s1);
      expect(await r.ia.deleteTag('app', 'nope')).toBe(false);
      expect(await stamp()).toBe(s2); // nothing changed
      expect(await r.ia.deleteTag('app', 'v1')).toBe(true);
      const s3 = await stamp();
      expect(s3).not.toBe(s2);
      await r.ia.deleteManifest('app', d(1));
      expect(await stamp()).not.toBe(s3);
    } finally {
      await r.close();
    }
  });
});
