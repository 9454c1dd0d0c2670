/** Logging in, uploading a content bundle, and storage use with garbage collection's state. */
import { api, loadSession, session, upload } from './api.js';
import { bytes, facts, h, link, when } from './dom.js';
import { heading, notice } from './widgets.js';

export async function loginPage(main: HTMLElement, params: URLSearchParams, refresh: () => void): Promise<void> {
  main.append(heading('Log in'));
  if (params.get('reason')) main.append(notice(params.get('reason')!, 'info'));
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = h('div', { 'aria-live': 'assertive' });
  const form = h(
    'form',
    { class: 'login' },
    h('label', { for: 'username' }, 'User name'),
    user,
    h('label', { for: 'password' }, 'Password'),
    pass,
    h('button', { type: 'submit' }, 'Log in'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.replaceChildren();
    try {
      await api('POST', 'session', {}, { username: user.value, password: pass.value });
      await loadSession();
      refresh();
      location.hash = params.get('next') || '#/';
    } catch (err) {
      pass.value = '';
      status.replaceChildren(notice((err as Error).message, 'error'));
      pass.focus();
    }
  });
  main.append(form);
  if (session.anonymousRead) main.append(h('p', { class: 'hint' }, 'Some repositories can be browsed without logging in: ', h('a', { href: '#/' }, 'browse them'), '.'));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

interface ImportReport {
  images: { repository: string; tag?: string; digest: string }[];
  blobs: number;
  manifests: number;
  ms: number;
}

export async function uploadPage(main: HTMLElement): Promise<void> {
  main.append(heading('Upload a content bundle'));
  if (!session.admin) {
    main.append(notice('Only administrators can upload bundles.', 'error'));
    return;
  }
  main.append(
    h('p', {}, 'An OCI image layout or a docker save archive, as .tar or .tar.gz. Images land under their own names (foreign names under the mirror prefix); nothing is visible until the whole bundle checks out.'),
  );
  const file = h('input', { id: 'bundle', name: 'bundle', type: 'file', accept: '.tar,.tgz,.gz,application/x-tar,application/gzip', required: true });
  const prefix = h('input', { id: 'prefix', name: 'prefix', placeholder: 'optional' });
  const bar = h('progress', { id: 'upload-progress', max: 100, value: 0, 'aria-label': 'Upload progress' });
  const label = h('span', { id: 'upload-percent', 'aria-live': 'polite' });
  const result = h('div', { id: 'upload-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Upload');
  const form = h(
    'form',
    { class: 'upload' },
    h('label', { for: 'bundle' }, 'Bundle file'),
    file,
    h('label', { for: 'prefix' }, 'Repository prefix'),
    prefix,
    button,
    h('div', { class: 'progress-row', hidden: true }, bar, label),
    result,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    const data = new FormData();
    data.append('bundle', f, f.name);
    (bar.parentElement as HTMLElement).hidden = false;
    button.disabled = true;
    result.replaceChildren();
    const path = prefix.value.trim() ? `bundles?prefix=${encodeURIComponent(prefix.value.trim())}` : 'bundles';
    try {
      const report = await upload<ImportReport>(path, data, (sent, total) => {
        const pct = total ? Math.floor((sent / total) * 100) : 0;
        bar.value = pct;
        label.textContent = `${pct}% of ${bytes(total)} sent`;
      });
      bar.value = 100;
      label.textContent = `Imported in ${report.ms} ms`;
      result.replaceChildren(
        notice(`${plural(report.images.length, 'image')} imported (${plural(report.blobs, 'blob')}, ${plural(report.manifests, 'manifest')}).`),
        h(
          'ul',
          { class: 'imported' },
          report.images.map((i) =>
            h('li', {}, h('a', { href: link('/image', { repository: i.repository, reference: i.tag ?? i.digest }) }, i.tag ? `${i.repository}:${i.tag}` : `${i.repository}@${i.digest}`)),
          ),
        ),
      );
    } catch (err) {
      label.textContent = 'Failed';
      result.replaceChildren(notice(`Upload refused: ${(err as Error).message}`, 'error'));
    } finally {
      button.disabled = false;
    }
  });
  main.append(form);
}

interface StorageView {
  storage: { blobs: number; bytes: number; repositories: number; computedAt: number };
  gc: {
    enabled: boolean;
    interval: string;
    delay: string;
    running: boolean;
    last: null | { repositories: number; manifestsDeleted: number; linksRemoved: number; blobsDeleted: number; bytesReclaimed: number; manifestBytesDeleted: number; dryRun: boolean; startedAt: number; ms: number };
    totals: { runs: number; blobsDeleted: number; bytesReclaimed: number };
  };
  mirrorCache: null | {
    bytes: number;
    limit: number | null;
    lowWaterPercent: number | null;
    totals: { evictions: number; bytesFreed: number };
    last: { evicted: { repository: string; digest: string; tags: string[] }[] } | null;
  };
}

export async function storagePage(main: HTMLElement): Promise<void> {
  const { storage: s, gc, mirrorCache: mc } = await api<StorageView>('GET', 'storage');
  main.append(heading('Storage'));
  main.append(
    h('section', { 'aria-labelledby': 'use-title' }, h('h2', { id: 'use-title' }, 'Use'), facts([
      ['Blobs', String(s.blobs)],
      ['Bytes', `${bytes(s.bytes)} (${s.bytes.toLocaleString('en')} bytes)`],
      ['Repositories', String(s.repositories)],
      ['As of', when(s.computedAt)],
    ])),
    h('section', { 'aria-labelledby': 'gc-title' }, h('h2', { id: 'gc-title' }, 'Garbage collection'), facts([
      ['Scheduled', gc.enabled ? `every ${gc.interval}, for what has been unreferenced longer than ${gc.delay}` : 'off (storage.gc.enabled: false)'],
      ['Now', gc.running ? 'running' : 'idle'],
      ['Runs since start', String(gc.totals.runs)],
      ['Reclaimed since start', `${gc.totals.blobsDeleted} blobs, ${bytes(gc.totals.bytesReclaimed)}`],
    ])),
    h(
      'section',
      { 'aria-labelledby': 'last-title' },
      h('h2', { id: 'last-title' }, 'Last run'),
      gc.last
        ? facts([
            ['Started', when(gc.last.startedAt)],
            ['Took', `${gc.last.ms} ms`],
            ['Kind', gc.last.dryRun ? 'dry run (nothing deleted)' : 'collection'],
            ['Repositories walked', String(gc.last.repositories)],
            ['Manifests deleted', String(gc.last.manifestsDeleted)],
            ['Blob links removed', String(gc.last.linksRemoved)],
            ['Blobs deleted', String(gc.last.blobsDeleted)],
            ['Bytes reclaimed', bytes(gc.last.bytesReclaimed)],
          ])
        : h('p', {}, 'No garbage collection has run since berth started.'),
    ),
  );
  if (mc) {
    main.append(
      h('section', { 'aria-labelledby': 'cache-title' }, h('h2', { id: 'cache-title' }, 'Mirror cache'), facts([
        ['Mirrored images hold', bytes(mc.bytes)],
        ['Budget', mc.limit === null ? 'none (low-water mark only)' : bytes(mc.limit)],
        ['Low-water mark', mc.lowWaterPercent === null ? 'none' : `${mc.lowWaterPercent}% of the volume free`],
        ['Evicted since start', `${mc.totals.evictions} images, ${bytes(mc.totals.bytesFreed)}`],
        ['Last evicted', mc.last?.evicted.length ? mc.last.evicted.map((e) => `${e.repository}${e.tags.length ? `:${e.tags.join(',')}` : `@${e.digest}`}`).join(' ') : 'nothing'],
      ])),
    );
  }
}
