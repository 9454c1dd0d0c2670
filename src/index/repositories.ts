/** Every repository in the index, in lexical order, read a page at a time. */
import type { RepositoryIndex } from './metadata.js';

export async function* allRepositories(index: RepositoryIndex, pageSize = 1000): AsyncIterable<string> {
  for (let after: string | undefined, page: string[]; (page = await index.listRepositories({ after, limit: pageSize })).length > 0; after = page[page.length - 1]) {
    yield* page;
  }
}
