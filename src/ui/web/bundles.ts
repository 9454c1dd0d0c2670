/** Imported content bundles (administrators): each name and version, when it came, and the images it brought. */
import { api, session } from './api.js';
import { digestCode, h, link, table, when } from './dom.js';
import { heading, notice } from './widgets.js';

interface Bundle {
  name: string;
  version: string;
  digest: string;
  importedAt: number;
  images: { repository: string; tag?: string; digest: string }[];
}

export async function bundlesPage(main: HTMLElement): Promise<void> {
  main.append(heading('Bundles'));
  if (!session.admin) {
    main.append(notice('Only administrators can see the imported bundles.', 'error'));
    return;
  }
  main.append(
    h('p', {}, 'Content bundles imported here, oldest first for each name. Removing a version (berth bundles remove NAME@VERSION) untags what only it brought; storage.retention.bundles keeps the last versions of each.'),
  );
  const { bundles } = await api<{ bundles: Bundle[] }>('GET', 'bundles');
  if (bundles.length === 0) {
    main.append(h('p', {}, 'No bundle has been imported yet.'));
    return;
  }
  main.append(
    table(
      'Imported bundles',
      ['Name', 'Version', 'Imported', 'Digest', 'Images'],
      bundles.map((b) => [
        b.name,
        b.version,
        when(b.importedAt),
        digestCode(b.digest),
        h(
          'ul',
          { class: 'imported' },
          b.images.map((i) =>
            h('li', {}, h('a', { href: link('/image', { repository: i.repository, reference: i.tag ?? i.digest }) }, i.tag ? `${i.repository}:${i.tag}` : `${i.repository}@${i.digest}`)),
          ),
        ),
      ]),
    ),
  );
}
