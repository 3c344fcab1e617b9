// The lab: a scenario's paths as real servers and clients on this machine, probed with the same
// code a cluster run uses, judged by the same verdict engine, reported the same way.
//
// Networking choice: loopback (127.0.0.1) with one ephemeral port per listener. Network
// namespaces would give each component its own address, but need root and leave state behind on
// a crash; ephemeral ports need neither, never collide with a developer's services, and let
// several labs run at once. What the real client dials is carried where it matters: every
// dial sends the path's real host name as SNI / :authority / Host and checks it in the
// certificate, and reports name the real ports (6666, 443, ...) next to the lab's.
//
// One listener per PATH, not per component: api->functions and engine->functions share the
// functions controller in a cluster (sidecar->engine and pod->engine share engine 7777), but a
// planted flaw must be attributable to one path. Each path gets its own listener configured
// exactly like the shared server; in a cluster a flaw on a shared server fails both paths.
//
// Behind the Envoys the lab answers from the Envoy itself: the hop after it (Envoy to Knative's
// activator / queue-proxy / sidecar) is exempt plaintext in every profile, and chaining it
// would make one planted flaw fail two paths.
import { PATH_IDS, PATHS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { probeTarget } from '../probe/probe.ts';
import { DEFAULT_TIMEOUT_MS, errorText } from '../probe/tls.ts';
import type { ActivePathEvidence, AppAttempt, ProbeCredentials, ProbeTarget } from '../probe/types.ts';
import { profileResult } from '../report/result.ts';
import type { CaptureSummary, ProfileResult } from '../report/types.ts';
import type { JudgeOptions, PathEvidence } from '../verdict/verdict.ts';
import { captureRealClients, type LabCaptureOptions } from './capture.ts';
import { type CertSourceOptions, labCertSpecs } from './certs.ts';
import { runRealClient } from './clients.ts';
import { applyMutation, type MutationInfo, resolveMutation } from './mutations.ts';
import { LabPki } from './pki.ts';
import {
  closedPort,
  envoyHandler,
  goHandler,
  type HttpHandler,
  type RunningListener,
  startListener,
} from './servers.ts';
import { type ListenerPlan, labTopology, type PathPlan } from './topology.ts';

export const LAB_ADDRESS = '127.0.0.1';

export interface LabEndpoint {
  path: PathId;
  plan: PathPlan;
  target: ProbeTarget;
  creds: ProbeCredentials;
  /** Listener logs (what each server did with each connection). */
  logs: { main?: string[]; plain?: string[] };
}

export interface Lab {
  scenario: Scenario;
  pki: LabPki;
  mutation?: MutationInfo;
  endpoints: Record<PathId, LabEndpoint>;
  notes: string[];
  stop(): Promise<void>;
}

export interface LabOptions extends CertSourceOptions {
  /** `<name>` or `<name>@<path-id>`. */
  mutate?: string;
  timeoutMs?: number;
  /** Capture the real clients' traffic and add passive evidence (runLab only). */
  capture?: LabCaptureOptions;
  /** Certificates to serve instead of issuing them locally (e.g. what a cluster's cert-manager issued). */
  pki?: LabPki;
}

function handlerFor(l: ListenerPlan): HttpHandler {
  const role = l.http;
  if (!role) throw new Error('HTTP listener without a role');
  return role.kind === 'go'
    ? goHandler(role.component)
    : envoyHandler({ hosts: role.hosts, redirect: role.redirect, answer: role.answer });
}

/** A listener slot whose port is only known once every listener of the lab is up. */
type Slot = { port: number; log?: string[] } | 'closed';

async function listen(
  plan: PathPlan,
  l: ListenerPlan | undefined,
  running: RunningListener[],
): Promise<Slot> {
  if (!l?.config) return 'closed';
  const app =
    plan.protocol === 'grpc'
      ? ({ kind: 'grpc', component: plan.server } as const)
      : ({ kind: 'http', handler: handlerFor(l) } as const);
  const r = await startListener(l.config, app);
  running.push(r);
  return { port: r.port, log: r.log };
}

/**
 * The scenario's certificates as the profile chart renders them, issued locally (keys are cached
 * per label for the process).
 */
export async function labPkiFor(scenario: Scenario, opts: CertSourceOptions = {}): Promise<LabPki> {
  const { issuers, certs } = await labCertSpecs(scenario, opts);
  return LabPki.issue(`${scenario.name}/${scenario.mode}/${scenario.namespace}`, issuers, certs);
}

/** Issues the scenario's certificates, plants the mutation, starts every listener. */
export async function startLab(scenario: Scenario, opts: LabOptions = {}): Promise<Lab> {
  const mutation = opts.mutate ? resolveMutation(opts.mutate, scenario) : undefined;
  const pki = opts.pki ?? (await labPkiFor(scenario, opts.helm ? { helm: opts.helm } : {}));
  const { plans, notes } = await labTopology(scenario, pki);
  if (mutation) await applyMutation(plans[mutation.path], mutation, pki);
  const running: RunningListener[] = [];
  const stop = async () => {
    await Promise.all(running.map((r) => r.close()));
  };
  try {
    const endpoints = {} as Record<PathId, LabEndpoint>;
    const slots = await Promise.all(
      PATH_IDS.map(async (id) => {
        const plan = plans[id];
        return Promise.all([
          listen(plan, plan.main, running),
          plan.plain ? listen(plan, plan.plain, running) : Promise.resolve(undefined),
        ]);
      }),
    );
    // Ports for components that never started are taken only now, after every listener is up,
    // so no listener of this lab can be handed one of them.
    const resolve = async (s: Slot) => (s === 'closed' ? { port: await closedPort() } : s);
    for (const [i, id] of PATH_IDS.entries()) {
      const plan = plans[id];
      const info = PATHS[id];
      const [mainSlot, plainSlot] = slots[i]!;
      const main = await resolve(mainSlot);
      const plain = plainSlot === undefined ? undefined : await resolve(plainSlot);
      const target: ProbeTarget = {
        protocol: plan.protocol,
        address: LAB_ADDRESS,
        port: main.port,
        serverName: plan.dialName,
        displayPort: info.port,
        alpn: plan.alpn,
      };
      if (plain) {
        target.plainPort = plain.port;
        target.displayPlainPort = info.plainPort ?? 80;
      }
      endpoints[id] = {
        path: id,
        plan,
        target,
        creds: plan.creds,
        logs: { ...(main.log ? { main: main.log } : {}), ...(plain?.log ? { plain: plain.log } : {}) },
      };
    }
    const lab: Lab = { scenario, pki, endpoints, notes, stop };
    if (mutation) lab.mutation = mutation;
    return lab;
  } catch (e) {
    await stop();
    throw e;
  }
}

export type RealClientOutcome = AppAttempt & { client: string };

/** The real client of one lab path makes its call (never rejects: a failure is its outcome). */
export function runLabRealClient(
  lab: Lab,
  id: PathId,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<RealClientOutcome> {
  const ep = lab.endpoints[id];
  const client = ep.plan.client;
  // The real client dials https on the TLS port, http on the plain port where there is one.
  const realPort =
    client.kind === 'http' && client.scheme === 'http' && ep.target.plainPort !== undefined
      ? ep.target.plainPort
      : ep.target.port;
  return runRealClient(client, {
    address: ep.target.address,
    port: realPort,
    serverName: ep.target.serverName,
    timeoutMs,
  }).catch((e: unknown) => ({ client: client.client, accepted: false, detail: errorText(e) }));
}

/**
 * Probes one lab path, its real client included: the client calls alongside the probe, or its
 * outcome is given (a capture run calls the real clients first, see capture.ts).
 */
export function probeLabPath(
  lab: Lab,
  id: PathId,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  realOutcome?: RealClientOutcome,
): Promise<ActivePathEvidence> {
  const ep = lab.endpoints[id];
  return probeTarget(ep.target, lab.scenario.expected[id], ep.creds, {
    timeoutMs,
    path: id,
    realClient: () => (realOutcome ? Promise.resolve(realOutcome) : runLabRealClient(lab, id, timeoutMs)),
  });
}

/**
 * Starts the lab, probes every path, judges, stops: one profile's result. With `capture`, the
 * real clients first run alone under tcpdump (passive evidence), then the probes run.
 */
export async function runLab(
  scenario: Scenario,
  opts: LabOptions & JudgeOptions = {},
): Promise<ProfileResult> {
  const started = performance.now();
  const lab = await startLab(scenario, opts);
  const evidence: Partial<Record<PathId, PathEvidence>> = {};
  let capture: CaptureSummary | undefined;
  try {
    let outcomes: Partial<Record<PathId, RealClientOutcome>> = {};
    if (opts.capture) {
      const c = await captureRealClients(lab, opts.capture, async () =>
        Object.fromEntries(
          await Promise.all(
            PATH_IDS.map(async (id) => [id, await runLabRealClient(lab, id, opts.timeoutMs)] as const),
          ),
        ),
      );
      outcomes = c.result;
      capture = c.summary;
      for (const id of PATH_IDS) evidence[id] = { passive: c.passive[id] };
    }
    const active = await Promise.all(
      PATH_IDS.map((id) => probeLabPath(lab, id, opts.timeoutMs, outcomes[id])),
    );
    for (const [i, id] of PATH_IDS.entries()) evidence[id] = { ...evidence[id], active: active[i]! };
  } finally {
    await lab.stop();
  }
  return profileResult(scenario, evidence, {
    source: 'lab',
    durationMs: performance.now() - started,
    notes: lab.notes,
    ...(lab.mutation ? { mutation: lab.mutation } : {}),
    ...(opts.passiveJudge ? { passiveJudge: opts.passiveJudge } : {}),
    ...(capture ? { capture } : {}),
  });
}
