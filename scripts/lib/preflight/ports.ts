// Host ports for the ingress mapping: really try to bind them, as kind/Docker will.
import { createServer } from 'node:net';
import { PreflightError } from './errors.ts';

export interface HostPort {
  readonly port: number;
  /** What it is for, e.g. "the ingress HTTP mapping". */
  readonly purpose: string;
  /** The CLI option that changes it, e.g. --http-port. */
  readonly flag: string;
}

/** Resolves when 127.0.0.1:<port> can be bound; otherwise a PreflightError naming port and option. */
export function checkPortFree(p: HostPort, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(
          new PreflightError(
            'ports',
            `host port ${p.port} on ${host} (${p.purpose}) is already in use.`,
            `Stop what listens there (lsof -iTCP:${p.port} -sTCP:LISTEN) or choose another port with ${p.flag} <port>.`,
          ),
        );
      } else if (e.code === 'EACCES') {
        reject(
          new PreflightError(
            'ports',
            `not permitted to bind host port ${p.port} on ${host} (${p.purpose}).`,
            `Ports below 1024 need privileges (rootless Docker cannot bind them): choose a higher one with ${p.flag} <port>.`,
          ),
        );
      } else {
        reject(
          new PreflightError(
            'ports',
            `cannot bind ${host}:${p.port} (${p.purpose}): ${e.message}`,
            `Choose another port with ${p.flag} <port>.`,
          ),
        );
      }
    });
    srv.listen({ port: p.port, host, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** Checks every port; returns all problems (empty when all are free). */
export async function checkHostPorts(
  ports: readonly HostPort[],
  host = '127.0.0.1',
): Promise<PreflightError[]> {
  const problems: PreflightError[] = [];
  const seen = new Map<number, HostPort>();
  for (const p of ports) {
    const dup = seen.get(p.port);
    if (dup) {
      problems.push(
        new PreflightError(
          'ports',
          `${dup.flag} and ${p.flag} are both ${p.port}.`,
          'Give each a different port.',
        ),
      );
      continue;
    }
    seen.set(p.port, p);
    try {
      await checkPortFree(p, host);
    } catch (e) {
      problems.push(e as PreflightError);
    }
  }
  return problems;
}

export function ingressPorts(httpPort: number, httpsPort: number): HostPort[] {
  return [
    { port: httpPort, purpose: 'the ingress HTTP mapping to the kind node', flag: '--http-port' },
    { port: httpsPort, purpose: 'the ingress HTTPS mapping to the kind node', flag: '--https-port' },
  ];
}
