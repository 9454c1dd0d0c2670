import { describe, expect, it } from 'vitest';
import { AccessPolicy, type AccessControlConfig } from '../../../src/auth/policy.js';

const config: AccessControlConfig = {
  groups: { devs: { users: ['dana', 'dev2'] }, ops: { users: ['olga'] } },
  repositories: {
    '**': { defaultPolicy: ['read'], anonymousPolicy: [] },
    'team-a/**': { policies: [{ groups: ['devs'], actions: ['read', 'create', 'update'] }], defaultPolicy: [] },
    'team-a/secret': { policies: [{ users: ['olga'], actions: ['read'] }] },
    'spectro-images/*': { anonymousPolicy: ['read'], policies: [{ groups: ['ops'], actions: ['read', 'create', 'update', 'delete'] }] },
  },
  adminPolicy: { users: ['root'], actions: ['read', 'create', 'update', 'delete'] },
};

describe('AccessPolicy', () => {
  const p = new AccessPolicy(config);
  it.each([
    // user, repo, action, expected
    ['dana', 'team-a/app', 'create', true],
    ['dana', 'team-a', 'read', true], // team-a/** covers team-a itself
    ['dana', 'team-a/app', 'delete', false],
    ['eve', 'team-a/app', 'read', false], // the most specific pattern decides: its defaultPolicy is empty
    ['eve', 'other/app', 'read', true], // ** default
    ['eve', 'other/app', 'create', false],
    [undefined, 'other/app', 'read', false],
    [undefined, 'spectro-images/app', 'read', true],
    [undefined, 'spectro-images/a/b', 'read', false], // * stays within one segment
    ['olga', 'spectro-images/app', 'delete', true],
    ['olga', 'team-a/secret', 'read', true],
    ['dana', 'team-a/secret', 'read', false], // more specific than team-a/**
    ['root', 'team-a/secret', 'delete', true], // admin everywhere
    [undefined, 'team-a/app', 'read', false],
  ] as const)('%s on %s may %s: %s', (user, repo, action, want) => {
    expect(p.allowed(user, repo, action)).toBe(want);
  });

  it('grants only the actions held', () => {
    expect(p.grant('dana', 'team-a/app', ['read', 'create', 'delete'])).toEqual(['read', 'create']);
    expect(p.grant(undefined, 'team-a/app', ['read'])).toEqual([]);
  });

  it('denies everything when no pattern matches', () => {
    const q = new AccessPolicy({ repositories: { 'x/*': { defaultPolicy: ['read'] } } });
    expect(q.allowed('eve', 'y/z', 'read')).toBe(false);
  });
});
