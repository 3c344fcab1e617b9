// The Kubernetes layer of the real run: client, waits and gates, watch, port-forward, diagnostics.
export * from './client.ts';
export * from './diagnostics.ts';
export * from './errors.ts';
export * from './explain.ts';
export * from './gates.ts';
export * from './portforward.ts';
export * from './readiness.ts';
export * from './redact.ts';
export * from './types.ts';
export * from './wait.ts';
export * from './watch.ts';
