// The control-plane run's public types: what runs, and the handle the harness drives it with.
import { HintedError } from '../../../scenarios/errors.ts';

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
   * The real cert-manager controller, webhook and cainjector as local processes. Call it after the
   * cert-manager CRDs and manifests are applied (see certManagerManifests); it points the webhook
   * configurations at the loopback webhook and waits until the webhook answers.
   */
  startCertManager(): Promise<void>;
  /** Stops every process and removes temporary folders; throws listing what it could not clean. */
  stop(): Promise<void>;
}

/** The control plane could not run (a build failed, a port is taken, a component never got ready): exit 3. */
export class ControlPlaneError extends HintedError {
  readonly exitCode = 3;
}
