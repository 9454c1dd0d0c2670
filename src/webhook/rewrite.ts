/**
 * Which registry a pod's image is pulled from: an image of an upstream host becomes berth's
 * path-mode name for it, `<berth>/<prefix>/<host>/<repo>[:tag][@digest]` (src/mirror/names.ts),
 * which berth serves from its store and, with an upstream configured for the host, fills by
 * pull-through. A digest is always kept, so the pod runs the very bytes it named.
 */
import type { MirrorNames } from '../mirror/names.js';
import { globToRegExp } from '../auth/policy.js';
import { formatImageRef, parseImageRef, type ImageRef } from './reference.js';

export interface RewriteRules {
  /** berth's address as nodes reach it (`10.10.254.254:30003`). */
  registry: string;
  /** mirror.prefix: where mirrored content lives in berth's namespace. */
  names: MirrorNames;
  /**
   * Never rewritten: a host (`quay.io`), or a pattern over the normalised `host/repo`, where `*`
   * stands for any characters within one path component and `**` for any across them.
   */
  exclude: string[];
}

export class ImageRewriter {
  private readonly excluded: ((r: ImageRef) => boolean)[];
  private readonly registryHost: string;

  constructor(private readonly rules: RewriteRules) {
    this.registryHost = rules.registry.toLowerCase();
    this.excluded = rules.exclude.map((e) => {
      if (!e.includes('/') && !e.includes('*')) return (r: ImageRef) => r.host === e.toLowerCase();
      const re = globToRegExp(e.toLowerCase()); // the globs of accessControl and retention
      return (r: ImageRef) => re.test(`${r.host}/${r.repo}`);
    });
  }

  /**
   * The reference berth serves `image` under, or undefined to leave it as it is: unparseable (the
   * kubelet will say why), already on berth, or excluded.
   */
  rewrite(image: string): { image: string; ref: ImageRef; local: string } | undefined {
    const ref = parseImageRef(image);
    if (!ref || ref.host === this.registryHost || this.excluded.some((x) => x(ref))) return undefined;
    let local: string;
    try {
      local = this.rules.names.local(ref.host, ref.repo);
    } catch {
      return undefined; // the name would be too long for berth: leave it to its own registry
    }
    const to = formatImageRef({ host: this.registryHost, repo: local, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) });
    return { image: to, ref, local };
  }
}
