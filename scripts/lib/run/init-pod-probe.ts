// engine->pod cannot be dialled after the fact: the init container's server (cmd/init-pod
// init.go) listens on 8890 only until the engine's one POST. So the run starts a replica of that
// init container, configured as the functions controller configures it (pkg/functions/pod.go
// CreateFunctionsPod: the init-pod image, DIREKTIV_LIFECYCLE=init, the flow certificate and the
// functions.initPodCertificate Secret at /etc/direktiv/certs/http), and probes it. The probe must
// never send a request to `/`: that is the payload route, after which the server shuts down.

import type { ImageOverrides } from '../../../kind/images.ts';
import { useOf } from '../../../kind/images.ts';
import { direktivValues } from '../../../scenarios/direktiv-values.ts';
import type { Scenario } from '../../../scenarios/index.ts';
import type { KubeObject } from '../k8s/types.ts';

export const INIT_POD_PROBE = 'tls-e2e-init-pod-probe';
/** A path the init server does not route (gorilla/mux matches `/` exactly): 404, no shutdown. */
export const INIT_POD_PROBE_PATH = '/tls-e2e-probe';

const isSet = (v: unknown): v is string => typeof v === 'string' && v !== '' && v !== 'none';

/** The replica Pod, or null when the profile gives the init container no server certificate. */
export function initPodProbeManifest(
  s: Scenario,
  overrides: ImageOverrides,
  flowEndpoint: string,
): KubeObject {
  const v = direktivValues(s);
  const flowTls: unknown = v.flow?.certificates?.flow;
  const flowMtls: unknown = v.flow?.certificates?.mtlsFlow;
  const podCert: unknown = v.functions?.initPodCertificate;
  const volumes: Record<string, unknown>[] = [{ name: 'workdir', emptyDir: {} }];
  const mounts: Record<string, unknown>[] = [{ name: 'workdir', mountPath: '/direktiv-data' }];
  if (isSet(flowTls)) {
    volumes.push({ name: 'flowcerts', secret: { secretName: flowTls } });
    mounts.push({ name: 'flowcerts', mountPath: '/etc/direktiv/certs/flow', readOnly: true });
  }
  if (isSet(podCert)) {
    volumes.push({ name: 'podcerts', secret: { secretName: podCert } });
    mounts.push({ name: 'podcerts', mountPath: '/etc/direktiv/certs/http', readOnly: true });
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: INIT_POD_PROBE,
      namespace: s.serviceNamespace,
      // Not direktiv.io/job: the functions controller must not take it for one of its jobs.
      labels: {
        'app.kubernetes.io/name': INIT_POD_PROBE,
        'app.kubernetes.io/managed-by': 'direktiv-tls-e2e',
      },
    },
    spec: {
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      volumes,
      containers: [
        {
          name: 'init-container',
          image: useOf(overrides, 'direktiv.initPod'),
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 8890 }],
          volumeMounts: mounts,
          env: [
            { name: 'DIREKTIV_LIFECYCLE', value: 'init' },
            // initialize() in cmd/init-pod/main.go parses these before the server starts.
            { name: 'DIREKTIV_ACTIONID', value: 'tls-e2e-probe' },
            { name: 'DIREKTIV_INSTANCEID', value: 'tls-e2e/probe/000000' },
            { name: 'DIREKTIV_STEP', value: '0' },
            { name: 'DIREKTIV_NAMESPACE', value: 'tls-e2e' },
            { name: 'NO_FLUENTBIT_TCP', value: 'true' },
            { name: 'DIREKTIV_FLOW_ENDPOINT', value: flowEndpoint },
            { name: 'DIREKTIV_FLOW_TLS', value: isSet(flowTls) ? flowTls : 'none' },
            { name: 'DIREKTIV_FLOW_MTLS', value: isSet(flowMtls) ? flowMtls : 'none' },
          ],
        },
      ],
    },
  };
}
