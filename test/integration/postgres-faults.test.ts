/**
 * berth with its metadata in PostgreSQL when the database is not there: at start it exits naming the
 * server and the cause; while serving, what needs the database answers 503 with the spec's JSON
 * envelope within seconds, cached manifests are still served, /readyz fails, and berth recovers by
 * itself once the database is back. The server here is this test's own (it is stopped midway).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, readyAgain, spawnBerth, type Berth } from '../helpers/spawn.js';
import { removePostgres, runPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';
import { testDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';

const env = (url: string) => ({ BERTH_METADATA_DRIVER: 'postgres', BERTH_METADATA_POSTGRES_URL: url, BERTH_METADATA_POSTGRES_CONNECTTIMEOUT: '2s' });

async function push(base: string, repo: string, tag: string): Promise<number> {
  const config = blob(100);
  const layer = blob(1000);
  for (const b of [config, layer]) {
    const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes, headers: { 'content-type': 'application/octet-stream' } });
    if (r.status !== 201) return r.status;
  }
  const m = imageManifest(config, [layer]);
  return (await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } })).status;
}

/** The server's processes: the postmaster (its pid file's first line), then its children. */
async function serverPids(pg: Postgres): Promise<number[]> {
  const postmaster = Number((await readFile(join(pg.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const children = (await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
  return [postmaster, ...children];
}

describe('berth on PostgreSQL, when the database is missing or goes away', () => {
  it('exits at start with the server and the cause: refused, no such database, no such role', async () => {
    const admin = new URL(runPostgres());
    const port = await freePort();
    const cases: [string, RegExp][] = [
      [`postgres://postgres@127.0.0.1:${port}/x`, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/x: .*ECONNREFUSED`)],
      [`postgres://postgres@${admin.host}/no_such_db`, /PostgreSQL at 127\.0\.0\.1:\d+\/no_such_db: database "no_such_db" does not exist/],
      [`postgres://nobody@${admin.host}/postgres`, /PostgreSQL at 127\.0\.0\.1:\d+\/postgres: role "nobody" does not exist/],
    ];
    for (const [url, message] of cases) {
      const dir = await testDir('berth-pg-start-');
      const t0 = Date.now();
      await expect(spawnBerth({ root: dir, env: env(url) })).rejects.toThrow(message);
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
    // `berth config check` connects too
    const dir = await testDir('berth-pg-check-');
    await writeFile(join(dir, 'c.yaml'), `metadata: {driver: postgres, postgres: {url: "postgres://postgres@127.0.0.1:${port}/x"}}\n`);
    const bad = await runCli(['config', 'check', join(dir, 'c.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+\/x: .*ECONNREFUSED/);
    await writeFile(join(dir, 'ok.yaml'), `metadata: {driver: postgres, postgres: {url: "${runPostgres()}"}}\n`);
    const ok = await runCli(['config', 'check', join(dir, 'ok.yaml')]);
    expect(ok.stdout, ok.stderr).toMatch(/metadata: PostgreSQL \d+\.\d+.* answers\n.*ok/);
  });

  describe('while serving', () => {
    let pg: Postgres;
    let berth: Berth;
    beforeAll(async () => {
      pg = await startPostgres();
      const url = new URL(pg.url);
      url.pathname = '/postgres';
      berth = await spawnBerth({ env: { ...env(url.toString()), BERTH_METADATA_POSTGRES_QUERYTIMEOUT: '3s' } });
    });
    afterAll(async () => {
      await berth?.stop();
      if (pg) await removePostgres(pg);
    });

    it('answers 503 with the error envelope, serves cached manifests, and recovers when the database returns', async () => {
      expect(await push(berth.url, 'app', 'v1')).toBe(201);
      const cached = await fetch(`${berth.url}/v2/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      expect(cached.status).toBe(200);
      const bytes = Buffer.from(await cached.arrayBuffer());

      await pg.stop();
      const t0 = Date.now();
      const miss = await fetch(`${berth.url}/v2/app/manifests/v2`, { headers: { accept: OCI_MANIFEST } });
      expect(miss.status).toBe(503);
      expect(miss.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await miss.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.code).toBe('UNAVAILABLE');
      expect(body.errors[0]!.message).toMatch(/metadata database unavailable/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect((await fetch(`${berth.url}/readyz`)).status).toBe(503);
      expect(await push(berth.url, 'app', 'v2')).toBe(503);
      const again = await fetch(`${berth.url}/v2/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      expect(again.status).toBe(200);
      expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);

      await pg.start();
      await readyAgain(berth.url);
      expect(await push(berth.url, 'app', 'v2')).toBe(201);
      expect((await fetch(`${berth.url}/v2/app/manifests/v2`, { headers: { accept: OCI_MANIFEST } })).status).toBe(200);
      const tags = (await (await fetch(`${berth.url}/v2/app/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toEqual(['v1', 'v2']);
    });

    it('answers 503 within its query timeout when the database hangs (stopped, not gone), then recovers', async () => {
      const pids = await serverPids(pg);
      process.kill(pids[0]!, 'SIGSTOP'); // the postmaster first: no new backend forks meanwhile
      for (const p of pids.slice(1)) process.kill(p, 'SIGSTOP');
      try {
        const t0 = Date.now();
        const r = await fetch(`${berth.url}/v2/app/manifests/v3`, { headers: { accept: OCI_MANIFEST } });
        expect(r.status).toBe(503);
        expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
        expect(Date.now() - t0).toBeLessThan(6_000); // queryTimeout 3s, connectTimeout 2s
      } finally {
        for (const p of pids) process.kill(p, 'SIGCONT');
      }
      for (let i = 0; (await fetch(`${berth.url}/v2/app/manifests/v2`, { headers: { accept: OCI_MANIFEST } })).status !== 200; i++) {
        expect(i, 'berth did not recover within 20 s').toBeLessThan(200);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  });
});
