import { describe, expect, it } from 'vitest';
import { parseDigest, tryParseDigest } from '../../../src/oci/digest.js';
import { isValidName, isValidTag } from '../../../src/oci/names.js';
import { RegistryError } from '../../../src/oci/errors.js';

describe('digest grammar (image-spec "Digests")', () => {
  it('accepts sha256 and sha512 lowercase hex of the right length', () => {
    expect(tryParseDigest(`sha256:${'a'.repeat(64)}`)?.algorithm).toBe('sha256');
    expect(tryParseDigest(`sha512:${'0'.repeat(128)}`)?.hex).toBe('0'.repeat(128));
  });
  it.each([
    'sha256:abc', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(65)}`, `md5:${'a'.repeat(32)}`,
    `sha384:${'a'.repeat(96)}`, 'sha256', ':abc', `SHA256:${'a'.repeat(64)}`, `sha256:${'a'.repeat(63)}/`,
  ])('refuses %s with DIGEST_INVALID', (s) => {
    expect(tryParseDigest(s)).toBeUndefined();
    expect(() => parseDigest(s)).toThrow(RegistryError);
    try {
      parseDigest(s);
    } catch (e) {
      expect((e as RegistryError).code).toBe('DIGEST_INVALID');
    }
  });
});

describe('name grammar (distribution-spec "Pulling manifests")', () => {
  it.each(['a', 'library/alpine', 'spectro-images/quay.io/kairos/core', 'a__b', 'a---b', 'a.b_c-d/e0', '0/1/2'])('accepts %s', (n) => {
    expect(isValidName(n)).toBe(true);
  });
  it.each(['', 'A', 'a/', '/a', 'a//b', 'a/../b', '..', 'a/.b', 'a___b', 'a_', 'a%2fb', 'a b', 'a'.repeat(256), 'é'])('refuses %j', (n) => {
    expect(isValidName(n)).toBe(false);
  });
});

describe('tag grammar', () => {
  it.each(['latest', 'v1.0.0', '_x', 'A-b.c_d', 'a'.repeat(128)])('accepts %s', (t) => expect(isValidTag(t)).toBe(true));
  it.each(['', '.x', '-x', 'a'.repeat(129), 'a:b', 'a/b', 'a b'])('refuses %j', (t) => expect(isValidTag(t)).toBe(false));
});
