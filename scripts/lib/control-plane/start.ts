// Starts and stops the control plane (being written: see issue 10). Until it lands, every entry
// here refuses to run instead of pretending.
import { join } from 'node:path';
import { cacheHome } from './build.ts';
import { type ControlPlane, ControlPlaneError, type ControlPlaneOptions } from './types.ts';

export function defaultStateDir(): string {
  return join(cacheHome(), 'control-plane', 'state');
}

const notYet = (what: string) =>
  new ControlPlaneError(`${what}: not implemented yet`, 'The control-plane run is being built (issue 10).');

export async function startControlPlane(_opts: ControlPlaneOptions): Promise<ControlPlane> {
  throw notYet('startControlPlane');
}

/** Records a running control plane in its state dir, so a later `downKept` can stop it. */
export async function keep(_cp: ControlPlane): Promise<void> {
  throw notYet('keep');
}

/** Stops everything a `keep` recorded and checks that no process, port, mount or temp folder is left. */
export async function downKept(_stateDir?: string): Promise<{ stopped: string[]; leftovers: string[] }> {
  throw notYet('downKept');
}
