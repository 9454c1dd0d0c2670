/**
 * Repository names and tags (distribution-spec v1.1, "Pulling manifests"):
 *
 *   <name>      [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 *   <reference> as a tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
 *
 * The spec lets registries cap a name's length; like distribution, berth caps it at 255 characters.
 * Names are checked on the raw, undecoded path, so an encoded traversal (`a/..%2f..%2fetc`) can
 * never match.
 */
import { RegistryError } from './errors.js';
import { truncate } from './digest.js';

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

export function checkName(name: string): string {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', `invalid repository name: ${truncate(name)}`);
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
