// npm run bench:control-plane: how long the control-plane run's own parts take on this machine.
//   build        building every upstream program (cached: seconds; --cold: from an empty Go
//                build cache and an empty binary cache, the first run on a fresh machine
//                except for module downloads, which --cold leaves in the module cache)
//   start        a warm start: etcd, kube-apiserver, controller-manager, scheduler, kwok ready
//   cert-manager its manifests applied, controller/webhook/cainjector started, webhook answering
//   stop         everything stopped and cleaned
//   --json       machine-readable output
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';
import { buildComponents, startControlPlane } from './lib/control-plane/index.ts';
import { KubeClient } from './lib/k8s/client.ts';
import { certManagerApiGate } from './lib/k8s/gates.ts';
import { testHelm } from './lib/tools/test-helm.ts';

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    cold: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const cold = Boolean(values.cold);
  const json = Boolean(values.json);
  const say = (l: string) => {
    if (!json) process.stdout.write(`${l}\n`);
  };
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await f();
    seconds[name] = Math.round((performance.now() - t) / 100) / 10;
    say(`${name}: ${seconds[name]} s`);
    return r;
  };
  const scratch = await mkdtemp(join(tmpdir(), 'bench-control-plane-'));
  try {
    if (cold) {
      process.env.GOCACHE = join(scratch, 'gocache');
      process.env.E2E_CACHE_HOME = join(scratch, 'cache');
    }
    await timed('build', () => buildComponents(say));
    const helm = await testHelm();
    const cp = await timed('start', () => startControlPlane({ log: say, stateDir: join(scratch, 'state') }));
    try {
      await timed('cert-manager', async () => {
        const client = KubeClient.fromKubeconfig(cp.kubeconfig);
        await client.applyAll(await cp.certManagerManifests(helm));
        await cp.startCertManager();
        await certManagerApiGate(client, { timeoutMs: 120_000 });
      });
    } finally {
      await timed('stop', () => cp.stop());
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memGiB: Math.round(totalmem() / 2 ** 30),
  };
  if (json) process.stdout.write(`${JSON.stringify({ cold, seconds, machine }, null, 2)}\n`);
  else
    say(
      `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB${cold ? '; cold build' : ''}`,
    );
  return 0;
}

await runMain(main);
