/**
 * The engines of `--storage s3`: a PostgreSQL (test/engines/postgres.sh) and a one-OSD Ceph with its
 * S3 gateway (../shared/tools/ceph/ceph-up.sh, bluestore in a sparse file: the objects of the large
 * pushes would not fit a memory store), both on 127.0.0.1 at free ports, and one bucket per registry.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './servers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const POSTGRES = join(ROOT, 'test', 'engines', 'postgres.sh');
const CEPH = join(ROOT, '..', 'shared', 'tools', 'ceph');

/** The user ceph-up.sh creates. */
export const S3_KEYS = { accessKeyId: 'TESTACCESSKEY0000000', secretAccessKey: 'testsecretkey000000000000000000000000000' };

export interface Engines {
  postgresUrl: string;
  s3Endpoint: string;
  stop(): Promise<void>;
}

async function sh(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  try {
    await run('bash', [script, ...args], { env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${script} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

export async function startEngines(dir: string, buckets: string[]): Promise<Engines> {
  const pgPort = await freePort();
  // a directory of its own: the server runs as the postgres user, who cannot enter the bench's (0700)
  const pgDir = await mkdtemp(join(tmpdir(), 'berth-bench-pg-'));
  await sh(POSTGRES, ['up', pgDir, String(pgPort)]);
  const [rgw, v2, v1] = [await freePort(), await freePort(), await freePort()];
  const cephEnv = { D: join(dir, 'ceph'), NO_MGR: '1', OBJSTORE: 'bluestore', RGW_PORT: String(rgw), MON_V2: String(v2), MON_V1: String(v1) };
  const stop = async () => {
    await sh(join(CEPH, 'ceph-down.sh'), [], { D: cephEnv.D }).catch(() => undefined);
    await sh(POSTGRES, ['stop', pgDir]).catch(() => undefined);
    await rm(pgDir, { recursive: true, force: true });
  };
  try {
    await sh(join(CEPH, 'ceph-up.sh'), [], cephEnv);
    const endpoint = `http://127.0.0.1:${rgw}`;
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3_KEYS } });
    for (const b of buckets) await s3.send(new CreateBucketCommand({ Bucket: b }));
    s3.destroy();
    return { postgresUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`, s3Endpoint: endpoint, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
