/** Robot accounts (administrators): the list, a form that makes one and shows its secret once, and revoking. */
import { api, session } from './api.js';
import { h, table, when } from './dom.js';
import { confirmDialog, heading, notice } from './widgets.js';

interface Robot {
  name: string;
  owner: string;
  scopes: { repositories: string; actions: string[] }[];
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

export async function robotsPage(main: HTMLElement): Promise<void> {
  main.append(heading('Robot accounts'));
  if (!session.admin) {
    main.append(notice('Only administrators can manage robot accounts.', 'error'));
    return;
  }
  main.append(
    h('p', {}, 'API keys for CI jobs and other machines. A robot logs in as robot$<name> with its secret; it can do what its owner may do and its scopes allow, never more.'),
  );
  const list = h('div', { id: 'robot-list' });
  const show = async () => {
    const { robots } = await api<{ robots: Robot[] }>('GET', 'robots');
    if (robots.length === 0) return list.replaceChildren(h('p', {}, 'No robot accounts yet.'));
    list.replaceChildren(
      table(
        'Robot accounts',
        ['Name', 'Owner', 'Scopes', 'Created', 'Expires', 'Last used', 'State', ''],
        robots.map((r) => {
          const revoke = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke robot$${r.name}` }, 'Revoke');
          revoke.addEventListener('click', async () => {
            if (!(await confirmDialog('Revoke robot account', `Revoke robot$${r.name}? Its next request is refused, and its tokens stop working.`, 'Revoke'))) return;
            await api('DELETE', `robots/${encodeURIComponent(r.name)}`);
            await show();
          });
          return [
            `robot$${r.name}`,
            r.owner,
            r.scopes.map((sc) => `${sc.repositories}:${sc.actions.join(',')}`).join(' '),
            when(r.createdAt),
            r.expiresAt ? when(r.expiresAt) : 'never',
            r.lastUsedAt ? when(r.lastUsedAt) : 'never',
            r.revokedAt ? `revoked ${when(r.revokedAt)}` : 'active',
            r.revokedAt ? '' : revoke,
          ];
        }),
      ),
    );
  };
  const name = h('input', { id: 'robot-name', name: 'name', required: true, pattern: '[a-z0-9][a-z0-9._-]{0,62}' });
  const scopes = h('textarea', { id: 'robot-scopes', name: 'scopes', required: true, rows: 3, placeholder: 'team-b/**:pull,push' });
  const expires = h('input', { id: 'robot-expires', name: 'expires', placeholder: '90d (empty: never)' });
  const result = h('div', { id: 'robot-result', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'robot' },
    h('label', { for: 'robot-name' }, 'Name'),
    name,
    h('label', { for: 'robot-scopes' }, 'Scopes, one per line (repository glob:pull,push,delete)'),
    scopes,
    h('label', { for: 'robot-expires' }, 'Expires after'),
    expires,
    h('button', { type: 'submit' }, 'Create'),
    result,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    result.replaceChildren();
    try {
      const made = await api<{ username: string; secret: string }>('POST', 'robots', {}, {
        name: name.value.trim(),
        scopes: scopes.value.split('\n').map((s) => s.trim()).filter((s) => s !== ''),
        expires: expires.value.trim(),
      });
      result.replaceChildren(
        notice(`Created ${made.username}. Copy its secret now: it is not shown again.`),
        h('p', {}, 'Secret: ', h('code', { id: 'robot-secret' }, made.secret)),
      );
      form.reset();
      await show();
    } catch (err) {
      result.replaceChildren(notice((err as Error).message, 'error'));
    }
  });
  main.append(h('section', { 'aria-labelledby': 'robots-title' }, h('h2', { id: 'robots-title' }, 'Accounts'), list), h('section', { 'aria-labelledby': 'new-robot-title' }, h('h2', { id: 'new-robot-title' }, 'New robot'), form));
  await show();
}
