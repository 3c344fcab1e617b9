// `--images built` in the plan: the local registry, the push of each built image, the containerd
// mirror on the node, and no pull of a vorteil/ image that is built; `upstream` (the default)
// pulls them as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtImages } from '../../kind/built-images.ts';
import { loadImageOverrides } from '../../kind/images.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { imagesFromOverrides } from '../../scripts/lib/preflight/images.ts';

const everyImage = imagesFromOverrides(loadImageOverrides()).map((i) => i.ref);
const plan = (args: string) => buildPlan(parseE2eArgs(args.split(' ')), { images: everyImage });
const commands = (p: ReturnType<typeof plan>, id: string) => p.steps.find((s) => s.id === id)?.commands ?? [];

test('default is upstream: every vorteil/ image is pulled, no registry, no mirror', () => {
  const p = plan('--profile full-mtls');
  assert.is(parseE2eArgs(['--profile', 'full-mtls']).images, 'upstream');
  assert.not.ok(p.steps.some((s) => s.id.startsWith('registry.') || s.id === 'images.build'));
  for (const b of builtImages)
    assert.ok(commands(p, 'preflight.images').includes(`docker pull ${b.ref}`), b.ref);
  assert.not.ok(commands(p, 'cluster.create').some((c) => c.includes('hosts.toml')));
});

test('built: build, local registry, one push per built image, before the image preflight and the cluster', () => {
  const p = plan('--profile full-mtls --images built');
  const ids = p.steps.map((s) => s.id);
  const at = (id: string) => ids.indexOf(id);
  assert.ok(at('preflight.charts') < at('images.build'));
  assert.ok(at('images.build') < at('registry.start'));
  assert.ok(at('registry.start') < at('registry.push'));
  assert.ok(at('registry.push') < at('preflight.images'));
  assert.ok(at('preflight.images') < at('cluster.create'));
  assert.equal(commands(p, 'images.build'), ['npm run images -- --out .e2e/direktiv-tls/images']);
  const start = commands(p, 'registry.start').join('\n');
  assert.match(start, 'registry serve .e2e/direktiv-tls/registry/config.yml');
  assert.match(start, 'token realm https://<kind-gateway>:5444/token');
  const pushes = commands(p, 'registry.push');
  assert.is(pushes.length, builtImages.length);
  for (const b of builtImages) {
    const repo = b.ref.replace(/^docker\.io\//, '');
    assert.ok(
      pushes.some((c) => c.includes(`--name ${b.ref} --to <kind-gateway>:5443/${repo}`)),
      `push of ${b.ref}`,
    );
  }
});

test('built: no docker pull of a built vorteil/ image; the UI (not built) is still pulled', () => {
  const pulls = commands(plan('--profile full-mtls --images built'), 'preflight.images').filter((c) =>
    c.startsWith('docker pull'),
  );
  assert.ok(pulls.length > 10);
  for (const b of builtImages) assert.not.ok(pulls.includes(`docker pull ${b.ref}`), b.ref);
  assert.ok(pulls.includes('docker pull docker.io/vorteil/direktiv-ui:v0.4.1'));
  assert.ok(pulls.every((c) => !/vorteil\/(api|flow|functions|secrets|sidecar|init-pod):/.test(c)));
});

test('built: the node mirrors docker.io to the local registry and trusts its CA', () => {
  const create = commands(plan('--profile full-mtls --images built'), 'cluster.create').join('\n');
  assert.match(create, 'containerdConfigPatches');
  assert.match(create, 'config_path = "/etc/containerd/certs.d"');
  assert.match(
    create,
    'docker cp .e2e/direktiv-tls/registry/ca.crt direktiv-tls-control-plane:/etc/containerd/certs.d/docker.io/local-registry-ca.crt',
  );
  assert.match(create, '[host."https://<kind-gateway>:5443"] capabilities = ["pull", "resolve"]');
  assert.match(create, 'server = "https://registry-1.docker.io"');
});

test('--images takes upstream or built only', () => {
  assert.throws(
    () => parseE2eArgs(['--profile', 'plain', '--images', 'local']),
    /--images must be upstream or built/,
  );
});

test.run();
