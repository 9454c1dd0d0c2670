/** storage.maxRepositories and byte quotas per repository pattern: DENIED with a detail, nothing linked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, pushBlob } from '../helpers/oci.js';

describe('quotas', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true, registry: { quotas: { maxRepositories: 3, quotas: [{ repositories: 'team-a/**', maxBytes: 10_000 }] } } });
  });
  afterAll(() => reg.close());
  const req = (...a: Parameters<TestRegistry['request']>) => reg.request(...a);

  it('refuses a push over a repository byte quota, before or after the body, and keeps none of it', async () => {
    await pushBlob(req, 'team-a/app', blob(6000));
    const over = blob(5000);
    const r = await req('POST', `/v2/team-a/app/blobs/uploads/?digest=${over.digest}`, { body: over.bytes });
    expect(r.status).toBe(403);
    expect(errorCode(r)).toBe('DENIED');
    expect(r.json<{ errors: { detail: { quota: string; limit: number; used: number } }[] }>().errors[0]!.detail).toEqual({
      quota: 'storage.quotas[team-a/**]',
      limit: 10_000,
      used: 6000,
    });
    expect((await req('HEAD', `/v2/team-a/app/blobs/${over.digest}`)).status).toBe(404);
    // through a session (no length known up front): refused at the end, nothing linked
    const loc = (await req('POST', '/v2/team-a/app/blobs/uploads/')).headers.location!;
    await req('PATCH', loc, { body: over.bytes });
    const put = await req('PUT', `${loc}?digest=${over.digest}`);
    expect(put.status).toBe(403);
    expect((await req('HEAD', `/v2/team-a/app/blobs/${over.digest}`)).status).toBe(404);
    // a blob already counted costs nothing again, and room is still there for small ones
    await pushBlob(req, 'team-a/app', blob(3000));
    // other repositories have no byte quota
    await pushBlob(req, 'other/app', blob(50_000));
  });

  it('refuses a new repository beyond storage.maxRepositories', async () => {
    await pushBlob(req, 'third/app', blob(10)); // team-a/app, other/app, third/app
    const b = blob(10);
    const r = await req('POST', `/v2/fourth/app/blobs/uploads/?digest=${b.digest}`, { body: b.bytes });
    expect(r.status).toBe(403);
    expect(r.json<{ errors: { detail: { quota: string } }[] }>().errors[0]!.detail.quota).toBe('storage.maxRepositories');
    await pushBlob(req, 'third/app', blob(10)); // existing repositories still take pushes
    const cat = await req('GET', '/v2/_catalog');
    expect(cat.json<{ repositories: string[] }>().repositories).toEqual(['other/app', 'team-a/app', 'third/app']);
  });
});
