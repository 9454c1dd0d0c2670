/** Validation of the `accessControl` section, with errors that name the key and its place. */
import { REPO_ACTIONS, type AccessControlConfig, type PolicyConfig, type RepoAction } from './policy.js';

export class AccessConfigError extends Error {}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new AccessConfigError(`${where}: must be a list of strings`);
  return v as string[];
}

function actions(v: unknown, where: string): RepoAction[] {
  const list = strings(v, where);
  for (const a of list) if (!REPO_ACTIONS.includes(a as RepoAction)) throw new AccessConfigError(`${where}: unknown action ${a} (read, create, update, delete)`);
  return list as RepoAction[];
}

function only(v: Record<string, unknown>, keys: string[], where: string): void {
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new AccessConfigError(`${where}.${k}: unknown key`);
}

function policy(v: unknown, where: string): PolicyConfig {
  if (!isMap(v)) throw new AccessConfigError(`${where}: must be a map`);
  only(v, ['users', 'groups', 'actions'], where);
  const p: PolicyConfig = { actions: actions(v.actions, `${where}.actions`) };
  if (v.users !== undefined) p.users = strings(v.users, `${where}.users`);
  if (v.groups !== undefined) p.groups = strings(v.groups, `${where}.groups`);
  return p;
}

export function validateAccessControl(v: unknown, where = 'accessControl'): AccessControlConfig {
  if (!isMap(v)) throw new AccessConfigError(`${where}: must be a map`);
  only(v, ['groups', 'repositories', 'adminPolicy'], where);
  const out: AccessControlConfig = {};
  if (v.groups !== undefined) {
    if (!isMap(v.groups)) throw new AccessConfigError(`${where}.groups: must be a map`);
    out.groups = {};
    for (const [g, def] of Object.entries(v.groups)) {
      if (!isMap(def)) throw new AccessConfigError(`${where}.groups.${g}: must be a map`);
      only(def, ['users'], `${where}.groups.${g}`);
      out.groups[g] = { users: strings(def.users, `${where}.groups.${g}.users`) };
    }
  }
  if (v.repositories !== undefined) {
    if (!isMap(v.repositories)) throw new AccessConfigError(`${where}.repositories: must be a map`);
    out.repositories = {};
    for (const [pattern, rules] of Object.entries(v.repositories)) {
      const at = `${where}.repositories["${pattern}"]`;
      if (!isMap(rules)) throw new AccessConfigError(`${at}: must be a map`);
      only(rules, ['policies', 'defaultPolicy', 'anonymousPolicy'], at);
      const r: NonNullable<AccessControlConfig['repositories']>[string] = {};
      if (rules.policies !== undefined) {
        if (!Array.isArray(rules.policies)) throw new AccessConfigError(`${at}.policies: must be a list`);
        r.policies = rules.policies.map((p, i) => policy(p, `${at}.policies[${i}]`));
      }
      if (rules.defaultPolicy !== undefined) r.defaultPolicy = actions(rules.defaultPolicy, `${at}.defaultPolicy`);
      if (rules.anonymousPolicy !== undefined) r.anonymousPolicy = actions(rules.anonymousPolicy, `${at}.anonymousPolicy`);
      out.repositories[pattern] = r;
    }
  }
  if (v.adminPolicy !== undefined) out.adminPolicy = policy(v.adminPolicy, `${where}.adminPolicy`);
  return out;
}

/** Without an accessControl section, any authenticated user may do anything and anonymous nothing. */
export const AUTHENTICATED_ONLY: AccessControlConfig = { repositories: { '**': { defaultPolicy: [...REPO_ACTIONS] } } };
