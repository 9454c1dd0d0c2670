import { describe, expect, it } from 'vitest';
import { MemorySessions, SessionStore, csrfMatches } from '../../../src/auth/sessions.js';

describe('SessionStore', () => {
  it('finds a session until it expires or ends, and only for a user that still exists', async () => {
    const users = new Set(['alice', 'bob']);
    const store = new SessionStore(1000, async (u) => users.has(u));
    const a = await store.create('alice', 0);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.get(a.id, 999)).toBe(a);
    expect(await store.get(a.id, 1000)).toBeUndefined(); // absolute lifetime
    expect(await store.get(a.id, 0)).toBeUndefined(); // gone for good
    const b = await store.create('bob', 0);
    users.delete('bob');
    expect(await store.get(b.id, 1)).toBeUndefined();
    const c = await store.create('alice', 0);
    await store.end(c.id);
    expect(await store.get(c.id, 1)).toBeUndefined();
    expect(await store.get(undefined)).toBeUndefined();
    expect(await store.get('forged')).toBeUndefined();
  });

  it('keeps at most `max` sessions, dropping the oldest', async () => {
    const store = new SessionStore(60_000, async () => true, new MemorySessions(2));
    const [a, b, c] = [await store.create('u', 0), await store.create('u', 0), await store.create('u', 0)];
    expect(await store.get(a.id, 1)).toBeUndefined();
    expect(await store.get(b.id, 1)).toBe(b);
    expect(await store.get(c.id, 1)).toBe(c);
  });

  it('matches the CSRF token exactly', async () => {
    const s = await new SessionStore(1000, async () => true).create('u');
    expect(csrfMatches(s, s.csrf)).toBe(true);
    expect(csrfMatches(s, undefined)).toBe(false);
    expect(csrfMatches(s, `${s.csrf}x`)).toBe(false);
    expect(csrfMatches(s, s.csrf.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a')))).toBe(false);
  });
});
