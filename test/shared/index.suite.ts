/** The contract every MetadataIndex must meet; a new backend runs this suite against itself. */
import { describe, expect, it, vi } from 'vitest';
import type { EventRouter, ManifestRecord, MetadataIndex, QueuedEvent } from '../../src/index/metadata.js';
import { withActor } from '../../src/index/change-events.js';

const dig = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const B = Buffer.from('{"schemaVersion":2}');
const rec = (n: number, extra: Partial<ManifestRecord> = {}): ManifestRecord => ({
  digest: dig(n), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, blobs: [], manifests: [], pushedAt: 1, ...extra,
});

/** `make(events)`: a fresh, empty index; with `events`, one that records events routed by it. */
export function indexSuite(name: string, make: (events?: EventRouter) => Promise<MetadataIndex>) {
  describe(`MetadataIndex contract: ${name}`, () => {
    it('links a blob and ends its upload session in one write', async () => {
      const ix = await make();
      await ix.putUpload({ id: 'u9', repo: 'a', offset: 3, startedAt: 1 });
      await ix.linkBlob('a', dig(9), 3, 'u9');
      expect(await ix.upload('u9')).toBeUndefined();
      expect(await ix.blobLink('a', dig(9))).toMatchObject({ size: 3 });
      await ix.close();
    });

    it('links blobs per repository and finds the repositories that hold one', async () => {
      const ix = await make();
      await ix.linkBlob('a', dig(1), 5);
      await ix.linkBlob('b', dig(1), 5);
      expect(await ix.blobLink('a', dig(1))).toMatchObject({ size: 5 });
      expect(await ix.blobLink('c', dig(1))).toBeUndefined();
      expect(await ix.reposWithBlob(dig(1), 10)).toEqual(['a', 'b']);
      expect(await ix.unlinkBlob('a', dig(1))).toBe(true);
      expect(await ix.unlinkBlob('a', dig(1))).toBe(false);
      expect(await ix.reposWithBlob(dig(1), 10)).toEqual(['b']);
      await ix.close();
    });

    it('walks every blob holder in digest order, then repository', async () => {
      const ix = await make();
      for (const [repo, n] of [['b', 3], ['a', 3], ['c', 1], ['a', 2], ['a/x', 3]] as const) await ix.linkBlob(repo, dig(n), 1);
      const walked: string[] = [];
      for await (const h of ix.blobHolders()) walked.push(`${h.digest} ${h.repo}`);
      expect(walked).toEqual([`${dig(1)} c`, `${dig(2)} a`, `${dig(3)} a`, `${dig(3)} a/x`, `${dig(3)} b`]);
      await ix.close();
    });

    it('keeps the catalog in lexical order and pages it by range', async () => {
      const ix = await make();
      const names = ['b', 'a/b', 'a', 'a-b', 'z/y/x', 'a/b/c'];
      for (const n of names) await ix.linkBlob(n, dig(2), 1);
      const sorted = [...names].sort();
      expect(await ix.listRepositories({ limit: 100 })).toEqual(sorted);
      expect(await ix.listRepositories({ limit: 2 })).toEqual(sorted.slice(0, 2));
      expect(await ix.listRepositories({ after: sorted[1], limit: 3 })).toEqual(sorted.slice(2, 5));
      expect(await ix.repositoryExists('a/b')).toBe(true);
      expect(await ix.repositoryExists('a/b/c/d')).toBe(false);
      await ix.close();
    });

    it('keeps robot accounts: created once by name, revoked once, last use kept apart from the record', async () => {
      const ix = await make();
      const rec = { name: 'ci', owner: 'alice', scopes: [{ repositories: 'team/**', actions: ['pull' as const] }], secretHash: 'ab'.repeat(32), createdAt: 1000 };
      expect(await ix.robot('ci')).toBeUndefined();
      expect(await ix.createRobot(rec)).toBe(true);
      expect(await ix.createRobot({ ...rec, owner: 'mallory' })).toBe(false); // the first one stays
      expect(await ix.robot('ci')).toEqual(rec);
      await ix.noteRobotUse('ci', 2000);
      expect((await ix.robot('ci'))?.lastUsedAt).toBe(2000);
      expect(await ix.revokeRobot('ci', 3000)).toBe(true);
      expect(await ix.revokeRobot('ci', 4000)).toBe(true); // revoked when it first was
      await ix.noteRobotUse('ci', 5000); // a use noted late never undoes the revocation
      expect(await ix.robot('ci')).toEqual({ ...rec, revokedAt: 3000, lastUsedAt: 5000 });
      expect(await ix.revokeRobot('nobody', 1)).toBe(false);
      await ix.createRobot({ ...rec, name: 'a-first' });
      expect((await ix.listRobots()).map((r) => r.name)).toEqual(['a-first', 'ci']);
      await ix.close();
    });

    it('keeps bundle records: by name then first import, a second import keeps the first time, removed once', async () => {
      const ix = await make();
      const b = (name: string, version: string, importedAt: number, tag = version) => ({
        name, version, digest: dig(importedAt), importedAt, images: [{ repository: `${name}/app`, tag, digest: dig(importedAt + 1) }],
      });
      expect(await ix.listBundles()).toEqual([]);
      await ix.putBundle(b('edge', '2.0', 200));
      await ix.putBundle(b('edge', '1.0', 100));
      await ix.putBundle(b('alpha', '9', 300));
      await ix.putBundle({ ...b('edge', '1.0', 400), digest: dig(7) }); // imported again, changed: its first time stays
      expect((await ix.listBundles()).map((r) => `${r.name}@${r.version}:${r.importedAt}`)).toEqual(['alpha@9:300', 'edge@1.0:100', 'edge@2.0:200']);
      expect((await ix.listBundles())[1]).toEqual({ ...b('edge', '1.0', 100), digest: dig(7), images: b('edge', '1.0', 400).images });
      expect(await ix.deleteBundle('edge', '1.0')).toBe(true);
      expect(await ix.deleteBundle('edge', '1.0')).toBe(false);
      expect((await ix.listBundles()).map((r) => `${r.name}@${r.version}`)).toEqual(['alpha@9', 'edge@2.0']);
      await ix.close();
    });

    it('points several tags at a manifest in one write, moving those that pointed elsewhere', async () => {
      const ix = await make();
      await ix.putManifest('r', rec(1), B, undefined, 'old');
      await ix.putManifest('r', rec(2), B, undefined, ['a', 'b', 'old']);
      expect(await ix.listTags('r', { limit: 10 })).toEqual(['a', 'b', 'old']);
      for (const t of ['a', 'b', 'old']) expect(await ix.tag('r', t)).toBe(dig(2));
      expect(await ix.tagsOf('r', dig(2))).toEqual(['a', 'b', 'old']);
      expect(await ix.tagsOf('r', dig(1))).toEqual([]);
      await ix.putManifest('r', rec(3), B, undefined, []); // none: the manifest alone
      expect(await ix.manifest('r', dig(3))).toMatchObject({ digest: dig(3) });
      await ix.close();
    });

    it('records manifests with tags, moves tags, and deletes a manifest with all its tags', async () => {
      const ix = await make();
      await ix.putManifest('r', rec(1), B, undefined, 'v1');
      await ix.putManifest('r', rec(1), B, undefined, 'latest');
      await ix.putManifest('r', rec(2), B, undefined, 'v2');
      expect(await ix.tag('r', 'v1')).toBe(dig(1));
      expect(await ix.listTags('r', { limit: 10 })).toEqual(['latest', 'v1', 'v2']);
      await ix.putManifest('r', rec(2), B, undefined, 'latest'); // move
      expect(await ix.deleteManifest('r', dig(1))).toEqual(['v1']);
      expect(await ix.listTags('r', { limit: 10 })).toEqual(['latest', 'v2']);
      expect(await ix.tag('r', 'latest')).toBe(dig(2));
      expect(await ix.manifest('r', dig(1))).toBeUndefined();
      expect(await ix.deleteManifest('r', dig(1))).toBeUndefined();
      expect((await ix.manifestBytes(dig(1)))?.equals(B)).toBe(true); // bytes stay for GC
      expect(await ix.deleteTag('r', 'v2')).toBe(true);
      expect(await ix.deleteTag('r', 'v2')).toBe(false);
      expect(await ix.manifest('r', dig(2))).toMatchObject({ digest: dig(2) });
      expect(await ix.listTags('other', { limit: 10 })).toEqual([]);
      await ix.close();
    });

    it('finds manifest bytes no record uses, a bounded batch at a time, while a batch is deleted', async () => {
      const ix = await make();
      for (let n = 1; n <= 7; n++) await ix.putManifest(n % 2 ? 'odd' : 'even', rec(n), B, undefined);
      await ix.putManifest('other', rec(3), B, undefined); // digest 3 stays used by 'other'
      for (const n of [1, 2, 3, 5, 6]) await ix.deleteManifest(n % 2 ? 'odd' : 'even', dig(n));
      const batches: string[][] = [];
      for await (const batch of ix.orphanManifestBytes(2)) {
        expect(batch.length).toBeLessThanOrEqual(2);
        batches.push(batch);
        await ix.deleteManifestBytes(batch);
      }
      expect(batches.flat().sort()).toEqual([dig(1), dig(2), dig(5), dig(6)]);
      for (const n of [3, 4, 7]) expect(await ix.manifestBytes(dig(n))).toBeDefined();
      for (const n of [1, 2, 5, 6]) expect(await ix.manifestBytes(dig(n))).toBeUndefined();
      await ix.close();
    });

    it('names the tags of a manifest, and walks every blob link of every repository', async () => {
      const ix = await make();
      await ix.putManifest('r', rec(1), B, undefined, 'v1');
      await ix.putManifest('r', rec(1), B, undefined, 'latest');
      await ix.putManifest('r', rec(2), B, undefined, 'v2');
      expect((await ix.tagsOf('r', dig(1))).sort()).toEqual(['latest', 'v1']);
      expect(await ix.tagsOf('r', dig(3))).toEqual([]);
      await ix.linkBlob('a/b', dig(5), 50);
      await ix.linkBlob('a', dig(5), 50);
      await ix.linkBlob('a', dig(6), 60);
      const links = [];
      for await (const l of ix.allBlobLinks()) links.push(l);
      expect(links).toEqual([
        { repo: 'a', digest: dig(5), size: 50 },
        { repo: 'a', digest: dig(6), size: 60 },
        { repo: 'a/b', digest: dig(5), size: 50 },
      ]);
      await ix.close();
    });

    it('orders tags case-insensitively (spec "Listing Tags") and pages by the same order', async () => {
      const ix = await make();
      for (const t of ['b', 'A', 'a', 'C', '_z', '1']) await ix.putManifest('r', rec(3), B, undefined, t);
      expect(await ix.listTags('r', { limit: 10 })).toEqual(['1', '_z', 'A', 'a', 'b', 'C']);
      expect(await ix.listTags('r', { after: 'a', limit: 2 })).toEqual(['b', 'C']);
      expect(await ix.tag('r', 'A')).toBe(dig(3));
      expect((await ix.deleteManifest('r', dig(3)))?.sort()).toEqual(['1', 'A', '_z', 'a', 'b', 'C'].sort());
      expect(await ix.listTags('r', { limit: 10 })).toEqual([]);
      await ix.close();
    });

    it('lists referrers of a subject per repository and forgets a deleted one', async () => {
      const ix = await make();
      const d = (n: number) => ({ mediaType: 'm', digest: dig(n), size: 1, artifactType: `t${n}` });
      await ix.putManifest('r', rec(11, { subject: dig(10) }), B, d(11));
      await ix.putManifest('r', rec(12, { subject: dig(10) }), B, d(12));
      await ix.putManifest('q', rec(13, { subject: dig(10) }), B, d(13));
      expect((await ix.listReferrers('r', dig(10))).map((x) => x.artifactType)).toEqual(['t11', 't12']);
      await ix.deleteManifest('r', dig(11));
      expect((await ix.listReferrers('r', dig(10))).map((x) => x.digest)).toEqual([dig(12)]);
      await ix.close();
    });

    it('resolves a tag or a digest to the manifest and its bytes', async () => {
      const ix = await make();
      await ix.putManifest('r', rec(1), B, undefined, 'v1');
      expect(await ix.resolveManifest('r', { tag: 'v1' })).toEqual({ digest: dig(1), record: rec(1), bytes: B });
      expect(await ix.resolveManifest('r', { digest: dig(1) })).toEqual({ digest: dig(1), record: rec(1), bytes: B });
      expect(await ix.resolveManifest('r', { tag: 'V1' })).toBeUndefined();
      expect(await ix.resolveManifest('other', { tag: 'v1' })).toBeUndefined();
      expect(await ix.resolveManifest('r', { digest: dig(2) })).toEqual({ digest: dig(2) });
      await ix.deleteManifest('r', dig(1));
      expect(await ix.resolveManifest('r', { tag: 'v1' })).toBeUndefined();
      expect(await ix.resolveManifest('r', { digest: dig(1) })).toEqual({ digest: dig(1) });
      await ix.close();
    });

    it('ends a walk its reader leaves early, however often', async () => {
      const ix = await make();
      for (let n = 1; n <= 3; n++) await ix.linkBlob('r', dig(n), n);
      await ix.putManifest('r', rec(4), B, undefined, 'v');
      for (let i = 0; i < 12; i++) {
        for await (const h of ix.blobHolders()) if (h) break;
        for await (const l of ix.allBlobLinks()) if (l) break;
        for await (const m of ix.eachManifestBytes()) if (m) break;
      }
      expect(await ix.listBlobLinks('r')).toHaveLength(3);
      expect(await ix.tag('r', 'v')).toBe(dig(4));
      await ix.close();
    });

    it('stores upload sessions', async () => {
      const ix = await make();
      await ix.putUpload({ id: 'u', repo: 'r', offset: 5, startedAt: 1 });
      expect(await ix.upload('u')).toEqual({ id: 'u', repo: 'r', offset: 5, startedAt: 1 });
      await ix.deleteUpload('u');
      expect(await ix.upload('u')).toBeUndefined();
      await ix.close();
    });
  
    describe('event queues', () => {
      // every type to `all`; `team/**` only to `team`; pulls to nobody unless asked
      const route: EventRouter = (type, repo) => [...(type !== 'manifest.pulled' ? ['all'] : []), ...(repo.startsWith('team/') ? ['team'] : [])];
      const brief = (e: QueuedEvent) => `${e.type} ${e.repo} ${JSON.stringify(e.data)}`;

      it('records each change with its event, in order: a new repository, pushes with their tags, moved and deleted tags, deleted manifests', async () => {
        const ix = await make(route);
        await ix.linkBlob('r', dig(9), 1);
        await ix.linkBlob('r', dig(8), 1);
        await ix.putManifest('r', rec(1), B, undefined, ['v1', 'latest']);
        await ix.putManifest('r', rec(2), B, undefined, 'latest');
        await ix.putManifest('r', rec(2), B, undefined, 'latest'); // the same again: pushed, nothing moved
        expect(await ix.deleteTag('r', 'v1')).toBe(true);
        expect(await ix.deleteTag('r', 'v1')).toBe(false); // nothing changed: no event
        expect(await ix.deleteManifest('r', dig(2))).toEqual(['latest']);
        expect(await ix.deleteManifest('r', dig(2))).toBeUndefined();
        const queued = await ix.queuedEvents('all', 100);
        expect(queued.map(brief)).toEqual([
          'repository.created r {}',
          `manifest.pushed r ${JSON.stringify({ digest: dig(1), mediaType: rec(1).mediaType, size: 10, tags: ['v1', 'latest'] })}`,
          `manifest.pushed r ${JSON.stringify({ digest: dig(2), mediaType: rec(1).mediaType, size: 10, tags: ['latest'] })}`,
          `tag.moved r ${JSON.stringify({ tag: 'latest', from: dig(1), to: dig(2) })}`,
          `manifest.pushed r ${JSON.stringify({ digest: dig(2), mediaType: rec(1).mediaType, size: 10, tags: ['latest'] })}`,
          `tag.deleted r ${JSON.stringify({ tag: 'v1', digest: dig(1) })}`,
          `manifest.deleted r ${JSON.stringify({ digest: dig(2), tags: ['latest'] })}`,
        ]);
        const seqs = queued.map((e) => e.seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(seqs.length);
        for (const e of queued) expect(Math.abs(e.at - Date.now())).toBeLessThan(60_000);
        expect(await ix.queuedEvents('team', 100)).toEqual([]);
        await ix.close();
      });

      it('gives an event one number whatever its sinks, and each sink its own queue to take from', async () => {
        const ix = await make(route);
        await ix.putManifest('team/app', rec(1), B, undefined, 'v1');
        await ix.putManifest('other', rec(2), B, undefined, 'v1');
        const all = await ix.queuedEvents('all', 100);
        const team = await ix.queuedEvents('team', 100);
        expect(team.map(brief)).toEqual(all.slice(0, 2).map(brief));
        expect(team.map((e) => e.seq)).toEqual(all.slice(0, 2).map((e) => e.seq));
        expect(await ix.queuedEvents('all', 2)).toEqual(all.slice(0, 2));
        expect([...(await ix.eventBacklog())].map(([s, b]) => [s, b.count])).toEqual([['all', 4], ['team', 2]]);
        expect((await ix.eventBacklog()).get('all')!.oldestAt).toBe(all[0]!.at);
        await ix.ackEvents('all', [all[0]!.seq, all[1]!.seq]);
        expect((await ix.queuedEvents('all', 100)).map((e) => e.seq)).toEqual(all.slice(2).map((e) => e.seq));
        expect(await ix.queuedEvents('team', 100)).toEqual(team); // its own queue: untouched
        await ix.dropEvents('all', 1);
        expect((await ix.queuedEvents('all', 100)).map((e) => e.seq)).toEqual([all[3]!.seq]);
        await ix.ackEvents('all', [all[3]!.seq]);
        await ix.ackEvents('team', team.map((e) => e.seq));
        expect((await ix.eventBacklog()).size).toBe(0);
        await ix.close();
      });

      it("dates a repository's creation with the change that creates it: no later event is older", async () => {
        const ix = await make(route);
        let now = 1_800_000_000_000;
        const clock = vi.spyOn(Date, 'now').mockImplementation(() => now++); // every reading a new millisecond
        try {
          await ix.putManifest('team/app', rec(1), B, undefined, 'v1');
          await ix.putManifest('other', rec(2), B, undefined, 'v1');
        } finally {
          clock.mockRestore();
        }
        const all = await ix.queuedEvents('all', 100);
        expect(all.map((e) => e.type)).toEqual(['repository.created', 'manifest.pushed', 'repository.created', 'manifest.pushed']);
        for (let i = 1; i < all.length; i++) expect(all[i]!.at).toBeGreaterThanOrEqual(all[i - 1]!.at);
        expect((await ix.eventBacklog()).get('all')!.oldestAt).toBe(all[0]!.at);
        await ix.close();
      });

      it('records events no change carries, numbered after the rest, and only where they are routed', async () => {
        const ix = await make(route);
        await ix.putManifest('team/app', rec(1), B, undefined, 'v1');
        await ix.appendEvent({ type: 'bundle.imported', repo: 'team/app', at: 5, data: { images: [{ tag: 'v1', digest: dig(1) }] } });
        await ix.appendEvent({ type: 'manifest.pulled', repo: 'team/app', at: 6, data: { digest: dig(1) } });
        const all = await ix.queuedEvents('all', 100);
        expect(all.map((e) => e.type)).toEqual(['repository.created', 'manifest.pushed', 'bundle.imported']);
        expect(all[2]).toMatchObject({ at: 5, data: { images: [{ tag: 'v1', digest: dig(1) }] } });
        expect((await ix.queuedEvents('team', 100)).map((e) => e.type)).toEqual(['repository.created', 'manifest.pushed', 'bundle.imported', 'manifest.pulled']);
        await ix.close();
      });

      it("puts the current request's actor on the events its changes make", async () => {
        const ix = await make(route);
        const actor = { name: 'alice', addr: '10.0.0.7', userAgent: 'skopeo/1.13', requestId: 'req-9' };
        await withActor(actor, () => ix.putManifest('r', rec(1), B, undefined, 'v1'));
        await withActor(actor, () => ix.deleteTag('r', 'v1'));
        await ix.putManifest('r', rec(2), B, undefined, 'v2'); // no request: no actor
        expect((await ix.queuedEvents('all', 100)).map((e) => [e.type, e.actor])).toEqual([
          ['repository.created', actor],
          ['manifest.pushed', actor],
          ['tag.deleted', actor],
          ['manifest.pushed', undefined],
        ]);
        await ix.close();
      });

      it('records nothing when events are off', async () => {
        const ix = await make();
        await ix.putManifest('r', rec(1), B, undefined, 'v1');
        await ix.putManifest('r', rec(2), B, undefined, 'v1');
        await ix.deleteTag('r', 'v1');
        await ix.appendEvent({ type: 'bundle.imported', repo: 'r', at: 1, data: {} });
        expect((await ix.eventBacklog()).size).toBe(0);
        expect(await ix.queuedEvents('all', 10)).toEqual([]);
        await ix.close();
      });
    });
  });
}
