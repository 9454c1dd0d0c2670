/** /livez, /readyz and /startupz on the real server, and readiness failing on shutdown or a failed check. */
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { freePort, runCli, spawnBerth } from '../helpers/spawn.js';
import { startRegistry } from '../helpers/registry.js';

describe('health probes', () => {
  it('answers on a running berth', async () => {
    const berth = await spawnBerth();
    try {
      // `berth probe` (the Dockerfile's HEALTHCHECK): 0 for this berth, 1 where none listens
      expect((await runCli(['probe', '--port', new URL(berth.url).port])).code).toBe(0);
      expect((await runCli(['probe', '--port', String(await freePort())])).code).toBe(1);
      for (const p of ['/livez', '/readyz', '/startupz']) {
        const r = await fetch(`${berth.url}${p}`);
        expect(r.status, p).toBe(200);
        expect(await r.json()).toEqual({ status: 'ok' });
      }
    } finally {
      await berth.stop();
    }
  });

  it('fails readiness while shutting down or when storage or index fail', async () => {
    const reg = await startRegistry();
    try {
      const health = { shuttingDown: false, check: async () => undefined as void };
      const app = await buildApp({ registry: reg.opened.registry, health });
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
      health.check = async () => {
        throw new Error('index closed');
      };
      const bad = await app.inject({ url: '/readyz' });
      expect(bad.statusCode).toBe(503);
      expect(bad.json()).toEqual({ status: 'unavailable', reason: 'index closed' });
      health.shuttingDown = true;
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
      expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
      await app.close();
    } finally {
      await reg.close();
    }
  });
});
