import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  certManagerPin,
  direktivPin,
  helmPin,
  hostPlatform,
  kindPin,
  kubectlPin,
  nodeImagePin,
  pinsHash,
  testHelmPin,
} from '../../kind/versions.ts';
import { assetUrl, checksumUrl } from '../../scripts/lib/tools/fetch.ts';

test('the node image is a Kubernetes <= 1.24 image built by the pinned kind release', () => {
  const minor = Number(/^v1\.(\d+)\./.exec(nodeImagePin.kubernetesVersion)?.[1]);
  assert.ok(minor <= 24, 'Knative 0.25 ships policy/v1beta1 PDBs, removed in 1.25');
  assert.ok(minor >= 19, 'Knative 0.25 needs Kubernetes >= 1.19');
  assert.is(nodeImagePin.builtByKind, kindPin.version);
  assert.ok(nodeImagePin.image.startsWith(`kindest/node:${nodeImagePin.kubernetesVersion}@sha256:`));
  assert.is(kubectlPin.version, nodeImagePin.kubernetesVersion);
});

test('one helm version for users and tests', () => {
  assert.is(helmPin.version, testHelmPin.helmVersion);
});

test("official download URLs follow each project's release layout", () => {
  assert.is(
    assetUrl(kindPin, 'darwin-arm64'),
    'https://github.com/kubernetes-sigs/kind/releases/download/v0.22.0/kind-darwin-arm64',
  );
  assert.is(
    checksumUrl(kindPin, 'linux-amd64'),
    'https://github.com/kubernetes-sigs/kind/releases/download/v0.22.0/kind-linux-amd64.sha256sum',
  );
  assert.is(assetUrl(helmPin, 'linux-arm64'), 'https://get.helm.sh/helm-v3.17.3-linux-arm64.tar.gz');
  assert.is(
    checksumUrl(helmPin, 'linux-arm64'),
    'https://get.helm.sh/helm-v3.17.3-linux-arm64.tar.gz.sha256sum',
  );
  assert.is(
    assetUrl(kubectlPin, 'darwin-amd64'),
    'https://dl.k8s.io/release/v1.24.17/bin/darwin/amd64/kubectl',
  );
  assert.is(
    checksumUrl(kubectlPin, 'darwin-amd64'),
    'https://dl.k8s.io/release/v1.24.17/bin/darwin/amd64/kubectl.sha256',
  );
});

test('Direktiv pinned to the v0.4.1 commit with both charts; cert-manager v1.13.6 static manifest', () => {
  assert.is(direktivPin.ref, 'v0.4.1');
  assert.match(direktivPin.commit, /^f50c15084[0-9a-f]{31}$/);
  assert.equal(direktivPin.charts, {
    direktiv: 'kubernetes/charts/direktiv',
    knative: 'kubernetes/charts/knative',
  });
  assert.is(
    certManagerPin.manifestUrl,
    'https://github.com/cert-manager/cert-manager/releases/download/v1.13.6/cert-manager.yaml',
  );
  assert.ok(Object.values(certManagerPin.images).every((i) => i.endsWith(':v1.13.6')));
});

test('pins hash: stable, and changes with an extra input', () => {
  assert.match(pinsHash(), /^[0-9a-f]{16}$/);
  assert.is(pinsHash(), pinsHash());
  assert.is.not(pinsHash({ mirrors: 'x' }), pinsHash());
});

test('host platform mapping', () => {
  assert.is(hostPlatform('linux', 'x64'), 'linux-amd64');
  assert.is(hostPlatform('darwin', 'arm64'), 'darwin-arm64');
  assert.is(hostPlatform('win32', 'x64'), undefined);
  assert.is(hostPlatform('linux', 'ia32'), undefined);
});

test.run();
