/** distribution-spec v1.1 "Content discovery": end-8 (tags/list with n, last, Link) and /v2/_catalog. */
import { check, errorEnvelope, status } from '../check.js';
import type { Case, Context } from '../context.js';

type Tags = { name: string; tags: string[] | null };

function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  return /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1];
}

async function taggedRepo(ctx: Context, tags: string[]): Promise<string> {
  const repo = ctx.repo('tags');
  const { manifest } = await ctx.pushImage(repo, tags[0]!);
  for (const t of tags.slice(1)) await ctx.pushManifest(repo, t, manifest);
  return repo;
}

const TAGS = ['v1', 'latest', 'a', 'B', '1.0', 'z_z', 'v10', 'v2'];
// spec "Listing Tags": lexical order, "i.e. case-insensitive alphanumeric order"
const sortKey = (t: string) => `${t.toLowerCase()}\0${t}`;
const SORTED = [...TAGS].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));

export const discoveryCases: Case[] = [
  {
    workflow: 'discovery',
    name: 'tags/list lists every tag, in lexical order',
    async run(ctx) {
      const repo = await taggedRepo(ctx, TAGS);
      const r = await ctx.req('GET', `/v2/${repo}/tags/list`);
      status(r, 200);
      const body = r.json<Tags>();
      check(body.name === repo, `name is ${body.name}`);
      check(JSON.stringify(body.tags) === JSON.stringify(SORTED), `tags are ${JSON.stringify(body.tags)}`);
    },
  },
  {
    workflow: 'discovery',
    name: 'tags/list?n= returns at most n tags, with Link: rel="next" while more remain',
    async run(ctx) {
      const repo = await taggedRepo(ctx, TAGS);
      const r = await ctx.req('GET', `/v2/${repo}/tags/list?n=3`);
      status(r, 200);
      check(JSON.stringify(r.json<Tags>().tags) === JSON.stringify(SORTED.slice(0, 3)), `first page is ${JSON.stringify(r.json<Tags>().tags)}`);
      check(nextLink(r.headers.get('link')), 'no Link header with rel="next"');
    },
  },
  {
    workflow: 'discovery',
    name: 'tags/list?n=&last= starts after last',
    async run(ctx) {
      const repo = await taggedRepo(ctx, TAGS);
      const r = await ctx.req('GET', `/v2/${repo}/tags/list?n=2&last=${SORTED[2]}`);
      status(r, 200);
      check(JSON.stringify(r.json<Tags>().tags) === JSON.stringify(SORTED.slice(3, 5)), `page is ${JSON.stringify(r.json<Tags>().tags)}`);
    },
  },
  {
    workflow: 'discovery',
    name: 'following tags/list Link headers visits every tag exactly once',
    async run(ctx) {
      const repo = await taggedRepo(ctx, TAGS);
      const seen: string[] = [];
      let path: string | undefined = `/v2/${repo}/tags/list?n=3`;
      for (let i = 0; path && i < 20; i++) {
        const r = await ctx.req('GET', path);
        status(r, 200);
        seen.push(...(r.json<Tags>().tags ?? []));
        path = nextLink(r.headers.get('link'));
      }
      check(JSON.stringify(seen) === JSON.stringify(SORTED), `pages gave ${JSON.stringify(seen)}`);
    },
  },
  {
    workflow: 'discovery',
    name: 'tags/list of an unknown repository: 404 NAME_UNKNOWN',
    async run(ctx) {
      errorEnvelope(await ctx.req('GET', `/v2/${ctx.repo('never')}/tags/list`), [404], ['NAME_UNKNOWN']);
    },
  },
  {
    workflow: 'discovery',
    name: '_catalog?n= pages repositories in lexical order with Link, and lists pushed repositories',
    async run(ctx) {
      const mine = [ctx.repo('catalog'), ctx.repo('catalog'), ctx.repo('catalog')];
      for (const r of mine) await ctx.pushImage(r, 'v1');
      const all: string[] = [];
      let path: string | undefined = '/v2/_catalog?n=50';
      for (let i = 0; path && i < 1000; i++) {
        const r = await ctx.req('GET', path);
        status(r, 200);
        const page = r.json<{ repositories: string[] }>().repositories;
        check(page.length <= 50, `page of ${page.length} for n=50`);
        all.push(...page);
        path = nextLink(r.headers.get('link'));
      }
      for (const r of mine) check(all.includes(r), `${r} is not in the catalog`);
      check(JSON.stringify(all) === JSON.stringify([...all].sort()), 'catalog is not in lexical order');
      check(new Set(all).size === all.length, 'catalog pages repeat a repository');
    },
  },
];
