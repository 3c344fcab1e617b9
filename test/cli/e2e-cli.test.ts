// `npm run e2e` end to end as a user runs it, in --dry-run: the plan, the --output files, the
// help, exit 2 on bad input, and exit 3 naming Docker on a machine without it (the real entry
// point with a PATH that holds no docker). (A real run needs Docker: see test/run/cluster-run.test.ts.)
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const run = promisify(execFile);

async function e2e(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'scripts/e2e.ts', ...args], {
      env: { ...process.env, ...env },
      timeout: 120_000, // generous: 5 tsx processes start at once on 2 cores
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; signal?: string; stdout: string; stderr: string };
    return { code: err.code, signal: err.signal, stdout: err.stdout, stderr: err.stderr };
  }
}

test('dry run with --output: the plan on stdout, every file it names on disk, no side effect', async () => {
  await testHelm(); // the rendering helm (cached); the official download is unreachable here
  const out = join(mkdtempSync(join(tmpdir(), 'e2e-cli-')), 'out');
  const noDockerOut = join(mkdtempSync(join(tmpdir(), 'e2e-nodocker-')), 'out');
  const [dry, bad, badFeature, help, noDocker] = await Promise.all([
    e2e(['--profile', 'full-mtls', '--namespace', 'dkv', '--dry-run', '--output', out], {
      E2E_HELM_BASE_URL: 'http://127.0.0.1:9',
    }),
    e2e(['--profile', 'ful-mtls', '--dry-run']),
    e2e(['--features', 'grpc-mtls', '--dry-run']),
    e2e(['--help']),
    // Only node on PATH: no docker, whatever this machine has installed.
    e2e(['--profile', 'plain', '--output', noDockerOut], { PATH: dirname(process.execPath) }),
  ]);
  assert.is(
    noDocker.code,
    3,
    `${noDocker.code} ${(noDocker as { signal?: string }).signal ?? ''}: ${noDocker.stderr}`,
  );
  assert.match(noDocker.stderr, 'Docker is not installed');
  assert.match(noDocker.stderr, 'https://docs.docker.com/engine/install/');
  assert.not.match(noDocker.stderr, /\bat .*\.ts:\d+/, 'no stack trace');
  assert.not.ok(existsSync(noDockerOut), 'nothing written without Docker');
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, 'Plan (nothing has been run):');
  assert.match(dry.stdout, 'full-mtls/direktiv.install');
  for (const f of [
    'plan.txt',
    'plan.json',
    'kind-cluster.yaml',
    'full-mtls/direktiv-values.yaml',
    'full-mtls/profile-values.yaml',
    'full-mtls/profile-manifests.yaml',
    'full-mtls/traffic-workflow.yaml',
  ]) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  const manifests = parseAllDocuments(
    readFileSync(join(out, 'full-mtls/profile-manifests.yaml'), 'utf8'),
  ).map(
    (d) =>
      d.toJS() as {
        kind: string;
        metadata: { name: string; namespace?: string };
        spec?: { dnsNames?: string[] };
      },
  );
  const flowInS = manifests.find(
    (m) =>
      m.kind === 'Certificate' &&
      m.metadata.name === 'direktiv-cert-flow' &&
      m.metadata.namespace === 'direktiv-services-direktiv',
  );
  assert.ok(flowInS?.spec?.dnsNames?.includes('direktiv-flow-hl.dkv'), 'SANs derived from --namespace');
  assert.ok(flowInS?.spec?.dnsNames?.includes('*.direktiv-services-direktiv.pod'));
  const values = readFileSync(join(out, 'full-mtls/direktiv-values.yaml'), 'utf8');
  assert.match(values, 'functionsProtocol: https');
  assert.not.match(values, 'PRIVATE KEY');
  rmSync(out, { recursive: true, force: true });

  assert.is(bad.code, 2);
  assert.match(bad.stderr, "unknown profile 'ful-mtls'");
  assert.match(bad.stderr, 'plain, ingress-tls, upstream-tls, grpc-tls, grpc-mtls, full-mtls');
  assert.is(badFeature.code, 2);
  assert.match(badFeature.stderr, 'grpc-mtls needs grpc-tls');
  assert.is(help.code, 0);
  for (const flag of [
    '--profile',
    '--profiles',
    '--features',
    '--mode',
    '--namespace',
    '--strict',
    '--dry-run',
    '--output',
    '--keep-on-failure',
    '--chart',
    '--direktiv-ref',
    '--replay',
  ]) {
    assert.match(help.stdout, flag);
  }
});

test.run();
