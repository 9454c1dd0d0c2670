/**
 * Digests (OCI image-spec "Digests", distribution-spec "Pulling blobs").
 *
 *   digest    ::= algorithm ":" encoded
 *   algorithm ::= component (separator component)*   component ::= [a-z0-9]+   separator ::= [+._-]
 *   encoded   ::= [a-zA-Z0-9=_-]+
 *
 * berth stores sha256 and sha512, the two registered algorithms, whose encoded part is lowercase hex
 * of a fixed length. Anything else is DIGEST_INVALID before any I/O happens.
 */
import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

export type Algorithm = 'sha256' | 'sha512';

export interface Digest {
  readonly algorithm: Algorithm;
  readonly hex: string;
  /** `algorithm:hex`, the canonical string form. */
  readonly value: string;
}

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isAlgorithm(s: string): s is Algorithm {
  return s === 'sha256' || s === 'sha512';
}

/** Parses and validates a digest string; returns undefined when it is not one berth can store. */
export function tryParseDigest(s: string): Digest | undefined {
  if (s.length > 7 + 1 + 128 || !GRAMMAR.test(s)) return undefined;
  const i = s.indexOf(':');
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (!isAlgorithm(algorithm)) return undefined;
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) return undefined;
  return { algorithm, hex, value: s };
}

export function parseDigest(s: string): Digest {
  const d = tryParseDigest(s);
  if (!d) throw new RegistryError('DIGEST_INVALID', `invalid digest: ${truncate(s)}`);
  return d;
}

/** True when s looks like a digest (has the grammar's colon), as opposed to a tag. */
export function looksLikeDigest(s: string): boolean {
  return s.includes(':');
}

export function newHash(algorithm: Algorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(algorithm: Algorithm, hash: Hash): Digest {
  const hex = hash.digest('hex');
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

export function digestBytes(bytes: Uint8Array, algorithm: Algorithm = 'sha256'): Digest {
  return digestOf(algorithm, createHash(algorithm).update(bytes));
}

export function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
