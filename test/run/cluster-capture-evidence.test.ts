// The cluster run's passive evidence from a node capture (crafted here: a kind node cannot run on
// this machine): pod addresses tell apart the two clients of a shared port, host traffic on the
// Envoy NodePort counts for client->ingress, Postgres is exempt, and a plaintext flow on a TLS
// path fails it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageOverrides } from '../../kind/images.ts';
import { buildScenario } from '../../scenarios/index.ts';
import {
  clientHello,
  type Endpoint,
  pcapFile,
  records,
  serverHello,
  TcpConversation,
  tlsRecord,
} from '../../scripts/lib/capture/craft.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { nodeCapture } from '../../scripts/lib/cluster/kind.ts';
import { clusterPaths } from '../../scripts/lib/preflight/index.ts';
import type { RunContext } from '../../scripts/lib/run/context.ts';
import { scenarioResult } from '../../scripts/lib/run/report-step.ts';
import { evidenceActions, evidenceOf } from '../../scripts/lib/run/steps-evidence.ts';

const ip = (last: number) => `10.244.0.${last}`;
const ep = (host: string, port: number): Endpoint => ({ ip: host, port });

function tlsFlow(c: Endpoint, s: Endpoint, sni: string): Buffer[] {
  return new TcpConversation(c, s)
    .handshake()
    .send('c', clientHello({ sni, alpn: ['h2'] }))
    .send('s', serverHello())
    .send('c', tlsRecord(23, Buffer.alloc(64, 7)))
    .send('s', tlsRecord(23, Buffer.alloc(64, 9)))
    .close().packets;
}
function plainFlow(c: Endpoint, s: Endpoint, req: string, res: string): Buffer[] {
  return new TcpConversation(c, s).handshake().send('c', Buffer.from(req)).send('s', Buffer.from(res)).close()
    .packets;
}

async function stopWith(packets: Buffer[], profile: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-pcap-'));
  const pcap = join(dir, 'capture.pcap');
  writeFileSync(pcap, pcapFile(records(packets)));
  const scenario = buildScenario({ profile });
  const run = { scenario, evidence: {}, notes: [] as string[] };
  const ctx = {
    opts: parseE2eArgs(['--profile', profile]),
    out: dir,
    scenarios: new Map([[scenario.name, run]]),
    overrides: loadImageOverrides(),
    paths: clusterPaths('direktiv-tls'),
    imageDigests: {},
  } as unknown as RunContext;
  const ev = evidenceOf(run);
  ev.pcap = pcap;
  // The node capture's stop() is the only cluster part: stand in for it with tcpdump's counts.
  ev.capture = nodeCapture(
    ctx,
    run,
    {
      stop: async () => ({ file: pcap, stderr: '', captured: packets.length, droppedByKernel: 0 }),
      cleanup: async () => {},
      listening: undefined,
    } as never,
    pcap,
  );
  ev.addresses = {
    [ip(10)]: 'api',
    [ip(11)]: 'engine',
    [ip(12)]: 'functions',
    [ip(13)]: 'sidecar',
    [ip(14)]: 'envoy-external',
  };
  const step = {
    id: `${scenario.name}/capture.stop`,
    phase: 'capture' as const,
    title: '',
    commands: [],
    scenario: scenario.name,
  };
  const notes: string[] = [];
  await evidenceActions['capture.stop']!(ctx, step, {
    signal: new AbortController().signal,
    onCleanup: () => {},
    note: (l) => notes.push(l),
  });
  return { run, ev, result: scenarioResult(run, 0) };
}

test('grpc-tls: shared port 5555 split by pod address, NodePort host traffic, Postgres exempt', async () => {
  const { ev, result } = await stopWith(
    [
      ...tlsFlow(ep(ip(10), 40001), ep(ip(12), 5555), 'direktiv-functions-hl.default'),
      ...tlsFlow(ep(ip(11), 40002), ep(ip(12), 5555), 'direktiv-functions-hl.default'),
      ...tlsFlow(ep('172.18.0.1', 40003), ep('172.18.0.2', 31443), 'direktiv.tls.test'),
      ...plainFlow(ep(ip(11), 40004), ep(ip(20), 5432), '\x00\x00\x00\x08\x04\xd2\x16\x2f', 'N'),
    ],
    'grpc-tls',
  );
  assert.is(ev.passive?.['api->functions']?.tlsFlows, 1);
  assert.is(ev.passive?.['engine->functions']?.tlsFlows, 1);
  assert.is(ev.passive?.['client->ingress']?.tlsFlows, 1);
  assert.is(
    ev.captureSummary?.exempt.reduce((n, e) => n + e.flows.length, 0),
    1,
  );
  const v = (p: string) => result.verdicts.find((x) => x.path === p)!;
  assert.ok(v('api->functions').judgements.find((j) => j.kind === 'passive')?.ok);
  assert.ok(result.capture?.driver.includes('tcpdump -i any'));
});

test('a plaintext gRPC flow on a TLS path fails that path on passive evidence', async () => {
  const { result } = await stopWith(
    [
      ...plainFlow(
        ep(ip(13), 40010),
        ep(ip(11), 7777),
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        '\x00\x00\x00\x04\x00\x00\x00\x00\x00',
      ),
      ...tlsFlow(ep(ip(10), 40011), ep(ip(11), 6666), 'direktiv-ingress-hl.default'),
    ],
    'grpc-tls',
  );
  const sidecar = result.verdicts.find((x) => x.path === 'sidecar->engine')!;
  assert.is(sidecar.status, 'fail');
  assert.match(sidecar.reason, /plaintext/i);
  const api = result.verdicts.find((x) => x.path === 'api->engine')!;
  assert.ok(api.judgements.find((j) => j.kind === 'passive')?.ok, api.reason);
});

test.run();
