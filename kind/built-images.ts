// The images Direktiv v0.4.1 ships that `npm run images` builds from source instead of pulling
// (`--images built`): each from a Go command of the pinned module and its Dockerfile. The keys are
// those of kind/images.yaml; the references are the pins in kind/versions.ts, so a built image is
// pushed under the exact name the charts and the functions controller pull.
// direktiv-ui (vorteil/direktiv-ui) is not here: it is a web app from another repository, not a
// command of the Go module, so it is always pulled.
import { normalizeRef } from './images.ts';
import { direktivPin } from './versions.ts';

/** The Go module the built images come from (the Go module proxy; see README "Images"). */
export const direktivSource = { module: 'github.com/vorteil/direktiv', version: 'v0.4.1' } as const;

export interface BuiltImage {
  /** kind/images.yaml key. */
  readonly key: string;
  /** The reference it is pushed and pulled as. */
  readonly ref: string;
  /** The Go package of the binary, inside the module. */
  readonly command: string;
  /** The Dockerfile whose config the image copies (entrypoint, cmd, user, workdir, ports, env). */
  readonly dockerfile: string;
}

const i = direktivPin.images;
export const builtImages: readonly BuiltImage[] = [
  { key: 'direktiv.api', ref: i.api, command: 'cmd/api', dockerfile: 'build/docker/api/Dockerfile' },
  { key: 'direktiv.flow', ref: i.flow, command: 'cmd/flow', dockerfile: 'build/docker/flow/Dockerfile' },
  {
    key: 'direktiv.functions',
    ref: i.functions,
    command: 'cmd/functions',
    dockerfile: 'build/docker/functions/Dockerfile',
  },
  {
    key: 'direktiv.secrets',
    ref: i.secrets,
    command: 'cmd/secrets',
    dockerfile: 'build/docker/secrets/Dockerfile',
  },
  {
    key: 'direktiv.sidecar',
    ref: i.sidecar,
    command: 'cmd/sidecar',
    dockerfile: 'build/docker/sidecar/Dockerfile',
  },
  {
    key: 'direktiv.initPod',
    ref: i.initPod,
    command: 'cmd/init-pod',
    dockerfile: 'build/docker/init-pod/Dockerfile',
  },
];

/** Where the images are served from: docker.io/vorteil, mirrored to the local registry. */
export const builtNamespace = { registry: 'docker.io', namespace: 'vorteil' } as const;

/** The built image behind a reference, if `--images built` builds it. */
export function builtImageOf(ref: string): BuiltImage | undefined {
  const n = normalizeRef(ref);
  return builtImages.find((b) => normalizeRef(b.ref) === n);
}

/**
 * The local registry of `--images built`: on the kind network's gateway (the address the node
 * reaches the host on), TLS with its own CA, token auth (anonymous pull, push for the harness).
 */
export const localRegistry = { port: 5443, tokenPort: 5444, pusher: 'pusher' } as const;
