import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkDocker,
  checkDockerVersion,
  checkMemory,
  PreflightError,
} from '../../scripts/lib/preflight/index.ts';
import { dockerInfoJson, fakeRunner, GiB } from './helpers/fake-runner.ts';

async function preflightError(p: Promise<unknown> | (() => unknown)): Promise<PreflightError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.instance(e, PreflightError);
    return e as PreflightError;
  }
  throw new Error('expected a PreflightError');
}

test('no Docker (fake runner): "Cannot connect to the Docker daemon" becomes a clear message naming --dry-run and the lab', async () => {
  // What docker 28 prints without a daemon: exit 1, empty JSON on stdout, the reason on stderr.
  const runner = fakeRunner([
    [
      'docker info',
      {
        exitCode: 1,
        stdout: '{"ID":"","ServerVersion":"","MemTotal":0,"DriverStatus":null}\n',
        stderr:
          'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
      },
    ],
  ]);
  const e = await preflightError(checkDocker(runner));
  assert.is(e.check, 'docker');
  assert.is(
    e.message,
    'Docker is not reachable: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
  );
  assert.is(
    e.hint,
    'Start Docker, or use --dry-run to see the plan, or `npm run lab` to run the assertion suite without a cluster.',
  );
  assert.equal(runner.lines(), ['docker info --format {{json .}}']);
});

test('Docker not installed (fake runner: ENOENT) says so', async () => {
  const e = await preflightError(
    checkDocker(fakeRunner([['docker info', { exitCode: -1, notFound: true }]])),
  );
  assert.match(e.message, 'Docker is not installed');
  assert.match(e.hint, '--dry-run');
});

test('a healthy daemon (fake runner) is parsed: version, memory, classic image store', async () => {
  const info = await checkDocker(fakeRunner([['docker info', { stdout: dockerInfoJson() }]]));
  assert.is(info.serverVersion, '28.2.2');
  assert.is(info.memTotalBytes, 16 * GiB);
  assert.is(info.containerdImageStore, false);
  assert.is(info.rootless, false);
});

test('containerd image store (Docker 29 default) is detected from DriverStatus driver-type (fake runner)', async () => {
  const info = await checkDocker(
    fakeRunner([
      [
        'docker info',
        {
          stdout: dockerInfoJson({
            ServerVersion: '29.0.1',
            Driver: 'overlayfs',
            DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
            SecurityOptions: ['name=seccomp,profile=builtin', 'name=rootless', 'name=cgroupns'],
          }),
        },
      ],
    ]),
  );
  assert.is(info.containerdImageStore, true);
  assert.is(info.rootless, true);
});

test('too little memory names what Docker has, the minimum, and where to change it', async () => {
  const info = await checkDocker(
    fakeRunner([['docker info', { stdout: dockerInfoJson({ MemTotal: 3.8 * GiB }) }]]),
  );
  const e = await preflightError(() => checkMemory(info));
  assert.is(e.check, 'memory');
  assert.match(e.message, 'Docker has 3.8 GiB of memory; a run needs at least 6 GiB');
  assert.match(e.hint, 'Settings → Resources → Memory');
  checkMemory(info, 2 * GiB); // a lower minimum passes
});

test('Docker older than 20.10 is refused (kind >= v0.20 needs it)', async () => {
  const info = await checkDocker(
    fakeRunner([['docker info', { stdout: dockerInfoJson({ ServerVersion: '19.03.15' }) }]]),
  );
  const e = await preflightError(() => checkDockerVersion(info));
  assert.match(e.message, 'Docker 19.03.15 is too old: kind v0.22.0 needs Docker 20.10 or newer');
});

test.run();
