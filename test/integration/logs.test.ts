/** Access log fields and the audit trail as its own stream (issue 8), from a spawned `berth serve`. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { blob, imageManifest } from '../helpers/oci.js';

describe('logs', () => {
  it('writes one JSON line per request with id, route, repository, status, bytes and time; audit lines to log.audit', async () => {
    const dir = await testDir('berth-logs-');
    const auditFile = join(dir, 'audit', 'audit.log');
    const config = join(dir, 'berth.yaml');
    await writeFile(config, `log:\n  audit: ${auditFile}\n`);
    const berth = await spawnBerth({ args: ['--config', config] });
    const config1 = blob(100);
    const m = imageManifest(config1, []);
    try {
      await fetch(`${berth.url}/v2/team/app/blobs/uploads/?digest=${config1.digest}`, { method: 'POST', body: config1.bytes });
      expect((await fetch(`${berth.url}/v2/team/app/manifests/v1`, { method: 'PUT', body: m.bytes, headers: { 'content-type': m.mediaType } })).status).toBe(201);
      await (await fetch(`${berth.url}/v2/team/app/blobs/${config1.digest}`)).arrayBuffer();
    } finally {
      await berth.stop();
    }
    const lines = berth.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const get = lines.find((l) => l.msg === 'request' && l.method === 'GET' && l.route === 'blob');
    expect(get).toMatchObject({ repository: 'team/app', status: 200, bytesOut: 100 });
    expect(typeof get!.reqId).toBe('string');
    expect(typeof get!.ms).toBe('number');
    expect(lines.find((l) => l.msg === 'request' && l.method === 'POST')).toMatchObject({ route: 'upload', bytesIn: 100, status: 201 });
    // the audit trail is not in the access log but in its own file
    expect(lines.some((l) => l.audit === true)).toBe(false);
    const audit = (await readFile(auditFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ audit: true, event: 'push', repository: 'team/app', reference: 'v1', digest: m.digest, stream: 'audit' });
  });
});

describe('logs on a terminal', () => {
  it('are readable lines rather than JSON when standard output is a terminal (script(1) gives it one)', async () => {
    const dir = await testDir('berth-pretty-');
    const { execFile } = await import('node:child_process');
    const { CLI, freePort } = await import('../helpers/spawn.js');
    const port = await freePort();
    const logFile = join(dir, 'tty.log');
    const run = new Promise<void>((resolve) =>
      execFile('timeout', ['6', 'script', '-qfc', `${process.execPath} ${CLI} serve --listen 127.0.0.1:${port} --root ${join(dir, 'root')}`, logFile], () => resolve()),
    );
    await run;
    const text = await readFile(logFile, 'utf8');
    expect(text).toMatch(/INFO.*berth is serving/);
    expect(text).not.toMatch(/"msg":"berth is serving"/);
  });
});

describe('log writes', () => {
  it('gathers lines into few writes, yet shows them within about a second and loses none at shutdown', async () => {
    const berth = await spawnBerth();
    try {
      for (let i = 0; i < 20; i++) await (await fetch(`${berth.url}/v2/lines/app/manifests/t${i}`)).arrayBuffer();
      // lines gathered below 8 KiB go out on the periodic flush: at most a second later
      const deadline = Date.now() + 3000;
      const count = () => berth.log().split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('/v2/lines/')).length;
      while (count() < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(count()).toBe(20);
      for (let i = 0; i < 30; i++) await (await fetch(`${berth.url}/v2/lines/app/manifests/u${i}`)).arrayBuffer();
    } finally {
      await berth.stop(); // SIGTERM: whatever is gathered is written before the process ends
    }
    const lines = berth.log().split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('/v2/lines/app/manifests/u'));
    expect(lines).toHaveLength(30);
  });
});
