// The plan steps of `--images built`: Direktiv's images built from source, served by a local
// registry (CNCF Distribution, TLS, token auth) on the kind network's gateway, pushed there, and
// the node's containerd told to mirror docker.io to it. The functions controller's hard-coded
// PullAlways (pkg/functions/pod.go) then still gets the built sidecar and init-pod: containerd
// asks the mirror first and falls back to Docker Hub for what the mirror lacks (every image that
// is not a built vorteil/* one). A mirror is per registry host: containerd cannot mirror only
// docker.io/vorteil, so the fallback is what keeps the rest on Docker Hub.
import { builtImageOf, builtImages, localRegistry } from '../../../kind/built-images.ts';
import { parseImageRef } from '../../../kind/images.ts';
import type { PlanStep } from './types.ts';

export const GATEWAY = '<kind-gateway>';

/** Where a built image is pushed: the local registry, same repository and tag. */
export function localRef(ref: string, host = `${GATEWAY}:${localRegistry.port}`): string {
  const r = parseImageRef(ref);
  return `${host}/${r.repository}:${r.tag ?? 'latest'}`;
}

/** The images the run still pulls from their registries: everything but the built ones. */
export function pulledImages(images: readonly string[], mode: 'upstream' | 'built'): string[] {
  return mode === 'built' ? images.filter((i) => !builtImageOf(i)) : [...images];
}

/** Steps between the charts and the image preflight: build, registry, push. */
export function builtImageSteps(cluster: string): PlanStep[] {
  const dir = `.e2e/${cluster}`;
  const host = `${GATEWAY}:${localRegistry.port}`;
  return [
    {
      id: 'images.build',
      phase: 'preflight',
      title: `Direktiv's images built from source, reproducibly, as OCI archives: ${builtImages.map((b) => b.ref).join(', ')}`,
      commands: [`npm run images -- --out ${dir}/images`],
    },
    {
      id: 'registry.start',
      phase: 'preflight',
      title: `local registry: CNCF Distribution v3.0.0 on the kind network's gateway, TLS with its own CA, token auth (anonymous pull; push only for '${localRegistry.pusher}')`,
      commands: [
        "docker network inspect kind -f '{{(index .IPAM.Config 0).Gateway}}'  # the host address the node reaches",
        `registry serve ${dir}/registry/config.yml  # https://${host}, token realm https://${GATEWAY}:${localRegistry.tokenPort}/token, CA ${dir}/registry/ca.crt`,
      ],
    },
    {
      id: 'registry.push',
      phase: 'preflight',
      title:
        'every built image pushed to the local registry (go-containerregistry), then resolved there by the image preflight',
      commands: builtImages.map(
        (b) =>
          `images push --oci ${dir}/images/oci --name ${b.ref} --to ${localRef(b.ref)} --ca ${dir}/registry/ca.crt --username ${localRegistry.pusher}`,
      ),
    },
  ];
}

/** containerd on the node: docker.io mirrored to the local registry, trusting its CA. */
export function mirrorCommands(cluster: string): string[] {
  const node = `${cluster}-control-plane`;
  const d = '/etc/containerd/certs.d/docker.io';
  return [
    `# kind config containerdConfigPatches: [plugins."io.containerd.grpc.v1.cri".registry] config_path = "/etc/containerd/certs.d"`,
    `docker exec ${node} mkdir -p ${d}`,
    `docker cp .e2e/${cluster}/registry/ca.crt ${node}:${d}/local-registry-ca.crt`,
    `docker exec -i ${node} cp /dev/stdin ${d}/hosts.toml  # server = "https://registry-1.docker.io"; [host."https://${GATEWAY}:${localRegistry.port}"] capabilities = ["pull", "resolve"], ca = "${d}/local-registry-ca.crt"`,
  ];
}
