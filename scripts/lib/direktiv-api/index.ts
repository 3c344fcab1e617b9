// Direktiv v0.4.1's HTTP API: client, traffic workflow, traffic driver.
export * from './client.ts';
export * from './http.ts';
export * from './traffic.ts';
export * from './workflow.ts';
