/**
 * The one owner of berth's on-disk layout. Nothing else in berth joins paths under the root.
 *
 *   <root>/
 *     blobs/<alg>/<hex[0:2]>/<hex>   content-addressed bytes of every blob, written once, renamed into
 *                                    place only after size and digest were verified
 *     uploads/<uuid>                 the bytes of one blob-upload session received so far
 *     tmp/<random>                   monolithic uploads while they are written and hashed; pull-through
 *                                    fetches (readable while they arrive) and staged bundle files
 *     index/                         the LevelDB metadata index, manifests' bytes included (src/index/keys.ts)
 *     imports/<bundle id>/           a split bundle whose parts are still arriving (bundles/parts.ts): the
 *                                    parts done, the segments of blobs cut between parts, its index.json
 *     auth/token.key                 the token service's signing key, when berth made it
 *
 * Blobs are global: repositories own no bytes, only index entries that link them, so a blob pushed
 * to many repositories is stored once.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Digest } from '../oci/digest.js';

export class StorePaths {
  constructor(readonly root: string) {}

  get blobsDir(): string {
    return join(this.root, 'blobs');
  }
  get uploadsDir(): string {
    return join(this.root, 'uploads');
  }
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }
  get indexDir(): string {
    return join(this.root, 'index');
  }

  /**
   * Where the berth serving this root listens ({pid, url}), written once it listens and removed when
   * it stops: the command line finds it there whatever flags or config it was started with.
   */
  get serving(): string {
    return join(this.root, 'serving.json');
  }

  get tokenKey(): string {
    return join(this.root, 'auth', 'token.key');
  }

  /** The HMAC key minted pull credentials are signed with (auth/pull-credentials.ts). */
  get pullCredentialKey(): string {
    return join(this.root, 'auth', 'pull-credential.key');
  }

  blobDir(d: Digest): string {
    return join(this.root, 'blobs', d.algorithm, d.hex.slice(0, 2));
  }
  /** blobs/<alg>, whose entries are the shard directories. */
  algorithmDir(algorithm: string): string {
    return join(this.root, 'blobs', algorithm);
  }
  /** blobs/<alg>/<shard> by the shard's directory name, as listed. */
  shardDirNamed(algorithm: string, shard: string): string {
    return join(this.root, 'blobs', algorithm, shard);
  }
  /** blobs/<alg>/<xx> for the shard numbered `n` (0-255). */
  shardDir(algorithm: string, n: number): string {
    return join(this.root, 'blobs', algorithm, n.toString(16).padStart(2, '0'));
  }
  blob(d: Digest): string {
    return join(this.blobDir(d), d.hex);
  }
  upload(id: string): string {
    return join(this.root, 'uploads', id);
  }
  /** A file /readyz writes and removes to prove the storage writable. */
  readinessProbe(): string {
    return join(this.root, 'tmp', `readyz-${process.pid}`);
  }
  /** The state of a split bundle's import while its parts arrive; `id` is the bundle's hex digest. */
  importState(id: string): string {
    return join(this.importsDir, id);
  }

  get importsDir(): string {
    return join(this.root, 'imports');
  }

  newTemp(): string {
    return join(this.root, 'tmp', randomBytes(12).toString('hex'));
  }
}
