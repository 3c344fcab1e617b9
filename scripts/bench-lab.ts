// npm run bench:lab: how long the full lab matrix takes (every profile, every path, every check,
// real clients included) and the median latency of a probe per protocol.
//   --iterations <n>  matrix runs after one warm-up run (default 3)
//   --json            machine-readable output

import { UsageError } from '../scenarios/errors.ts';
import { buildScenario, PROFILE_NAMES } from '../scenarios/index.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';
import { runLab, startLab } from './lib/lab/lab.ts';
import { MUTATION_NAMES } from './lib/lab/mutations.ts';
import { grpcCall } from './lib/probe/grpc.ts';
import { httpsRequest, plainHttpRequest } from './lib/probe/http.ts';
import { handshakeFacts } from './lib/probe/tls.ts';
import type { ProfileResult } from './lib/report/types.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function matrix(): Promise<{ ms: number; results: ProfileResult[] }> {
  const t = performance.now();
  const results: ProfileResult[] = [];
  for (const profile of PROFILE_NAMES) results.push(await runLab(buildScenario({ profile })));
  return { ms: performance.now() - t, results };
}

async function timed(n: number, f: () => Promise<unknown>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    iterations: { type: 'string' },
    json: { type: 'boolean' },
  });
  const iterations = values.iterations ? Number(values.iterations) : 3;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 50) {
    throw new UsageError(`--iterations must be 1-50 (got '${values.iterations}')`, 'e.g. --iterations 3');
  }
  await matrix(); // warm-up: module loading and JIT are not the lab's cost
  const runs: number[] = [];
  const pathProbes = new Map<string, number[]>();
  let failures = 0;
  for (let i = 0; i < iterations; i++) {
    const { ms, results } = await matrix();
    runs.push(ms);
    for (const r of results) {
      for (const v of r.verdicts) {
        if (!v.ok) failures++;
        const a = v.evidence.active;
        if (!a) continue;
        const kind = `${a.target.protocol === 'grpc' ? 'gRPC' : 'HTTP'} path, ${v.expected.state === 'plain' ? 'plaintext' : v.expected.state}`;
        pathProbes.set(kind, [...(pathProbes.get(kind) ?? []), a.durationMs]);
      }
    }
  }
  // The whole mutation set once (each flaw on its default path).
  const tm = performance.now();
  for (const m of MUTATION_NAMES) {
    await runLab(buildScenario({ profile: m === 'tls-where-plain' ? 'grpc-mtls' : 'full-mtls' }), {
      mutate: m,
    });
  }
  const mutationsMs = performance.now() - tm;

  // Single exchanges per protocol against running labs.
  const plain = await startLab(buildScenario({ profile: 'plain' }));
  const full = await startLab(buildScenario({ profile: 'full-mtls' }));
  const ops: Record<string, number> = {};
  try {
    const n = 50;
    const pe = plain.endpoints;
    const fe = full.endpoints;
    const g = (ep: (typeof fe)['api->engine'], mtls: boolean) => () =>
      grpcCall({
        address: ep.target.address,
        port: ep.target.port,
        serverName: ep.target.serverName,
        credentials: mtls
          ? { kind: 'tls', ca: ep.creds.ca, clientCert: ep.creds.clientCert, verify: true }
          : { kind: 'insecure' },
      });
    ops['gRPC call, plaintext'] = await timed(n, g(pe['api->engine'], false));
    ops['gRPC call, mTLS (new connection)'] = await timed(n, g(fe['api->engine'], true));
    const h = fe['engine->pod'].target;
    ops['HTTPS request (h2, new connection)'] = await timed(n, () =>
      httpsRequest({
        address: h.address,
        port: h.port,
        serverName: h.serverName,
        ca: fe['engine->pod'].creds.ca,
        verify: true,
        request: {},
      }),
    );
    const p = pe['ingress->api'].target;
    ops['HTTP/1.1 request, plaintext'] = await timed(n, () =>
      plainHttpRequest({ address: p.address, port: p.port, request: { host: p.serverName } }),
    );
    const t = fe['api->engine'].target;
    ops['TLS handshake + certificate facts'] = await timed(n, async () =>
      (
        await handshakeFacts({
          address: t.address,
          port: t.port,
          serverName: t.serverName,
          ca: fe['api->engine'].creds.ca,
          clientCert: fe['api->engine'].creds.clientCert,
        })
      ).socket?.destroy(),
    );
  } finally {
    await plain.stop();
    await full.stop();
  }
  const out = {
    matrix: {
      profiles: PROFILE_NAMES.length,
      paths: PROFILE_NAMES.length * 10,
      iterations,
      medianMs: Math.round(median(runs)),
      runsMs: runs.map(Math.round),
      failedVerdicts: failures,
    },
    mutationSetMs: Math.round(mutationsMs),
    medianPathProbeMs: Object.fromEntries([...pathProbes].map(([k, xs]) => [k, Math.round(median(xs))])),
    medianExchangeMs: Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, Number(v.toFixed(2))])),
    node: process.version,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else {
    const lines = [
      `Lab matrix (${out.matrix.profiles} profiles, ${out.matrix.paths} paths, every check and real client):`,
      `  median ${out.matrix.medianMs} ms over ${iterations} run(s) [${out.matrix.runsMs.join(', ')} ms]${failures ? `; ${failures} verdicts FAILED` : ''}`,
      `Mutation set (${MUTATION_NAMES.length} flaws, one lab each): ${out.mutationSetMs} ms`,
      'Median probe of one path (all its dials, in parallel with the other paths):',
      ...Object.entries(out.medianPathProbeMs).map(([k, v]) => `  ${k.padEnd(26)} ${v} ms`),
      'Median single exchange (sequential, loopback):',
      ...Object.entries(out.medianExchangeMs).map(([k, v]) => `  ${k.padEnd(36)} ${v} ms`),
      `(${out.node})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return failures ? 1 : 0;
}

await runMain(main);
