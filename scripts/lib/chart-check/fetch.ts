// The pinned Direktiv chart (or another ref) for chart-check: a shallow clone of the Direktiv
// repository into the same cache folder the e2e plan uses (.cache/direktiv/<ref>), reused when
// present. The pinned ref is verified against the pinned commit, so a moved tag is caught.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { direktivPin } from '../../../kind/versions.ts';
import { CouldNotRunError } from '../../../scenarios/errors.ts';
import { chartSource } from '../plan/build.ts';
import { projectRoot } from '../tools/fsutil.ts';

export interface FetchOptions {
  /** A tag, a branch or a full commit sha. */
  ref: string;
  /** Default: the pinned repository (kind/versions.ts). Tests pass a local repository. */
  repository?: string;
  /** The commit the ref must resolve to; default: the pinned commit when ref is the pinned ref. */
  expectCommit?: string;
  /** Project root the `.cache/` folder lives in. */
  root?: string;
}

export interface FetchedChart {
  ref: string;
  commit: string;
  checkout: string;
  /** The Direktiv chart directory inside the checkout. */
  chartDir: string;
  /** Whether this call cloned (false: the cached checkout was reused). */
  cloned: boolean;
}

/** The chart could not be fetched (git missing, the network, a moved ref): exit 3. */
export class FetchError extends CouldNotRunError {}

function git(args: string[], cwd?: string): Promise<string> {
  return new Promise((ok, fail) => {
    execFile('git', args, { cwd, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return ok(stdout.trim());
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        fail(new FetchError('git is not installed', 'install git, or give the chart with --against <dir>'));
      } else {
        fail(
          new FetchError(`git ${args[0]} failed: ${(stderr || err.message).trim().split('\n').pop()}`, ''),
        );
      }
    });
  });
}

/** Fetches (or reuses) the Direktiv charts at `ref` and returns the Direktiv chart directory. */
export async function fetchDirektivChart(o: FetchOptions): Promise<FetchedChart> {
  const root = o.root ?? projectRoot;
  const repository = o.repository ?? direktivPin.repository;
  const expect = o.expectCommit ?? (o.ref === direktivPin.ref ? direktivPin.commit : undefined);
  const src = chartSource({ chart: null, direktivRef: o.ref });
  const checkout = resolve(root, src.checkout);
  const chartDir = join(checkout, direktivPin.charts.direktiv);
  const verify = async (dir: string) => {
    const commit = await git(['rev-parse', 'HEAD'], dir);
    if (expect && commit !== expect) {
      throw new FetchError(
        `${repository} ${o.ref} is commit ${commit}, the pin says ${expect}`,
        'the ref moved upstream: check it and update kind/versions.ts, or remove the cached checkout',
      );
    }
    return commit;
  };
  if (existsSync(join(chartDir, 'Chart.yaml'))) {
    return { ref: o.ref, commit: await verify(checkout), checkout, chartDir, cloned: false };
  }
  // Clone beside the target and rename: a half-finished clone never looks like a cache hit.
  const tmp = `${checkout}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(dirname(checkout), { recursive: true });
  try {
    try {
      if (/^[0-9a-f]{40}$/.test(o.ref)) {
        // A commit: `clone --branch` takes only branches and tags; GitHub serves a fetch by sha.
        await git(['init', '--quiet', tmp]);
        await git(['fetch', '--quiet', '--depth', '1', repository, o.ref], tmp);
        await git(['checkout', '--quiet', 'FETCH_HEAD'], tmp);
      } else {
        await git(['clone', '--quiet', '--depth', '1', '--branch', o.ref, repository, tmp]);
      }
    } catch (e) {
      const err = e as FetchError;
      throw new FetchError(
        `cannot fetch Direktiv ${o.ref} from ${repository}: ${err.message}`,
        err.hint || 'check the ref and your network, or give a chart directory with --against <dir>',
      );
    }
    if (!existsSync(join(tmp, direktivPin.charts.direktiv, 'Chart.yaml'))) {
      throw new FetchError(
        `Direktiv ${o.ref} has no chart at ${direktivPin.charts.direktiv}`,
        'the v0.4.x layout keeps the chart in kubernetes/charts/direktiv; give a chart directory with --chart',
      );
    }
    const commit = await verify(tmp);
    await rm(checkout, { recursive: true, force: true });
    await rename(tmp, checkout);
    return { ref: o.ref, commit, checkout, chartDir, cloned: true };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
