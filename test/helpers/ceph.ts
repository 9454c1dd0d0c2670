/**
 * A real S3 store for tests: Ceph RGW from Debian, as a one-OSD cluster (memstore, no manager) on
 * 127.0.0.1 at free ports, started once per test run by test/global/engines.ts with
 * ../shared/tools/ceph/ceph-up.sh. Each test file takes a key prefix of its own in the run's bucket
 * (s3Prefix); a missing Ceph fails the test with the command that installs it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { provided } from './provided.js';
import { pidsIn } from './ports.js';
import { freePort } from './ports.js';
import { SHARED_TOOLS } from './tools.js';

const run = promisify(execFile);
export const INSTALL_CEPH = 'apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common uuid-runtime bc (.ci/run does)';

/** The user ceph-up.sh creates (pass copies to the SDK: it marks the object it is given). */
export const S3_CREDENTIALS = { accessKeyId: 'TESTACCESSKEY0000000', secretAccessKey: 'testsecretkey000000000000000000000000000' };
export const S3_BUCKET = 'berth-test';

export interface Ceph {
  endpoint: string;
  dir: string;
  stop(): Promise<void>;
  /** Its daemons, from the pid files ceph-up.sh wrote (read synchronously: for an exit hook). */
  pids(): number[];
  /** Stops the S3 gateway alone (the cluster stays), and starts it again on the same port. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
}

export async function startCeph(): Promise<Ceph> {
  for (const bin of ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph', 'uuidgen', 'bc']) {
    try {
      await run('sh', ['-c', `command -v ${bin}`]);
    } catch {
      throw new Error(`${bin} is not installed: ${INSTALL_CEPH}`);
    }
  }
  const script = join(SHARED_TOOLS, 'ceph', 'ceph-up.sh');
  if (!existsSync(script)) throw new Error(`${script} is missing (../shared/tools beside the checkout)`);
  const dir = await mkdtemp(join(tmpdir(), 'berth-ceph-'));
  const [rgw, v2, v1] = [await freePort(), await freePort(), await freePort()];
  const env = { ...process.env, D: dir, NO_MGR: '1', OBJSTORE: 'memstore', RGW_PORT: String(rgw), MON_V2: String(v2), MON_V1: String(v1) };
  const stop = async () => {
    await run('bash', [join(SHARED_TOOLS, 'ceph', 'ceph-down.sh')], { env: { ...process.env, D: dir }, timeout: 60_000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run('bash', [script], { env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    await stop();
    throw new Error(`Ceph did not start (${script}): ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
  const endpoint = `http://127.0.0.1:${rgw}`;
  const pidFile = join(dir, 'run', 'rgw.a.mypid');
  return {
    endpoint,
    dir,
    stop,
    pids: () => pidsIn(['mon.a', 'osd.0', 'rgw.a'].map((n) => join(dir, 'run', `${n}.mypid`))),
    async stopGateway() {
      const pid = Number(await readFile(pidFile, 'utf8'));
      process.kill(pid, 'SIGKILL');
      while (existsSync(`/proc/${pid}`) && !(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ' Z ')).includes(' Z ')) await new Promise((r) => setTimeout(r, 50));
    },
    async startGateway() {
      // as ceph-up.sh starts it; ceph-down.sh stops it by the PID recorded here
      const child = spawn('radosgw', ['-n', 'client.rgw.a', '-f'], { env: { ...process.env, CEPH_CONF: join(dir, 'ceph.conf') }, stdio: 'ignore', detached: true });
      child.unref();
      await writeFile(pidFile, String(child.pid));
      for (let i = 0; !(await fetch(endpoint).then(() => true, () => false)); i++) {
        if (i > 300) throw new Error(`radosgw did not answer at ${endpoint} within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** The run's S3 endpoint (test/global/engines.ts); throws with how to install Ceph when it is missing. */
export function runS3(): string {
  return provided('s3').endpoint;
}

let made = 0;

/** A key prefix of its own in the run's bucket, for one test file or test. */
export function s3Prefix(name = 't'): string {
  return `${name}-${process.pid}-${++made}-${Date.now().toString(36)}/`;
}

/** storage.s3 for a fresh prefix in the run's bucket. */
export function s3TestConfig(name = 'registry') {
  return { endpoint: runS3(), region: 'us-east-1', bucket: S3_BUCKET, prefix: s3Prefix(name), forcePathStyle: true, ...S3_CREDENTIALS };
}
