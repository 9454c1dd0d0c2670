import { RegistryError } from '../oci/errors.js';
import type { Digest } from '../oci/digest.js';

export function checkDigest(actual: Digest, expected: Digest): void {
  if (actual.value !== expected.value) {
    throw new RegistryError('DIGEST_INVALID', `content digest ${actual.value} does not match ${expected.value}`);
  }
}
