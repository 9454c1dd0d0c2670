/**
 * The engines a test run shares, started once before any test file (vitest globalSetup) and stopped
 * after the last: PostgreSQL and Ceph RGW (S3), side by side. Each file then takes its own database
 * (test/helpers/postgres.ts) or key prefix (test/helpers/ceph.ts). An engine that cannot start does
 * not stop the run: the tests that need it fail with the reason.
 */
import type { TestProject } from 'vitest/node';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { removePostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { S3_BUCKET, S3_CREDENTIALS, startCeph, type Ceph } from '../helpers/ceph.js';

async function startS3(): Promise<Ceph> {
  const ceph = await startCeph();
  const client = new S3Client({ endpoint: ceph.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3_CREDENTIALS } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: S3_BUCKET }));
  } catch (err) {
    await ceph.stop();
    throw new Error(`Ceph RGW at ${ceph.endpoint} refused CreateBucket: ${(err as Error).message}`);
  } finally {
    client.destroy();
  }
  return ceph;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [pg, s3] = await Promise.allSettled([startPostgres(), startS3()]);
  project.provide('postgres', pg.status === 'fulfilled' ? { url: pg.value.url } : { error: (pg.reason as Error).message });
  project.provide('s3', s3.status === 'fulfilled' ? { endpoint: s3.value.endpoint } : { error: (s3.reason as Error).message });
  const teardown = async () => {
    if (pg.status === 'fulfilled') await removePostgres(pg.value as Postgres);
    if (s3.status === 'fulfilled') await s3.value.stop();
  };
  // a run stopped by a signal (Ctrl-C, a cancelled CI job) exits without vitest's teardown, and the
  // engines are daemons of their own: they are sent SIGTERM as the process goes, synchronously
  const started = [pg, s3].flatMap((e) => (e.status === 'fulfilled' ? [e.value] : []));
  const killNow = () => {
    for (const e of started) for (const pid of e.pids()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone already */
      }
    }
  };
  function onSignal(signal: NodeJS.Signals) {
    killNow();
    process.kill(process.pid, signal);
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killNow);
  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killNow);
    await teardown();
  };
}
