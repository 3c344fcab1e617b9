// The state file of a kept control plane: what `--down` must stop and check (pids, ports, folders).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessRecord } from './processes.ts';

export interface KeptState {
  server: string;
  kubeconfig: string;
  processes: ProcessRecord[];
  tempDirs: string[];
  keptAt: string;
}

const file = (stateDir: string) => join(stateDir, 'kept.json');

export async function writeState(stateDir: string, st: KeptState): Promise<void> {
  await writeFile(file(stateDir), `${JSON.stringify(st, null, 2)}\n`, { mode: 0o600 });
}

export async function readState(stateDir: string): Promise<KeptState | undefined> {
  try {
    return JSON.parse(await readFile(file(stateDir), 'utf8')) as KeptState;
  } catch {
    return undefined;
  }
}

export async function removeState(stateDir: string): Promise<void> {
  await rm(file(stateDir), { force: true });
}
