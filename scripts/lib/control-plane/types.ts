// The control-plane run's public types: what runs, and the handle the harness drives it with.
import { CouldNotRunError } from '../../../scenarios/errors.ts';
import type { KubeObject } from '../k8s/types.ts';

/** One program of the run, for the report's `components` list. */
export interface Component {
  readonly name: string;
  readonly version: string;
  /** `built from <module>@<version>`, `Debian package`, or `stand-in`. */
  readonly source: string;
}

export interface ControlPlaneOptions {
  /** Where certificates, etcd data, logs and the state file live (default: see defaultStateDir). */
  readonly stateDir?: string;
  readonly log: (line: string) => void;
  /** Aborting stops every process that was started (unless the caller keeps them afterwards). */
  readonly signal?: AbortSignal;
  /** Build kubectl too (default true; the harness's kubectl and helm steps use it). */
  readonly withKubectl?: boolean;
  /** Seconds to wait for each component to become ready (default 120). */
  readonly readyTimeoutSec?: number;
}

export interface ControlPlane {
  /** Admin kubeconfig for the harness (client-node, kubectl, helm). */
  readonly kubeconfig: string;
  readonly stateDir: string;
  /** https://127.0.0.1:<port> of the kube-apiserver. */
  readonly server: string;
  /** What runs now, with versions and sources. */
  components(): Component[];
  /**
   * cert-manager's CRDs and manifests for this control plane, rendered with `helm` from the pinned
   * module's own chart (the webhook configurations point at the loopback webhook). Apply them
   * (KubeClient.applyAll), then call startCertManager().
   */
  certManagerManifests(helm: string): Promise<KubeObject[]>;
  /**
   * The real cert-manager controller, webhook and cainjector as local processes. Call it after the
   * cert-manager CRDs and manifests are applied (see certManagerManifests); it points the webhook
   * configurations at the loopback webhook and waits until the webhook answers.
   */
  startCertManager(): Promise<void>;
  /** Stops every process and removes temporary folders; throws listing what it could not clean. */
  stop(): Promise<void>;
}

/** The control plane could not run (a build failed, a port is taken, a component never got ready): exit 3. */
export class ControlPlaneError extends CouldNotRunError {
  readonly exitCode = 3;
}
