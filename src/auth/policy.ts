/**
 * Access control in the spirit of zot's `accessControl`: groups of users; repositories keyed by
 * glob patterns, each with policies (users and/or groups -> actions), a defaultPolicy for any
 * authenticated user and an anonymousPolicy; an adminPolicy that applies everywhere. For a given
 * repository the most specific matching pattern alone decides (most literal characters, then fewer
 * `**`); the admin policy adds to it.
 *
 *   `*` matches within one path segment, `**` across segments (so `team-a/**` is everything under
 *   team-a/, and `**` is every repository).
 */
export type RepoAction = 'read' | 'create' | 'update' | 'delete';
export const REPO_ACTIONS: readonly RepoAction[] = ['read', 'create', 'update', 'delete'];

export interface PolicyConfig {
  users?: string[];
  groups?: string[];
  actions: RepoAction[];
}

export interface RepositoryRules {
  policies?: PolicyConfig[];
  defaultPolicy?: RepoAction[];
  anonymousPolicy?: RepoAction[];
}

export interface AccessControlConfig {
  groups?: Record<string, { users: string[] }>;
  repositories?: Record<string, RepositoryRules>;
  adminPolicy?: PolicyConfig;
}

interface CompiledPattern {
  pattern: string;
  re: RegExp;
  literal: number;
  doubleStars: number;
  rules: RepositoryRules;
}

/** A glob over repository names (or tags): `*` within a path segment, `**` across segments. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `a/**` also matches `a` itself; `**/b` matches `b`
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re.replace(/\/\.\*$/, '(?:/.*)?')}$`);
}

/** A caller: a user name, or undefined for anonymous. */
export type Principal = string | undefined;

export class AccessPolicy {
  private readonly patterns: CompiledPattern[];
  private readonly groupsOf = new Map<string, Set<string>>();

  constructor(private readonly config: AccessControlConfig) {
    for (const [group, { users }] of Object.entries(config.groups ?? {})) {
      for (const u of users) {
        const set = this.groupsOf.get(u) ?? new Set<string>();
        set.add(group);
        this.groupsOf.set(u, set);
      }
    }
    this.patterns = Object.entries(config.repositories ?? {})
      .map(([pattern, rules]) => ({
        pattern,
        re: globToRegExp(pattern),
        literal: pattern.replace(/\*/g, '').length,
        doubleStars: (pattern.match(/\*\*/g) ?? []).length,
        rules,
      }))
      .sort((a, b) => b.literal - a.literal || a.doubleStars - b.doubleStars || a.pattern.localeCompare(b.pattern));
  }

  private applies(p: PolicyConfig | undefined, user: Principal): boolean {
    if (!p || user === undefined) return false;
    if (p.users?.includes(user)) return true;
    const groups = this.groupsOf.get(user);
    return !!groups && !!p.groups?.some((g) => groups.has(g));
  }

  /** The pattern that decides for `repo`, if any. */
  ruleFor(repo: string): CompiledPattern | undefined {
    return this.patterns.find((p) => p.re.test(repo));
  }

  /** Named by adminPolicy: the registry's administrators (bundle uploads, issue 7). */
  isAdmin(user: Principal): boolean {
    return this.applies(this.config.adminPolicy, user);
  }

  /** Whether anonymous callers may read anything at all (the web UI then lets them browse). */
  anonymousMayRead(): boolean {
    return this.patterns.some((p) => p.rules.anonymousPolicy?.includes('read'));
  }

  allowed(user: Principal, repo: string, action: RepoAction): boolean {
    if (this.applies(this.config.adminPolicy, user) && this.config.adminPolicy!.actions.includes(action)) return true;
    const rule = this.ruleFor(repo)?.rules;
    if (!rule) return false;
    if (user === undefined) return rule.anonymousPolicy?.includes(action) ?? false;
    if (rule.policies?.some((p) => this.applies(p, user) && p.actions.includes(action))) return true;
    return rule.defaultPolicy?.includes(action) ?? false;
  }

  /** The subset of `actions` the caller holds on `repo` (what a token may carry). */
  grant(user: Principal, repo: string, actions: RepoAction[]): RepoAction[] {
    return actions.filter((a) => this.allowed(user, repo, a));
  }
}
