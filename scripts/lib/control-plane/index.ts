// The control-plane run's one entry: real etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok and cert-manager as local processes on 127.0.0.1, built from the project's
// Go modules (tools/upstream/). See README.md "Control plane without Docker".
export { BUILD_ORDER, type BuildOptions, type BuiltPrograms, buildComponents, cacheHome } from './build.ts';
export { defaultStateDir, downKept, keep, startControlPlane } from './start.ts';
export type { Component, ControlPlane, ControlPlaneOptions } from './types.ts';
export { ControlPlaneError } from './types.ts';
