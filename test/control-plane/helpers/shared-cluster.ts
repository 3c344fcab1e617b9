// One real control plane per test process, shared by every file of the control-plane tier: the
// first caller starts it (building what is missing, cached), later callers get the same one. It
// stops after the last file (scripts/uvu-run.ts runs the teardowns; as a last resort,
// control-plane/start.ts kills its process groups when the process exits). Each file works in namespaces of its own, so files do not meet.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { type ControlPlane, startControlPlane } from '../../../scripts/lib/control-plane/index.ts';
import { RunningControlPlane } from '../../../scripts/lib/control-plane/start.ts';
import { KubeClient } from '../../../scripts/lib/k8s/client.ts';
import type { KubeObject } from '../../../scripts/lib/k8s/types.ts';
import { testHelm } from '../../../scripts/lib/tools/test-helm.ts';

export interface SharedCluster {
  readonly cp: ControlPlane;
  /** The admin client on the control plane's own kubeconfig. */
  readonly client: KubeClient;
  /** A folder for this process's scratch files (kubeconfig variants, log files), removed at exit. */
  readonly scratch: string;
}

let started: Promise<SharedCluster> | undefined;

const log = (line: string) => process.stderr.write(`  [control-plane] ${line}\n`);

export function sharedCluster(): Promise<SharedCluster> {
  started ??= (async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'cp-shared-'));
    const scratch = await mkdtemp(join(tmpdir(), 'cp-scratch-'));
    // No kubectl: these tests drive the API through the harness's client only.
    const cp = await startControlPlane({ stateDir, log, readyTimeoutSec: 180, withKubectl: false });
    // Stopped once every file has run (scripts/uvu-run.ts calls the teardowns after uvu).
    const g = globalThis as { UVU_TEARDOWN?: (() => Promise<void>)[] };
    g.UVU_TEARDOWN ??= [];
    g.UVU_TEARDOWN.push(async () => {
      await cp.stop();
      // CP_TEST_KEEP_LOGS=1 keeps <stateDir>/logs (every component's log) to read after a failure.
      if (!process.env.CP_TEST_KEEP_LOGS) await rm(stateDir, { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
    });
    return { cp, client: KubeClient.fromKubeconfig(cp.kubeconfig), scratch };
  })();
  // uvu reports a failing before-hook only as 0 passed: say why here.
  started.catch((e: Error) => log(`could not start the control plane: ${e.message}`));
  return started;
}

/**
 * Compacts etcd's history up to `revision` (etcd's own v3 HTTP gateway): afterwards a watch from
 * an older resourceVersion that reaches etcd is answered 410 Expired, as after the API server's
 * periodic compaction on a long-lived cluster.
 */
export async function compactEtcd(shared: SharedCluster, revision: string): Promise<void> {
  if (!(shared.cp instanceof RunningControlPlane)) throw new Error('compactEtcd: not a local control plane');
  const etcd = shared.cp.processes.find((p) => p.name === 'etcd');
  if (!etcd?.ports.client) throw new Error('compactEtcd: etcd has no client port');
  const r = await fetch(`http://127.0.0.1:${etcd.ports.client}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision, physical: true }),
  });
  if (!r.ok) throw new Error(`etcd compaction to ${revision}: HTTP ${r.status} ${await r.text()}`);
}

/** A container log file in the CRI format kwok's kubelet server reads (as a kubelet writes it). */
export function criLog(text: string): string {
  const ts = new Date().toISOString();
  return text
    .split('\n')
    .filter((l, i, all) => l !== '' || i < all.length - 1)
    .map((l) => `${ts} stdout F ${l}\n`)
    .join('');
}

let certManager: Promise<void> | undefined;

/** Real cert-manager (CRDs, webhook, controller, cainjector) on the shared control plane, once. */
export function sharedCertManager(shared: SharedCluster): Promise<void> {
  certManager ??= (async () => {
    await shared.client.applyAll(await shared.cp.certManagerManifests(await testHelm()));
    await shared.cp.startCertManager();
  })();
  return certManager;
}

/** A namespace of the caller's own (deleted first if a previous test left it), ready for pods. */
export async function freshNamespace(client: KubeClient, name: string): Promise<void> {
  const ref = { apiVersion: 'v1', kind: 'Namespace', name };
  if (await client.getOrNull(ref)) {
    await client.delete(ref);
    const deadline = Date.now() + 60_000;
    while ((await client.getOrNull(ref)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
  }
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // Pods are refused until the service-account controller made the namespace's default
  // ServiceAccount, and a ReplicaSet then backs off for minutes: wait for it, as a user would.
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount', namespace: name, name: 'default' };
  const deadline = Date.now() + 60_000;
  while (!(await client.getOrNull(sa))) {
    if (Date.now() > deadline) throw new Error(`namespace ${name}: no default ServiceAccount after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Kubeconfig = {
  'current-context': string;
  contexts: { name: string; context: { cluster: string; user: string } }[];
  users: { name: string; user: Record<string, unknown> }[];
  clusters: { name: string; cluster: { server: string } }[];
};

/**
 * A copy of the control plane's kubeconfig, changed by `edit` (a context renamed, a token in
 * place of the client certificate, another server): the files the client must accept or refuse.
 */
export async function kubeconfigVariant(
  shared: SharedCluster,
  name: string,
  edit: (kc: Kubeconfig) => void,
): Promise<string> {
  const kc = parse(await readFile(shared.cp.kubeconfig, 'utf8')) as Kubeconfig;
  edit(kc);
  const path = join(shared.scratch, `${name}.kubeconfig`);
  await writeFile(path, stringify(kc), { mode: 0o600 });
  return path;
}

/** Renames the current context (the client checks it against the name it expects). */
export function renameContext(to: string): (kc: Kubeconfig) => void {
  return (kc) => {
    const ctx = kc.contexts.find((c) => c.name === kc['current-context'])!;
    ctx.name = to;
    kc['current-context'] = to;
  };
}

/** A Deployment of `replicas` pods; kwok never pulls images, so any valid reference will do. */
export function deployment(
  namespace: string,
  name: string,
  opts: { replicas?: number; podSpec?: Record<string, unknown>; labels?: Record<string, string> } = {},
): KubeObject {
  const labels = { app: name, ...opts.labels };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'main', image: 'registry.invalid/app:1' }], ...opts.podSpec },
      },
    },
  };
}
