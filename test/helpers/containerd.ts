import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from './tools.js';

/** ctr against a test containerd, in the tests' namespace. */
export type Ctr = (...args: string[]) => Promise<string>;

export function ctrOn(binary: string, sock: string): Ctr {
  return (...a) => sh(binary, ['-a', sock, '-n', 'berth-test', ...a], { timeout: 180_000 });
}

/** The digest `ctr images ls` lists for `ref`; an error when it lists no such image. */
export async function listedDigest(ctr: Ctr, ref: string): Promise<string> {
  const line = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${ref} `));
  if (!line) throw new Error(`${ref} is not in ctr images ls`);
  return /sha256:[0-9a-f]{64}/.exec(line)![0];
}

/**
 * Imports the OCI layout `src` (tarred beside it) as `name:latest`, pushes it with --plain-http,
 * then removes the image and its content: a pull after this fetches everything from the registry.
 */
export async function pushThenForget(ctr: Ctr, src: string, name: string): Promise<void> {
  const tar = `${src}.tar`;
  await sh('tar', ['-C', src, '-cf', tar, '.']);
  await ctr('images', 'import', '--no-unpack', '--base-name', name, tar);
  await ctr('images', 'push', '--plain-http', `${name}:latest`);
  await ctr('images', 'rm', `${name}:latest`);
  await pruneContent(ctr);
}
/**
 * `ctr content prune references`, retried: containerd's own garbage collector can remove content
 * while the prune walks it, and the prune then fails with "content digest ...: not found" although
 * nothing is wrong (seen in CI). A later attempt finds nothing left to race with.
 */
export async function pruneContent(ctr: (...a: string[]) => Promise<string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctr('content', 'prune', 'references');
      return;
    } catch (err) {
      if (attempt >= 5 || !/not found/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}


/**
 * A containerd of the test's own under `dir`, on a socket in `dir`. CRI is off (no CNI needed)
 * unless `cri` is given: then its image service (what the kubelet calls) is on, with registry hosts
 * from `cri.certsDir` (hosts.toml files, as /etc/containerd/certs.d on a node). No pods run, so
 * cgroups, AppArmor and CNI are not needed.
 */
export async function startContainerd(binary: string, dir: string, cri?: { certsDir: string }): Promise<{ sock: string; log(): string; stop(): Promise<void> }> {
  const sock = join(dir, 'c.sock');
  await mkdir(join(dir, 'ctd-root'), { recursive: true });
  await writeFile(
    join(dir, 'ctd.toml'),
    [
      'version = 2',
      `root = "${dir}/ctd-root"`,
      `state = "${dir}/ctd-state"`,
      ...(cri
        ? [
            '[plugins."io.containerd.grpc.v1.cri"]',
            '  disable_cgroup = true',
            '  disable_apparmor = true',
            '  restrict_oom_score_adj = true',
            '  [plugins."io.containerd.grpc.v1.cri".containerd]',
            '    snapshotter = "native"',
            '  [plugins."io.containerd.grpc.v1.cri".registry]',
            `    config_path = "${cri.certsDir}"`,
          ]
        : ['disabled_plugins = ["io.containerd.grpc.v1.cri"]']),
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${dir}/t.sock"`,
      '[metrics]',
      '  address = ""',
    ].join('\n'),
  );
  let log = '';
  const daemon = spawn(binary, ['--config', join(dir, 'ctd.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  daemon.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(sock)) throw new Error(`containerd did not start:\n${log}`);
  return {
    sock,
    log: () => log,
    async stop() {
      if (daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        await new Promise((r) => daemon.once('exit', r));
      }
    },
  };
}
