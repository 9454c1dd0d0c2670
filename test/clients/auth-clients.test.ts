/**
 * Real clients log in to a spawned `berth serve` with auth on, in Basic and in token mode: skopeo
 * --creds, podman login then push and pull, docker login, crane auth login, ctr --user. A wrong
 * password fails for each.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { pruneContent, startContainerd } from '../helpers/containerd.js';
import { SHARED_TOOLS, containersEnv, crane, requireTool, sh, which } from '../helpers/tools.js';

type Layout = { manifests: { digest: string }[] };
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

for (const mode of ['basic', 'token'] as const) {
  describe(`real clients log in (${mode} mode)`, () => {
    let berth: Berth;
    let work: string;
    let src: string;
    let want: string;
    let tools: { skopeo: string; podman: string; docker: string; crane: string; ctr: string; containerd: string };
    let daemon: { stop(): Promise<void> } | undefined;
    const GOOD = 'alice:alice-secret';
    const BAD = 'alice:wrong';

    beforeAll(async () => {
      tools = {
        skopeo: await which('skopeo', 'apt-get install -y skopeo'),
        podman: await which('podman', 'apt-get install -y podman'),
        docker: await which('docker', 'install the docker CLI'),
        crane: await crane(),
        ctr: await which('ctr', 'apt-get install -y containerd'),
        containerd: await which('containerd', 'apt-get install -y containerd'),
      };
      const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
      work = await mkdtemp(join(tmpdir(), `berth-authcli-${mode}-`));
      src = join(work, 'img');
      await sh('bash', [mkoci, 'image', src, '64']);
      want = (JSON.parse(await readFile(join(src, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
      await writeFile(join(work, 'htpasswd'), `alice:${bcrypt.hashSync('alice-secret', 5)}\n`);
      const token = mode === 'token' ? '    token:\n      service: berth\n' : '';
      // clients retry refused requests many times (ctr most): loose failed-login limits here, tested on their own elsewhere
      const limits = '    failedLogins:\n      perClient: 1000\n      perUser: 1000\n      delayMs: 10\n';
      await writeFile(join(work, 'berth.yaml'), `http:\n  auth:\n    htpasswd:\n      path: ${join(work, 'htpasswd')}\n${token}${limits}`);
      berth = await spawnBerth({ args: ['--config', join(work, 'berth.yaml')] });
    });
    afterAll(async () => {
      await berth?.stop();
      await daemon?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('skopeo --creds pushes and reads; a wrong password fails', async () => {
      const ref = `docker://${berth.host}/auth/skopeo:v1`;
      await expect(sh(tools.skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', BAD, `oci:${src}:latest`, ref])).rejects.toThrow(/unauthorized|authentication required|invalid username/i);
      await sh(tools.skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', GOOD, `oci:${src}:latest`, ref]);
      expect(sha(await sh(tools.skopeo, ['inspect', '--raw', '--tls-verify=false', '--creds', GOOD, ref]))).toBe(want);
      await expect(sh(tools.skopeo, ['inspect', '--raw', '--tls-verify=false', ref])).rejects.toThrow();
    });

    it('podman login, then push and pull; a wrong password fails to log in', async () => {
      const env = await containersEnv(work);
      const p = (...a: string[]) => sh(tools.podman, a, { env });
      await expect(p('login', '--tls-verify=false', '-u', 'alice', '-p', 'wrong', berth.host)).rejects.toThrow();
      await p('login', '--tls-verify=false', '-u', 'alice', '-p', 'alice-secret', berth.host);
      const lower = join(tmpdir(), `berthauthsrc${mode}${Date.now()}`); // podman names oci: images after a lowercase path
      await sh('cp', ['-r', src, lower]);
      const id = (await p('pull', '-q', `oci:${lower}:latest`)).trim();
      await rm(lower, { recursive: true, force: true });
      const ref = `${berth.host}/auth/podman:v1`;
      const digestFile = join(work, 'podman.digest');
      await p('push', '--tls-verify=false', '--digestfile', digestFile, id, `docker://${ref}`);
      await p('rmi', '-a', '-f');
      await p('pull', '-q', '--tls-verify=false', ref);
      expect((await p('inspect', '--format', '{{.Digest}}', ref)).trim()).toBe((await readFile(digestFile, 'utf8')).trim());
    });

    it('docker login succeeds with the password and fails without it', async () => {
      const env = { DOCKER_CONFIG: join(work, 'docker') };
      await expect(sh(tools.docker, ['login', '-u', 'alice', '-p', 'wrong', berth.host], { env })).rejects.toThrow();
      const out = await sh(tools.docker, ['login', '-u', 'alice', '-p', 'alice-secret', berth.host], { env });
      expect(out).toMatch(/Login Succeeded/);
      const inspect = await sh(tools.docker, ['manifest', 'inspect', '--insecure', `${berth.host}/auth/skopeo:v1`], { env });
      expect(sha(JSON.stringify(JSON.parse(inspect)))).toBeTruthy();
    });

    it('crane auth login then push and pull; a wrong password makes push fail', async () => {
      const bad = { DOCKER_CONFIG: join(work, 'crane-bad') };
      const good = { DOCKER_CONFIG: join(work, 'crane-good') };
      await sh(tools.crane, ['auth', 'login', berth.host, '-u', 'alice', '-p', 'wrong'], { env: bad });
      await expect(sh(tools.crane, ['push', '--insecure', src, `${berth.host}/auth/crane:v1`], { env: bad })).rejects.toThrow(/UNAUTHORIZED|401/);
      await sh(tools.crane, ['auth', 'login', berth.host, '-u', 'alice', '-p', 'alice-secret'], { env: good });
      await sh(tools.crane, ['push', '--insecure', src, `${berth.host}/auth/crane:v1`], { env: good });
      expect((await sh(tools.crane, ['digest', '--insecure', `${berth.host}/auth/crane:v1`], { env: good })).trim()).toBe(want);
    });

    it(mode === 'token' ? 'the clients went through the token service' : 'the clients sent Basic credentials, no token service exists', async () => {
      await berth.logMatching(/"user":"alice","event":"push","repository":"auth\/skopeo"/);
      const tokenCalls = berth.log().match(/"url":"\/auth\/token[^"]*","status":200/g) ?? [];
      if (mode === 'token') expect(tokenCalls.length).toBeGreaterThan(3);
      else expect((await fetch(`${berth.url}/auth/token`)).status).toBe(404);
      // the audit trail saw the wrong passwords and alice's pushes, and no secret
      expect(berth.log()).toMatch(/"audit":true,"client":"127\.0\.0\.1","event":"login-failed"/);
      expect(berth.log()).toMatch(/"audit":true,"client":"127\.0\.0\.1","user":"alice","event":"push","repository":"auth\/skopeo","reference":"v1"/);
      expect(berth.log()).not.toMatch(/alice-secret|wrong"|Basic [A-Za-z0-9+/=]{8,}/);
    });

    it('ctr --user pushes and pulls; a wrong password fails', async () => {
      const d = await startContainerd(tools.containerd, work);
      daemon = d;
      const sock = d.sock;
      const ctr = (...a: string[]) => sh(tools.ctr, ['-a', sock, '-n', 'authtest', ...a], { timeout: 120_000 });
      const tar = join(work, 'img.tar');
      await sh('tar', ['-C', src, '-cf', tar, '.']);
      const name = `${berth.host}/auth/ctr`;
      await ctr('images', 'import', '--no-unpack', '--base-name', name, tar);
      await expect(ctr('images', 'push', '--plain-http', '--user', BAD, `${name}:latest`)).rejects.toThrow();
      await ctr('images', 'push', '--plain-http', '--user', GOOD, `${name}:latest`);
      await ctr('images', 'rm', `${name}:latest`);
      await pruneContent(ctr);
      await expect(ctr('images', 'pull', '--plain-http', '--user', BAD, '--snapshotter', 'native', `${name}:latest`)).rejects.toThrow();
      await ctr('images', 'pull', '--plain-http', '--user', GOOD, '--snapshotter', 'native', `${name}:latest`);
      const line = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${name}:latest `));
      expect(line).toContain(want);
    });
  });
}
