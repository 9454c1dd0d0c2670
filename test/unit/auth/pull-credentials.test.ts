import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PullCredentials } from '../../../src/auth/pull-credentials.js';
import { testDir } from '../../helpers/tmp.js';

describe('minted pull credentials', () => {
  const creds = new PullCredentials(randomBytes(32), 3600);
  const now = Date.parse('2026-12-04T12:00:00Z');

  it('checks out for its user until its expiry, and not a moment after', () => {
    const m = creds.mint('node-a', 600, now);
    expect(m.expiresIn).toBe(600);
    expect(m.expiresAt.toISOString()).toBe('2026-12-04T12:10:00.000Z');
    expect(PullCredentials.isMinted(m.password)).toBe(true);
    expect(creds.check('node-a', m.password, now + 599_000)).toEqual({ ok: true });
    expect(creds.check('node-a', m.password, now + 600_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('is refused for another user, with another key, or with any character changed', () => {
    const m = creds.mint('node-a', 600, now);
    expect(creds.check('node-b', m.password, now)).toEqual({ ok: false, reason: 'invalid' });
    expect(new PullCredentials(randomBytes(32), 3600).check('node-a', m.password, now)).toEqual({ ok: false, reason: 'invalid' });
    // a later expiry written in by hand breaks the signature
    const [, , expiry, sig] = m.password.split('.') as [string, string, string, string];
    expect(creds.check('node-a', m.password.replace(`.${expiry}.`, `.${Number(expiry) + 3600}.`), now)).toEqual({ ok: false, reason: 'invalid' });
    const flipped = sig[0] === 'A' ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
    expect(creds.check('node-a', m.password.replace(sig, flipped), now)).toEqual({ ok: false, reason: 'invalid' });
    expect(creds.check('node-a', 'berth-pull.v1.garbage', now)).toEqual({ ok: false, reason: 'invalid' });
    expect(PullCredentials.isMinted('an ordinary password')).toBe(false);
  });

  it('never lives longer than the configured maximum, nor less than a second', () => {
    expect(creds.mint('u', 86_400, now).expiresIn).toBe(3600);
    expect(creds.mint('u', 0.2, now).expiresIn).toBe(1);
  });

  it('makes its key once, private to root, and every later process reads the same one', async () => {
    const dir = await testDir('berth-pullkey-');
    const file = join(dir, 'auth', 'pull-credential.key');
    const [a, b] = await Promise.all([PullCredentials.key(file), PullCredentials.key(file)]);
    expect(a.length).toBe(32);
    expect(b.equals(a)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(a)).toBe(true);
    // replicas: the shared secret wins, the file is not used
    const shared = await PullCredentials.key(join(dir, 'unused'), async (_name, make) => make());
    expect(shared.length).toBe(32);
  });
});
