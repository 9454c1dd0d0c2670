/**
 * Events (events.sinks) from a real `berth serve` to real HTTP sinks on 127.0.0.1: exactly the
 * expected CloudEvents for a scripted run, and none lost through a sink that is down for 30 s
 * while berth is SIGKILLed and started again.
 */
import { execFileSync } from 'node:child_process';
import bcrypt from 'bcryptjs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS } from '../helpers/tools.js';
import { startEventSink, type EventSink, type Received } from '../helpers/event-sink.js';
import { cloudEventProblems } from '../helpers/cloudevents.js';
import { blob, imageManifest, OCI_MANIFEST, type Manifest } from '../helpers/oci.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { makeCa, makeServerCert } from '../helpers/certs.js';

async function pushBlobAndManifest(base: string, repo: string, ref: string, seed: number): Promise<Manifest> {
  const cfg = blob(64 + seed);
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${cfg.digest}`, { method: 'POST', body: cfg.bytes });
  expect(r.status, await r.text()).toBe(201);
  const m = imageManifest(cfg, []);
  await putManifest(base, repo, ref, m);
  return m;
}

async function putManifest(base: string, repo: string, ref: string, m: Manifest): Promise<void> {
  const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
  expect(r.status, await r.text()).toBe(201);
}

async function del(base: string, repo: string, ref: string): Promise<void> {
  const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'DELETE' });
  expect(r.status, await r.text()).toBe(202);
}

/** What a test compares: type, repository and data, one line per event. */
const line = (r: Received) => {
  const { actor: _actor, ...data } = r.event.data;
  return `${r.event.type} ${r.event.subject} ${JSON.stringify(data)}`;
};
const seqOf = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));

async function metric(b: Berth, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('events to HTTP sinks', () => {
  let all: EventSink;
  let team: EventSink;
  let berth: Berth;
  let dir: string;

  beforeAll(async () => {
    dir = await testDirPersistent('berth-events-');
    all = await startEventSink();
    team = await startEventSink();
    const config = {
      events: {
        sinks: [
          { name: 'all', url: all.url, token: 's3cret', headers: { 'x-team': 'ops' } },
          { name: 'team', url: team.url, repositories: ['team/**'], types: ['manifest.pushed', 'manifest.pulled'] },
        ],
      },
    };
    await writeFile(join(dir, 'berth.yaml'), JSON.stringify(config));
    berth = await spawnBerth({ args: ['--config', join(dir, 'berth.yaml')] });
  });
  afterAll(async () => {
    await berth?.stop();
    await all?.down();
    await team?.down();
  });

  it('sends exactly the events of a scripted run of pushes, retags and deletes, each a valid CloudEvent', async () => {
    const a = await pushBlobAndManifest(berth.url, 'app', 'v1', 1);
    const b = await pushBlobAndManifest(berth.url, 'app', 'v1', 2); // moves v1
    await putManifest(berth.url, 'app', `${b.digest}?tag=v2`, b); // OCI tag parameter: pushed again, tagged v2
    await del(berth.url, 'app', 'v1');
    await del(berth.url, 'app', a.digest);
    const t = await pushBlobAndManifest(berth.url, 'team/x', '1.0', 3);
    expect((await fetch(`${berth.url}/v2/team/x/manifests/1.0`, { headers: { accept: OCI_MANIFEST } })).status).toBe(200);
    expect((await fetch(`${berth.url}/v2/team/x/manifests/1.0`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } })).status).toBe(200);

    const pushed = (m: Manifest, tags: string[]) => ({ digest: m.digest, mediaType: OCI_MANIFEST, size: m.bytes.length, tags, artifactType: 'application/vnd.oci.image.config.v1+json' });
    const expected = [
      'dev.berth.repository.created app {"repository":"app"}',
      `dev.berth.manifest.pushed app ${JSON.stringify({ repository: 'app', ...pushed(a, ['v1']) })}`,
      `dev.berth.manifest.pushed app ${JSON.stringify({ repository: 'app', ...pushed(b, ['v1']) })}`,
      `dev.berth.tag.moved app ${JSON.stringify({ repository: 'app', tag: 'v1', from: a.digest, to: b.digest })}`,
      `dev.berth.manifest.pushed app ${JSON.stringify({ repository: 'app', ...pushed(b, ['v2']) })}`,
      `dev.berth.tag.deleted app ${JSON.stringify({ repository: 'app', tag: 'v1', digest: b.digest })}`,
      `dev.berth.manifest.deleted app ${JSON.stringify({ repository: 'app', digest: a.digest, tags: [] })}`,
      'dev.berth.repository.created team/x {"repository":"team/x"}',
      `dev.berth.manifest.pushed team/x ${JSON.stringify({ repository: 'team/x', ...pushed(t, ['1.0']) })}`,
    ];
    await all.waitFor((r) => r.length >= expected.length, 15_000);
    await team.waitFor((r) => r.length >= 2, 15_000);
    await new Promise((r) => setTimeout(r, 1500)); // nothing more comes
    // in order per repository (repositories go out side by side): compared in the order of their ids
    const bySeq = [...all.received].sort((x, y) => seqOf(x.event.id) - seqOf(y.event.id));
    expect(bySeq.map(line)).toEqual(expected);
    for (const repo of ['app', 'team/x']) expect(all.received.filter((r) => r.event.subject === repo)).toEqual(bySeq.filter((r) => r.event.subject === repo));
    expect(team.received.map(line)).toEqual([expected[8], `dev.berth.manifest.pulled team/x ${JSON.stringify({ repository: 'team/x', digest: t.digest })}`]);

    for (const { event } of [...all.received, ...team.received]) expect(cloudEventProblems(event), JSON.stringify(event)).toEqual([]);
    const ids = bySeq.map((r) => r.event.id);
    expect(new Set(ids).size).toBe(ids.length);
    // one event, one id, whichever sink it went to
    expect(team.received[0]!.event.id).toBe(bySeq[8]!.event.id);
    const source = all.received[0]!.event.source as string;
    expect(source).toMatch(/^urn:berth:[0-9a-f-]{36}$/);
    expect(ids[0]!.startsWith(`${source.slice('urn:berth:'.length)}-`)).toBe(true);
    for (const { event, headers } of all.received) {
      expect(event.source).toBe(source);
      expect(headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(headers.authorization).toBe('Bearer s3cret');
      expect(headers['x-team']).toBe('ops');
      expect(Math.abs(Date.parse(event.time as string) - Date.now())).toBeLessThan(60_000);
    }
    expect(team.received[0]!.headers.authorization).toBeUndefined();
    // who made each change: the client's address, user agent and the request's id (no user: auth is off)
    for (const { event } of [...all.received, ...team.received]) {
      expect(event.data.actor, line({ event } as Received)).toEqual({ addr: '127.0.0.1', requestId: expect.any(String), userAgent: expect.any(String) });
    }
    expect(await metric(berth, 'berth_events_delivered_total{sink="all"}')).toBe(expected.length);
    expect(await metric(berth, 'berth_events_delivered_total{sink="team"}')).toBe(2);
    expect(await metric(berth, 'berth_events_queued{sink="all"}')).toBe(0);
    expect(await metric(berth, 'berth_events_failed_total{sink="all"}')).toBe(0);
  });

  it('sends one bundle.imported event per repository a bundle fills, after its images', async () => {
    const lay = join(dir, 'layout');
    execFileSync('bash', [join(SHARED_TOOLS, 'mkoci.sh'), 'image', lay, '32', '16']);
    const index = JSON.parse(await readFile(join(lay, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const from = all.received.length;
    const imported = await runCli(['import', lay, '--root', berth.root, '--repository', 'bundled/app']);
    expect(imported.code, imported.out).toBe(0);
    await all.waitFor((r) => r.some((e) => e.event.type === 'dev.berth.bundle.imported'), 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    const got = all.received.slice(from).sort((x, y) => seqOf(x.event.id) - seqOf(y.event.id));
    expect(got.map((r) => r.event.type)).toEqual(['dev.berth.repository.created', 'dev.berth.manifest.pushed', 'dev.berth.bundle.imported']);
    expect(got[2]!.event.data).toEqual({ repository: 'bundled/app', images: [{ tag: 'latest', digest: index.manifests[0]!.digest }] });
  });

  it('posts to an https sink whose certificate the configured CA signed, and to no sink it cannot verify', async () => {
    const ca = makeCa(join(dir, 'sink-ca'));
    const tls = makeServerCert(join(dir, 'sink-ca'), 'sink');
    const secure = await startEventSink(tls);
    const config = { events: { sinks: [{ name: 'trusted', url: secure.url, ca: ca.ca }, { name: 'untrusted', url: secure.url }] } };
    await writeFile(join(dir, 'tls.yaml'), JSON.stringify(config));
    const b = await spawnBerth({ args: ['--config', join(dir, 'tls.yaml')] });
    try {
      await pushBlobAndManifest(b.url, 'tls/app', 'v1', 7);
      await secure.waitFor((r) => r.length >= 2, 15_000);
      await b.logMatching(/delivery failed/, 5000);
      await new Promise((r) => setTimeout(r, 500));
      expect(secure.received.map((r) => r.event.type)).toEqual(['dev.berth.repository.created', 'dev.berth.manifest.pushed']);
      expect(await metric(b, 'berth_events_delivered_total{sink="untrusted"}')).toBe(0);
      expect(await metric(b, 'berth_events_failed_total{sink="untrusted"}')).toBeGreaterThan(0);
      expect(b.log()).toMatch(/"sink":"untrusted".*(self.signed|unable to verify|certificate)/i);
    } finally {
      await b.stop();
      await secure.down();
    }
  });

  it("names the user who made a change when auth is on", async () => {
    const d = await testDirPersistent('berth-events-auth-');
    await writeFile(join(d, 'htpasswd'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
    const sink = await startEventSink();
    await writeFile(join(d, 'berth.yaml'), JSON.stringify({ http: { auth: { htpasswd: { path: join(d, 'htpasswd') } } }, events: { sinks: [{ name: 's', url: sink.url }] } }));
    const b = await spawnBerth({ args: ['--config', join(d, 'berth.yaml')] });
    try {
      const auth = { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}`, 'user-agent': 'events-test/1' };
      const cfg = blob(90);
      expect((await fetch(`${b.url}/v2/auth/app/blobs/uploads/?digest=${cfg.digest}`, { method: 'POST', body: cfg.bytes, headers: auth })).status).toBe(201);
      const m = imageManifest(cfg, []);
      expect((await fetch(`${b.url}/v2/auth/app/manifests/v1`, { method: 'PUT', body: m.bytes, headers: { ...auth, 'content-type': OCI_MANIFEST } })).status).toBe(201);
      await sink.waitFor((r) => r.length >= 2, 15_000);
      for (const { event } of sink.received) expect(event.data.actor).toEqual({ name: 'alice', addr: '127.0.0.1', userAgent: 'events-test/1', requestId: expect.any(String) });
    } finally {
      await b.stop();
      await sink.down();
    }
  });

  it('refuses a configuration whose sink is not well formed, naming the place', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, JSON.stringify({ events: { sinks: [{ name: 'a', url: all.url, types: ['manifest.pushed', 'image.built'] }] } }));
    await expect(spawnBerth({ args: ['--config', bad] })).rejects.toThrow(/events\.sinks\[0\]\.types: "image\.built" is not one of/);
  });
});

describe('events through a sink outage and a crash', () => {
  it('delivers every event after a sink down for 30 s and a SIGKILL of berth in between, in order per repository, each id once after de-duplication', async () => {
    const dir = await testDirPersistent('berth-events-crash-');
    const sink = await startEventSink();
    await writeFile(join(dir, 'berth.yaml'), JSON.stringify({ events: { sinks: [{ name: 's', url: sink.url, timeout: '2s' }] } }));
    const args = ['--config', join(dir, 'berth.yaml')];
    const root = join(dir, 'root');
    let berth = await spawnBerth({ root, args });
    try {
      await sink.down();
      const downAt = Date.now();
      /** The expected events of each repository, in order. */
      const want = new Map<string, string[]>();
      const expect1 = (repo: string, ...lines: string[]) => want.set(repo, [...(want.get(repo) ?? []), ...lines]);
      const round = async (n: number) => {
        for (const repo of ['a', 'b/c', 'd']) {
          const m1 = await pushBlobAndManifest(berth.url, repo, 'latest', n * 10 + 1);
          const m2 = await pushBlobAndManifest(berth.url, repo, 'latest', n * 10 + 2);
          await del(berth.url, repo, 'latest');
          if (n === 0) expect1(repo, 'dev.berth.repository.created');
          expect1(repo, `dev.berth.manifest.pushed ${m1.digest}`, `dev.berth.manifest.pushed ${m2.digest}`, 'dev.berth.tag.moved', 'dev.berth.tag.deleted');
        }
      };
      await round(0);
      // the sink is down: every event waits in berth's queue, and the metrics say so
      await new Promise((r) => setTimeout(r, 1500));
      expect(await metric(berth, 'berth_events_queued{sink="s"}')).toBe([...want.values()].reduce((n, l) => n + l.length, 0));
      expect(await metric(berth, 'berth_events_oldest_queued_seconds{sink="s"}')).toBeGreaterThan(0);
      expect(await metric(berth, 'berth_events_failed_total{sink="s"}')).toBeGreaterThan(0);
      berth.child.kill('SIGKILL');
      await new Promise((r) => berth.child.once('exit', r));
      berth = await spawnBerth({ root, args });
      await round(1);
      // half of the outage refused connections; the rest answers 503 (a sink up but failing)
      await new Promise((r) => setTimeout(r, Math.max(0, downAt + 15_000 - Date.now())));
      sink.status = 503;
      await sink.up();
      await new Promise((r) => setTimeout(r, Math.max(0, downAt + 30_000 - Date.now())));
      expect(sink.received).toEqual([]);
      sink.status = 204;
      const total = [...want.values()].reduce((n, l) => n + l.length, 0);
      const unique = () => new Map(sink.received.map((r) => [r.event.id, r]));
      await sink.waitFor(() => unique().size >= total, 60_000);
      await new Promise((r) => setTimeout(r, 1000));
      const byRepo = new Map<string, Received[]>();
      for (const r of [...unique().values()].sort((x, y) => seqOf(x.event.id) - seqOf(y.event.id))) {
        byRepo.set(r.event.subject, [...(byRepo.get(r.event.subject) ?? []), r]);
      }
      const brief = (r: Received) => (r.event.type === 'dev.berth.manifest.pushed' ? `${r.event.type} ${r.event.data.digest as string}` : r.event.type);
      expect(new Map([...byRepo].map(([repo, list]) => [repo, list.map(brief)]))).toEqual(want);
      // in order per repository as they arrived, too (duplicates of at-least-once aside)
      for (const [repo, list] of byRepo) {
        const arrived = sink.received.filter((r) => r.event.subject === repo).map((r) => seqOf(r.event.id));
        const firsts = arrived.filter((s, i) => arrived.indexOf(s) === i);
        expect(firsts, repo).toEqual(list.map((r) => seqOf(r.event.id)));
      }
      expect(await metric(berth, 'berth_events_queued{sink="s"}')).toBe(0);
    } finally {
      await berth.stop();
      await sink.down();
    }
  }, 120_000);
});

describe('a full event queue', () => {
  it('drops the oldest events past events.maxQueued, counts and logs them, and delivers the rest', async () => {
    const dir = await testDirPersistent('berth-events-full-');
    const sink = await startEventSink();
    await sink.down();
    await writeFile(join(dir, 'berth.yaml'), JSON.stringify({ events: { maxQueued: 4, sinks: [{ name: 's', url: sink.url, timeout: '1s' }] } }));
    const berth = await spawnBerth({ args: ['--config', join(dir, 'berth.yaml')] });
    try {
      const pushed: string[] = [];
      for (let i = 0; i < 3; i++) pushed.push((await pushBlobAndManifest(berth.url, 'full', `v${i}`, 40 + i)).digest);
      // 1 created + 3 pushed: 4 fit; 3 more pushes make 7, and the three oldest go
      for (let i = 3; i < 6; i++) pushed.push((await pushBlobAndManifest(berth.url, 'full', `v${i}`, 40 + i)).digest);
      const deadline = Date.now() + 15_000;
      while ((await metric(berth, 'berth_events_dropped_total{sink="s"}')) !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(await metric(berth, 'berth_events_dropped_total{sink="s"}')).toBe(3);
      expect(await metric(berth, 'berth_events_queued{sink="s"}')).toBe(4);
      expect(berth.log()).toMatch(/queue full, oldest events dropped/);
      await sink.up();
      await sink.waitFor((r) => r.length >= 4, 40_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(sink.received.map((r) => r.event.data.digest)).toEqual(pushed.slice(2));
    } finally {
      await berth.stop();
      await sink.down();
    }
  }, 90_000);
});
