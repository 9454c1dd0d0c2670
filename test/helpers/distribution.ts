/** Debian's docker-registry (CNCF distribution 2.8.2) on 127.0.0.1, optionally with htpasswd (Basic) auth. */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort } from './spawn.js';
import { which } from './tools.js';

export interface Distribution {
  url: string;
  host: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startDistribution(dir: string, auth?: { user: string; password: string }): Promise<Distribution> {
  const bin = await which('docker-registry', 'apt-get install -y docker-registry (.ci/run does)');
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log: {level: info, accesslog: {disabled: false}}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}, redirect: {disable: true}}`,
    `http: {addr: 127.0.0.1:${port}, secret: test-secret}`,
  ];
  if (auth) {
    await writeFile(join(dir, 'htpasswd'), `${auth.user}:${bcrypt.hashSync(auth.password, 5)}\n`);
    lines.push(`auth: {htpasswd: {realm: test, path: ${join(dir, 'htpasswd')}}}`);
  }
  await writeFile(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const env = { ...process.env };
  delete env.REGISTRY_AUTH_FILE; // distribution reads REGISTRY_* as configuration
  const child = spawn(bin, ['serve', join(dir, 'config.yml')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-200_000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited:\n${log}`);
    if ((await fetch(`${url}/v2/`).catch(() => undefined))?.status) break;
    if (i > 100) throw new Error(`docker-registry did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
