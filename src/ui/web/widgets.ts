/** Pieces several pages use: page titles, a pager, a copy field and the confirmation dialog. */
import { h } from './dom.js';

let copyIds = 0;

/** Sets the document title and returns the page's h1, which receives focus after navigation. */
export function heading(text: string, ...extra: (Node | string)[]): HTMLHeadingElement {
  document.title = `${text} · berth`;
  return h('h1', { tabindex: -1, id: 'page-title' }, text, ...extra);
}

export function pager(label: string, prev: string | undefined, next: string | undefined): HTMLElement {
  return h(
    'nav',
    { class: 'pager', 'aria-label': `${label} pages` },
    prev ? h('a', { href: prev, rel: 'prev' }, '← Previous') : h('span', { 'aria-disabled': 'true' }, '← Previous'),
    next ? h('a', { href: next, rel: 'next' }, 'Next →') : h('span', { 'aria-disabled': 'true' }, 'Next →'),
  );
}

/** A read-only field holding a command, with a button that copies it. */
export function copyField(label: string, value: string): HTMLElement {
  const id = `copy-${++copyIds}`;
  const input = h('input', { id, type: 'text', readonly: true, value, class: 'copy-value', spellcheck: 'false' });
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'copy', 'aria-describedby': id }, 'Copy');
  button.addEventListener('click', () => {
    const done = (ok: boolean) => (status.textContent = ok ? 'Copied' : 'Select the text and copy it');
    // The Clipboard API needs a secure context (https or localhost); plain http falls back to a selection.
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(() => done(true), () => done(fallbackCopy(input)));
    } else done(fallbackCopy(input));
  });
  return h('div', { class: 'copy-field' }, h('label', { for: id }, label), h('div', { class: 'copy-row' }, input, button, status));
}

function fallbackCopy(input: HTMLInputElement): boolean {
  input.focus();
  input.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

/** A modal question; resolves true only when the confirming button is pressed (Escape cancels). */
export function confirmDialog(title: string, message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger', value: 'ok' }, confirmLabel);
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'dialog-title', 'aria-describedby': 'dialog-text', class: 'confirm' },
      h('h2', { id: 'dialog-title' }, title),
      h('p', { id: 'dialog-text' }, message),
      h('div', { class: 'actions' }, cancel, ok),
    );
    let answer = false;
    cancel.addEventListener('click', () => dialog.close());
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus(); // the safe choice has the focus
  });
}

export function notice(text: string, kind: 'error' | 'info' = 'info'): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
