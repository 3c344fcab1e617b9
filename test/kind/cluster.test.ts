import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import {
  envoyNodePorts,
  kindClusterConfig,
  kindClusterYaml,
  registryHostsToml,
  registryMirrorCommands,
} from '../../kind/cluster.ts';
import { nodeImagePin } from '../../kind/versions.ts';

type Node = {
  role: string;
  image: string;
  extraPortMappings: { containerPort: number; hostPort: number; listenAddress: string }[];
};

test('kind/cluster.yaml is exactly what the generator produces with the defaults', () => {
  assert.is(readFileSync(new URL('../../kind/cluster.yaml', import.meta.url), 'utf8'), kindClusterYaml());
});

test('one node, the pinned node image by digest, Envoy NodePorts mapped to 127.0.0.1 high ports', () => {
  const c = parse(kindClusterYaml()) as { kind: string; apiVersion: string; nodes: Node[] };
  assert.is(c.kind, 'Cluster');
  assert.is(c.apiVersion, 'kind.x-k8s.io/v1alpha4');
  assert.is(c.nodes.length, 1);
  const n = c.nodes[0]!;
  assert.is(n.role, 'control-plane');
  assert.is(n.image, nodeImagePin.image);
  assert.match(n.image, /@sha256:[0-9a-f]{64}$/);
  assert.equal(
    n.extraPortMappings.map((m) => [m.containerPort, m.hostPort, m.listenAddress]),
    [
      [envoyNodePorts.http, 18080, '127.0.0.1'],
      [envoyNodePorts.https, 18443, '127.0.0.1'],
    ],
  );
});

test('etcd runs without fsync through a kubeadm ClusterConfiguration patch (as cert-manager e2e)', () => {
  const c = kindClusterConfig() as { kubeadmConfigPatches: string[] };
  const patch = parse(c.kubeadmConfigPatches[0]!) as {
    kind: string;
    etcd: { local: { extraArgs: Record<string, string> } };
  };
  assert.is(patch.kind, 'ClusterConfiguration');
  assert.equal(patch.etcd.local.extraArgs, { 'unsafe-no-fsync': 'true' });
  assert.not.ok('kubeadmConfigPatches' in kindClusterConfig({ etcdUnsafeNoFsync: false }));
});

test('host ports are configurable and validated', () => {
  const n = (kindClusterConfig({ httpPort: 28080, httpsPort: 28443 }) as { nodes: Node[] }).nodes[0]!;
  assert.equal(
    n.extraPortMappings.map((m) => m.hostPort),
    [28080, 28443],
  );
  assert.throws(() => kindClusterConfig({ httpPort: 0 }), /--http-port must be a port number/);
  assert.throws(() => kindClusterConfig({ httpPort: 8080, httpsPort: 8080 }), /must differ/);
});

test('registry mirrors: containerd config_path patch plus one hosts.toml per registry, written into the node', () => {
  const mirrors = {
    'docker.io': ['http://kind-registry-cache:5000'],
    'gcr.io': ['https://mirror.example/v2/gcr'],
  };
  const c = kindClusterConfig({ registryMirrors: mirrors }) as { containerdConfigPatches: string[] };
  assert.match(c.containerdConfigPatches[0]!, 'config_path = "/etc/containerd/certs.d"');
  assert.not.ok('containerdConfigPatches' in kindClusterConfig());
  const toml = registryHostsToml('docker.io', mirrors['docker.io']);
  assert.match(toml, 'server = "https://registry-1.docker.io"');
  assert.match(toml, '[host."http://kind-registry-cache:5000"]\n  capabilities = ["pull", "resolve"]');
  const cmds = registryMirrorCommands('e2e-control-plane', mirrors);
  assert.equal(cmds[0]!.args, [
    'exec',
    'e2e-control-plane',
    'mkdir',
    '-p',
    '/etc/containerd/certs.d/docker.io',
  ]);
  assert.equal(cmds[1]!.args, [
    'exec',
    '-i',
    'e2e-control-plane',
    'cp',
    '/dev/stdin',
    '/etc/containerd/certs.d/docker.io/hosts.toml',
  ]);
  assert.is(cmds[1]!.input, toml);
  assert.is(cmds.length, 4);
  assert.throws(() => registryMirrorCommands('n', { 'bad/../x': ['http://a'] }), /not a registry host/);
});

test.run();
