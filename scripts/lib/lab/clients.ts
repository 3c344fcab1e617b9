// The real clients of each path, configured like the Direktiv component that dials it, making a
// real call: the traffic a capture sees, and proof that the profile's configuration works end to end.
// gRPC clients follow pkg/util/grpc-util.go: mtls -> the mounted tls.crt/tls.key as client
// certificate and RootCAs = ca.crt; tls -> NewClientTLSFromFile(ca.crt); else insecure.
import { describeGrpc, grpcCall } from '../probe/grpc.ts';
import { httpsRequest, plainHttpRequest } from '../probe/http.ts';
import { errorText } from '../probe/tls.ts';
import type { AppAttempt } from '../probe/types.ts';
import type { RealClientPlan } from './topology.ts';

export interface Dial {
  address: string;
  /** The port the real client dials: TLS port, or the plain port (Envoy 80) for http://. */
  port: number;
  serverName: string;
  timeoutMs: number;
}

export async function runRealClient(
  plan: RealClientPlan,
  dial: Dial,
): Promise<AppAttempt & { client: string }> {
  const client = plan.client;
  if (plan.down) return { client, accepted: false, detail: plan.down };
  if (plan.kind === 'grpc') {
    const credentials =
      plan.mode === 'plain'
        ? ({ kind: 'insecure' } as const)
        : {
            kind: 'tls' as const,
            ca: plan.secret?.['ca.crt'],
            ...(plan.mode === 'mtls' && plan.secret
              ? { clientCert: { cert: plan.secret['tls.crt'], key: plan.secret['tls.key'] } }
              : {}),
            verify: true,
          };
    const r = await grpcCall({ ...dial, credentials });
    return { client, accepted: r.code === 0, detail: `${plan.mode} call: ${describeGrpc(r)}` };
  }
  const request = {
    method: plan.method,
    path: plan.path,
    host: dial.serverName,
    headers: plan.headers,
    ...(plan.body ? { body: plan.body } : {}),
  };
  try {
    const r =
      plan.scheme === 'https'
        ? await httpsRequest({
            address: dial.address,
            port: dial.port,
            serverName: dial.serverName,
            ca: plan.ca,
            verify: plan.verify,
            alpn: plan.alpn,
            ...(plan.minVersion ? { minVersion: plan.minVersion } : {}),
            timeoutMs: dial.timeoutMs,
            request,
          })
        : await plainHttpRequest({
            address: dial.address,
            port: dial.port,
            timeoutMs: dial.timeoutMs,
            request,
          });
    return {
      client,
      accepted: r.status >= 200 && r.status < 300,
      detail: `${plan.scheme}: ${plan.method} ${plan.path} -> ${r.statusLine} (${r.protocol})`,
    };
  } catch (e) {
    return { client, accepted: false, detail: `${plan.scheme}: ${errorText(e)}` };
  }
}
