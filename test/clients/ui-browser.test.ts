/**
 * The web UI in real headless Chromium (issue 9) against a real `berth serve` with htpasswd users and
 * access control: an admin logs in, finds an image skopeo pushed, checks its layers, config and copy
 * command, sees a referrer tree, deletes a tag (confirmed first), uploads a content bundle and sees its
 * image appear; a reader sees no delete buttons and is refused by the API; the pages work from the
 * keyboard and on a narrow screen. Each page is saved as test-artifacts/ui/<step>.png.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';
import { launchChromium, shot } from '../helpers/browser.js';
import { writeRichLayout, type RichImage } from '../helpers/layout.js';

const ADMIN = { user: 'admin', password: 'admin-secret' };
const READER = { user: 'reader', password: 'reader-secret' };
const REPO = 'spectro-images/edge-agent';

describe('web UI in headless Chromium', () => {
  let berth: Berth;
  let work: string;
  let skopeo: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let image: RichImage;
  let bundleDigest: string;
  const errors: string[] = [];
  const v2 = async (path: string, who = ADMIN) =>
    fetch(`${berth.url}/v2/${path}`, {
      headers: { authorization: `Basic ${Buffer.from(`${who.user}:${who.password}`).toString('base64')}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });

  beforeAll(async () => {
    skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-ui-browser-'));
    await writeFile(join(work, 'htpasswd'), [ADMIN, READER].map((u) => `${u.user}:${bcrypt.hashSync(u.password, 8)}\n`).join(''));
    await writeFile(
      join(work, 'berth.yaml'),
      [
        'http:',
        `  auth: { htpasswd: { path: ${join(work, 'htpasswd')} } }`,
        'accessControl:',
        '  repositories:',
        '    "**": { defaultPolicy: [read] }',
        '  adminPolicy: { users: [admin], actions: [read, create, update, delete] }',
        'log: { level: info }',
      ].join('\n'),
    );
    berth = await spawnBerth({ args: ['--config', join(work, 'berth.yaml')] });
    const creds = ['--dest-tls-verify=false', '--dest-creds', `${ADMIN.user}:${ADMIN.password}`];
    // the image to find: pushed by skopeo under two tags
    image = await writeRichLayout(join(work, 'rich'));
    await sh(skopeo, ['copy', ...creds, `oci:${join(work, 'rich')}:latest`, `docker://${berth.host}/${REPO}:1.4.2`]);
    await sh(skopeo, ['copy', ...creds, `oci:${join(work, 'rich')}:latest`, `docker://${berth.host}/${REPO}:old`]);
    // an image with an SBOM referring to it (mkoci's artifact layout: tags latest and sbom)
    await sh('bash', [mkoci, 'artifact', join(work, 'art')]);
    await sh(skopeo, ['copy', ...creds, `oci:${join(work, 'art')}:latest`, `docker://${berth.host}/spectro-images/signed:v1`]);
    await sh(skopeo, ['copy', '--preserve-digests', ...creds, `oci:${join(work, 'art')}:sbom`, `docker://${berth.host}/spectro-images/signed:sbom`]);
    // a content bundle, as skopeo writes it (oci-archive) with a full reference
    await sh('bash', [mkoci, 'image', join(work, 'bundled'), '96']);
    await sh(skopeo, ['copy', `oci:${join(work, 'bundled')}:latest`, `oci-archive:${join(work, 'bundle.tar')}:quay.io/edge/bundled:v3`]);
    bundleDigest = (JSON.parse(await readFile(join(work, 'bundled', 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest;

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: berth.url });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => {
      // a page may only ever talk to berth itself
      if (!r.url().startsWith(berth.url)) errors.push(`request outside berth: ${r.url()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(berth.url) && !r.url().startsWith('data:')) errors.push(`request outside berth: ${r.url()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('sends a visitor to the login page, and refuses a wrong password', async () => {
    await page.goto(`${berth.url}/`);
    await page.waitForSelector('form.login');
    expect(await page.textContent('h1')).toBe('Log in');
    await page.fill('#username', ADMIN.user);
    await page.fill('#password', 'wrong');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('form.login .notice.error');
    expect(await page.textContent('form.login .notice.error')).toContain('invalid username or password');
    await shot(page, '01-login');
  });

  it('logs in as admin and lists the project with its repositories and size', async () => {
    await page.fill('#username', ADMIN.user);
    await page.fill('#password', ADMIN.password);
    await page.press('#password', 'Enter'); // the form submits from the keyboard
    await page.waitForSelector('h1:text-is("Projects")');
    expect(await page.textContent('#user')).toBe('admin');
    const row = page.locator('tbody tr', { hasText: 'spectro-images' });
    expect(await row.locator('td').nth(1).textContent()).toBe('2');
    await shot(page, '02-projects');
    // the session cookie is HttpOnly: page scripts cannot read it
    expect(await page.evaluate('document.cookie')).toBe('');
  });

  it('finds the image skopeo pushed by searching the project', async () => {
    await page.click('a:text-is("spectro-images")');
    await page.waitForSelector('h1:text-is("Project spectro-images")');
    await page.fill('#search', 'edge');
    await page.press('#search', 'Enter');
    await page.waitForSelector('.count:text("1–1 of 1")');
    const names = await page.locator('tbody tr td:first-child').allTextContents();
    expect(names).toEqual([REPO]);
    await shot(page, '03-repositories-search');
    await page.click(`a:text-is("${REPO}")`);
    await page.waitForSelector(`h1:text-is("${REPO}")`);
    expect(await page.locator('tbody tr td:first-child').allTextContents()).toEqual(['1.4.2', 'old']);
    const digests = await page.locator('tbody tr td:nth-child(2) code').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    expect(digests).toEqual([image.digest, image.digest]);
    await shot(page, '04-tags');
  });

  it('shows the layers, the config and a pull command that copies', async () => {
    await page.click('a:text-is("1.4.2")');
    await page.waitForSelector('#layers-title');
    const layers = page.locator('section[aria-labelledby=layers-title] tbody tr');
    expect(await layers.count()).toBe(2);
    const layerDigests = await layers.locator('td:nth-child(2) code').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    expect(layerDigests).toEqual(image.layers.map((l) => l.digest));
    expect(await layers.locator('td:nth-child(3)').allTextContents()).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);
    const config = page.locator('section[aria-labelledby=config-title]');
    const text = (await config.textContent()) ?? '';
    for (const want of ['["/app/edge-agent"]', '["--config","/etc/edge/agent.yaml"]', 'EDGE_MODE=airgap', 'org.opencontainers.image.version', '1.4.2', 'COPY edge-agent /app/edge-agent # buildkit', '8080/tcp', 'linux/amd64']) {
      expect(text).toContain(want);
    }
    const byTag = page.locator('.copy-field', { hasText: 'Pull by tag' });
    expect(await byTag.locator('input').inputValue()).toBe(`${berth.host}/${REPO}:1.4.2`);
    expect(await page.locator('.copy-field', { hasText: 'Pull by digest' }).locator('input').inputValue()).toBe(`${berth.host}/${REPO}@${image.digest}`);
    await byTag.locator('button').click();
    await page.waitForSelector('.copy-status:text("Copied")');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(`${berth.host}/${REPO}:1.4.2`);
    await shot(page, '05-image');
  });

  it('shows referrers as a tree', async () => {
    await page.goto(`${berth.url}/#/image?repository=spectro-images/signed&reference=v1`);
    await page.waitForSelector('.tree');
    expect(await page.textContent('.tree li .artifact')).toBe('application/spdx+json');
    await shot(page, '06-referrers');
  });

  it('deletes a tag as admin, only after confirming', async () => {
    await page.goto(`${berth.url}/#/repository?name=${REPO}`);
    await page.waitForSelector('tbody tr');
    // from the keyboard: focus the button, Enter opens the dialog, Escape cancels it
    await page.focus('button[aria-label="Delete tag old"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
    expect((await v2(`${REPO}/manifests/old`)).status).toBe(200);
    await page.click('button[aria-label="Delete tag old"]');
    await page.waitForSelector('dialog[open]');
    expect(await page.textContent('dialog p')).toContain(`Delete the tag old from ${REPO}?`);
    await shot(page, '07-delete-confirm');
    await page.click('dialog button.danger');
    await page.waitForSelector('.count:text("1 tag")');
    expect(await page.locator('tbody tr td:first-child').allTextContents()).toEqual(['1.4.2']);
    expect((await v2(`${REPO}/manifests/old`)).status).toBe(404);
    expect((await v2(`${REPO}/manifests/1.4.2`)).status).toBe(200);
    await shot(page, '08-tag-deleted');
  });

  it('uploads a bundle with a progress bar and its image appears', async () => {
    await page.click('nav a:text-is("Upload")');
    await page.waitForSelector('h1:text-is("Upload a content bundle")');
    await page.setInputFiles('#bundle', join(work, 'bundle.tar'));
    await page.click('form.upload button[type=submit]');
    await page.waitForSelector('ul.imported li');
    expect(await page.getAttribute('#upload-progress', 'value')).toBe('100');
    expect(await page.textContent('ul.imported li')).toBe('quay.io/edge/bundled:v3');
    await shot(page, '09-upload');
    await page.click('ul.imported a');
    await page.waitForSelector('#layers-title');
    expect(await page.locator('.copy-field', { hasText: 'Pull by digest' }).locator('input').inputValue()).toBe(`${berth.host}/quay.io/edge/bundled@${bundleDigest}`);
    await page.goto(`${berth.url}/#/`);
    await page.waitForSelector('tbody tr');
    expect(await page.locator('tbody tr td:first-child').allTextContents()).toEqual(['quay.io', 'spectro-images']);
    // the projects page was seen before the upload: its sizes follow the change at once
    expect(await page.locator('tbody tr', { hasText: 'quay.io' }).locator('td').nth(2).textContent()).toMatch(/^\d+(\.\d+)? KiB$/);
    expect((await v2('quay.io/edge/bundled/manifests/v3')).status).toBe(200);
  });

  it('lists the imported bundle with the image it brought', async () => {
    await page.click('nav a:text-is("Bundles")');
    await page.waitForSelector('h1:text-is("Bundles")');
    const row = page.locator('tbody tr');
    expect(await row.count()).toBe(1);
    // named by its file (bundle.tar), versioned by its digest's first 12 digits
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('bundle');
    expect(cells[1]).toMatch(/^[0-9a-f]{12}$/);
    expect(cells[4]).toBe('quay.io/edge/bundled:v3');
    await shot(page, '09b-bundles');
    await row.locator('a').click();
    await page.waitForSelector('#layers-title');
  });

  it('shows storage use and garbage collection', async () => {
    await page.click('nav a:text-is("Storage")');
    await page.waitForSelector('#gc-title');
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('every 24h');
    expect(text).toContain('No garbage collection has run since berth started.');
    expect(text).toMatch(/Repositories\s*3/);
    await shot(page, '10-storage');
  });

  it('makes a robot account, shows its secret once (it works), and revokes it after confirming', async () => {
    await page.click('nav a:text-is("Robots")');
    await page.waitForSelector('h1:text-is("Robot accounts")');
    await page.fill('#robot-name', 'ui-ci');
    await page.fill('#robot-scopes', 'spectro-images/**:pull');
    await page.fill('#robot-expires', '30d');
    await page.click('form.robot button[type=submit]');
    await page.waitForSelector('#robot-secret');
    const secret = (await page.textContent('#robot-secret'))!;
    expect(secret).toMatch(/^berth-robot\./);
    const basic = { authorization: `Basic ${Buffer.from(`robot$ui-ci:${secret}`).toString('base64')}` };
    expect((await fetch(`${berth.url}/v2/${REPO}/tags/list`, { headers: basic })).status).toBe(200);
    expect(await page.locator('tbody tr', { hasText: 'robot$ui-ci' }).locator('td').nth(1).textContent()).toBe('admin'); // the administrator owns it
    await shot(page, '11-robot-created');
    await page.click('button[aria-label="Revoke robot$ui-ci"]');
    await page.waitForSelector('dialog[open]');
    await page.click('dialog button.danger');
    await page.waitForSelector('tbody tr td:text-matches("^revoked")');
    expect((await fetch(`${berth.url}/v2/${REPO}/tags/list`, { headers: basic })).status).toBe(401);
    // reload: the secret is nowhere on the page any more
    await page.reload();
    await page.waitForSelector('tbody tr');
    expect(await page.content()).not.toContain(secret);
  });

  it('a reader sees no delete buttons and no upload, and the API refuses a delete', async () => {
    await page.click('button:text-is("Log out")');
    await page.waitForSelector('form.login');
    await page.fill('#username', READER.user);
    await page.fill('#password', READER.password);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('h1:text-is("Projects")');
    expect(await page.locator('nav a:text-is("Upload")').count()).toBe(0);
    expect(await page.locator('nav a:text-is("Robots")').count()).toBe(0);
    expect(await page.locator('nav a:text-is("Bundles")').count()).toBe(0);
    const cookies = await page.context().cookies();
    const asReader = { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') };
    expect((await fetch(`${berth.url}/api/robots`, { headers: asReader })).status).toBe(403);
    expect((await fetch(`${berth.url}/api/bundles`, { headers: asReader })).status).toBe(403);
    await page.goto(`${berth.url}/#/repository?name=${REPO}`);
    await page.waitForSelector('tbody tr');
    expect(await page.locator('button.danger').count()).toBe(0);
    expect(await page.locator('th:text-is("Actions")').count()).toBe(0);
    await shot(page, '11-reader-tags');
    await page.click('a:text-is("1.4.2")');
    await page.waitForSelector('#layers-title');
    expect(await page.locator('button.danger').count()).toBe(0);
    // even a hand-made request with the reader's session and CSRF token is refused
    const status = await page.evaluate(async (repo) => {
      const s = (await (await fetch('/api/session')).json()) as { csrf: string };
      const r = await fetch(`/api/image?repository=${encodeURIComponent(repo)}&reference=1.4.2`, { method: 'DELETE', headers: { 'x-berth-csrf': s.csrf } });
      return [r.status, ((await r.json()) as { errors: { code: string }[] }).errors[0]!.code];
    }, REPO);
    expect(status).toEqual([403, 'DENIED']);
    expect((await v2(`${REPO}/manifests/1.4.2`, READER)).status).toBe(200);
  });

  it('reads on a narrow screen and from the keyboard', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${berth.url}/#/image?repository=${REPO}&reference=1.4.2`);
    await page.waitForSelector('#layers-title');
    // nothing wider than the screen but the boxes that scroll on purpose
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, '12-narrow-image');
    await page.goto(`${berth.url}/#/`);
    await page.reload(); // a fresh load: the focus starts at the top of the document
    await page.waitForSelector('h1:text-is("Projects")');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab'); // past the skip link, the first stop is in the page itself
    expect(await page.evaluate("document.activeElement?.closest('main') !== null")).toBe(true);
    await shot(page, '13-narrow-projects');
    expect(errors).toEqual([]);
    // the UI's delete and the failed login are in the audit trail, with who did them
    const audit = (await berth.logMatching('"url":"/api/image?repository=spectro-images%2Fedge-agent&reference=old","status":202'))
      .split('\n')
      .filter((l) => l.includes('"audit":true'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toContainEqual(expect.objectContaining({ event: 'delete', user: 'admin', repository: REPO, reference: 'old' }));
    expect(audit).toContainEqual(expect.objectContaining({ event: 'login-failed', user: 'admin' }));
    // and in the access log like any request
    expect(berth.log()).toMatch(/"url":"\/api\/image\?repository=spectro-images%2Fedge-agent&reference=old","status":202/);
  });
});
