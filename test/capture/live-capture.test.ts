// REAL traffic, made here, captured by tcpdump and classified: TLS 1.2, TLS 1.3, h2c gRPC (grpc-js),
// HTTP/1, Postgres-like bytes (SSLRequest refused, startup in clear) and HTTP over IPv6 [::1].
// Three tcpdumps record the same traffic at once: on `lo` (Ethernet frames, nanosecond
// timestamps) and on `any` as Linux cooked v2 (the default) and v1 (-y LINUX_SLL), so the reader
// is proven on what `tcpdump -i any` really writes on a kind node. Needs root and tcpdump (CI has
// both). Servers listen on port 0 and the BPF filter names their ports: other loopback traffic on
// this machine stays out.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer, get as httpGet } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Server,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCaptureFile, type FlowReport } from '../../scripts/lib/capture/analyze.ts';
import {
  INSTALL_HINT,
  type LocalCapture,
  type StoppedCapture,
  startCapture,
  TcpdumpError,
} from '../../scripts/lib/capture/tcpdump.ts';
import { selfSignedServerCert } from '../helpers/fake-tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'live-capture-'));
const closers: Array<() => void> = [];
const listen = <T extends Server | HttpServer>(s: T, host: string): Promise<number> =>
  new Promise((done, fail) => {
    s.once('error', fail);
    s.listen(0, host, () => {
      closers.push(() => s.close());
      done((s.address() as AddressInfo).port);
    });
  });

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, fail) => {
      t = setTimeout(() => fail(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

// --- servers ----------------------------------------------------------------------------------

async function tlsServer(): Promise<{ port: number; ca: string }> {
  const cert = await selfSignedServerCert({ commonName: 'localhost', dnsNames: ['localhost'] });
  const server = createTlsServer(
    { key: cert.keyPem, cert: cert.certPem, ALPNProtocols: ['probe/1'] },
    (s) => {
      s.on('data', (d) => s.end(Buffer.concat([Buffer.from('echo:'), d])));
      s.on('error', () => {});
    },
  );
  return { port: await listen(server, '127.0.0.1'), ca: cert.certPem };
}

function tlsExchange(port: number, ca: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  return bounded(
    new Promise((done, fail) => {
      const s: TLSSocket = tlsConnect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca,
        maxVersion,
        ALPNProtocols: ['probe/1'],
      });
      let got = '';
      s.on('secureConnect', () => s.write(`hello over ${maxVersion}`));
      s.on('data', (d) => {
        got += d;
      });
      s.on('end', () => {
        s.end();
        done(`${s.getProtocol()} ${got}`);
      });
      s.on('error', fail);
    }),
    5000,
    `TLS ${maxVersion}`,
  );
}

/** A TLS server that echoes every chunk and keeps the connection open (for a long-lived flow). */
async function tlsKeepOpenServer(): Promise<{ port: number; ca: string }> {
  const cert = await selfSignedServerCert({ commonName: 'localhost', dnsNames: ['localhost'] });
  const server = createTlsServer({ key: cert.keyPem, cert: cert.certPem }, (s) => {
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  return { port: await listen(server, '127.0.0.1'), ca: cert.certPem };
}

/** A TLS connection opened now; `say` sends a line and waits for its echo. */
function openTls(
  port: number,
  ca: string,
): Promise<{ say: (m: string) => Promise<string>; close: () => void }> {
  return bounded(
    new Promise((done, fail) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca });
      s.on('error', fail);
      s.on('secureConnect', () =>
        done({
          say: (m) =>
            bounded(
              new Promise((got) => {
                s.once('data', (d) => got(d.toString()));
                s.write(m);
              }),
              5000,
              'TLS echo',
            ),
          close: () => s.end(),
        }),
      );
    }),
    5000,
    'TLS connect',
  );
}

const identity = (b: Buffer) => b;
const ECHO = {
  ping: {
    path: '/probe.Echo/Ping',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

async function grpcServer(): Promise<number> {
  const server = new grpc.Server();
  server.addService(ECHO as unknown as grpc.ServiceDefinition, {
    ping: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, call.request),
  });
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? fail(e) : done(p),
    ),
  );
  closers.push(() => server.forceShutdown());
  return port;
}

interface EchoClient {
  ping(req: Buffer, cb: (e: Error | null, r?: Buffer) => void): void;
  close(): void;
}

function grpcClient(port: number): EchoClient {
  const Client = grpc.makeGenericClientConstructor(ECHO as unknown as grpc.ServiceDefinition, 'Echo');
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
}

function grpcPing(client: EchoClient, msg: string): Promise<string> {
  return bounded(
    new Promise<string>((done, fail) =>
      client.ping(Buffer.from(msg), (e, r) => (e ? fail(e) : done(r!.toString()))),
    ),
    5000,
    'gRPC call',
  );
}

async function grpcCall(port: number): Promise<string> {
  const client = grpcClient(port);
  try {
    return await grpcPing(client, 'grpc in clear');
  } finally {
    client.close();
  }
}

async function httpServer(host: string): Promise<number> {
  const server = createHttpServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(`hello ${req.url}`);
  });
  return listen(server, host);
}

function httpFetch(host: string, port: number): Promise<string> {
  return bounded(
    new Promise((done, fail) => {
      httpGet({ host, port, path: '/healthz', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => done(`${res.statusCode} ${body}`));
      }).on('error', fail);
    }),
    5000,
    `HTTP ${host}`,
  );
}

/** Speaks the Postgres server side just far enough: refuses TLS ('N'), then AuthenticationOk. */
async function pgServer(): Promise<number> {
  const server = createNetServer((s) => {
    let first = true;
    s.on('data', (d) => {
      if (first && d.length >= 8 && d.readUInt32BE(4) === 80877103) {
        first = false;
        s.write('N');
        return;
      }
      s.end(Buffer.from('R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I', 'latin1'));
    });
    s.on('error', () => {});
  });
  return listen(server, '127.0.0.1');
}

function pgClient(port: number): Promise<string> {
  const startup = Buffer.concat([Buffer.alloc(8), Buffer.from('user\0direktiv\0database\0direktiv\0\0')]);
  startup.writeUInt32BE(startup.length, 0);
  startup.writeUInt32BE(196608, 4);
  return bounded(
    new Promise((done, fail) => {
      const s = netConnect({ host: '127.0.0.1', port }, () =>
        s.write(Buffer.from('0000000804d2162f', 'hex')),
      );
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got === 'N') s.write(startup);
      });
      s.on('end', () => {
        s.end();
        done(got);
      });
      s.on('error', fail);
    }),
    5000,
    'Postgres-like exchange',
  );
}

// --- the capture ------------------------------------------------------------------------------

interface Ports {
  tls12: number;
  tls13: number;
  grpc: number;
  http: number;
  pg: number;
  http6: number;
  /** Connections opened BEFORE the capture starts (no SYN in the capture). */
  tlsOld: number;
  grpcOld: number;
}

let ports: Ports;
const files = {
  lo: join(dir, 'lo.pcap'),
  sll2: join(dir, 'any-sll2.pcap'),
  sll1: join(dir, 'any-sll1.pcap'),
};
const answers: string[] = [];
const stops: StoppedCapture[] = [];

test.before(async () => {
  const t12 = await tlsServer();
  const t13 = await tlsServer();
  const tOld = await tlsKeepOpenServer();
  ports = {
    tlsOld: tOld.port,
    grpcOld: await grpcServer(),
    tls12: t12.port,
    tls13: t13.port,
    grpc: await grpcServer(),
    http: await httpServer('127.0.0.1'),
    pg: await pgServer(),
    http6: await httpServer('::1'),
  };
  const filter = `tcp and (${Object.values(ports)
    .map((p) => `port ${p}`)
    .join(' or ')})`;
  const captures: LocalCapture[] = [];
  // Long-lived connections, opened and used before tcpdump starts: the capture sees no SYN.
  const oldTls = await openTls(ports.tlsOld, tOld.ca);
  const oldGrpc = grpcClient(ports.grpcOld);
  try {
    answers.push(await oldTls.say('before the capture'));
    answers.push(await grpcPing(oldGrpc, 'before the capture'));
    captures.push(await startCapture({ iface: 'lo', file: files.lo, filter, nano: true }));
    captures.push(await startCapture({ iface: 'any', file: files.sll2, filter, linkType: 'LINUX_SLL2' }));
    captures.push(await startCapture({ iface: 'any', file: files.sll1, filter, linkType: 'LINUX_SLL' }));
    answers.push(await tlsExchange(t12.port, t12.ca, 'TLSv1.2'));
    answers.push(await tlsExchange(t13.port, t13.ca, 'TLSv1.3'));
    answers.push(await grpcCall(ports.grpc));
    answers.push(await httpFetch('127.0.0.1', ports.http));
    answers.push(await pgClient(ports.pg));
    answers.push(await httpFetch('::1', ports.http6));
    answers.push(await oldTls.say('during the capture'));
    answers.push(await grpcPing(oldGrpc, 'during the capture'));
    oldTls.close();
    oldGrpc.close();
    stops.push(...(await Promise.all(captures.map((c) => c.stop()))));
  } finally {
    oldTls.close();
    oldGrpc.close();
    for (const c of captures) c.kill();
    for (const close of closers) close();
  }
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function byPort(flows: FlowReport[], port: number): FlowReport[] {
  return flows.filter((f) => f.serverPort === port && f.class !== 'empty');
}

function checkCapture(file: string, label: string): void {
  // The servers here listen on ephemeral ports, like their clients: tell the role heuristic which
  // ports are servers (the lab passes the path ports the same way).
  const a = analyzeCaptureFile(file, { serverPorts: new Set(Object.values(ports)) });
  assert.equal(a.warnings, [], `${label}: warnings`);
  // Every flow in the file is one of ours, and each of ours is there and classified right.
  const ours = new Set(Object.values(ports));
  for (const f of a.flows)
    assert.ok(ours.has(f.serverPort), `${label}: unexpected flow ${f.client} -> ${f.server}`);

  const [t12] = byPort(a.flows, ports.tls12);
  assert.ok(t12, `${label}: TLS 1.2 flow captured`);
  assert.is(t12.class, 'tls');
  assert.is(t12.tlsVersion, 'TLS 1.2');
  assert.is(t12.sni, 'localhost');
  assert.equal(t12.alpn, ['probe/1']);
  assert.is(t12.applicationData, true);
  assert.is(t12.plaintextBytes, 0);
  assert.is(t12.roleBasis, 'syn');

  const [t13] = byPort(a.flows, ports.tls13);
  assert.ok(t13, `${label}: TLS 1.3 flow captured`);
  assert.is(t13.class, 'tls');
  assert.is(t13.tlsVersion, 'TLS 1.3');
  assert.is(t13.sni, 'localhost');
  assert.is(t13.applicationData, true);
  assert.is(t13.plaintextBytes, 0);

  const g = byPort(a.flows, ports.grpc);
  assert.ok(g.length >= 1, `${label}: gRPC flow captured`);
  for (const f of g) {
    assert.is(f.class, 'grpc-clear', `${label}: ${f.detail}`);
    // grpc-js (nghttp2) Huffman-codes header values: this is the HPACK decoder at work.
    assert.match(f.detail ?? '', 'content-type application/grpc (HPACK-decoded); :path /probe.Echo/Ping');
    assert.is(f.plaintextBytes, f.bytesClientToServer + f.bytesServerToClient);
  }

  const [h] = byPort(a.flows, ports.http);
  assert.ok(h, `${label}: HTTP flow captured`);
  assert.is(h.class, 'http1');
  assert.equal(h.httpStatuses, [200]);
  assert.match(h.detail ?? '', 'GET /healthz');
  assert.ok(h.client.startsWith('127.0.0.1:'));

  const [pg] = byPort(a.flows, ports.pg);
  assert.ok(pg, `${label}: Postgres-like flow captured`);
  assert.is(pg.class, 'postgres');
  assert.match(
    pg.detail ?? '',
    "SSLRequest refused ('N'), then StartupMessage in clear (user=direktiv, database=direktiv)",
  );
  assert.ok(pg.plaintextBytes > 60);

  // Began before the capture: no SYN; roles from the port hint (TLS) or the h2 headers (gRPC).
  const [old] = byPort(a.flows, ports.tlsOld);
  assert.ok(old, `${label}: pre-existing TLS flow captured`);
  assert.is(old.class, 'tls');
  assert.is(old.midstream, true);
  assert.is(old.roleBasis, 'port');
  assert.is(old.applicationData, true);
  assert.is(old.plaintextBytes, 0);
  assert.match(old.detail ?? '', 'TLS records; handshake not captured');
  const [og] = byPort(a.flows, ports.grpcOld);
  assert.ok(og, `${label}: pre-existing gRPC flow captured`);
  assert.is(og.class, 'grpc-clear', `${label}: ${og.detail}`);
  assert.is(og.midstream, true);
  assert.is(og.roleBasis, 'content');
  assert.match(
    og.detail ?? '',
    /HTTP\/2 frames \(start of the connection not captured\); (content-type application\/grpc|HINT ONLY)/,
  );

  const [h6] = byPort(a.flows, ports.http6);
  assert.ok(h6, `${label}: IPv6 flow captured`);
  assert.is(h6.class, 'http1');
  assert.ok(h6.client.startsWith('[::1]:'), h6.client);
  assert.is(h6.server, `[::1]:${ports.http6}`);
}

test('the traffic itself worked (so the capture has something to show)', () => {
  assert.equal(answers, [
    'echo:before the capture',
    'before the capture',
    'TLSv1.2 echo:hello over TLSv1.2',
    'TLSv1.3 echo:hello over TLSv1.3',
    'grpc in clear',
    '200 hello /healthz',
    'NR\0\0\0\x08\0\0\0\0Z\0\0\0\x05I',
    '200 hello /healthz',
    'echo:during the capture',
    'during the capture',
  ]);
  // A capture that lost packets would make "flow missing" failures below unreadable: say it here.
  assert.is(stops.length, 3);
  for (const st of stops) {
    assert.is(st.droppedByKernel, 0, `${st.file}: tcpdump says packets were dropped by the kernel`);
    assert.ok((st.captured ?? 0) > 50, `${st.file}: ${st.captured} packets`);
  }
});

test('tcpdump -i lo (Ethernet, nanosecond pcap): every flow classified by content', () => {
  const a = analyzeCaptureFile(files.lo);
  assert.equal(a.capture.linkTypes, [1]);
  checkCapture(files.lo, 'lo');
});

test('tcpdump -i any (Linux cooked v2): every flow classified by content', () => {
  assert.equal(analyzeCaptureFile(files.sll2).capture.linkTypes, [276]);
  checkCapture(files.sll2, 'any/SLL2');
});

test('tcpdump -i any -y LINUX_SLL (Linux cooked v1): every flow classified by content', () => {
  assert.equal(analyzeCaptureFile(files.sll1).capture.linkTypes, [113]);
  checkCapture(files.sll1, 'any/SLL');
});

async function startError(opts: Parameters<typeof startCapture>[0]): Promise<TcpdumpError> {
  try {
    const c = await startCapture(opts);
    c.kill();
  } catch (e) {
    assert.instance(e, TcpdumpError);
    return e as TcpdumpError;
  }
  throw new Error('expected a TcpdumpError, tcpdump started');
}

test('tcpdump missing: a clear error with the install command', async () => {
  const e = await startError({
    iface: 'lo',
    file: join(dir, 'x.pcap'),
    tcpdumpPath: join(dir, 'no-such-tcpdump'),
  });
  assert.is(e.kind, 'missing');
  assert.match(e.message, INSTALL_HINT);
});

test('tcpdump not permitted (run as nobody): a clear permission error', async () => {
  const e = await startError({ iface: 'lo', file: join(dir, 'y.pcap'), uid: 65534, gid: 65534 });
  assert.is(e.kind, 'permission');
  assert.match(e.message, "You don't have permission");
  assert.match(e.hint, 'CAP_NET_RAW');
});

test('tcpdump refuses a bad filter: its own words come back', async () => {
  const e = await startError({ iface: 'lo', file: join(dir, 'z.pcap'), filter: 'tcp port' });
  assert.is(e.kind, 'failed');
  assert.match(e.message, "tcpdump exited before listening: can't parse filter expression");
});

test.run();
