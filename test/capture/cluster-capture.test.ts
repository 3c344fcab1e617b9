// The cluster capture driver. NOT exercised here: a real kind node and a real kubectl (no Docker
// on this project's machines). Exercised: the pod manifest, every kubectl command line, the
// "listening on" gate and the stop sequence through an injected runner (including failures), and
// the whole driver against a stand-in kubectl that runs the pod's command on THIS machine, so the
// in-pod script, the real tcpdump, the pcap stream over stdout, SIGINT by PID and the flush are real.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCaptureFile } from '../../scripts/lib/capture/analyze.ts';
import {
  CAPTURE_IMAGE,
  ClusterCapture,
  ClusterCaptureError,
  type ClusterCaptureOptions,
  captureManifest,
  kubectlCommands,
  PID_FILE,
  type ProcessRunner,
  podCaptureScript,
  type RunResult,
  shQuote,
} from '../../scripts/lib/capture/cluster-capture.ts';
import { pcapFile, records, TcpConversation } from '../../scripts/lib/capture/craft.ts';
import { parseStats, parseTcpdumpLine, TcpdumpError } from '../../scripts/lib/capture/tcpdump.ts';

const dir = mkdtempSync(join(tmpdir(), 'cluster-capture-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const base: ClusterCaptureOptions = {
  node: 'direktiv-control-plane',
  outFile: join(dir, 'node.pcap'),
  kubeconfig: '/tmp/kc',
  context: 'kind-direktiv',
};

test('manifest: privileged host-network pod pinned to the node, image pinned by digest', () => {
  const m = captureManifest(base) as {
    metadata: { name: string; namespace: string };
    spec: {
      nodeName: string;
      hostNetwork: boolean;
      restartPolicy: string;
      tolerations: unknown[];
      containers: Array<{ image: string; command: string[]; securityContext: { privileged: boolean } }>;
    };
  };
  assert.is(m.metadata.name, 'tls-e2e-capture');
  assert.is(m.metadata.namespace, 'kube-system');
  assert.is(m.spec.nodeName, 'direktiv-control-plane');
  assert.is(m.spec.hostNetwork, true);
  assert.is(m.spec.restartPolicy, 'Never');
  assert.equal(m.spec.tolerations, [{ operator: 'Exists' }]);
  const c = m.spec.containers[0]!;
  assert.is(c.image, CAPTURE_IMAGE);
  assert.match(CAPTURE_IMAGE, /^docker\.io\/nicolaka\/netshoot:v[\d.]+@sha256:[0-9a-f]{64}$/);
  assert.is(c.securityContext.privileged, true);
  assert.equal(c.command, ['sleep', 'infinity'], 'tcpdump starts only when the driver execs it');
});

test('kubectl command lines: kubeconfig/context/namespace on each, tcpdump to stdout, stop by PID', () => {
  const c = kubectlCommands({ ...base, filter: "tcp and not port 22 and host '10.0.0.1'" });
  const pre = ['--kubeconfig', '/tmp/kc', '--context', 'kind-direktiv', '-n', 'kube-system'];
  for (const args of Object.values(c)) assert.equal(args.slice(0, 6), pre);
  assert.equal(c.apply.slice(6), ['apply', '-f', '-']);
  assert.equal(c.wait.slice(6), ['wait', '--for=condition=Ready', 'pod/tls-e2e-capture', '--timeout=120s']);
  assert.equal(c.exec.slice(6, 12), ['exec', 'tls-e2e-capture', '-c', 'tcpdump', '--', 'sh']);
  assert.is(
    c.exec[13],
    `echo $$ > '${PID_FILE}' && exec tcpdump '-i' 'any' '-U' '--immediate-mode' '-n' '-B' '32768' '-w' '-' '-s' '65600' 'tcp and not port 22 and host '\\''10.0.0.1'\\'''`,
  );
  assert.is(c.stop[13], `kill -INT "$(cat '${PID_FILE}')"`);
  assert.not.match(c.stop.join(' '), /pkill|killall/);
  assert.equal(c.delete.slice(6), ['delete', 'pod', 'tls-e2e-capture', '--ignore-not-found', '--wait=false']);
  assert.is(shQuote("it's"), `'it'\\''s'`);
  assert.match(podCaptureScript({ ...base, snaplen: 200 }), "'-s' '200'");
});

test('tcpdump stderr parser: listening lines of 4.9 and 4.99, stats, permission, errors', () => {
  assert.equal(
    parseTcpdumpLine(
      'tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes',
    ),
    {
      kind: 'listening',
      iface: 'any',
      linkType: 'LINUX_SLL2',
      linkTypeName: 'Linux cooked v2',
      snaplen: 262144,
    },
  );
  assert.equal(
    parseTcpdumpLine('listening on eth0, link-type EN10MB (Ethernet), capture size 262144 bytes'),
    {
      kind: 'listening',
      iface: 'eth0',
      linkType: 'EN10MB',
      linkTypeName: 'Ethernet',
      snaplen: 262144,
    },
  );
  assert.is(parseTcpdumpLine('tcpdump: data link type LINUX_SLL2').kind, 'info');
  assert.is(
    parseTcpdumpLine("tcpdump: eth0: You don't have permission to perform this capture on that device").kind,
    'permission',
  );
  assert.equal(parseTcpdumpLine('tcpdump: nosuch0: No such device exists'), {
    kind: 'error',
    text: 'nosuch0: No such device exists',
  });
  assert.equal(
    parseStats('12 packets captured\n14 packets received by filter\n2 packets dropped by kernel\n'),
    {
      captured: 12,
      receivedByFilter: 14,
      droppedByKernel: 2,
    },
  );
});

/** A scripted kubectl: records every call; `exec` replays lines and bytes like a real stream. */
class ScriptedRunner implements ProcessRunner {
  calls: Array<{ args: string[]; input?: string }> = [];
  fail: Partial<Record<string, RunResult>> = {};
  execStderr: string[] = [
    'tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes',
  ];
  execExitBeforeListening: number | null = null;
  pcap: Buffer = Buffer.alloc(0);
  private exit: ((code: number) => void) | null = null;
  private lines: Array<(l: string) => void> = [];
  killed: string[] = [];

  async run(_cmd: string, args: string[], opts: { input?: string } = {}): Promise<RunResult> {
    this.calls.push({ args, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    const verb = args[6]!;
    const failed = this.fail[verb];
    if (failed) return failed;
    if (verb === 'exec' && args.at(-1)!.startsWith('kill -INT')) {
      // SIGINT reaches tcpdump: it prints its counts and exits, which ends the exec stream.
      setTimeout(() => {
        for (const l of [
          '3 packets captured',
          '3 packets received by filter',
          '0 packets dropped by kernel',
        ]) {
          for (const cb of this.lines) cb(l);
        }
        this.exit?.(0);
      }, 5);
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  stream(_cmd: string, args: string[], stdoutFile: string) {
    this.calls.push({ args: [...args, `> ${stdoutFile}`] });
    writeFileSync(stdoutFile, this.pcap);
    const exited = new Promise<number | null>((r) => {
      this.exit = r;
    });
    setTimeout(() => {
      for (const l of this.execStderr) for (const cb of this.lines) cb(l);
      if (this.execExitBeforeListening !== null) this.exit?.(this.execExitBeforeListening);
    }, 5);
    return {
      onStderrLine: (cb: (l: string) => void) => {
        this.lines.push(cb);
      },
      exited,
      kill: (signal: NodeJS.Signals) => {
        this.killed.push(signal);
        this.exit?.(137);
      },
    };
  }

  verbs(): string[] {
    return this.calls.map((c) => (c.args.at(-1)?.startsWith('kill -INT') ? 'exec:stop' : c.args[6]!));
  }
}

test('start/stop sequence through an injected runner: apply, wait Ready, exec, listening, SIGINT by PID, stream end, delete', async () => {
  const r = new ScriptedRunner();
  const conv = new TcpConversation({ ip: '10.244.0.5', port: 40000 }, { ip: '10.244.0.6', port: 6666 })
    .handshake()
    .send('c', Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  r.pcap = pcapFile(records(conv.packets, 276), { linkType: 276 });
  const cap = new ClusterCapture(base, r);
  await cap.start();
  assert.is(cap.listening?.linkType, 'LINUX_SLL2');
  assert.equal(r.verbs(), ['apply', 'wait', 'exec']);
  assert.equal(
    JSON.parse(r.calls[0]!.input!),
    captureManifest(base),
    'the manifest goes to kubectl apply on stdin',
  );
  const stopped = await cap.stop();
  assert.equal(r.verbs(), ['apply', 'wait', 'exec', 'exec:stop', 'delete']);
  assert.is(stopped.captured, 3);
  assert.is(stopped.droppedByKernel, 0);
  assert.is(analyzeCaptureFile(stopped.file).flows[0]!.class, 'http1');
  assert.equal(r.killed, []);
});

test('tcpdump in the pod not permitted: a permission error, and the pod is deleted', async () => {
  const r = new ScriptedRunner();
  r.execStderr = [
    "tcpdump: any: You don't have permission to perform this capture on that device",
    '(socket: Operation not permitted)',
  ];
  r.execExitBeforeListening = 1;
  try {
    await new ClusterCapture(base, r).start();
    assert.unreachable('start() should fail');
  } catch (e) {
    assert.instance(e, TcpdumpError);
    assert.is((e as TcpdumpError).kind, 'permission');
  }
  assert.equal(r.verbs(), ['apply', 'wait', 'exec', 'delete']);
});

test('apply refused: kubectl says why, nothing is exec-ed; no "listening" in time: killed and deleted', async () => {
  const r = new ScriptedRunner();
  r.fail.apply = {
    code: 1,
    stdout: '',
    stderr: 'error: pods "tls-e2e-capture" is forbidden: violates PodSecurity "baseline:latest"',
  };
  try {
    await new ClusterCapture(base, r).start();
    assert.unreachable('start() should fail');
  } catch (e) {
    assert.instance(e, ClusterCaptureError);
    assert.match(
      (e as Error).message,
      'creating the capture pod failed (kubectl exit 1): error: pods "tls-e2e-capture" is forbidden',
    );
  }
  assert.equal(r.verbs(), ['apply']);
  const silent = new ScriptedRunner();
  silent.execStderr = [];
  try {
    await new ClusterCapture({ ...base, listenTimeoutMs: 50 }, silent).start();
    assert.unreachable('start() should time out');
  } catch (e) {
    assert.instance(e, TcpdumpError);
    assert.is((e as TcpdumpError).kind, 'timeout');
  }
  assert.equal(silent.killed, ['SIGKILL']);
  assert.equal(silent.verbs(), ['apply', 'wait', 'exec', 'delete']);
});

test('the whole driver against a stand-in kubectl running the pod command here: real tcpdump and stream (a live kind node is not exercised here)', async () => {
  const log = join(dir, 'kubectl.log');
  const manifest = join(dir, 'manifest.json');
  const fake = join(dir, 'kubectl');
  writeFileSync(
    fake,
    `#!/bin/sh
# stand-in kubectl: logs its arguments; "apply" stores the manifest; "exec ... -- CMD" runs CMD here.
echo "$*" >> '${log}'
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; exec "$@" ;;
    apply) cat > '${manifest}'; exit 0 ;;
  esac
  shift
done
exit 0
`,
  );
  chmodSync(fake, 0o755);
  const server = createServer((_req, res) => res.end('captured through the cluster driver'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const cap = new ClusterCapture({
    ...base,
    kubectl: fake,
    iface: 'lo',
    filter: `tcp port ${port}`,
    pidFile: join(dir, 'tcpdump.pid'),
    outFile: join(dir, 'streamed.pcap'),
    listenTimeoutMs: 10000,
  });
  try {
    await cap.start();
    const body = await new Promise<string>((done, fail) => {
      get({ host: '127.0.0.1', port, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => {
          b += d;
        });
        res.on('end', () => done(b));
      }).on('error', fail);
    });
    assert.is(body, 'captured through the cluster driver');
    await new Promise((r) => setTimeout(r, 200)); // let tcpdump see the last packets
    const stopped = await cap.stop();
    assert.ok((stopped.captured ?? 0) >= 6, `tcpdump counted ${stopped.captured} packets`);
    const a = analyzeCaptureFile(stopped.file);
    assert.equal(
      a.flows.map((f) => [f.serverPort, f.class]),
      [[port, 'http1']],
    );
    assert.is(JSON.parse(readFileSync(manifest, 'utf8')).spec.hostNetwork, true);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(
      calls.map((l) => l.split(' ')[6]),
      ['apply', 'wait', 'exec', 'exec', 'delete'],
    );
  } finally {
    await cap.cleanup();
    server.close();
  }
});

test.run();
