/**
 * TLS (issue 8): berth serves https with a certificate from a private CA, and a replaced certificate
 * is picked up while a client keeps pulling: no request fails, open connections stay, new ones get
 * the new certificate.
 */
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth } from '../helpers/spawn.js';
import { makeCa, makeServerCert } from '../helpers/certs.js';
import { testDir } from '../helpers/tmp.js';
import { blob } from '../helpers/oci.js';

function peerSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

describe('TLS', () => {
  it('serves https and reloads a replaced certificate without failing a request', async () => {
    const dir = await testDir('berth-tls-');
    const { ca: caFile } = makeCa(dir);
    const one = makeServerCert(dir, 'one');
    const two = makeServerCert(dir, 'two');
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    copyFileSync(one.cert, cert);
    copyFileSync(one.key, key);
    const config = join(dir, 'berth.yaml');
    await writeFile(config, `http:\n  tls: {cert: ${cert}, key: ${key}}\n`);
    const ca = readFileSync(caFile);
    const berth = await spawnBerth({ args: ['--config', config], tlsCa: ca });
    const agent = new Agent({ connect: { ca }, keepAliveTimeout: 60_000 });
    try {
      expect(berth.url.startsWith('https://')).toBe(true);
      const port = Number(new URL(berth.url).port);
      const serial1 = await peerSerial(port, ca);
      const b = blob(64 * 1024);
      const push = await request(`${berth.url}/v2/tls/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes, dispatcher: agent });
      expect(push.statusCode).toBe(201);
      await push.body.dump();
      // a client pulling without pause while the certificate is replaced (atomically, as a Secret update is)
      let ok = 0;
      let failed = 0;
      let replaced = false;
      const started = Date.now();
      while (Date.now() - started < 6000) {
        if (!replaced && Date.now() - started > 1000) {
          copyFileSync(two.key, `${key}.new`);
          copyFileSync(two.cert, `${cert}.new`);
          renameSync(`${key}.new`, key);
          renameSync(`${cert}.new`, cert);
          replaced = true;
        }
        // one request on the kept-alive connection, one on a new connection (a new handshake) each time
        for (const reset of [false, true]) {
          try {
            const r = await request(`${berth.url}/v2/tls/app/blobs/${b.digest}`, { dispatcher: agent, reset });
            const body = Buffer.from(await r.body.arrayBuffer());
            if (r.statusCode === 200 && body.equals(b.bytes)) ok++;
            else failed++;
          } catch {
            failed++;
          }
        }
      }
      expect(failed).toBe(0);
      expect(ok).toBeGreaterThan(50);
      const serial2 = await peerSerial(port, ca);
      expect(serial2).not.toBe(serial1);
      expect(await berth.logMatching('TLS certificate reloaded')).toContain('TLS certificate reloaded');
      // the command line reaches the running berth over https on loopback (gc and export)
      const cli = join(dir, 'cli.yaml');
      await writeFile(cli, `http:\n  listen: ${berth.host}\n  tls: {cert: ${cert}, key: ${key}}\n`);
      const gc = await runCli(['gc', '--dry-run', '--root', berth.root, '--config', cli]);
      expect(gc.code, gc.out).toBe(0);
      expect(JSON.parse(gc.stdout)).toMatchObject({ dryRun: true });
      // the container HEALTHCHECK finds it over https
      expect((await runCli(['probe', '--port', String(port)])).code).toBe(0);
      console.log(`TLS reload: ${ok} pulls in 6 s (half on new connections), ${failed} failed; certificate serial ${serial1} -> ${serial2}`);
    } finally {
      await agent.close();
      await berth.stop();
    }
  });
});
