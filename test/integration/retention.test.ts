/** storage.retention: which tags stay (most recent N, patterns, pushed or pulled within a period), dry runs, and deleteUntagged. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushImage } from '../helpers/oci.js';
import { parseConfig } from '../../src/config/config.js';

const HOUR = 3_600_000;
type Tags = { tags: string[] };

describe('retention', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({
      registry: {
        retention: [
          { repositories: ['ret/count'], keepTags: { mostRecentlyPushedCount: 2, patterns: ['v*'] } },
          { repositories: ['ret/time/**'], keepTags: { pushedWithinMs: HOUR, pulledWithinMs: 3 * HOUR } },
          { repositories: ['ret/keep-untagged'], deleteUntagged: false },
        ],
      },
    });
  });
  afterAll(() => reg.close());
  const tags = async (repo: string) => (await reg.request('GET', `/v2/${repo}/tags/list`)).json<Tags>().tags;

  it('keeps the most recently pushed N and the tags matching a pattern; a dry run only reports', async () => {
    for (const t of ['t1', 't2', 'v1', 't3', 't4']) {
      await pushImage(reg.request, 'ret/count', t, { layers: 1 });
      await new Promise((r) => setTimeout(r, 15)); // distinct push times
    }
    const r = reg.opened.registry.retention;
    const dry = await r.run(true);
    expect(dry.tagsDeleted.map((t) => t.tag).sort()).toEqual(['t1', 't2']);
    expect(await tags('ret/count')).toEqual(['t1', 't2', 't3', 't4', 'v1']);
    const done = await r.run(false);
    expect(done.tagsDeleted.map((t) => t.tag).sort()).toEqual(['t1', 't2']);
    expect(await tags('ret/count')).toEqual(['t3', 't4', 'v1']);
  });

  it('keeps tags pushed or pulled within their periods', async () => {
    await pushImage(reg.request, 'ret/time/app', 'pulled', { layers: 1 });
    await pushImage(reg.request, 'ret/time/app', 'idle', { layers: 1 });
    expect((await reg.request('GET', '/v2/ret/time/app/manifests/pulled')).status).toBe(200);
    const r = reg.opened.registry.retention;
    expect((await r.run(false)).tagsDeleted).toEqual([]); // everything was pushed just now
    // two hours later: `idle` was pushed too long ago and never pulled; `pulled` was pulled within 3 h
    const later = await r.run(false, Date.now() + 2 * HOUR);
    expect(later.tagsDeleted).toEqual([{ repository: 'ret/time/app', tag: 'idle' }]);
    await reg.opened.registry.manifests.flushPulls(); // pull times survive in the index
    expect(await tags('ret/time/app')).toEqual(['pulled']);
  });

  it('lets deleteUntagged: false keep a repository`s untagged manifests from garbage collection', async () => {
    const kept = await pushImage(reg.request, 'ret/keep-untagged', 'x', { layers: 1 });
    const gone = await pushImage(reg.request, 'ret/other', 'x', { layers: 1 });
    await reg.request('DELETE', '/v2/ret/keep-untagged/manifests/x');
    await reg.request('DELETE', '/v2/ret/other/manifests/x');
    await reg.opened.registry.gc.run({ delayMs: 0, dryRun: false });
    expect((await reg.request('GET', `/v2/ret/keep-untagged/manifests/${kept.manifest.digest}`)).status).toBe(200);
    expect((await reg.request('GET', `/v2/ret/other/manifests/${gone.manifest.digest}`)).status).toBe(404);
  });

  it('validates the configuration', () => {
    const c = parseConfig('storage:\n  retention:\n    policies:\n      - repositories: ["a/**"]\n        keepTags:\n          pushedWithin: 720h\n', 'x.yaml');
    expect(c.storage.retention?.policies).toHaveLength(1);
    expect(() => parseConfig('storage:\n  retention:\n    policies:\n      - repositories: ["a"]\n        keepTags:\n          newest: 3\n', 'x.yaml')).toThrow(
      'storage.retention.policies[0].keepTags.newest: unknown key',
    );
  });
});
