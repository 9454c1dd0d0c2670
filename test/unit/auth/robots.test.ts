import { describe, expect, it } from 'vitest';
import { Robots, narrowingOf, parseRobotScope, type RobotIndex, type RobotRecord } from '../../../src/auth/robots.js';

/** An in-memory RobotIndex: for this module's unit test only (the engines pass test/shared/index.suite.ts). */
function memoryIndex(): RobotIndex {
  const m = new Map<string, RobotRecord>();
  return {
    robot: async (n) => (m.has(n) ? { ...m.get(n)! } : undefined),
    listRobots: async () => [...m.values()],
    createRobot: async (r) => (m.has(r.name) ? false : (m.set(r.name, { ...r }), true)),
    revokeRobot: async (n, at) => {
      const r = m.get(n);
      if (!r) return false;
      r.revokedAt ??= at;
      return true;
    },
    noteRobotUse: async (n, at) => void (m.get(n)!.lastUsedAt = at),
  };
}

describe('robot accounts', () => {
  it('parses scopes and refuses malformed ones', () => {
    expect(parseRobotScope('team-b/**:pull,push,pull')).toEqual({ repositories: 'team-b/**', actions: ['pull', 'push'] });
    for (const bad of ['team-b/**', ':pull', 'x:fly', 'x:']) expect(() => parseRobotScope(bad)).toThrow(/REPOSITORY-GLOB:ACTIONS/);
  });

  it('narrows to its scopes: pull is read, push is create and update', () => {
    const n = narrowingOf({ name: 'r', owner: 'o', secretHash: '', createdAt: 0, scopes: [parseRobotScope('a/**:pull'), parseRobotScope('b/*:push')] });
    expect([n.allows('a/x/y', 'read'), n.allows('a/x', 'create'), n.allows('b/x', 'create'), n.allows('b/x', 'update'), n.allows('b/x', 'read'), n.allows('b/x/y', 'create')]).toEqual([true, false, true, true, false, false]);
  });

  it('checks the secret, the expiry, the revocation and the owner; notes uses at most once a minute', async () => {
    const owners = new Set(['alice']);
    const ix = memoryIndex();
    const robots = new Robots(ix, async (u) => owners.has(u));
    const made = await robots.create({ name: 'ci', owner: 'alice', scopes: [parseRobotScope('a/**:pull')], expiresInMs: 10_000 }, 1000);
    expect(made.username).toBe('robot$ci');
    await expect(robots.create({ name: 'ci', owner: 'alice', scopes: [parseRobotScope('a/**:pull')] })).rejects.toThrow(/exists/);
    await expect(robots.create({ name: 'x', owner: 'mallory', scopes: [parseRobotScope('a/**:pull')] })).rejects.toThrow(/not a user/);
    await expect(robots.create({ name: 'Bad Name', owner: 'alice', scopes: [parseRobotScope('a/**:pull')] })).rejects.toThrow(/lowercase/);
    expect(await robots.check('robot$ci', made.secret, 2000)).toMatchObject({ ok: true });
    expect((await ix.robot('ci'))!.lastUsedAt).toBe(2000);
    await robots.check('robot$ci', made.secret, 3000);
    expect((await ix.robot('ci'))!.lastUsedAt).toBe(2000); // within the minute: not written again
    expect(await robots.check('robot$ci', `${made.secret}x`, 2000)).toEqual({ ok: false, reason: 'invalid username or password' });
    expect(await robots.check('robot$nobody', made.secret, 2000)).toEqual({ ok: false, reason: 'invalid username or password' });
    expect(await robots.check('robot$ci', made.secret, 11_000)).toEqual({ ok: false, reason: 'robot ci expired' });
    owners.delete('alice');
    expect(await robots.check('robot$ci', made.secret, 2000)).toMatchObject({ ok: false, reason: /owner is no longer a user/ });
    owners.add('alice');
    expect(await robots.ownerIfValid('robot$ci', 2000)).toBe('alice');
    await robots.revoke('ci', 4000);
    expect(await robots.check('robot$ci', made.secret, 5000)).toEqual({ ok: false, reason: 'robot ci was revoked' });
    expect(await robots.ownerIfValid('robot$ci', 5000)).toBeUndefined();
    await expect(ix.listRobots()).resolves.toHaveLength(1);
  });
});
