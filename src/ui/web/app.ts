/**
 * berth's web UI: a hash-routed page (`#/`, `#/repositories`, `#/repository`, `#/image`, `#/upload`,
 * `#/robots`, `#/bundles`, `#/storage`, `#/login`) over the JSON API under /api/. No framework and nothing from a CDN.
 */
import { ApiError, api, loadSession, session } from './api.js';
import { h, link } from './dom.js';
import { imagePage } from './image.js';
import { loginPage, storagePage, uploadPage } from './admin.js';
import { projectsPage, repositoriesPage, repositoryPage } from './browse.js';
import { robotsPage } from './robots.js';
import { bundlesPage } from './bundles.js';
import { notice } from './widgets.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;

function renderNav(): void {
  const items: Node[] = [h('a', { href: '#/' }, 'Projects'), h('a', { href: '#/repositories' }, 'Repositories')];
  if (session.admin) items.push(h('a', { href: '#/upload' }, 'Upload'), h('a', { href: '#/bundles' }, 'Bundles'));
  if (session.admin && session.auth) items.push(h('a', { href: '#/robots' }, 'Robots'));
  if (!session.auth || session.user) items.push(h('a', { href: '#/storage' }, 'Storage'));
  const who = h('span', { class: 'who' });
  if (session.auth && session.user) {
    const out = h('button', { type: 'button', class: 'link' }, 'Log out');
    out.addEventListener('click', async () => {
      await api('DELETE', 'session').catch(() => undefined);
      await loadSession();
      renderNav();
      location.hash = '#/login';
    });
    who.append(h('span', { id: 'user' }, session.user), session.admin ? ' (admin) ' : ' ', out);
  } else if (session.auth) who.append(h('a', { href: '#/login' }, 'Log in'));
  nav.replaceChildren(h('ul', {}, items.map((i) => h('li', {}, i))), who);
  const here = location.hash.split('?')[0] || '#/';
  for (const a of nav.querySelectorAll('a')) if (a.getAttribute('href') === here) a.setAttribute('aria-current', 'page');
}

/** `focus`: after an in-page navigation the new heading takes the focus; a fresh load leaves it at the top. */
async function route(focus = true): Promise<void> {
  const hash = location.hash || '#/';
  const [path, query] = hash.slice(1).split('?', 2) as [string, string | undefined];
  const params = new URLSearchParams(query ?? '');
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  renderNav();
  try {
    switch (path) {
      case '/login':
        await loginPage(main, params, renderNav);
        break;
      case '/repositories':
        await repositoriesPage(main, params);
        break;
      case '/repository':
        await repositoryPage(main, params);
        break;
      case '/image':
        await imagePage(main, params);
        break;
      case '/upload':
        await uploadPage(main);
        break;
      case '/robots':
        await robotsPage(main);
        break;
      case '/bundles':
        await bundlesPage(main);
        break;
      case '/storage':
        await storagePage(main);
        break;
      default:
        await projectsPage(main);
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      // not logged in, or the session ended: log in, then come back here
      await loadSession().catch(() => undefined);
      renderNav();
      location.hash = link('/login', { next: hash, reason: session.user ? undefined : 'Your session has ended or this page needs a login.' });
      return;
    }
    main.replaceChildren(h('h1', { tabindex: -1, id: 'page-title' }, 'Something went wrong'), notice(err instanceof Error ? err.message : String(err), 'error'));
  } finally {
    main.removeAttribute('aria-busy');
  }
  // keyboard and screen reader users land on the new page's heading
  if (focus) (document.getElementById('page-title') as HTMLElement | null)?.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => void route());
// The skip link must not change the hash (that is the router's): it moves the focus itself.
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
loadSession()
  .catch(() => undefined)
  .then(() => route(false));
