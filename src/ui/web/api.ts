/** The UI's one way to the server: JSON under /api/, with the session's CSRF token on changes. */
import type { SessionInfo } from '../api-types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const session: SessionInfo = { auth: false, user: null, admin: false, csrf: null, anonymousRead: false, deleteEnabled: false };

function headers(method: string, json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' };
  if (json) h['content-type'] = 'application/json';
  if (method !== 'GET' && session.csrf) h['x-berth-csrf'] = session.csrf;
  return h;
}

export async function errorOf(status: number, text: string): Promise<ApiError> {
  try {
    const e = (JSON.parse(text) as { errors?: { code: string; message: string }[] }).errors?.[0];
    if (e) return new ApiError(status, e.code, e.message);
  } catch {
    /* not the registry's envelope */
  }
  return new ApiError(status, 'UNKNOWN', `HTTP ${status}`);
}

export async function api<T>(method: string, path: string, params: Record<string, string | number | undefined> = {}, body?: unknown): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const url = `/api/${path}${q.size ? `?${q}` : ''}`;
  const res = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: headers(method, body !== undefined),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw await errorOf(res.status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function loadSession(): Promise<SessionInfo> {
  Object.assign(session, await api<SessionInfo>('GET', 'session'));
  return session;
}

/**
 * A multipart upload with progress (fetch reports none for request bodies, XMLHttpRequest does).
 * `onProgress` gets the fraction of the body sent.
 */
export function upload<T>(path: string, form: FormData, onProgress: (sent: number, total: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/${path}`);
    xhr.setRequestHeader('accept', 'application/json');
    if (session.csrf) xhr.setRequestHeader('x-berth-csrf', session.csrf);
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as T);
      else void errorOf(xhr.status, xhr.responseText).then(reject);
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'NETWORK', 'the upload failed (connection lost)')));
    xhr.send(form);
  });
}
