/**
 * What the container may do on GitHub with the operator's token, decided in
 * the Worker before the token is added: read (clone, fetch, the REST API's
 * GETs, GraphQL queries) anywhere the token reaches, and write (a push,
 * REST calls that change something, GraphQL mutations, release uploads)
 * only to the repositories GITHUB_PUSH_REPOS lists. Anything else is
 * refused with words the agent can read.
 */
import { boundedText } from '../contract/untrusted-input.ts';

export interface GithubScope {
  /** `owner/repo`, lowercase: where writes are allowed. */
  pushRepos: string[];
}

/** The most of a GraphQL request body read to tell a query from a mutation. */
const MAX_GRAPHQL_BYTES = 1024 * 1024;

const READ_METHODS = new Set(['GET', 'HEAD']);

const repoOf = (owner: string | undefined, repo: string | undefined) => (owner && repo ? `${owner}/${repo.replace(/\.git$/i, '')}`.toLowerCase() : null);

/** Why the request is refused, or null when it may go. `body` is read only for GraphQL (a clone of the request is passed). */
export async function githubRefusal(request: Request, scope: GithubScope): Promise<string | null> {
  const url = new URL(request.url);
  const host = url.hostname.toLowerCase();
  const method = request.method.toUpperCase();
  const listed = (repo: string | null) => repo !== null && scope.pushRepos.includes(repo);
  const allowedList = scope.pushRepos.length ? scope.pushRepos.join(', ') : 'none';

  if (host === 'github.com') {
    const git = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/.exec(url.pathname);
    const repo = repoOf(git?.[1], git?.[2]);
    const pushing = git?.[3] === 'git-receive-pack' || (git?.[3] === 'info/refs' && url.searchParams.get('service') === 'git-receive-pack');
    if (pushing) return listed(repo) ? null : `a push to ${repo ?? url.pathname} is not allowed (repositories the owner allows pushes to: ${allowedList})`;
    if (git?.[3] === 'git-upload-pack' && method === 'POST') return null;
    if (READ_METHODS.has(method)) return null;
    return `${method} ${url.pathname} on github.com is not allowed (only clone, fetch and pushes to: ${allowedList})`;
  }

  if (READ_METHODS.has(method)) return null;
  if (host === 'api.github.com' && method === 'POST' && url.pathname === '/graphql') {
    let body: string;
    try {
      body = await boundedText(request.body, MAX_GRAPHQL_BYTES);
    } catch {
      return 'a GraphQL request over 1 MiB is not allowed';
    }
    let query = '';
    try {
      const parsed = JSON.parse(body) as { query?: unknown };
      query = typeof parsed.query === 'string' ? parsed.query : '';
    } catch {
      return 'a GraphQL request that is not JSON is not allowed';
    }
    const code = query.replace(/#[^\n]*/g, '').trim();
    return /^mutation\b/i.test(code)
      ? `GraphQL mutations are not allowed (repositories the owner allows writes to: ${allowedList}; use the REST API for them)`
      : null;
  }
  const rest = /^\/repos\/([^/]+)\/([^/]+)(?:\/|$)/.exec(url.pathname);
  const repo = repoOf(rest?.[1], rest?.[2]);
  if (listed(repo)) return null;
  return `${method} ${url.pathname} is not allowed: writes only to ${allowedList}`;
}
