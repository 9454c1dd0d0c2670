/** One image: pull commands, summary, platforms or layers, config, history, referrers. */
import type { ImageResponse, ReferrerNode } from '../api-types.js';
import { api } from './api.js';
import { bytes, digestCode, facts, h, link, table, when } from './dom.js';
import { copyField, heading } from './widgets.js';
import { deleteButton } from './browse.js';

const argv = (a: string[] | undefined) => (a && a.length ? h('code', {}, JSON.stringify(a)) : undefined);

function section(title: string, id: string, ...content: (Node | undefined)[]): HTMLElement {
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...content.filter((c): c is Node => c !== undefined));
}

function referrerTree(repo: string, list: ReferrerNode[]): HTMLElement {
  return h(
    'ul',
    { class: 'tree' },
    list.map((r) =>
      h(
        'li',
        {},
        h('span', { class: 'artifact' }, r.artifactType ?? r.mediaType),
        ' ',
        h('a', { href: link('/image', { repository: repo, reference: r.digest }) }, digestCode(r.digest)),
        ` ${bytes(r.size)}`,
        r.annotations?.['org.opencontainers.image.created'] ? ` · ${r.annotations['org.opencontainers.image.created']}` : '',
        r.referrers.length ? referrerTree(repo, r.referrers) : undefined,
      ),
    ),
  );
}

export async function imagePage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const repository = params.get('repository') ?? '';
  const reference = params.get('reference') ?? '';
  const v = await api<ImageResponse>('GET', 'image', { repository, reference });
  const byDigest = reference.includes(':');
  main.append(heading(byDigest ? `${repository}@${reference.slice(0, 19)}…` : `${repository}:${reference}`));
  main.append(h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' / ', h('a', { href: link('/repository', { name: repository }) }, repository), ` / ${reference}`));
  const status = h('div', { 'aria-live': 'polite' });
  main.append(status);

  main.append(
    section('Pull', 'pull-title', v.pull.byTag ? copyField('Pull by tag', v.pull.byTag) : undefined, copyField('Pull by digest', v.pull.byDigest)),
  );
  main.append(
    section(
      'Summary',
      'summary-title',
      facts([
        ['Digest', h('code', {}, v.digest)],
        ['Media type', v.mediaType],
        ['Artifact type', v.artifactType],
        ['Size', `${bytes(v.size)} (manifest ${bytes(v.manifestSize)})`],
        ['Pushed', when(v.pushedAt)],
        ['Tags', v.tags.length ? v.tags.map((t) => h('a', { href: link('/image', { repository, reference: t }), class: 'chip' }, t)) : 'none'],
        ['Subject', v.subject ? h('a', { href: link('/image', { repository, reference: v.subject }) }, digestCode(v.subject)) : undefined],
        ['Annotations', v.annotations ? h('ul', { class: 'plain' }, Object.entries(v.annotations).map(([k, val]) => h('li', {}, h('code', {}, k), ` = ${val}`))) : undefined],
      ]),
      v.canDelete ? h('p', {}, deleteButton(repository, v.digest, 'Delete this manifest', status, () => (location.hash = link('/repository', { name: repository })), 'Delete manifest')) : undefined,
    ),
  );

  if (v.manifests) {
    main.append(
      section(
        'Platforms',
        'platforms-title',
        table(
          'Manifests in this index',
          ['Platform', 'Digest', 'Size', 'Stored here'],
          v.manifests.map((m) => [
            m.platform ?? '–',
            m.present ? h('a', { href: link('/image', { repository, reference: m.digest }) }, digestCode(m.digest)) : digestCode(m.digest),
            bytes(m.size),
            m.present ? 'yes' : 'no',
          ]),
          { numeric: [2] },
        ),
      ),
    );
  }
  if (v.layers) {
    main.append(
      section(
        'Layers',
        'layers-title',
        table(
          `${v.layers.length} layer${v.layers.length === 1 ? '' : 's'}, ${bytes(v.layers.reduce((n, l) => n + l.size, 0))}`,
          ['#', 'Digest', 'Media type', 'Size'],
          v.layers.map((l, i) => [i + 1, digestCode(l.digest), l.mediaType, bytes(l.size)]),
          { numeric: [0, 3] },
        ),
      ),
    );
  }
  const c = v.config;
  if (c) {
    main.append(
      section(
        'Config',
        'config-title',
        facts([
          ['Digest', digestCode(c.digest)],
          ['Media type', c.mediaType],
          ['Stored here', c.missing ? 'no (not fetched from the upstream yet)' : undefined],
          ['Created', c.created ? when(c.created) : undefined],
          ['Author', c.author],
          ['Platform', c.os ? [c.os, c.architecture, c.variant].filter(Boolean).join('/') : undefined],
          ['Entrypoint', argv(c.entrypoint)],
          ['Cmd', argv(c.cmd)],
          ['Working directory', c.workingDir],
          ['User', c.user],
          ['Exposed ports', c.exposedPorts?.join(', ')],
        ]),
        c.env?.length ? h('div', {}, h('h3', {}, 'Environment'), h('ul', { class: 'plain env' }, c.env.map((e) => h('li', {}, h('code', {}, e))))) : undefined,
        c.labels && Object.keys(c.labels).length
          ? table('Labels', ['Label', 'Value'], Object.entries(c.labels).map(([k, val]) => [h('code', {}, k), val]))
          : undefined,
        c.history?.length
          ? table(
              'History',
              ['Created', 'Created by', 'Layer'],
              c.history.map((x) => [when(x.created), h('code', { class: 'wrap' }, x.createdBy ?? x.comment ?? ''), x.emptyLayer ? 'empty' : 'yes']),
            )
          : undefined,
      ),
    );
  }
  main.append(
    section(
      'Referrers',
      'referrers-title',
      v.referrers.length ? referrerTree(repository, v.referrers) : h('p', {}, 'No signatures, SBOMs or other artifacts refer to this manifest.'),
      v.referrersOmitted ? h('p', { class: 'hint' }, `${v.referrersOmitted} more not shown.`) : undefined,
    ),
  );
}
