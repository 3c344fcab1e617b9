// An image reference as the registry API v2 sees it: which host to ask, which repository name
// (Docker Hub's `postgres` is `library/postgres`), and which manifest reference (a digest wins over
// a tag: the digest is what the run pulls).
import { parseImageRef } from '../../../kind/images.ts';

export interface RegistryRef {
  /** The reference as written. */
  readonly original: string;
  /** The registry as Docker names it (`docker.io` when none is written). */
  readonly registry: string;
  /** Host[:port] that serves the API (Docker Hub's API is registry-1.docker.io). */
  readonly apiHost: string;
  /** Repository name in the API (`library/` added for Docker Hub's official images). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  /** What goes after /manifests/: the digest, else the tag, else `latest`. */
  readonly reference: string;
}

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function registryRef(ref: string): RegistryRef {
  const r = parseImageRef(ref);
  const registry = !r.registry || DOCKER_HUB_ALIASES.has(r.registry) ? 'docker.io' : r.registry;
  const hub = registry === 'docker.io';
  const repository = hub && !r.repository.includes('/') ? `library/${r.repository}` : r.repository;
  if (
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)
  ) {
    throw new Error(`not a repository name the registry API accepts: '${repository}' (in '${ref}')`);
  }
  return {
    original: ref,
    registry,
    apiHost: hub ? 'registry-1.docker.io' : registry,
    repository,
    ...(r.tag ? { tag: r.tag } : {}),
    ...(r.digest ? { digest: r.digest } : {}),
    reference: r.digest ?? r.tag ?? 'latest',
  };
}

/** `registry/repository:tag` for messages (the tag or `latest`, without the digest). */
export function displayName(r: RegistryRef): string {
  return `${r.registry}/${r.repository}:${r.tag ?? (r.digest ? '' : 'latest')}`.replace(/:$/, '');
}
