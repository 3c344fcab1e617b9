// Starts the control plane as local processes on 127.0.0.1, each on a free port: etcd, then
// kube-apiserver, kube-controller-manager and kube-scheduler (flags as kubeadm/kind set them), then
// kwok with one node named like kind's, so Deployments roll out. Every step waits for its
// component with a deadline and fails naming the component and the end of its log. Ctrl-C, an
// abort or a failure stops everything that was started, unless the caller kept it (keep()).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { upstreamPins } from '../../../kind/versions.ts';
import { KubeClient } from '../k8s/client.ts';
import type { KubeObject } from '../k8s/types.ts';
import { type BuiltPrograms, buildComponents, cacheHome } from './build.ts';
import { moduleDir, renderCertManager, startCertManagerProcesses } from './cert-manager.ts';
import { kubeconfigYaml, type PkiFiles, writePki } from './pki.ts';
import {
  alive,
  ensurePortFree,
  freePort,
  listening,
  logTail,
  type ProcessRecord,
  startProcess,
  stopProcess,
} from './processes.ts';
import { readState, removeState, writeState } from './state.ts';
import { type Component, type ControlPlane, ControlPlaneError, type ControlPlaneOptions } from './types.ts';

export function defaultStateDir(): string {
  return join(cacheHome(), 'control-plane', 'state');
}

/** The simulated node, named like kind's single node for the cluster `direktiv-tls`. */
export const NODE_NAME = 'direktiv-tls-control-plane';
export const SERVICE_CIDR = '10.96.0.0/16';
/** kind's default pod subnet; kwok hands out pod IPs from it. */
export const POD_CIDR = '10.244.0.1/24';

/** Folders of the state dir that hold secrets or data of one run; removed on stop. */
const RUN_DIRS = ['pki', 'etcd', 'kubeconfig', 'tmp'];

export class RunningControlPlane implements ControlPlane {
  readonly processes: ProcessRecord[] = [];
  readonly tempDirs: string[] = [];
  kept = false;
  private stopped = false;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    // The processes run in their own process groups (so they can be kept): Ctrl-C does not reach
    // them. Stop them, then exit as the signal would have (unless the caller handles it too).
    void this.stop()
      .catch((e: Error) => process.stderr.write(`${e.message}\n`))
      .finally(() => {
        if (process.listenerCount(sig) === 0) process.exit(sig === 'SIGINT' ? 130 : 143);
      });
  };
  /** Last resort when the process exits without stop(): signal every group, drop keys and data. */
  private readonly onExit = () => {
    if (this.kept) return;
    this.killAllNow();
    for (const d of RUN_DIRS) rmSync(join(this.stateDir, d), { recursive: true, force: true });
  };

  constructor(
    readonly stateDir: string,
    readonly bins: BuiltPrograms,
    readonly pki: PkiFiles,
    readonly certManagerPorts: Record<'webhook' | 'webhookHealthz' | 'controllerMetrics', number>,
    readonly server: string,
    readonly kubeconfig: string,
    private readonly log: (line: string) => void,
    private readonly readyTimeoutMs: number,
  ) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  components(): Component[] {
    const running = new Set(this.processes.filter((p) => alive(p.pid)).map((p) => p.name));
    const out: Component[] = [];
    for (const pin of Object.values(upstreamPins)) {
      for (const program of Object.keys(pin.programs)) {
        // kubectl runs per command, not as a process; it is part of the run when it was built.
        if (running.has(program) || (program === 'kubectl' && this.bins.kubectl)) {
          out.push({
            name: program,
            version: pin.version,
            source: `built from ${pin.module}@${pin.version}`,
          });
        }
      }
    }
    return out;
  }

  certManagerManifests(helm: string): Promise<KubeObject[]> {
    return renderCertManager(helm, this.certManagerPorts.webhook, join(this.stateDir, 'tmp'));
  }

  startCertManager(): Promise<void> {
    return startCertManagerProcesses(this, this.log);
  }

  /** Starts one process and records it (so every later failure path stops it). */
  spawn(
    name: string,
    args: readonly string[],
    ports: Record<string, number>,
    env?: Record<string, string>,
  ): ProcessRecord {
    const bin = this.bins[name];
    if (!bin) throw new Error(`internal: ${name} was not built`);
    const rec = startProcess({
      name,
      bin,
      args,
      logDir: join(this.stateDir, 'logs'),
      ports,
      ...(env ? { env } : {}),
    });
    this.processes.push(rec);
    return rec;
  }

  /** Waits for `check` to pass; fails naming the component and quoting its log. */
  async waitReady(rec: ProcessRecord, what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (!alive(rec.pid)) break;
      try {
        if (await check()) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(250);
    }
    const why = alive(rec.pid)
      ? `not ready after ${Math.round(this.readyTimeoutMs / 1000)} s (${what}${last ? `: ${last}` : ''})`
      : 'exited';
    throw new ControlPlaneError(
      `${rec.name} ${why}; last lines of ${rec.log}:\n${logTail(rec.log)
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}`,
      `The whole log is ${rec.log}. The control plane was stopped.`,
    );
  }

  private killAllNow(): void {
    for (const p of this.processes) {
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  }

  private removeHandlers(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }

  /** Called by keep(): from now on the processes outlive this process. */
  detach(): void {
    this.kept = true;
    this.removeHandlers();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    const problems = await stopAll(this.stateDir, this.processes, this.tempDirs);
    process.off('exit', this.onExit);
    if (problems.length) {
      throw new ControlPlaneError(
        `the control plane did not stop cleanly:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        'Stop what is listed by hand (kill <pid>, rm -rf <dir>).',
      );
    }
  }
}

/** Stops processes in reverse start order, removes the run's folders; returns what is left. */
export async function stopAll(
  stateDir: string,
  processes: readonly Pick<ProcessRecord, 'name' | 'pid'>[],
  tempDirs: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const p of [...processes].reverse()) {
    if (!(await stopProcess(p))) problems.push(`${p.name} (pid ${p.pid}) is still running`);
  }
  for (const d of [...tempDirs, ...RUN_DIRS.map((r) => join(stateDir, r))]) {
    await rm(d, { recursive: true, force: true }).catch((e: Error) => problems.push(`${d}: ${e.message}`));
    if (existsSync(d)) problems.push(`${d} is still there`);
  }
  await removeState(stateDir);
  return problems;
}

interface TlsClient {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** GET over HTTPS with the admin identity; resolves status and body. */
export function httpsGet(
  url: string,
  tls: TlsClient,
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function ports(names: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const taken = new Set<number>();
  for (const n of names) {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    out[n] = p;
  }
  return out;
}

/**
 * Builds what is missing (cached), then starts etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok, and waits until a pod could be scheduled and become Ready.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const stateDir = opts.stateDir ?? defaultStateDir();
  const log = opts.log;
  const kept = await readState(stateDir);
  if (kept?.processes.some((p) => alive(p.pid))) {
    throw new ControlPlaneError(
      `a kept control plane is still running from ${stateDir} (pids ${kept.processes.map((p) => p.pid).join(', ')})`,
      'Stop it first: npm run control-plane -- --down',
    );
  }
  const bins = await buildComponents(log, {
    only: ['kubernetes', 'etcd', 'kwok'],
    skip: opts.withKubectl === false ? ['kubectl'] : [],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  // A fresh cluster every run: nothing from a previous run's etcd or PKI survives.
  await rm(stateDir, { recursive: true, force: true });
  for (const d of ['logs', 'kubeconfig', 'tmp'])
    await mkdir(join(stateDir, d), { recursive: true, mode: 0o700 });
  const pki = await writePki(join(stateDir, 'pki'));
  const port = await ports([
    'etcd-client',
    'etcd-peer',
    'apiserver',
    'controller-manager',
    'scheduler',
    'webhook',
    'webhookHealthz',
    'controllerMetrics',
    'kwok',
  ]);
  for (const [purpose, p] of Object.entries(port)) await ensurePortFree(p, purpose);
  const server = `https://127.0.0.1:${port.apiserver}`;
  const kubeconfigFor = async (user: string, leaf: string) => {
    const path = join(stateDir, 'kubeconfig', `${user}.kubeconfig`);
    const { cert, key } = pki.leaf[leaf]!;
    await writeFile(path, kubeconfigYaml({ server, caCert: pki.caCert, cert, key, user }), { mode: 0o600 });
    return path;
  };
  const kubeconfig = await kubeconfigFor('admin', 'admin');
  const cp = new RunningControlPlane(
    stateDir,
    bins,
    pki,
    {
      webhook: port.webhook!,
      webhookHealthz: port.webhookHealthz!,
      controllerMetrics: port.controllerMetrics!,
    },
    server,
    kubeconfig,
    log,
    (opts.readyTimeoutSec ?? 120) * 1000,
  );
  const onAbort = () => void cp.stop().catch(() => undefined);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const t0 = Date.now();
    await startEtcd(cp, port);
    await startApiserver(cp, port);
    const serving = pki.leaf['loopback-serving']!;
    const common = (p: number, kc: string) => [
      `--kubeconfig=${kc}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${p}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${pki.caCert}`,
      // One instance: no leader election to wait for.
      '--leader-elect=false',
    ];
    const kcm = cp.spawn(
      'kube-controller-manager',
      [
        ...common(
          port['controller-manager']!,
          await kubeconfigFor('controller-manager', 'controller-manager'),
        ),
        // kind's (kubeadm's) controller-manager flags.
        '--controllers=*,bootstrapsigner,tokencleaner',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.saPrivate}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--cluster-name=direktiv-tls',
      ],
      { secure: port['controller-manager']! },
    );
    const sched = cp.spawn(
      'kube-scheduler',
      common(port.scheduler!, await kubeconfigFor('scheduler', 'scheduler')),
      { secure: port.scheduler! },
    );
    const tls = adminTls(pki);
    await cp.waitReady(
      kcm,
      'GET /healthz',
      async () =>
        (await httpsGet(`https://127.0.0.1:${port['controller-manager']}/healthz`, tls)).status === 200,
    );
    await cp.waitReady(
      sched,
      'GET /healthz',
      async () => (await httpsGet(`https://127.0.0.1:${port.scheduler}/healthz`, tls)).status === 200,
    );
    await startKwok(cp, port.kwok!);
    log(
      `control plane ready in ${Math.round((Date.now() - t0) / 1000)} s: ${server} (kubeconfig ${kubeconfig})`,
    );
    return cp;
  } catch (e) {
    opts.signal?.removeEventListener('abort', onAbort);
    await cp.stop().catch((stopErr: Error) => log(stopErr.message));
    if (opts.signal?.aborted) throw new ControlPlaneError('control plane start aborted', 'Nothing was kept.');
    throw e;
  }
}

export function adminTls(pki: PkiFiles): TlsClient {
  return {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.leaf.admin!.cert),
    key: readFileSync(pki.leaf.admin!.key),
  };
}

async function startEtcd(cp: RunningControlPlane, port: Record<string, number>): Promise<void> {
  const client = `http://127.0.0.1:${port['etcd-client']}`;
  const peer = `http://127.0.0.1:${port['etcd-peer']}`;
  const rec = cp.spawn(
    'etcd',
    [
      '--name=control-plane',
      `--data-dir=${join(cp.stateDir, 'etcd')}`,
      // Loopback only and plain HTTP: nothing but this machine's kube-apiserver reaches it.
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=control-plane=${peer}`,
      // A throwaway cluster on a shared disk: fsync costs seconds and protects nothing here.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { client: port['etcd-client']!, peer: port['etcd-peer']! },
  );
  await cp.waitReady(rec, 'GET /health', async () => {
    const r = await httpGet(`${client}/health`);
    return r.status === 200 && /"health":\s*"true"/.test(r.body);
  });
}

async function startApiserver(cp: RunningControlPlane, port: Record<string, number>): Promise<void> {
  const { pki } = cp;
  const rec = cp.spawn(
    'kube-apiserver',
    [
      `--etcd-servers=http://127.0.0.1:${port['etcd-client']}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port.apiserver}`,
      `--cert-dir=${join(cp.stateDir, 'tmp')}`,
      `--tls-cert-file=${pki.leaf.apiserver!.cert}`,
      `--tls-private-key-file=${pki.leaf.apiserver!.key}`,
      `--client-ca-file=${pki.caCert}`,
      // kubeadm's defaults (kind runs kubeadm): Node,RBAC and NodeRestriction on top of the
      // admission plugins 1.24 enables by default.
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      '--enable-bootstrap-token-auth=true',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublic}`,
      `--service-account-signing-key-file=${pki.saPrivate}`,
      '--profiling=false',
      // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation
      // refuses (loopback); nothing in this cluster dials it (no kube-proxy, no real pods).
      '--endpoint-reconciler-type=none',
      // Logs and port-forward go to kwok's kubelet server at the node's InternalIP (127.0.0.1),
      // verified against the cluster CA (kwok serves the loopback certificate).
      '--kubelet-preferred-address-types=InternalIP',
      `--kubelet-certificate-authority=${pki.caCert}`,
    ],
    { secure: port.apiserver! },
  );
  const tls = adminTls(pki);
  await cp.waitReady(rec, 'GET /readyz', async () => {
    const r = await httpsGet(`https://127.0.0.1:${port.apiserver}/readyz`, tls);
    return r.status === 200;
  });
}

/** kwok's own CRDs that its kubelet server reads: per-pod log files and port-forward targets. */
export const KWOK_CRDS = { Logs: 'logs', PortForward: 'portforwards' } as const;

async function kwokCrds(): Promise<KubeObject[]> {
  const dir = join(await moduleDir(upstreamPins.kwok), 'kustomize', 'crd', 'bases');
  const out: KubeObject[] = [];
  for (const plural of Object.values(KWOK_CRDS)) {
    const file = join(dir, `kwok.x-k8s.io_${plural}.yaml`);
    out.push(parse(await readFile(file, 'utf8')) as KubeObject);
  }
  return out;
}

async function startKwok(cp: RunningControlPlane, serverPort: number): Promise<void> {
  const client = KubeClient.fromKubeconfig(cp.kubeconfig);
  // Before kwok starts: it watches these kinds from the first moment (--enable-crds).
  await client.applyAll(await kwokCrds());
  // The node object, as kind's node carries it (kwok fills in its status and keeps its lease).
  await client.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE_NAME,
      labels: {
        'kubernetes.io/hostname': NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/control-plane': '',
        type: 'kwok',
      },
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
    },
  });
  const kwokConfig = join(cp.stateDir, 'tmp', 'kwok.yaml');
  // An explicit (empty) configuration: a user's ~/.kwok/kwok.yaml must not change this run.
  await writeFile(
    kwokConfig,
    'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n',
  );
  const rec = cp.spawn(
    'kwok',
    [
      `--config=${kwokConfig}`,
      `--kubeconfig=${cp.kubeconfig}`,
      `--manage-single-node=${NODE_NAME}`,
      `--cidr=${POD_CIDR}`,
      '--node-ip=127.0.0.1',
      // kwok's kubelet server (logs, port-forward) on loopback; the node advertises the port.
      `--node-port=${serverPort}`,
      `--server-address=127.0.0.1:${serverPort}`,
      `--tls-cert-file=${cp.pki.leaf['loopback-serving']!.cert}`,
      `--tls-private-key-file=${cp.pki.leaf['loopback-serving']!.key}`,
      `--enable-crds=${Object.keys(KWOK_CRDS).join(',')}`,
      // Heartbeat through a Lease, as kubelets do: kwok's lease-less node heartbeat comes every
      // 20-45 s, past the controller-manager's 40 s grace period, and the node went NotReady
      // (pods marked not ready, new ones unschedulable) on a loaded machine.
      '--node-lease-duration-seconds=40',
    ],
    { server: serverPort },
  );
  await cp.waitReady(
    rec,
    `node ${NODE_NAME} Ready, its kubelet server on 127.0.0.1:${serverPort}, the default ServiceAccount created`,
    async () => {
      const node = await client.getOrNull({ apiVersion: 'v1', kind: 'Node', name: NODE_NAME });
      const conds = (node?.status as { conditions?: { type: string; status: string }[] })?.conditions ?? [];
      if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
      if (!(await listening(serverPort))) return false;
      // Pods are refused until the service-account controller made the namespace's default SA.
      return Boolean(
        await client.getOrNull({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          namespace: 'default',
          name: 'default',
        }),
      );
    },
  );
}

/** Records a running control plane in its state dir, so a later `downKept` can stop it. */
export async function keep(cp: ControlPlane): Promise<void> {
  if (!(cp instanceof RunningControlPlane)) throw new Error('keep: not a control plane started here');
  await writeState(cp.stateDir, {
    server: cp.server,
    kubeconfig: cp.kubeconfig,
    processes: cp.processes.map(({ name, pid, log, command, ports }) => ({ name, pid, log, command, ports })),
    tempDirs: cp.tempDirs,
    keptAt: new Date().toISOString(),
  });
  cp.detach();
}

/** Stops everything a `keep` recorded and checks that no process, port, mount or temp folder is left. */
export async function downKept(
  stateDir = defaultStateDir(),
): Promise<{ stopped: string[]; leftovers: string[] }> {
  const st = await readState(stateDir);
  if (!st) return { stopped: [], leftovers: await leftovers(stateDir, [], []) };
  const stopped: string[] = [];
  const live = st.processes.filter((p) => alive(p.pid) && sameProgram(p.pid, p.command[0] ?? ''));
  const problems = await stopAll(stateDir, live, st.tempDirs);
  for (const p of live) stopped.push(`${p.name} (pid ${p.pid})`);
  return { stopped, leftovers: [...problems, ...(await leftovers(stateDir, st.processes, st.tempDirs))] };
}

/** A recorded pid still names the program we started (pids get reused). */
function sameProgram(pid: number, bin: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === bin;
  } catch {
    // No /proc (macOS): trust the record.
    return process.platform !== 'linux';
  }
}

/** What is left of a control plane: live recorded processes, listening recorded ports, mounts, folders. */
export async function leftovers(
  stateDir: string,
  processes: readonly Pick<ProcessRecord, 'name' | 'pid' | 'command' | 'ports'>[],
  tempDirs: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const p of processes) {
    if (alive(p.pid) && sameProgram(p.pid, p.command[0] ?? '')) out.push(`process ${p.name} (pid ${p.pid})`);
    for (const [purpose, port] of Object.entries(p.ports)) {
      if (await listening(port)) out.push(`port 127.0.0.1:${port} (${p.name} ${purpose}) still listening`);
    }
  }
  for (const d of [...tempDirs, ...RUN_DIRS.map((r) => join(stateDir, r))]) {
    if (existsSync(d)) out.push(`folder ${d}`);
  }
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const target = line.split(' ')[1];
      if (target?.startsWith(stateDir)) out.push(`mount ${target}`);
    }
  } catch {
    /* no /proc: no mounts of ours either */
  }
  return out;
}

/** Files in the state dir's logs folder (for diagnostics and the report). */
export async function logFiles(stateDir: string): Promise<string[]> {
  return (await readdir(join(stateDir, 'logs')).catch(() => [])).map((f) => join(stateDir, 'logs', f));
}
