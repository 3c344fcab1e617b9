import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pinsHash } from '../../kind/versions.ts';
import {
  clusterPaths,
  createClusterArgs,
  decideCluster,
  deleteClusterArgs,
  ensureCluster,
  explainKindCreateFailure,
  exportKubeconfig,
  kubeEnv,
  newMarker,
  PreflightError,
  readMarker,
  writeMarker,
} from '../../scripts/lib/preflight/index.ts';
import { fakeRunner } from './helpers/fake-runner.ts';

const ports = { httpPort: 18080, httpsPort: 18443 };

function root(): string {
  return mkdtempSync(join(tmpdir(), 'e2e-root-'));
}

async function refused(p: Promise<unknown>): Promise<PreflightError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, PreflightError);
    return e as PreflightError;
  }
  throw new Error('expected a PreflightError');
}

test('no cluster of that name (fake kind): create', async () => {
  const e2eRoot = root();
  try {
    const runner = fakeRunner([['kind get clusters', { stdout: 'other\n', stderr: '' }]]);
    const d = await decideCluster(runner, { cluster: 'e2e', kind: 'kind', ...ports, e2eRoot });
    assert.is(d.action, 'create');
    assert.is(d.paths.kubeconfig, join(e2eRoot, 'e2e', 'kubeconfig'));
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('a same-named cluster without our marker (fake kind) is never touched', async () => {
  const e2eRoot = root();
  try {
    const runner = fakeRunner([['kind get clusters', { stdout: 'e2e\n' }]]);
    const e = await refused(decideCluster(runner, { cluster: 'e2e', kind: 'kind', ...ports, e2eRoot }));
    assert.match(e.message, 'a kind cluster named e2e exists but this harness did not create it');
    assert.match(e.hint, `kind delete cluster --name e2e --kubeconfig ${join(e2eRoot, 'e2e', 'kubeconfig')}`);
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('a cluster this harness created with the same pins and ports (fake kind/docker) is reused', async () => {
  const e2eRoot = root();
  try {
    const paths = clusterPaths('e2e', e2eRoot);
    await writeMarker(paths, newMarker('e2e', ports));
    const runner = fakeRunner([
      ['kind get clusters', { stdout: 'e2e\n' }],
      ['docker inspect --format {{.State.Running}} e2e-control-plane', { stdout: 'true\n' }],
    ]);
    const d = await decideCluster(runner, { cluster: 'e2e', kind: 'kind', ...ports, e2eRoot });
    assert.is(d.action, 'reuse');
    assert.match(d.reason, 'same pins');
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('other pins or other host ports: refused with the way out', async () => {
  const e2eRoot = root();
  try {
    const paths = clusterPaths('e2e', e2eRoot);
    await writeMarker(paths, { ...newMarker('e2e', ports), pinsHash: '0000000000000000' });
    const runner = fakeRunner([['kind get clusters', { stdout: 'e2e\n' }]]);
    const e = await refused(decideCluster(runner, { cluster: 'e2e', kind: 'kind', ...ports, e2eRoot }));
    assert.match(e.message, `other pins (hash 0000000000000000, now ${pinsHash()}`);
    await writeMarker(paths, newMarker('e2e', ports));
    const e2 = await refused(
      decideCluster(runner, { cluster: 'e2e', kind: 'kind', httpPort: 28080, httpsPort: 28443, e2eRoot }),
    );
    assert.match(e2.message, 'maps host ports 18080/18443; this run asks for 28080/28443');
    assert.match(e2.hint, '--http-port 18080 --https-port 18443');
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('a stopped node is reported; a marker whose cluster is gone is dropped and the cluster created again', async () => {
  const e2eRoot = root();
  try {
    const paths = clusterPaths('e2e', e2eRoot);
    await writeMarker(paths, newMarker('e2e', ports));
    const stopped = fakeRunner([
      ['kind get clusters', { stdout: 'e2e\n' }],
      ['docker inspect', { stdout: 'false\n' }],
    ]);
    const e = await refused(decideCluster(stopped, { cluster: 'e2e', kind: 'kind', ...ports, e2eRoot }));
    assert.match(e.hint, 'docker start e2e-control-plane');
    const gone = fakeRunner([['kind get clusters', { stdout: '', stderr: 'No kind clusters found.\n' }]]);
    const d = await decideCluster(gone, { cluster: 'e2e', kind: 'kind', ...ports, e2eRoot });
    assert.is(d.action, 'create');
    assert.is(await readMarker(paths), undefined);
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('the cluster has its own kubeconfig: create/delete pass --kubeconfig, env points only at it', async () => {
  const e2eRoot = root();
  try {
    const paths = clusterPaths('e2e', e2eRoot);
    const create = createClusterArgs('e2e', paths);
    assert.equal(create.slice(0, 4), ['create', 'cluster', '--name', 'e2e']);
    assert.is(create[create.indexOf('--kubeconfig') + 1], paths.kubeconfig);
    assert.is(create[create.indexOf('--config') + 1], paths.kindConfig);
    const del = deleteClusterArgs('e2e', paths);
    assert.is(del[del.indexOf('--kubeconfig') + 1], paths.kubeconfig);
    const env = kubeEnv(paths);
    assert.is(env.KUBECONFIG, paths.kubeconfig);
    assert.ok(env.HELM_CONFIG_HOME!.startsWith(paths.dir));
    const kc = 'apiVersion: v1\nkind: Config\nclusters: []\n';
    const runner = fakeRunner([['kind get kubeconfig --name e2e', { stdout: kc }]]);
    await exportKubeconfig(runner, 'kind', 'e2e', paths);
    assert.is(readFileSync(paths.kubeconfig, 'utf8'), kc);
    assert.is(statSync(paths.kubeconfig).mode & 0o777, 0o600);
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('bad cluster names are refused before anything runs', () => {
  assert.throws(
    () => clusterPaths('My_Cluster'),
    (e: unknown) => e instanceof PreflightError && e.message.includes('My_Cluster'),
  );
});

test('ensureCluster (fake kind/docker): creates with the config file and own kubeconfig, installs mirrors, writes the marker; then reuses', async () => {
  const e2eRoot = root();
  try {
    let exists = false;
    const runner = fakeRunner([
      ['kind get clusters', () => ({ stdout: exists ? 'e2e\n' : '' })],
      [
        'kind create cluster',
        () => {
          exists = true;
          return {};
        },
      ],
      ['docker exec', {}],
      ['docker inspect', { stdout: 'true\n' }],
      ['kind get kubeconfig --name e2e', { stdout: 'apiVersion: v1\nkind: Config\n' }],
    ]);
    const base = {
      kind: 'kind',
      cluster: 'e2e',
      configYaml: 'kind: Cluster\n',
      ...ports,
      e2eRoot,
      mirrorCommands: [
        {
          cmd: 'docker',
          args: ['exec', 'e2e-control-plane', 'mkdir', '-p', '/etc/containerd/certs.d/docker.io'],
        },
      ],
    };
    const first = await ensureCluster(runner, base);
    assert.is(first.action, 'create');
    const paths = clusterPaths('e2e', e2eRoot);
    assert.is(readFileSync(paths.kindConfig, 'utf8'), 'kind: Cluster\n');
    assert.ok(runner.lines().includes(`kind ${createClusterArgs('e2e', paths).join(' ')}`));
    assert.ok(
      runner.lines().includes('docker exec e2e-control-plane mkdir -p /etc/containerd/certs.d/docker.io'),
    );
    assert.is((await readMarker(paths))?.pinsHash, pinsHash());
    const second = await ensureCluster(runner, base);
    assert.is(second.action, 'reuse');
    assert.is(runner.lines().filter((l) => l.startsWith('kind create')).length, 1);
    assert.ok(runner.lines().includes('kind get kubeconfig --name e2e'));
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test('a failed kind create (fake kind) explains the known causes: ip6tables, ports', async () => {
  const e2eRoot = root();
  try {
    const runner = fakeRunner([
      ['kind get clusters', { stdout: '' }],
      [
        'kind create cluster',
        {
          exitCode: 1,
          stderr:
            'ERROR: failed to create cluster: failed to ensure docker network: command "docker network create -d=bridge -o com.docker.network.bridge.enable_ip_masquerade=true -o com.docker.network.driver.mtu=1500 --ipv6 --subnet fc00:f853:ccd:e793::/64 kind" failed with error: exit status 1\nCommand Output: Error response from daemon: Failed to Setup IP tables: Unable to enable NAT rule:  (iptables failed: ip6tables --wait -t nat -I POSTROUTING: ip6tables v1.8.7 (legacy): can\'t initialize ip6tables table `nat\'\n',
        },
      ],
    ]);
    const e = await refused(
      ensureCluster(runner, { kind: 'kind', cluster: 'e2e', configYaml: '', ...ports, e2eRoot }),
    );
    assert.match(e.message, 'kind could not create cluster e2e: ERROR: failed to create cluster');
    assert.match(e.hint, 'docker network create -d=bridge');
    assert.is(await readMarker(clusterPaths('e2e', e2eRoot)), undefined, 'no marker for a failed create');
    assert.match(
      explainKindCreateFailure('Bind for 127.0.0.1:18080 failed: port is already allocated', {
        cluster: 'e2e',
        ...ports,
      }),
      '--http-port/--https-port',
    );
  } finally {
    rmSync(e2eRoot, { recursive: true, force: true });
  }
});

test.run();
