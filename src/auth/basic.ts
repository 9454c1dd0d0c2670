/** HTTP Basic credentials (RFC 7617 §2): `Authorization: Basic base64(user-id ":" password)`. */
export interface Credentials {
  user: string;
  password: string;
}

/** undefined without an Authorization header; null when it is there but not Basic credentials. */
export function parseBasic(header: string | undefined): Credentials | undefined | null {
  if (header === undefined) return undefined;
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header); // RFC 7617 §2: token68
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':'); // the user-id cannot contain a colon (§2)
  if (i < 0) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}
