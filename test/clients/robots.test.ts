/**
 * Robot accounts with real clients, in Basic and in token mode: `berth token create` (through the
 * running server) prints a secret that works as the password of `robot$<name>` for skopeo, docker
 * login + manifest inspect, crane and ctr, within its scope and not outside it; `berth token list`
 * shows it (never the secret), every request it makes is in the audit trail, and after `berth token
 * revoke` it is refused on its next use, /auth/token issues it nothing, and a token it got before
 * stops working.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { pruneContent, startContainerd } from '../helpers/containerd.js';
import { SHARED_TOOLS, crane, requireTool, sh, which } from '../helpers/tools.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const REFUSED = /unauthorized|denied|401|403|authentication required/i;

for (const mode of ['basic', 'token'] as const) {
  describe(`robot accounts (${mode} mode)`, () => {
    let berth: Berth;
    let work: string;
    let src: string;
    let want: string;
    let cli: string[];
    let robot: string;
    let daemon: { stop(): Promise<void> } | undefined;
    let tools: { skopeo: string; docker: string; crane: string; ctr: string; containerd: string };
    const ALICE = 'alice:alice-secret';

    beforeAll(async () => {
      tools = {
        skopeo: await which('skopeo', 'apt-get install -y skopeo (.ci/run does)'),
        docker: await which('docker', 'apt-get install -y docker.io (.ci/run does)'),
        crane: await crane(),
        ctr: await which('ctr', 'apt-get install -y containerd (.ci/run does)'),
        containerd: await which('containerd', 'apt-get install -y containerd (.ci/run does)'),
      };
      const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
      work = await mkdtemp(join(tmpdir(), `berth-robots-${mode}-`));
      src = join(work, 'img');
      await sh('bash', [mkoci, 'image', src, '64']);
      want = (JSON.parse(await readFile(join(src, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest;
      await writeFile(join(work, 'htpasswd'), `alice:${bcrypt.hashSync('alice-secret', 5)}\n`);
      const token = mode === 'token' ? '    token:\n      service: berth\n' : '';
      const limits = '    failedLogins:\n      perClient: 1000\n      perUser: 1000\n      delayMs: 10\n';
      // alice may do anything in team-b and team-c; the robot she owns gets pull and push in team-b only
      const access = 'accessControl:\n  repositories:\n    "team-*/**":\n      policies: [{users: [alice], actions: [read, create, update, delete]}]\n';
      await writeFile(join(work, 'berth.yaml'), `http:\n  auth:\n    htpasswd:\n      path: ${join(work, 'htpasswd')}\n${token}${limits}${access}`);
      berth = await spawnBerth({ root: join(work, 'root'), args: ['--config', join(work, 'berth.yaml')] });
      cli = ['--root', berth.root, '--config', join(work, 'berth.yaml')];
      const made = await runCli(['token', 'create', ...cli, '--name', 'ci-team-b', '--owner', 'alice', '--scope', 'team-b/**:pull,push', '--expires', '90d']);
      expect(made.code, made.out).toBe(0);
      expect(made.stdout).toMatch(/^username: robot\$ci-team-b\nsecret: +berth-robot\.[A-Za-z0-9_-]{43}\n$/);
      robot = `robot$ci-team-b:${/secret: +(\S+)/.exec(made.stdout)![1]}`;
      // something in team-c to be refused
      await sh(tools.skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', ALICE, `oci:${src}:latest`, `docker://${berth.host}/team-c/app:v1`]);
    });
    afterAll(async () => {
      await berth?.stop();
      await daemon?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('skopeo: pushes and reads in its scope; outside it, and deleting, are refused', async () => {
      const ref = `docker://${berth.host}/team-b/app:v1`;
      await sh(tools.skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', robot, `oci:${src}:latest`, ref]);
      expect(sha(await sh(tools.skopeo, ['inspect', '--raw', '--tls-verify=false', '--creds', robot, ref]))).toBe(want);
      await expect(sh(tools.skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', robot, `oci:${src}:latest`, `docker://${berth.host}/team-c/app:v2`])).rejects.toThrow(REFUSED);
      await expect(sh(tools.skopeo, ['inspect', '--raw', '--tls-verify=false', '--creds', robot, `docker://${berth.host}/team-c/app:v1`])).rejects.toThrow(REFUSED);
      await expect(sh(tools.skopeo, ['delete', '--tls-verify=false', '--creds', robot, ref])).rejects.toThrow(REFUSED);
    });

    it('docker login, then manifest inspect in its scope and not outside it', async () => {
      const env = { DOCKER_CONFIG: join(work, 'docker') };
      const [user, password] = [robot.slice(0, robot.indexOf(':')), robot.slice(robot.indexOf(':') + 1)];
      expect(await sh(tools.docker, ['login', '-u', user, '-p', password, berth.host], { env })).toMatch(/Login Succeeded/);
      const inspected = JSON.parse(await sh(tools.docker, ['manifest', 'inspect', '--insecure', `${berth.host}/team-b/app:v1`], { env })) as { schemaVersion: number };
      expect(inspected.schemaVersion).toBe(2);
      await expect(sh(tools.docker, ['manifest', 'inspect', '--insecure', `${berth.host}/team-c/app:v1`], { env })).rejects.toThrow();
    });

    it('crane auth login, then push and digest in its scope; a push outside it fails', async () => {
      const env = { DOCKER_CONFIG: join(work, 'crane') };
      const [user, password] = [robot.slice(0, robot.indexOf(':')), robot.slice(robot.indexOf(':') + 1)];
      await sh(tools.crane, ['auth', 'login', berth.host, '-u', user, '-p', password], { env });
      await sh(tools.crane, ['push', '--insecure', src, `${berth.host}/team-b/crane:v1`], { env });
      expect((await sh(tools.crane, ['digest', '--insecure', `${berth.host}/team-b/crane:v1`], { env })).trim()).toBe(want);
      await expect(sh(tools.crane, ['push', '--insecure', src, `${berth.host}/team-c/crane:v1`], { env })).rejects.toThrow(REFUSED);
    });

    it('ctr --user pulls in its scope; a pull outside it fails', async () => {
      const d = await startContainerd(tools.containerd, join(work, 'ctr'));
      daemon = d;
      const ctr = (...a: string[]) => sh(tools.ctr, ['-a', d.sock, '-n', 'robots', ...a], { timeout: 120_000 });
      await ctr('images', 'pull', '--plain-http', '--user', robot, '--snapshotter', 'native', `${berth.host}/team-b/app:v1`);
      expect((await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${berth.host}/team-b/app:v1 `))).toContain(want);
      await expect(ctr('images', 'pull', '--plain-http', '--user', robot, '--snapshotter', 'native', `${berth.host}/team-c/app:v1`)).rejects.toThrow();
      await pruneContent(ctr);
    });

    it('is listed with its scopes and last use (never its secret), and each of its requests is audited', async () => {
      const listed = await runCli(['token', 'list', ...cli]);
      expect(listed.code, listed.out).toBe(0);
      const { robots } = JSON.parse(listed.stdout) as { robots: Record<string, unknown>[] };
      expect(robots).toHaveLength(1);
      expect(robots[0]).toMatchObject({ name: 'ci-team-b', owner: 'alice', scopes: [{ repositories: 'team-b/**', actions: ['pull', 'push'] }] });
      expect(robots[0]!.lastUsedAt).toBeGreaterThan(robots[0]!.createdAt as number);
      expect((robots[0]!.expiresAt as number) - (robots[0]!.createdAt as number)).toBe(90 * 86_400_000);
      expect(listed.stdout).not.toMatch(/secret|berth-robot\./i);
      const log = await berth.logMatching(/"user":"robot\$ci-team-b","event":"robot","repository":"team-b\/app"/);
      expect(log).toMatch(/"user":"robot\$ci-team-b","event":"push","repository":"team-b\/app","reference":"v1"/);
      expect(log).not.toContain(robot.slice(robot.indexOf(':') + 1));
    });

    it('is refused at once after `berth token revoke`, by Basic, by /auth/token, and with a token it got before', async () => {
      const ref = `docker://${berth.host}/team-b/app:v1`;
      const basic = `Basic ${Buffer.from(robot).toString('base64')}`;
      const before = mode === 'token' ? (await (await fetch(`${berth.url}/auth/token?service=berth&scope=repository:team-b/app:pull`, { headers: { authorization: basic } })).json()) as { token: string } : undefined;
      if (before) expect((await fetch(`${berth.url}/v2/team-b/app/manifests/v1`, { headers: { authorization: `Bearer ${before.token}`, accept: 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(200);
      const revoked = await runCli(['token', 'revoke', ...cli, 'ci-team-b']);
      expect(revoked.code, revoked.out).toBe(0);
      expect(JSON.parse(revoked.stdout).robot.revokedAt).toBeGreaterThan(0);
      await expect(sh(tools.skopeo, ['inspect', '--raw', '--tls-verify=false', '--creds', robot, ref])).rejects.toThrow(REFUSED);
      if (mode === 'token') {
        expect((await fetch(`${berth.url}/auth/token?service=berth&scope=repository:team-b/app:pull`, { headers: { authorization: basic } })).status).toBe(401);
        const late = await fetch(`${berth.url}/v2/team-b/app/manifests/v1`, { headers: { authorization: `Bearer ${before!.token}` } });
        expect(late.status).toBe(401);
        expect(await late.text()).toMatch(/revoked or has expired/);
      } else {
        const late = await fetch(`${berth.url}/v2/team-b/app/manifests/v1`, { headers: { authorization: basic } });
        expect(late.status).toBe(401);
        expect(await late.text()).toMatch(/robot ci-team-b was revoked/);
      }
      // alice herself is untouched
      expect(sha(await sh(tools.skopeo, ['inspect', '--raw', '--tls-verify=false', '--creds', ALICE, ref]))).toBe(want);
    });
  });
}
