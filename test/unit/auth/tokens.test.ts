import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenIssuer, parseScope } from '../../../src/auth/tokens.js';
import { testDir } from '../../helpers/tmp.js';

const SETTINGS = { service: 's', issuer: 'i', expiresIn: 60, refreshExpiresIn: 600 };

describe('TokenIssuer', () => {
  it('signs with a configured RSA key as RS256, and with a generated EC key as ES256 (made once)', async () => {
    const dir = await testDir('berth-tokens-');
    const rsa = join(dir, 'rsa.pem');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = await TokenIssuer.open(rsa, false, SETTINGS);
    expect(r.alg).toBe('RS256');
    const t = await r.issue('u', [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    expect(JSON.parse(Buffer.from(t.token.split('.')[0]!, 'base64url').toString()).alg).toBe('RS256');
    expect(await r.verify(t.token)).toEqual({ subject: 'u', access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }] });
    await expect(TokenIssuer.open(join(dir, 'missing.pem'), false, SETTINGS)).rejects.toThrow();
    const made = join(dir, 'auth', 'token.key');
    const e1 = await TokenIssuer.open(made, true, SETTINGS);
    const e2 = await TokenIssuer.open(made, true, SETTINGS);
    expect(e1.alg).toBe('ES256');
    expect((await e2.verify((await e1.issue(undefined, [])).token)).subject).toBeUndefined(); // same key on reopen
    await expect(r.verify((await e1.issue('u', [])).token)).rejects.toThrow(); // another key
  });

  it('keeps refresh tokens and access tokens apart', async () => {
    const dir = await testDir('berth-tokens-');
    const k = await TokenIssuer.open(join(dir, 'k.pem'), true, SETTINGS);
    const refresh = await k.issueRefresh('u');
    expect(await k.verifyRefresh(refresh)).toBe('u');
    await expect(k.verify(refresh)).rejects.toThrow();
    await expect(k.verifyRefresh((await k.issue('u', [])).token)).rejects.toThrow();
  });

  it('parses scopes', () => {
    expect(parseScope('repository:a/b:pull,push')).toEqual({ type: 'repository', name: 'a/b', actions: ['pull', 'push'] });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('repository:a/b')).toBeUndefined();
    expect(parseScope('nonsense')).toBeUndefined();
  });
});
