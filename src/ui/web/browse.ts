/** Projects, a project's repositories (search, pages), a repository's tags. */
import type { ProjectsResponse, RepositoriesResponse, TagsResponse } from '../api-types.js';
import { api, session } from './api.js';
import { bytes, digestCode, h, link, table, when } from './dom.js';
import { confirmDialog, heading, notice, pager } from './widgets.js';

const PAGE = 50;
export const TOP = '(top level)';

export async function projectsPage(main: HTMLElement): Promise<void> {
  const { projects, computedAt } = await api<ProjectsResponse>('GET', 'projects');
  main.append(heading('Projects'));
  main.append(searchForm(undefined, ''));
  if (projects.length === 0) {
    main.append(notice(session.user || !session.auth ? 'No repositories yet. Push an image or upload a bundle.' : 'Nothing here is readable without logging in.'));
    return;
  }
  main.append(
    table(
      `${projects.length} project${projects.length === 1 ? '' : 's'}`,
      ['Project', 'Repositories', 'Size'],
      projects.map((p) => [h('a', { href: link('/repositories', { project: p.name || '_' }) }, p.name || TOP), p.repositories, bytes(p.size)]),
      { numeric: [1, 2] },
    ),
    h('p', { class: 'hint' }, `Sizes count each blob once per project, as of ${when(computedAt)}.`),
  );
}

function searchForm(project: string | undefined, q: string): HTMLElement {
  const input = h('input', { type: 'search', id: 'search', name: 'q', value: q, placeholder: 'part of a name', autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'search', role: 'search' },
    h('label', { for: 'search' }, project === undefined ? 'Search all repositories' : `Search in ${project || TOP}`),
    input,
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = link('/repositories', { project: project === undefined ? undefined : project || '_', q: input.value.trim() });
  });
  return form;
}

export async function repositoriesPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const raw = params.get('project') ?? undefined;
  const project = raw === '_' ? '' : raw;
  const q = params.get('q') ?? '';
  const pageNo = Math.max(1, Number(params.get('page')) || 1);
  const res = await api<RepositoriesResponse>('GET', 'repositories', { project: raw, q, offset: (pageNo - 1) * PAGE, limit: PAGE });
  main.append(heading(project === undefined ? 'Repositories' : `Project ${project || TOP}`));
  main.append(h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), project !== undefined ? ` / ${project || TOP}` : ''));
  main.append(searchForm(project, q));
  const first = res.total === 0 ? 0 : (pageNo - 1) * PAGE + 1;
  const last = Math.min(res.total, pageNo * PAGE);
  main.append(h('p', { class: 'count', role: 'status' }, res.total === 0 ? (q ? `No repository matches “${q}”.` : 'No repositories.') : `${first}–${last} of ${res.total}`));
  if (res.items.length) {
    main.append(
      table(
        q ? `Repositories matching “${q}”` : 'Repositories',
        ['Repository', 'Tags', 'Size', 'Last push'],
        res.items.map((r) => [h('a', { href: link('/repository', { name: r.name }) }, r.name), r.tags, bytes(r.size), when(r.updatedAt)]),
        { numeric: [1, 2] },
      ),
    );
  }
  const at = (n: number) => link('/repositories', { project: raw, q, page: n > 1 ? n : undefined });
  main.append(pager('Repository', pageNo > 1 ? at(pageNo - 1) : undefined, last < res.total ? at(pageNo + 1) : undefined));
}

export async function repositoryPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const name = params.get('name') ?? '';
  const after = params.get('after') ?? undefined;
  const res = await api<TagsResponse>('GET', 'tags', { repository: name, last: after, n: PAGE });
  const project = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
  main.append(heading(name));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' / ', h('a', { href: link('/repositories', { project: project || '_' }) }, project || TOP), ` / ${name}`),
  );
  main.append(h('p', { class: 'count', role: 'status' }, `${res.total} tag${res.total === 1 ? '' : 's'}`));
  const status = h('div', { 'aria-live': 'polite' });
  main.append(status);
  if (res.items.length) {
    const headers = ['Tag', 'Digest', 'Size', 'Pushed', 'Platforms'];
    if (res.canDelete) headers.push('Actions');
    main.append(
      table(
        `Tags of ${name}`,
        headers,
        res.items.map((t) => {
          const row = [
            h('a', { href: link('/image', { repository: name, reference: t.tag }) }, t.tag),
            digestCode(t.digest),
            bytes(t.size),
            when(t.pushedAt),
            t.platforms ? t.platforms.join(', ') || 'index' : t.artifactType ?? '',
          ];
          if (res.canDelete) row.push(deleteButton(name, t.tag, `Delete tag ${t.tag}`, status));
          return row;
        }),
        { numeric: [2] },
      ),
    );
  }
  main.append(
    pager('Tag', after ? link('/repository', { name }) : undefined, res.next ? link('/repository', { name, after: res.next }) : undefined),
  );
}

/** A delete button for a tag or a digest, confirmed first; on success the page is shown again. */
export function deleteButton(repository: string, reference: string, label: string, status: HTMLElement, after?: () => void, text = 'Delete'): HTMLButtonElement {
  const byDigest = reference.includes(':');
  const button = h('button', { type: 'button', class: 'danger small', 'aria-label': label }, text);
  button.addEventListener('click', async () => {
    const question = byDigest
      ? `Delete the manifest ${reference} from ${repository}, with every tag that points at it? Its layers go at the next garbage collection.`
      : `Delete the tag ${reference} from ${repository}? The image stays if other tags point at it.`;
    if (!(await confirmDialog(byDigest ? 'Delete manifest' : 'Delete tag', question, 'Delete'))) return;
    try {
      await api('DELETE', 'image', { repository, reference });
      if (after) after();
      else window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) {
      status.replaceChildren(notice(`Could not delete: ${(err as Error).message}`, 'error'));
    }
  });
  return button;
}
